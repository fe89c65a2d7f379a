package desk

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// WebhookConfig tunes webhook delivery. Zero values take the defaults.
type WebhookConfig struct {
	// Client sends URL checks and deliveries (default: a client with
	// Timeout).
	Client *http.Client
	// Timeout is how long a receiver has to answer (default 5 s, as Desk).
	Timeout time.Duration
	// Window is how long events are coalesced into one delivery (default
	// 200 ms).
	Window time.Duration
	// MaxBatch is the most events in one delivery (default 100).
	MaxBatch int
	// Retries is how many times a failed delivery is retried before its
	// events are dropped (default 3).
	Retries int
	// Backoff is the wait before the first retry; it doubles each time
	// (default 500 ms).
	Backoff time.Duration
	// MaxQueue is the most events queued per webhook; beyond it new events
	// are dropped and counted (default 100,000).
	MaxQueue int
	// MaxWebhooks is the most webhooks the organization may configure
	// (default 20, Desk's limit).
	MaxWebhooks int
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	if c.Window <= 0 {
		c.Window = 200 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 100
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 100_000
	}
	if c.MaxWebhooks <= 0 {
		c.MaxWebhooks = 20
	}
	return c
}

// WebhookEvents are the event types the emulator can fire.
var WebhookEvents = []string{"Contact_Add", "Contact_Update", "Contact_Delete", "Account_Add", "Account_Update", "Account_Delete"}

// Subscription is the configuration of one subscribed event (null in the
// API for events without options).
type Subscription struct {
	IncludePrevState bool `json:"includePrevState,omitempty"`
}

// Webhook is a Desk webhook as the API returns it.
type Webhook struct {
	ID                string                   `json:"id"`
	Name              string                   `json:"name"`
	Description       *string                  `json:"description"`
	URL               string                   `json:"url"`
	Subscriptions     map[string]*Subscription `json:"subscriptions"`
	IgnoreSourceID    *string                  `json:"ignoreSourceId"`
	IncludeEventsFrom []string                 `json:"includeEventsFrom"`
	IsEnabled         bool                     `json:"isEnabled"`
	CreatedBy         string                   `json:"createdBy"`
	CreatedTime       string                   `json:"createdTime"`
	ModifiedTime      string                   `json:"modifiedTime"`
	Type              string                   `json:"type"`
}

// WebhookStats counts the deliveries of one webhook.
type WebhookStats struct {
	ID              string `json:"id"`
	Deliveries      int    `json:"deliveries"`
	EventsDelivered int    `json:"eventsDelivered"`
	FailedAttempts  int    `json:"failedAttempts"`
	EventsDropped   int    `json:"eventsDropped"`
	Removed         bool   `json:"removed"`
}

// event is one change to announce.
type event struct {
	kind    string
	payload []byte
	prev    []byte
}

// hook is a webhook with its delivery queue.
type hook struct {
	Webhook
	queue  [][]byte
	wake   chan struct{}
	cancel context.CancelFunc
	stats  WebhookStats
}

type hookManager struct {
	s     *Server
	cfg   WebhookConfig
	key   *rsa.PrivateKey
	kid   string
	mu    sync.Mutex
	hooks map[string]*hook
	order []string
	gone  map[string]WebhookStats // removed webhooks, for the admin stats
	wg    sync.WaitGroup
}

func newHookManager(s *Server, cfg WebhookConfig, key *rsa.PrivateKey) *hookManager {
	return &hookManager{s: s, cfg: cfg.withDefaults(), key: key, kid: keyID(&key.PublicKey),
		hooks: map[string]*hook{}, gone: map[string]WebhookStats{}}
}

// reset removes every webhook.
func (m *hookManager) reset() {
	m.mu.Lock()
	for _, h := range m.hooks {
		h.cancel()
	}
	m.hooks = map[string]*hook{}
	m.order = nil
	m.gone = map[string]WebhookStats{}
	m.mu.Unlock()
}

// close stops every delivery worker and waits for them.
func (m *hookManager) close() {
	m.reset()
	m.wg.Wait()
}

// Webhooks returns the configured webhooks.
func (s *Server) Webhooks() []Webhook {
	m := s.hooks
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Webhook, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.hooks[id].Webhook)
	}
	return out
}

// WebhookStats returns delivery counters of current and removed webhooks.
func (s *Server) WebhookStats() []WebhookStats { return s.hooks.stats() }

