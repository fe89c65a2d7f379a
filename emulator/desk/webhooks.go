package desk

import (
	"context"
	"crypto/rsa"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
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
