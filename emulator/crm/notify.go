package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Notification API limits (zoho-api.md A13).
const (
	defaultChannelTTL = time.Hour
	maxChannelTTL     = 7 * 24 * time.Hour
	maxWatchPerCall   = 50
	maxTokenLen       = 50
)

var watchOps = []string{"create", "edit", "delete", "all"}

// opName maps a change to the watch event operation and callback
// operation names.
var opEvent = map[string]string{"insert": "create", "update": "edit", "delete": "delete"}

// channel is one notification subscription.
type channel struct {
	id             string
	events         []string // "Contacts.create", ...
	url            string
	token          string
	expiry         time.Time
	returnAffected bool
	notifyRelated  bool
	base           string // API domain for resource_uri

	pending map[string]*batch // key module|operation
	timer   *time.Timer
}

// batch is the coalesced ids of one module and operation.
type batch struct {
	module, op string
	ids        []string
	affected   []map[string][]string
}

func (c *channel) watches(module, op string) bool {
	return slices.Contains(c.events, module+"."+op) || slices.Contains(c.events, module+".all")
}

// notifier keeps channels and posts coalesced callbacks.
type notifier struct {
	s      *Server
	window time.Duration
	client *http.Client

	mu       sync.Mutex
	channels map[string]*channel
	gen      int

	sent   atomic.Int64
	failed atomic.Int64
}

func newNotifier(s *Server, window time.Duration, client *http.Client) *notifier {
	if window <= 0 {
		window = 100 * time.Millisecond
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &notifier{s: s, window: window, client: client, channels: map[string]*channel{}}
}

func (n *notifier) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.channels {
		if c.timer != nil {
			c.timer.Stop()
		}
	}
	n.channels = map[string]*channel{}
	n.gen++
}

// NotificationsSent returns how many callbacks were delivered (2xx) and how
// many failed since start.
func (s *Server) NotificationsSent() (sent, failed int64) {
	return s.notify.sent.Load(), s.notify.failed.Load()
}

// emit queues committed changes for every channel watching them. It never
// blocks on delivery.
func (n *notifier) emit(module string, changes []change) {
	if len(changes) == 0 {
		return
	}
	now := n.s.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, c := range n.channels {
		if !now.Before(c.expiry) {
			if c.timer != nil {
				c.timer.Stop()
			}
			delete(n.channels, id)
			continue
		}
		for _, ch := range changes {
			if !c.watches(module, opEvent[ch.op]) {
				continue
			}
			key := module + "|" + ch.op
			b := c.pending[key]
			if b == nil {
				b = &batch{module: module, op: ch.op}
				c.pending[key] = b
			}
			sid := formatID(ch.id)
			if !slices.Contains(b.ids, sid) {
				b.ids = append(b.ids, sid)
			}
			if c.returnAffected && ch.op == "update" {
				b.affected = append(b.affected, map[string][]string{sid: ch.affected})
			}
		}
		if len(c.pending) > 0 && c.timer == nil {
			cc, gen := c, n.gen
			c.timer = time.AfterFunc(n.window, func() { n.flush(cc, gen) })
		}
	}
}

// flush sends a channel's pending batches.
func (n *notifier) flush(c *channel, gen int) {
	n.mu.Lock()
	if gen != n.gen {
		n.mu.Unlock()
		return
	}
	batches := c.pending
	c.pending = map[string]*batch{}
	c.timer = nil
	chID, token, target, base, affected := c.id, c.token, c.url, c.base, c.returnAffected
	n.mu.Unlock()

	keys := make([]string, 0, len(batches))
	for k := range batches {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b := batches[k]
		body := map[string]any{
			"server_time":  n.s.now().UnixMilli(),
			"query_params": map[string]any{},
			"module":       b.module,
			"resource_uri": base + "/crm/v8/" + b.module,
			"ids":          b.ids,
			"operation":    b.op,
			"channel_id":   channelIDJSON(chID),
			"token":        token,
		}
		if affected && b.op == "update" {
			body["affected_fields"] = b.affected
		}
		raw, _ := json.Marshal(body)
		resp, err := n.client.Post(target, "application/json", bytes.NewReader(raw))
		if err != nil {
			n.failed.Add(1)
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			n.sent.Add(1)
		} else {
			n.failed.Add(1)
		}
	}
}

// channelIDJSON renders a channel id as a number when it is one, as Zoho
// does.
func channelIDJSON(id string) any {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		return n
	}
	return id
}

func watchError(code, message string, details map[string]any) map[string]any {
	return map[string]any{"code": code, "details": details, "message": message, "status": "error"}
}

