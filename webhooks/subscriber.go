package webhooks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Defaults of SubscriberConfig.
const (
	DefaultChannelTTL    = 24 * time.Hour
	DefaultRenewBefore   = 6 * time.Hour
	DefaultCheckInterval = 5 * time.Minute
)

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// CRM and Desk are the clients of the integration's orgs. Required.
	CRM  *crm.Client
	Desk *desk.Client
	// PublicURL is the receiver's base URL as Zoho reaches it, e.g. "https://sync.example.com"
	// (the receiver is mounted at /webhooks/ under it). Required.
	PublicURL string
	// TokenSecret is the receiver's Config.TokenSecret. Required.
	TokenSecret string
	// DeskSourceID is the sourceId the Desk client sends with its writes
	// (activities.SourceID()); webhooks ignore events caused by it. Required, a UUID.
	DeskSourceID string
	// Integrations lists the integrations that should receive webhooks (every integration
	// not deleted, paused ones included). Run subscribes new ones and unsubscribes those
	// that leave the list. Nil: Run only renews what Subscribe subscribed.
	Integrations func(ctx context.Context) ([]string, error)
	// ChannelTTL is the CRM channel lifetime asked for (default 24 h, at most a week).
	ChannelTTL time.Duration
	// RenewBefore: Run renews a channel when less than this is left (default 6 h).
	RenewBefore time.Duration
	// CheckInterval is how often Run looks at channels and integrations (default 5 min).
	CheckInterval time.Duration
	// Logger reports subscription changes and failures (default: none).
	Logger *zap.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Subscriber keeps each integration's CRM watch channel and Desk webhooks pointed at the
// receiver. It is safe for concurrent use; several workers may run one each.
type Subscriber struct {
	cfg SubscriberConfig
	log *zap.Logger

	mu      sync.Mutex
	expiry  map[string]time.Time // integration → CRM channel expiry
	idLocks map[string]*sync.Mutex
	dir     hookDirectory // Desk webhook id → integration
}

// NewSubscriber checks cfg and returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	var missing []string
	if cfg.CRM == nil {
		missing = append(missing, "CRM")
	}
	if cfg.Desk == nil {
		missing = append(missing, "Desk")
	}
	if cfg.PublicURL == "" {
		missing = append(missing, "PublicURL")
	}
	if cfg.TokenSecret == "" {
		missing = append(missing, "TokenSecret")
	}
	if cfg.DeskSourceID == "" {
		missing = append(missing, "DeskSourceID")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("webhooks: SubscriberConfig.%s required", strings.Join(missing, ", SubscriberConfig."))
	}
	if _, err := uuid.Parse(cfg.DeskSourceID); err != nil {
		return nil, fmt.Errorf("webhooks: SubscriberConfig.DeskSourceID must be a UUID: %w", err)
	}
	if cfg.ChannelTTL <= 0 {
		cfg.ChannelTTL = DefaultChannelTTL
	}
	if cfg.ChannelTTL > crm.MaxWatchExpiry {
		return nil, fmt.Errorf("webhooks: SubscriberConfig.ChannelTTL %s exceeds CRM's maximum of %s", cfg.ChannelTTL, crm.MaxWatchExpiry)
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = min(DefaultRenewBefore, cfg.ChannelTTL/4)
	}
	if cfg.RenewBefore >= cfg.ChannelTTL {
		return nil, fmt.Errorf("webhooks: SubscriberConfig.RenewBefore %s must be shorter than ChannelTTL %s", cfg.RenewBefore, cfg.ChannelTTL)
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Subscriber{cfg: cfg, log: cfg.Logger.Named("webhooks"), expiry: map[string]time.Time{}, idLocks: map[string]*sync.Mutex{}}, nil
}

