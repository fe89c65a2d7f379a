package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"deskcrm/zoho"
)

// MaxWatchExpiry is the longest channel expiry CRM v4+ accepts (default 1 h).
const MaxWatchExpiry = 7 * 24 * time.Hour

// WatchChannel is a Notification API subscription: CRM POSTs the ids of
// changed records of Events to NotifyURL until ChannelExpiry.
type WatchChannel struct {
	// ChannelID is chosen by the subscriber (a number on the wire).
	ChannelID int64
	// Events are "{Module}.{create|edit|delete|all}", e.g. "Contacts.all".
	Events    []string
	NotifyURL string
	// Token (≤50 chars) comes back in every callback to authenticate it.
	Token string
	// ChannelExpiry must be within a week; zero means CRM's default (1 h).
	ChannelExpiry time.Time
	// ReturnAffectedFieldValues asks CRM to send the changed values too.
	ReturnAffectedFieldValues bool
	// NotifyOnRelatedAction, when set, overrides CRM's default (true).
	NotifyOnRelatedAction *bool
}

// MarshalJSON writes the channel as the watch API expects (channel_id as a number).
func (w WatchChannel) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"channel_id": json.Number(strconv.FormatInt(w.ChannelID, 10)),
		"events":     w.Events,
		"notify_url": w.NotifyURL,
	}
	if w.Token != "" {
		m["token"] = w.Token
	}
	if !w.ChannelExpiry.IsZero() {
		m["channel_expiry"] = FormatTime(w.ChannelExpiry)
	}
	if w.ReturnAffectedFieldValues {
		m["return_affected_field_values"] = true
	}
	if w.NotifyOnRelatedAction != nil {
		m["notify_on_related_action"] = *w.NotifyOnRelatedAction
	}
	return json.Marshal(m)
}

// WatchEvent is one subscribed event as CRM reports it.
type WatchEvent struct {
	ChannelID     string
	ResourceName  string // module, e.g. "Contacts"
	ResourceURI   string
	ChannelExpiry time.Time
}

// WatchResult is CRM's answer for one channel of a subscribe or renew call.
type WatchResult struct {
	Code, Status, Message string
	Events                []WatchEvent
	Err                   *Error
}