// channelFromJSON validates one watch item. For PATCH, existing holds the
// channel being changed and absent keys keep their values.
func (n *notifier) channelFromJSON(item any, i int, existing *channel, base string) (*channel, map[string]any) {
	path := fmt.Sprintf("$.watch[%d]", i)
	obj, ok := item.(map[string]any)
	if !ok {
		return nil, watchError("INVALID_DATA", "invalid data", map[string]any{"api_name": "watch", "json_path": path, "expected_data_type": "jsonobject"})
	}
	c := &channel{pending: map[string]*batch{}, base: base}
	if existing != nil {
		cp := *existing
		c = &cp
		c.events = slices.Clone(existing.events)
		c.pending, c.timer = existing.pending, existing.timer
	}
	id, ok := channelIDOf(obj["channel_id"])
	if !ok {
		return nil, watchError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "channel_id", "json_path": path + ".channel_id"})
	}
	c.id = id
	if raw, has := obj["events"]; has || existing == nil {
		arr, ok := raw.([]any)
		if !ok || len(arr) == 0 {
			return nil, watchError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "events", "json_path": path + ".events"})
		}
		var events []string
		for j, e := range arr {
			s, _ := e.(string)
			mod, op, found := strings.Cut(s, ".")
			if _, known := n.s.modules[mod]; !found || !known || !slices.Contains(watchOps, op) {
				return nil, watchError("INVALID_DATA", "invalid data", map[string]any{"api_name": "events", "json_path": fmt.Sprintf("%s.events[%d]", path, j)})
			}
			events = append(events, s)
		}
		if del, _ := obj["_delete_events"].(bool); del && existing != nil {
			c.events = slices.DeleteFunc(c.events, func(e string) bool { return slices.Contains(events, e) })
		} else if existing != nil && obj["_delete_events"] == nil && len(events) > 0 {
			for _, e := range events {
				if !slices.Contains(c.events, e) {
					c.events = append(c.events, e)
				}
			}
		} else {
			c.events = events
		}
	}
	if raw, has := obj["notify_url"]; has || existing == nil {
		s, _ := raw.(string)
		u, err := url.Parse(s)
		if s == "" {
			return nil, watchError("MANDATORY_NOT_FOUND", "required field not found", map[string]any{"api_name": "notify_url", "json_path": path + ".notify_url"})
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, watchError("INVALID_DATA", "invalid data", map[string]any{"api_name": "notify_url", "json_path": path + ".notify_url"})
		}
		c.url = s
	}
	if raw, has := obj["token"]; has {
		s, ok := raw.(string)
		if raw != nil && (!ok || len(s) > maxTokenLen) {
			return nil, watchError("INVALID_DATA", "invalid data", map[string]any{"api_name": "token", "json_path": path + ".token"})
		}
		c.token = s
	}
	now := n.s.now()
	if raw, has := obj["channel_expiry"]; has && raw != nil {
		s, _ := raw.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || !t.After(now) || t.Sub(now) > maxChannelTTL {
			return nil, watchError("INVALID_DATA", "invalid data", map[string]any{"api_name": "channel_expiry", "json_path": path + ".channel_expiry"})
		}
		c.expiry = t
	} else if existing == nil {
		c.expiry = now.Add(defaultChannelTTL)
	}
	if v, ok := obj["return_affected_field_values"].(bool); ok {
		c.returnAffected = v
	}
	if v, ok := obj["notify_on_related_action"].(bool); ok {
		c.notifyRelated = v
	}
	return c, nil
}

func channelIDOf(raw any) (string, bool) {
	switch v := raw.(type) {
	case json.Number:
		_, err := v.Int64()
		return v.String(), err == nil
	case string:
		_, err := strconv.ParseInt(v, 10, 64)
		return v, err == nil
	}
	return "", false
}

// channelEvents renders the per-module event details of a channel.
func (n *notifier) channelEvents(c *channel) []any {
	var mods []string
	for _, e := range c.events {
		mod, _, _ := strings.Cut(e, ".")
		if !slices.Contains(mods, mod) {
			mods = append(mods, mod)
		}
	}
	out := make([]any, 0, len(mods))
	for _, mod := range mods {
		out = append(out, map[string]any{
			"channel_expiry":         n.s.formatTime(c.expiry.Unix()),
			"resource_uri":           c.base + "/crm/v8/" + mod,
			"resource_id":            moduleIDs[mod],
			"resource_name":          mod,
			"channel_id":             c.id,
			"notification_condition": []any{},
		})
	}
	return out
}

// serveWatch answers the Notification API at /crm/v8/actions/watch.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request) {
	n := s.notify
	switch r.Method {
	case http.MethodGet:
		n.serveList(w, r)
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		body, ok := readJSONBody(w, r)
		if !ok {
			return
		}
		arr, ok := body["watch"].([]any)
		if !ok || len(arr) == 0 {
			writeError(w, errParamMissing("watch"))
			return
		}
		if len(arr) > maxWatchPerCall {
			writeError(w, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Record count exceeded",
				details: map[string]any{"limit": maxWatchPerCall, "param_name": "watch", "param": "watch"}})
			return
		}
		n.serveSubscribe(w, r, arr)
	case http.MethodDelete:
		n.serveUnsubscribe(w, r)
	default:
		writeError(w, errMethod)
	}
}

