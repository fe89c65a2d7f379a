package desk

// Webhook deliveries: events queued per webhook, batched, signed (a JWT per delivery) and
// posted with Desk's retries.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// emit queues events for every enabled webhook subscribed to them, except
// webhooks whose ignoreSourceId equals sourceID. It never blocks on
// delivery.
func (m *hookManager) emit(sourceID string, events []event) {
	if len(events) == 0 {
		return
	}
	at := m.s.nowMS()
	now := "" // formatted for the first event queued
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
			if now == "" {
				now = strconv.FormatInt(at, 10)
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
