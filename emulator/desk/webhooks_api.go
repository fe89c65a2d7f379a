package desk

// The webhooks API: create, update, list and delete, with Desk's URL check and validation.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// checkURL does Desk's URL validation: a GET that must answer 200, else a
// POST that must answer 200.
func (m *hookManager) checkURL(ctx context.Context, u string) *apiError {
	try := func(method string) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
		defer cancel()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("[]")
		}
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			return 0, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := m.cfg.Client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	getStatus, getErr := try(http.MethodGet)
	if getErr == nil && getStatus == http.StatusOK {
		return nil
	}
	postStatus, postErr := try(http.MethodPost)
	if postErr == nil && postStatus == http.StatusOK {
		return nil
	}
	outcome := func(st int, err error) string {
		if err != nil {
			return "failed (" + err.Error() + ")"
		}
		return "answered " + strconv.Itoa(st)
	}
	return errUnprocessable(fmt.Sprintf("Webhook URL validation failed: GET %s and POST %s; the URL must answer 200 to a GET or a POST",
		outcome(getStatus, getErr), outcome(postStatus, postErr)))
}

// webhookInput is a create or PATCH body.
type webhookInput struct {
	Name              *string                     `json:"name"`
	Description       *string                     `json:"description"`
	URL               *string                     `json:"url"`
	Subscriptions     map[string]*json.RawMessage `json:"subscriptions"`
	IgnoreSourceID    *string                     `json:"ignoreSourceId"`
	IncludeEventsFrom []string                    `json:"includeEventsFrom"`
	IsEnabled         *bool                       `json:"isEnabled"`
	hasSubs           bool
	hasIgnore         bool
}

