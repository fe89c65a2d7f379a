package webhooks

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultMinRelist is the least time between two listings of Desk's webhooks made to
// identify an unknown webhook id.
const DefaultMinRelist = 5 * time.Second

// hookDirectory remembers which integration each Desk webhook was subscribed for.
type hookDirectory struct {
	hooks   map[string]string // webhook id → integration (under Subscriber.mu)
	listed  time.Time         // last listing of Desk's webhooks
	listErr error             // its failure, if it failed
	listing chan struct{}     // closed when the listing in flight ends; nil when none
}

// remember records that a Desk webhook delivers to an integration. Caller holds s.mu.
func (s *Subscriber) remember(webhookID, integrationID string) {
	if s.dir.hooks == nil {
		s.dir.hooks = map[string]string{}
	}
	s.dir.hooks[webhookID] = integrationID
}

// forget drops an integration's webhooks from the directory. Caller holds s.mu.
func (s *Subscriber) forget(integrationID string) {
	for id, in := range s.dir.hooks {
		if in == integrationID {
			delete(s.dir.hooks, id)
		}
	}
}

// integrationOfURL returns the integration whose receiver URL u is, or "".
func (s *Subscriber) integrationOfURL(u string) string {
	prefix := joinURL(s.cfg.PublicURL, "/webhooks/desk/")
	id, ok := strings.CutPrefix(u, prefix)
	if !ok || !ValidIntegrationID(id) || s.DeskWebhookURL(id) != u {
		return ""
	}
	return id
}

// DeskWebhookIntegration names the integration a Desk webhook delivers to: one this
// Subscriber subscribed, or else one Desk lists with this deployment's receiver URL of that
// integration (so every worker knows the webhooks any worker created). Desk is listed at
// most once per DefaultMinRelist, one listing at a time; an id found nowhere is
// ErrUnknownWebhook. It is the receiver's Config.WebhookIntegration.
func (s *Subscriber) DeskWebhookIntegration(ctx context.Context, webhookID string) (string, error) {
	for {
		s.mu.Lock()
		if in, ok := s.dir.hooks[webhookID]; ok {
			s.mu.Unlock()
			return in, nil
		}
		if wait := s.dir.listing; wait != nil {
			s.mu.Unlock()
			select {
			case <-wait:
				continue // look again with the fresh listing
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if !s.dir.listed.IsZero() && s.cfg.Now().Sub(s.dir.listed) < DefaultMinRelist {
			err := s.dir.listErr
			s.mu.Unlock()
			if err != nil {
				return "", err
			}
			return "", ErrUnknownWebhook
		}
		done := make(chan struct{})
		s.dir.listing = done
		s.mu.Unlock()
		err := s.relist(ctx)
		s.mu.Lock()
		s.dir.listing = nil
		close(done)
		in, ok := s.dir.hooks[webhookID]
		s.mu.Unlock()
		switch {
		case err != nil:
			return "", err
		case !ok:
			return "", ErrUnknownWebhook
		}
		return in, nil
	}
}

// relist reads Desk's webhooks and remembers those pointed at this deployment's receiver.
func (s *Subscriber) relist(ctx context.Context) error {
	list, err := s.cfg.Desk.Webhooks(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir.listed = s.cfg.Now()
	if err != nil {
		s.dir.listErr = fmt.Errorf("desk: list webhooks: %w", err)
		return s.dir.listErr
	}
	s.dir.listErr = nil
	for _, w := range list {
		if in := s.integrationOfURL(w.URL); in != "" && w.ID != "" {
			s.remember(w.ID, in)
		}
	}
	return nil
}