func (n *notifier) serveSubscribe(w http.ResponseWriter, r *http.Request, arr []any) {
	base := n.s.baseURL(r)
	n.s.mu.RLock() // channelFromJSON reads the module list
	defer n.s.mu.RUnlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	results := make([]any, 0, len(arr))
	okCount := 0
	for i, item := range arr {
		var existing *channel
		if r.Method == http.MethodPatch {
			obj, _ := item.(map[string]any)
			id, _ := channelIDOf(obj["channel_id"])
			existing = n.channels[id]
			if existing == nil {
				results = append(results, watchError("NOT_SUBSCRIBED", "the given channel is not subscribed",
					map[string]any{"channel_id": id}))
				continue
			}
		}
		c, errItem := n.channelFromJSON(item, i, existing, base)
		if errItem != nil {
			results = append(results, errItem)
			continue
		}
		if old := n.channels[c.id]; old != nil && old != existing && old.timer != nil {
			// A re-subscription keeps pending notifications flowing.
			c.pending, c.timer = old.pending, old.timer
		}
		n.channels[c.id] = c
		if existing != nil && existing.timer != nil {
			// The timer flushes the channel object it was created with;
			// move pending work to the new version.
			existing.timer.Stop()
			c.timer = nil
			if len(c.pending) > 0 {
				cc, gen := c, n.gen
				c.timer = time.AfterFunc(n.window, func() { n.flush(cc, gen) })
			}
		}
		okCount++
		msg := "Successfully subscribed for actions-watch of the given module"
		if r.Method != http.MethodPost {
			msg = "Successfully updated the subscribe details"
		}
		results = append(results, map[string]any{"code": "SUCCESS", "details": map[string]any{"events": n.channelEvents(c)},
			"message": msg, "status": "success"})
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	switch {
	case okCount == 0:
		status = http.StatusAccepted
	case okCount < len(arr):
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"watch": results})
}

func (n *notifier) serveUnsubscribe(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("channel_ids")
	if raw == "" {
		writeError(w, errParamMissing("channel_ids"))
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := strings.Split(raw, ",")
	results := make([]any, 0, len(ids))
	okCount := 0
	for _, id := range ids {
		c := n.channels[id]
		if c == nil {
			results = append(results, watchError("NOT_SUBSCRIBED", "the given channel is not subscribed", map[string]any{"channel_id": id}))
			continue
		}
		if c.timer != nil {
			c.timer.Stop()
		}
		delete(n.channels, id)
		okCount++
		results = append(results, map[string]any{"code": "SUCCESS", "details": map[string]any{"channel_id": id, "events": n.channelEvents(c)},
			"message": "Successfully un-subscribed from actions-watch", "status": "success"})
	}
	status := http.StatusOK
	switch {
	case okCount == 0:
		status = http.StatusAccepted
	case okCount < len(ids):
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"watch": results})
}

func (n *notifier) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := 200, 1
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 && v <= 200 {
		perPage = v
	}
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	now := n.s.now()
	n.mu.Lock()
	var list []*channel
	for _, c := range n.channels {
		if !now.Before(c.expiry) {
			continue
		}
		if id := q.Get("channel_id"); id != "" && id != c.id {
			continue
		}
		if mod := q.Get("module"); mod != "" && !slices.ContainsFunc(c.events, func(e string) bool { return strings.HasPrefix(e, mod+".") }) {
			continue
		}
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *channel) int { return strings.Compare(a.id, b.id) })
	start := (page - 1) * perPage
	if start >= len(list) {
		n.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(start+perPage, len(list))
	out := make([]any, 0, end-start)
	for _, c := range list[start:end] {
		var mod string
		if len(c.events) > 0 {
			mod, _, _ = strings.Cut(c.events[0], ".")
		}
		out = append(out, map[string]any{
			"channel_id":                   channelIDJSON(c.id),
			"events":                       c.events,
			"notify_url":                   c.url,
			"token":                        c.token,
			"channel_expiry":               n.s.formatTime(c.expiry.Unix()),
			"return_affected_field_values": c.returnAffected,
			"notify_on_related_action":     c.notifyRelated,
			"resource_uri":                 c.base + "/crm/v8/" + mod,
			"resource_id":                  moduleIDs[mod],
			"resource_name":                mod,
			"fields":                       nil,
			"notification_condition":       []any{},
		})
	}
	n.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"watch": out, "info": map[string]any{
		"per_page": perPage, "page": page, "count": len(out), "more_records": end < len(list)}})
}