// lock serialises the subscription calls of one integration.
func (s *Subscriber) lock(integrationID string) func() {
	s.mu.Lock()
	l := s.idLocks[integrationID]
	if l == nil {
		l = &sync.Mutex{}
		s.idLocks[integrationID] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// CRMNotifyURL is the receiver URL of an integration's CRM channel.
func (s *Subscriber) CRMNotifyURL(integrationID string) string {
	return joinURL(s.cfg.PublicURL, CRMPath(integrationID))
}

// DeskWebhookURL is the receiver URL of an integration's Desk webhook.
func (s *Subscriber) DeskWebhookURL(integrationID string) string {
	return joinURL(s.cfg.PublicURL, DeskPath(integrationID))
}

// channel is the CRM watch channel of an integration expiring at expiry.
func (s *Subscriber) channel(integrationID string, expiry time.Time) crm.WatchChannel {
	related := false
	return crm.WatchChannel{ChannelID: ChannelID(integrationID), Events: slices.Clone(CRMEvents),
		NotifyURL: s.CRMNotifyURL(integrationID), Token: ChannelToken(s.cfg.TokenSecret, integrationID, expiry),
		ChannelExpiry: expiry, NotifyOnRelatedAction: &related}
}

// Subscribe creates or refreshes the integration's CRM watch channel (Contacts.all and
// Accounts.all, a fresh expiry) and makes sure exactly one Desk webhook with the six
// contact and account events and our ignoreSourceId points at the receiver. Calling it
// again changes nothing but the channel's expiry.
func (s *Subscriber) Subscribe(ctx context.Context, integrationID string) error {
	if !ValidIntegrationID(integrationID) {
		return fmt.Errorf("subscribe %q: not a valid integration id", integrationID)
	}
	defer s.lock(integrationID)()
	crmErr := s.subscribeCRM(ctx, integrationID)
	deskErr := s.subscribeDesk(ctx, integrationID)
	if err := errors.Join(crmErr, deskErr); err != nil {
		return fmt.Errorf("subscribe %s: %w", integrationID, err)
	}
	s.log.Info("webhooks subscribed", zap.String("integration", integrationID))
	return nil
}

// subscribeCRM creates the channel, or replaces it (PUT) when CRM already has it.
func (s *Subscriber) subscribeCRM(ctx context.Context, integrationID string) error {
	id := strconv.FormatInt(ChannelID(integrationID), 10)
	list, err := s.cfg.CRM.Watches(ctx, "")
	if err != nil {
		return fmt.Errorf("crm: list channels: %w", err)
	}
	exists := slices.ContainsFunc(list, func(w crm.WatchInfo) bool { return w.ChannelID == id })
	return s.writeChannel(ctx, integrationID, exists)
}

// writeChannel subscribes (POST) or renews (PUT) the channel with a fresh expiry.
func (s *Subscriber) writeChannel(ctx context.Context, integrationID string, renew bool) error {
	expiry := s.cfg.Now().Add(s.cfg.ChannelTTL).Truncate(time.Second)
	ch := []crm.WatchChannel{s.channel(integrationID, expiry)}
	write, op := s.cfg.CRM.Watch, "subscribe channel"
	if renew {
		write, op = s.cfg.CRM.RenewWatch, "renew channel"
	}
	res, err := write(ctx, ch)
	if err != nil {
		return fmt.Errorf("crm: %s: %w", op, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("crm: %s: %d results for 1 channel", op, len(res))
	}
	if res[0].Err != nil {
		return fmt.Errorf("crm: %s: %w", op, res[0].Err)
	}
	for _, ev := range res[0].Events {
		if !ev.ChannelExpiry.IsZero() && ev.ChannelExpiry.Before(expiry) {
			expiry = ev.ChannelExpiry
		}
	}
	s.mu.Lock()
	s.expiry[integrationID] = expiry
	s.mu.Unlock()
	return nil
}

// wantedWebhook reports whether an existing webhook is the one Subscribe would create.
func (s *Subscriber) wantedWebhook(w desk.Webhook) bool {
	if w.IgnoreSourceID != s.cfg.DeskSourceID || (w.IsEnabled != nil && !*w.IsEnabled) || len(w.Subscriptions) != len(DeskEvents) {
		return false
	}
	for _, ev := range DeskEvents {
		if _, ok := w.Subscriptions[ev]; !ok {
			return false
		}
	}
	return true
}

// subscribeDesk keeps one correct webhook at the integration's URL: it reuses one that
// is right, removes duplicates and outdated ones, and creates one if none is left.
func (s *Subscriber) subscribeDesk(ctx context.Context, integrationID string) error {
	url := s.DeskWebhookURL(integrationID)
	list, err := s.cfg.Desk.Webhooks(ctx)
	if err != nil {
		return fmt.Errorf("desk: list webhooks: %w", err)
	}
	kept := false
	for _, w := range list {
		if w.URL != url {
			continue
		}
		if !kept && s.wantedWebhook(w) {
			kept = true
			s.mu.Lock()
			s.remember(w.ID, integrationID)
			s.mu.Unlock()
			continue
		}
		if err := s.cfg.Desk.DeleteWebhook(ctx, w.ID); err != nil {
			return fmt.Errorf("desk: delete outdated webhook %s: %w", w.ID, err)
		}
	}
	if kept {
		return nil
	}
	subs := make(map[string]any, len(DeskEvents))
	for _, ev := range DeskEvents {
		subs[ev] = nil
	}
	enabled := true
	created, err := s.cfg.Desk.CreateWebhook(ctx, desk.Webhook{URL: url, Name: "deskcrm sync " + integrationID,
		Description: "Contact and account changes for the deskcrm sync", Subscriptions: subs,
		IgnoreSourceID: s.cfg.DeskSourceID, IsEnabled: &enabled})
	if err != nil {
		return fmt.Errorf("desk: create webhook: %w", err)
	}
	s.mu.Lock()
	s.remember(created.ID, integrationID)
	s.mu.Unlock()
	return nil
}

// Unsubscribe removes the integration's CRM channel and every Desk webhook pointed at its
// receiver URL. Removing what is already gone is not an error.
func (s *Subscriber) Unsubscribe(ctx context.Context, integrationID string) error {
	if !ValidIntegrationID(integrationID) {
		return fmt.Errorf("unsubscribe %q: not a valid integration id", integrationID)
	}
	defer s.lock(integrationID)()
	var errs []error
	if err := s.cfg.CRM.Unwatch(ctx, []int64{ChannelID(integrationID)}); err != nil {
		errs = append(errs, fmt.Errorf("crm: unwatch: %w", err))
	}
	url := s.DeskWebhookURL(integrationID)
	list, err := s.cfg.Desk.Webhooks(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("desk: list webhooks: %w", err))
	}
	for _, w := range list {
		if w.URL != url {
			continue
		}
		if err := s.cfg.Desk.DeleteWebhook(ctx, w.ID); err != nil {
			errs = append(errs, fmt.Errorf("desk: delete webhook %s: %w", w.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("unsubscribe %s: %w", integrationID, errors.Join(errs...))
	}
	s.mu.Lock()
	delete(s.expiry, integrationID)
	s.forget(integrationID)
	s.mu.Unlock()
	s.log.Info("webhooks unsubscribed", zap.String("integration", integrationID))
	return nil
}

// Expiry returns when the integration's CRM channel expires, as last subscribed or renewed
// by this Subscriber; ok is false when it has not subscribed it.
func (s *Subscriber) Expiry(integrationID string) (expiry time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expiry, ok = s.expiry[integrationID]
	return expiry, ok
}

// dueForRenewal lists the integrations whose channel expires within renewBefore of now.
func dueForRenewal(expiry map[string]time.Time, now time.Time, renewBefore time.Duration) []string {
	var due []string
	for id, exp := range expiry {
		if exp.Sub(now) < renewBefore {
			due = append(due, id)
		}
	}
	slices.Sort(due)
	return due
}

// plan compares the integrations that should be subscribed with those that are: it
// returns the ones to subscribe and the ones to unsubscribe.
func plan(want []string, have map[string]time.Time) (subscribe, unsubscribe []string) {
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
		if _, ok := have[id]; !ok {
			subscribe = append(subscribe, id)
		}
	}
	for id := range have {
		if !wanted[id] {
			unsubscribe = append(unsubscribe, id)
		}
	}
	slices.Sort(subscribe)
	slices.Sort(unsubscribe)
	return subscribe, unsubscribe
}

// Check does one round of Run: subscribe listed integrations not yet subscribed,
// unsubscribe those no longer listed, and renew channels close to expiry. It returns the
// errors of the round, joined; a failure for one integration does not stop the others.
func (s *Subscriber) Check(ctx context.Context) error {
	var errs []error
	s.mu.Lock()
	have := maps.Clone(s.expiry)
	s.mu.Unlock()
	if s.cfg.Integrations != nil {
		want, err := s.cfg.Integrations(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list integrations: %w", err))
		} else {
			add, remove := plan(want, have)
			for _, id := range add {
				if err := s.Subscribe(ctx, id); err != nil {
					errs = append(errs, err)
				}
			}
			for _, id := range remove {
				if err := s.Unsubscribe(ctx, id); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	s.mu.Lock()
	due := dueForRenewal(s.expiry, s.cfg.Now(), s.cfg.RenewBefore)
	s.mu.Unlock()
	for _, id := range due {
		if err := s.renew(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// renew pushes the channel's expiry out; a channel CRM lost is subscribed again.
func (s *Subscriber) renew(ctx context.Context, integrationID string) error {
	defer s.lock(integrationID)()
	s.mu.Lock()
	_, still := s.expiry[integrationID]
	s.mu.Unlock()
	if !still {
		return nil // unsubscribed meanwhile
	}
	if err := s.writeChannel(ctx, integrationID, true); err != nil {
		// CRM may have dropped the channel (expired or removed): subscribe it afresh.
		if err2 := s.writeChannel(ctx, integrationID, false); err2 != nil {
			return fmt.Errorf("renew %s: %w", integrationID, errors.Join(err, err2))
		}
	}
	s.log.Debug("crm channel renewed", zap.String("integration", integrationID))
	return nil
}

// Run calls Check at once and then every CheckInterval until ctx ends, logging failures
// (they are retried on the next round). It returns nil when ctx ends.
func (s *Subscriber) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	for {
		if err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook subscriptions: some calls failed; retrying next round", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
