package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"deskcrm/zoho/crm"
)

// serveCRM handles a CRM Notification API callback: the channel token must be the
// integration's; module and operation must be known.
func (h *Handler) serveCRM(w http.ResponseWriter, r *http.Request) {
	id, ok := h.integrationID(w, r, SourceCRM)
	if !ok {
		return
	}
	body, status, err := readBody(w, r, h.cfg.MaxBody)
	if err != nil {
		h.refuse(w, r, SourceCRM, status, "request body too large or unreadable", err)
		return
	}
	if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		h.refuse(w, r, SourceCRM, http.StatusBadRequest, "body must be a CRM notification JSON object", nil)
		return
	}
	n, perr := crm.ParseNotification(body)
	if msg := checkChannelToken(h.cfg.TokenSecret, id, n.Token, h.cfg.Now(), h.cfg.Leeway, crm.MaxWatchExpiry); msg != "" {
		h.refuse(w, r, SourceCRM, http.StatusUnauthorized, msg, nil)
		return
	}
	if perr != nil {
		h.refuse(w, r, SourceCRM, http.StatusBadRequest, "notification needs module and channel_id", nil)
		return
	}
	if msg := h.callbackStale(id, n.ServerTime); msg != "" {
		h.refuse(w, r, SourceCRM, http.StatusUnauthorized, msg, nil)
		return
	}
	op, ok := crmOperation(n.Operation)
	if !ok {
		h.refuse(w, r, SourceCRM, http.StatusBadRequest, "operation must be insert, update or delete", nil)
		return
	}
	for _, rid := range n.IDs {
		if !validRecordID(rid) {
			h.refuse(w, r, SourceCRM, http.StatusBadRequest, "ids must be numeric record ids", nil)
			return
		}
	}
	module, ok := crmModule(n.Module)
	if !ok || len(n.IDs) == 0 {
		// A module the sync does not follow (or nothing changed): acknowledged, ignored.
		h.log.Debug("crm notification ignored", zap.String("integration", id), zap.String("module", n.Module))
		h.enqueue(w, r, id, nil)
		return
	}
	h.enqueue(w, r, id, map[batchKey][]string{{SourceCRM, module, op}: n.IDs})
}

// callbackStale says why a CRM callback sent at serverTime cannot be fresh: server_time
// missing, older than MaxCallbackAge, in the future, or after the channel's expiry as the
// subscriber knows it. A captured callback therefore cannot be replayed for long. "" if fresh.
func (h *Handler) callbackStale(integrationID string, serverTime time.Time) string {
	if serverTime.IsZero() || serverTime.Unix() <= 0 {
		return "notification needs server_time"
	}
	now := h.cfg.Now()
	if now.Sub(serverTime) > h.cfg.MaxCallbackAge {
		return "notification is too old (server_time): replayed or long delayed"
	}
	if serverTime.Sub(now) > h.cfg.Leeway {
		return "notification server_time is in the future"
	}
	if h.cfg.ChannelExpiry != nil {
		if exp, ok := h.cfg.ChannelExpiry(integrationID); ok && serverTime.After(exp.Add(h.cfg.Leeway)) {
			return "notification sent after the channel expired"
		}
	}
	return ""
}

// serveDeskCheck answers Desk's URL check when a webhook is created.
func (h *Handler) serveDeskCheck(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.integrationID(w, r, SourceDesk); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// deskEventJSON is one element of a Desk webhook delivery.
type deskEventJSON struct {
	EventType string          `json:"eventType"`
	OrgID     any             `json:"orgId"`
	Payload   json.RawMessage `json:"payload"`
}

// serveDesk handles a Desk webhook delivery: a JWT signed by a key of the Desk host's JWKS
// for the configured org and a webhook audience, and a JSON array of events.
func (h *Handler) serveDesk(w http.ResponseWriter, r *http.Request) {
	id, ok := h.integrationID(w, r, SourceDesk)
	if !ok {
		return
	}
	tok := r.Header.Get(JWTHeader)
	if tok == "" {
		h.refuse(w, r, SourceDesk, http.StatusUnauthorized, "missing "+JWTHeader, nil)
		return
	}
	hookID, err := h.desk.verify(r.Context(), tok)
	if err != nil {
		if errors.Is(err, errJWKSUnavailable) {
			h.refuse(w, r, SourceDesk, http.StatusServiceUnavailable, "cannot fetch the Desk signing keys; retry later", err)
			return
		}
		h.refuse(w, r, SourceDesk, http.StatusUnauthorized, "invalid "+JWTHeader, err)
		return
	}
	owner, err := h.cfg.WebhookIntegration(r.Context(), hookID)
	switch {
	case errors.Is(err, ErrUnknownWebhook):
		h.refuse(w, r, SourceDesk, http.StatusUnauthorized, "the JWT's webhook is not one this integration subscribed", nil)
		return
	case err != nil:
		h.refuse(w, r, SourceDesk, http.StatusServiceUnavailable, "cannot check the JWT's webhook; retry later", err)
		return
	case owner != id:
		h.refuse(w, r, SourceDesk, http.StatusUnauthorized, "the JWT's webhook belongs to another integration", nil)
		return
	}
	body, status, err := readBody(w, r, h.cfg.MaxBody)
	if err != nil {
		h.refuse(w, r, SourceDesk, status, "request body too large or unreadable", err)
		return
	}
	groups, msg := parseDeskEvents(body, h.cfg.DeskOrgID)
	if msg != "" {
		h.refuse(w, r, SourceDesk, http.StatusBadRequest, msg, nil)
		return
	}
	h.enqueue(w, r, id, groups)
}

// parseDeskEvents reads a delivery's events into ids per module and operation, skipping
// event types the sync does not follow. A non-empty msg says why the body is malformed.
func parseDeskEvents(body []byte, orgID string) (map[batchKey][]string, string) {
	var events []deskEventJSON
	if err := decodeNumbers(body, &events); err != nil {
		return nil, "body must be a JSON array of Desk events"
	}
	groups := map[batchKey][]string{}
	for _, ev := range events {
		if ev.EventType == "" {
			return nil, "every event needs an eventType"
		}
		if ev.OrgID != nil && scalarString(ev.OrgID) != orgID {
			return nil, "event orgId is not the configured organization"
		}
		module, op, ok := deskEvent(ev.EventType)
		if !ok {
			continue
		}
		var p struct {
			ID any `json:"id"`
		}
		if len(ev.Payload) == 0 || decodeNumbers(ev.Payload, &p) != nil {
			return nil, "every event needs a payload object"
		}
		rid := scalarString(p.ID)
		if !validRecordID(rid) {
			return nil, "event payload id must be a numeric record id"
		}
		k := batchKey{SourceDesk, module, op}
		groups[k] = append(groups[k], rid)
	}
	return groups, ""
}

// decodeNumbers decodes JSON keeping numbers exact (19-digit ids do not fit a float64).
func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// scalarString renders a JSON string or number as a string ("" otherwise).
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}