func parseWebhookInput(body []byte) (webhookInput, *apiError) {
	var in webhookInput
	if len(bytes.TrimSpace(body)) == 0 {
		return in, &apiError{Status: http.StatusBadRequest, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; a JSON object is expected"}
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil || keys == nil {
		return in, errBadRequest("The request body is not a valid JSON object")
	}
	var errs []FieldError
	for k := range keys {
		switch k {
		case "name", "description", "url", "subscriptions", "ignoreSourceId", "includeEventsFrom", "isEnabled":
		default:
			errs = append(errs, FieldError{FieldName: "/" + k, ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf("An extra parameter '%s' is found", k)})
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		errs = append(errs, FieldError{FieldName: "/", ErrorType: ErrInvalid, ErrorMessage: "wrong type: " + err.Error()})
	}
	_, in.hasSubs = keys["subscriptions"]
	_, in.hasIgnore = keys["ignoreSourceId"]
	if len(errs) > 0 {
		return in, errInvalidData(errs...)
	}
	return in, nil
}

// validateSubs converts subscriptions, rejecting unknown events and options.
func validateSubs(in map[string]*json.RawMessage) (map[string]*Subscription, []FieldError) {
	var errs []FieldError
	if len(in) == 0 {
		return nil, []FieldError{{FieldName: "/subscriptions", ErrorType: ErrMissing, ErrorMessage: "at least one event subscription is required"}}
	}
	out := map[string]*Subscription{}
	for ev, raw := range in {
		ptr := "/subscriptions/" + ev
		if !slices.Contains(WebhookEvents, ev) {
			errs = append(errs, FieldError{FieldName: ptr, ErrorType: ErrInvalid,
				ErrorMessage: "event not supported by the emulator; use one of " + strings.Join(WebhookEvents, ", ")})
			continue
		}
		if raw == nil || string(*raw) == "null" {
			out[ev] = nil
			continue
		}
		var sub Subscription
		dec := json.NewDecoder(bytes.NewReader(*raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sub); err != nil {
			errs = append(errs, FieldError{FieldName: ptr, ErrorType: ErrInvalid, ErrorMessage: "subscription options must be null or {\"includePrevState\":bool}"})
			continue
		}
		if sub.IncludePrevState && !strings.HasSuffix(ev, "_Update") {
			errs = append(errs, FieldError{FieldName: ptr + "/includePrevState", ErrorType: ErrInvalid, ErrorMessage: "includePrevState applies to update events only"})
			continue
		}
		out[ev] = &sub
	}
	return out, errs
}

func validURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// serve handles /api/v1/webhooks[/{id}].
func (m *hookManager) serve(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	if rt.rest != "" {
		return errNotFound()
	}
	if rt.sub == "" {
		switch r.Method {
		case http.MethodGet:
			list := m.s.Webhooks()
			if len(list) == 0 {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			writeJSON(w, http.StatusOK, map[string]any{"data": list})
			return nil
		case http.MethodPost:
			return m.create(w, r)
		}
		return errMethod()
	}
	if _, ok := parseID(rt.sub); !ok {
		return errInvalidData(FieldError{FieldName: "/webhookId", ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid webhook id"})
	}
	switch r.Method {
	case http.MethodGet:
		wh, ok := m.webhook(rt.sub)
		if !ok {
			return errNotFound()
		}
		writeJSON(w, http.StatusOK, wh)
		return nil
	case http.MethodPatch:
		return m.update(w, r, rt.sub)
	case http.MethodDelete:
		m.mu.Lock()
		ok := m.removeLocked(rt.sub)
		m.mu.Unlock()
		if !ok {
			return errNotFound()
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errMethod()
}

func checkIgnore(v *string) []FieldError {
	if v == nil {
		return nil
	}
	if _, err := uuid.Parse(*v); err != nil {
		return []FieldError{{FieldName: "/ignoreSourceId", ErrorType: ErrInvalid, ErrorMessage: "ignoreSourceId must be a UUID"}}
	}
	return nil
}

func (m *hookManager) create(w http.ResponseWriter, r *http.Request) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in, e := parseWebhookInput(body)
	if e != nil {
		return e
	}
	var errs []FieldError
	if in.URL == nil || *in.URL == "" {
		errs = append(errs, FieldError{FieldName: "/url", ErrorType: ErrMissing, ErrorMessage: "url is required"})
	} else if !validURL(*in.URL) {
		errs = append(errs, FieldError{FieldName: "/url", ErrorType: ErrInvalid, ErrorMessage: "url must be an absolute http or https URL"})
	}
	subs, serrs := validateSubs(in.Subscriptions)
	errs = append(errs, serrs...)
	errs = append(errs, checkIgnore(in.IgnoreSourceID)...)
	if len(errs) > 0 {
		return errInvalidData(errs...)
	}
	m.mu.Lock()
	full := len(m.hooks) >= m.cfg.MaxWebhooks
	m.mu.Unlock()
	if full {
		return errUnprocessable(fmt.Sprintf("The organization already has the maximum of %d webhooks", m.cfg.MaxWebhooks))
	}
	if e := m.checkURL(r.Context(), *in.URL); e != nil {
		return e
	}
	now := formatTime(m.s.nowMS())
	wh := Webhook{URL: *in.URL, Subscriptions: subs, IgnoreSourceID: in.IgnoreSourceID, Description: in.Description,
		IncludeEventsFrom: in.IncludeEventsFrom, IsEnabled: true, CreatedBy: DefaultOwnerID,
		CreatedTime: now, ModifiedTime: now, Type: "CUSTOMER_WEBHOOK"}
	if in.Name != nil {
		wh.Name = *in.Name
	}
	if in.IsEnabled != nil {
		wh.IsEnabled = *in.IsEnabled
	}
	if wh.IncludeEventsFrom == nil {
		wh.IncludeEventsFrom = []string{}
	}
	m.s.mu.Lock()
	wh.ID = idString(m.s.newID())
	m.s.mu.Unlock()
	if wh.Name == "" {
		wh.Name = "Webhook " + wh.ID
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hook{Webhook: wh, wake: make(chan struct{}, 1), cancel: cancel, stats: WebhookStats{ID: wh.ID}}
	m.mu.Lock()
	m.hooks[wh.ID] = h
	m.order = append(m.order, wh.ID)
	m.wg.Add(1)
	go m.run(ctx, h)
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, wh)
	return nil
}

func (m *hookManager) update(w http.ResponseWriter, r *http.Request, id string) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in, e := parseWebhookInput(body)
	if e != nil {
		return e
	}
	cur, ok := m.webhook(id)
	if !ok {
		return errNotFound()
	}
	var errs []FieldError
	if in.URL != nil && !validURL(*in.URL) {
		errs = append(errs, FieldError{FieldName: "/url", ErrorType: ErrInvalid, ErrorMessage: "url must be an absolute http or https URL"})
	}
	var subs map[string]*Subscription
	if in.hasSubs {
		var serrs []FieldError
		subs, serrs = validateSubs(in.Subscriptions)
		errs = append(errs, serrs...)
	}
	errs = append(errs, checkIgnore(in.IgnoreSourceID)...)
	if len(errs) > 0 {
		return errInvalidData(errs...)
	}
	if in.URL != nil && *in.URL != cur.URL {
		if e := m.checkURL(r.Context(), *in.URL); e != nil {
			return e
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hooks[id]
	if h == nil {
		return errNotFound()
	}
	if in.Name != nil {
		h.Name = *in.Name
	}
	if in.Description != nil {
		h.Description = in.Description
	}
	if in.URL != nil {
		h.URL = *in.URL
	}
	if in.hasSubs {
		h.Subscriptions = subs
	}
	if in.hasIgnore {
		h.IgnoreSourceID = in.IgnoreSourceID
	}
	if in.IncludeEventsFrom != nil {
		h.IncludeEventsFrom = in.IncludeEventsFrom
	}
	if in.IsEnabled != nil {
		h.IsEnabled = *in.IsEnabled
	}
	h.ModifiedTime = formatTime(m.s.nowMS())
	writeJSON(w, http.StatusOK, h.Webhook)
	return nil
}

// webhook returns a copy of the webhook with this id, and whether it exists.
func (m *hookManager) webhook(id string) (Webhook, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.hooks[id]; h != nil {
		return h.Webhook, true
	}
	return Webhook{}, false
}