type watchItem struct {
	Code    string         `json:"code"`
	Status  string         `json:"status"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// Watch subscribes channels (at most 50 per call).
func (c *Client) Watch(ctx context.Context, channels []WatchChannel) ([]WatchResult, error) {
	return c.watchWrite(ctx, "watch", http.MethodPost, channels)
}

// RenewWatch replaces the details of existing channels (PUT), typically with
// a later ChannelExpiry; send the full channel, as CRM replaces all details.
func (c *Client) RenewWatch(ctx context.Context, channels []WatchChannel) ([]WatchResult, error) {
	return c.watchWrite(ctx, "renew watch", http.MethodPut, channels)
}

func (c *Client) watchWrite(ctx context.Context, op, method string, channels []WatchChannel) ([]WatchResult, error) {
	if len(channels) == 0 || len(channels) > 50 {
		return nil, fmt.Errorf("%s: %d channels, want 1 to 50", op, len(channels))
	}
	req, err := c.jsonRequest(op, method, c.base+"/actions/watch", map[string]any{"watch": channels})
	if err != nil {
		return nil, err
	}
	resp, err := c.caller.Do(ctx, req)
	if resp == nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	var out struct {
		Watch []watchItem `json:"watch"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	derr := dec.Decode(&out)
	if err != nil && (derr != nil || len(out.Watch) != len(channels)) {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if derr != nil {
		return nil, fmt.Errorf("%s: decode response: %w", op, derr)
	}
	res := make([]WatchResult, len(out.Watch))
	for i, it := range out.Watch {
		r := WatchResult{Code: it.Code, Status: it.Status, Message: it.Message}
		if !strings.EqualFold(it.Status, "success") {
			r.Err = apiError(it).toError(resp.StatusCode, i)
		}
		if evs, ok := it.Details["events"].([]any); ok {
			for _, e := range evs {
				m, _ := e.(map[string]any)
				we := WatchEvent{ChannelID: jsonString(m["channel_id"]), ResourceName: jsonString(m["resource_name"]), ResourceURI: jsonString(m["resource_uri"])}
				if s, ok := m["channel_expiry"].(string); ok {
					we.ChannelExpiry, _ = ParseTime(s)
				}
				r.Events = append(r.Events, we)
			}
		}
		res[i] = r
	}
	return res, nil
}

// Unwatch removes channels.
func (c *Client) Unwatch(ctx context.Context, channelIDs []int64) error {
	ids := make([]string, len(channelIDs))
	for i, id := range channelIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	op := "unwatch"
	req := zoho.Request{Op: op, Method: http.MethodDelete, Cost: 1,
		URL: c.base + "/actions/watch?" + url.Values{"channel_ids": {strings.Join(ids, ",")}}.Encode()}
	_, err := c.call(ctx, req, nil)
	return err
}

// WatchInfo is a subscribed channel as listed by CRM.
type WatchInfo struct {
	ChannelID     string
	Events        []string
	NotifyURL     string
	ChannelExpiry time.Time
	ResourceName  string
}

// Watches lists the subscribed channels (optionally of one module).
func (c *Client) Watches(ctx context.Context, module string) ([]WatchInfo, error) {
	var all []WatchInfo
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {"200"}}
		if module != "" {
			q.Set("module", module)
		}
		var out struct {
			Watch []map[string]any `json:"watch"`
			Info  Info             `json:"info"`
		}
		status, err := c.call(ctx, c.get("list watch", "/actions/watch", q), &out)
		if err != nil {
			return nil, err
		}
		if status == http.StatusNoContent {
			return all, nil
		}
		for _, w := range out.Watch {
			wi := WatchInfo{ChannelID: jsonString(w["channel_id"]), NotifyURL: jsonString(w["notify_url"]), ResourceName: jsonString(w["resource_name"])}
			if evs, ok := w["events"].([]any); ok {
				for _, e := range evs {
					wi.Events = append(wi.Events, jsonString(e))
				}
			}
			if s, ok := w["channel_expiry"].(string); ok {
				wi.ChannelExpiry, _ = ParseTime(s)
			}
			all = append(all, wi)
		}
		if !out.Info.MoreRecords {
			return all, nil
		}
	}
}

// Notification is the body CRM POSTs to a channel's notify URL. Only ids are
// sent; fetch the records to see the changes. Authenticate it by comparing
// Token with the channel's token (CRM signs nothing).
type Notification struct {
	ServerTime  time.Time
	Module      string
	ResourceURI string
	IDs         []string
	// AffectedFields is as sent (per-record field lists when requested).
	AffectedFields []any
	// Operation is insert, update or delete.
	Operation string
	ChannelID string
	Token     string
}

// ParseNotification decodes a notification callback body.
func ParseNotification(body []byte) (Notification, error) {
	var w struct {
		ServerTime     json.Number `json:"server_time"`
		Module         string      `json:"module"`
		ResourceURI    string      `json:"resource_uri"`
		IDs            []any       `json:"ids"`
		AffectedFields []any       `json:"affected_fields"`
		Operation      string      `json:"operation"`
		ChannelID      any         `json:"channel_id"`
		Token          string      `json:"token"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return Notification{}, fmt.Errorf("parse CRM notification: %w", err)
	}
	n := Notification{Module: w.Module, ResourceURI: w.ResourceURI, AffectedFields: w.AffectedFields,
		Operation: w.Operation, ChannelID: jsonString(w.ChannelID), Token: w.Token}
	if ms, err := w.ServerTime.Int64(); err == nil {
		n.ServerTime = time.UnixMilli(ms)
	}
	for _, id := range w.IDs {
		n.IDs = append(n.IDs, jsonString(id))
	}
	if n.Module == "" || n.ChannelID == "" {
		return n, fmt.Errorf("parse CRM notification: module and channel_id are required")
	}
	return n, nil
}