func (m *hookManager) stats() []WebhookStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]WebhookStats, 0, len(m.hooks)+len(m.gone))
	for _, id := range m.order {
		out = append(out, m.hooks[id].stats)
	}
	for _, st := range m.gone {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// emit queues events for every enabled webhook subscribed to them, except
// webhooks whose ignoreSourceId equals sourceID. It never blocks on
// delivery.
func (m *hookManager) emit(sourceID string, events []event) {
	if len(events) == 0 {
		return
	}
	now := strconv.FormatInt(m.s.nowMS(), 10)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range m.order {
		h := m.hooks[id]
		if !h.IsEnabled || (h.IgnoreSourceID != nil && sourceID != "" && *h.IgnoreSourceID == sourceID) {
			continue
		}
		added := false
		for _, ev := range events {
			sub, ok := h.Subscriptions[ev.kind]
			if !ok {
				continue
			}
			if len(h.queue) >= m.cfg.MaxQueue {
				h.stats.EventsDropped++
				continue
			}
			h.queue = append(h.queue, m.element(ev, sub != nil && sub.IncludePrevState, now))
			added = true
		}
		if added {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
}

// element renders one delivered event:
// {"eventType","orgId","payload","prevState"?,"eventTime"}.
func (m *hookManager) element(ev event, withPrev bool, now string) []byte {
	b := make([]byte, 0, len(ev.payload)+len(ev.prev)+128)
	o := jsonObj{b: append(b, '{'), first: true}
	o.str("eventType", ev.kind)
	o.str("orgId", m.s.orgID)
	o.raw("payload", string(ev.payload))
	if withPrev && ev.prev != nil {
		o.raw("prevState", string(ev.prev))
	}
	o.str("eventTime", now)
	return append(o.b, '}')
}

// run delivers a webhook's queue until ctx ends. After the first queued
// event it waits up to Window for more (sending full batches of MaxBatch at
// once), then sends what is left; one worker per webhook keeps the order.
func (m *hookManager) run(ctx context.Context, h *hook) {
	defer m.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		deadline := time.NewTimer(m.cfg.Window)
		expired := false
		for {
			m.mu.Lock()
			n := len(h.queue)
			if n >= m.cfg.MaxBatch || (expired && n > 0) {
				n = min(n, m.cfg.MaxBatch)
				batch := slices.Clone(h.queue[:n])
				h.queue = h.queue[n:]
				if len(h.queue) == 0 {
					h.queue = nil
				}
				m.mu.Unlock()
				if !m.deliver(ctx, h, batch) {
					deadline.Stop()
					return
				}
				continue
			}
			m.mu.Unlock()
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
				deadline.Stop()
				return
			case <-h.wake:
			case <-deadline.C:
				expired = true
			}
		}
		deadline.Stop()
	}
}

// deliver sends one batch with retries. It returns false when the worker
// must stop (context over or the webhook was removed by a 410).
func (m *hookManager) deliver(ctx context.Context, h *hook, batch [][]byte) bool {
	body := make([]byte, 0, 2+len(batch)*512)
	body = append(body, '[')
	for i, e := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, ']')
	backoff := m.cfg.Backoff
	for attempt := 0; attempt <= m.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
			backoff *= 2
		}
		status, err := m.post(ctx, h, body)
		if ctx.Err() != nil {
			return false
		}
		m.mu.Lock()
		switch {
		case err == nil && status >= 200 && status < 300:
			h.stats.Deliveries++
			h.stats.EventsDelivered += len(batch)
			m.mu.Unlock()
			return true
		case err == nil && status == http.StatusGone:
			h.stats.FailedAttempts++
			h.stats.EventsDropped += len(batch)
			m.removeLocked(h.ID)
			m.mu.Unlock()
			return false
		default:
			h.stats.FailedAttempts++
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	h.stats.EventsDropped += len(batch)
	m.mu.Unlock()
	return true
}

// post sends body to the webhook URL with its JWT.
func (m *hookManager) post(ctx context.Context, h *hook, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook %s: build request: %w", h.ID, err)
	}
	tok, err := m.sign(h.ID)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(JWTHeader, tok)
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook %s: post: %w", h.ID, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// removeLocked deletes a webhook and stops its worker. Caller holds m.mu.
func (m *hookManager) removeLocked(id string) bool {
	h := m.hooks[id]
	if h == nil {
		return false
	}
	h.cancel()
	st := h.stats
	st.Removed = true
	m.gone[id] = st
	delete(m.hooks, id)
	m.order = slices.DeleteFunc(m.order, func(x string) bool { return x == id })
	return true
}

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
		m.mu.Lock()
		h := m.hooks[rt.sub]
		var wh Webhook
		if h != nil {
			wh = h.Webhook
		}
		m.mu.Unlock()
		if h == nil {
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
	m.mu.Lock()
	h := m.hooks[id]
	var cur Webhook
	if h != nil {
		cur = h.Webhook
	}
	m.mu.Unlock()
	if h == nil {
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
	h = m.hooks[id]
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
