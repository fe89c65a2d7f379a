package webhooks_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/webhooks"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// channelOf returns the CRM channel of an integration as CRM lists it.
func (e *env) channelOf(t *testing.T, integrationID string) (crm.WatchInfo, bool) {
	t.Helper()
	list, err := e.crm.Watches(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(webhooks.ChannelID(integrationID), 10)
	for _, w := range list {
		if w.ChannelID == id {
			return w, true
		}
	}
	return crm.WatchInfo{}, false
}

// webhooksAt lists the Desk webhooks pointed at an integration's receiver URL.
func (e *env) webhooksAt(t *testing.T, integrationID string) []desk.Webhook {
	t.Helper()
	list, err := e.deskOther.Webhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []desk.Webhook
	for _, w := range list {
		if w.URL == e.hSrv.URL+webhooks.DeskPath(integrationID) {
			out = append(out, w)
		}
	}
	return out
}

func TestSubscribeIsIdempotent(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	// An outdated webhook at our URL (no ignoreSourceId, one event) and someone else's.
	if _, err := e.deskOther.CreateWebhook(ctx, desk.Webhook{URL: e.hSrv.URL + webhooks.DeskPath("acme"),
		Subscriptions: map[string]any{"Contact_Add": nil}}); err != nil {
		t.Fatal(err)
	}
	foreign, err := e.deskOther.CreateWebhook(ctx, desk.Webhook{URL: e.hSrv.URL + webhooks.DeskPath("other"),
		Subscriptions: map[string]any{"Account_Add": nil}})
	if err != nil {
		t.Fatal(err)
	}
	var firstID string
	for round := range 3 {
		if err := e.sub.Subscribe(ctx, "acme"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		hooks := e.webhooksAt(t, "acme")
		if len(hooks) != 1 {
			t.Fatalf("round %d: %d webhooks at our URL, want 1", round, len(hooks))
		}
		w := hooks[0]
		if w.IgnoreSourceID != ownSource || len(w.Subscriptions) != len(webhooks.DeskEvents) {
			t.Fatalf("round %d: webhook %+v", round, w)
		}
		for _, ev := range webhooks.DeskEvents {
			if _, ok := w.Subscriptions[ev]; !ok {
				t.Fatalf("round %d: webhook lacks %s", round, ev)
			}
		}
		if round == 0 {
			firstID = w.ID
		} else if w.ID != firstID {
			t.Fatalf("round %d: webhook recreated (%s, was %s)", round, w.ID, firstID)
		}
		ch, ok := e.channelOf(t, "acme")
		if !ok {
			t.Fatalf("round %d: no CRM channel", round)
		}
		if ch.NotifyURL != e.hSrv.URL+webhooks.CRMPath("acme") || !slices.Equal(ch.Events, webhooks.CRMEvents) {
			t.Fatalf("round %d: channel %+v", round, ch)
		}
		exp, ok := e.sub.Expiry("acme")
		if !ok || time.Until(exp) < 23*time.Hour || time.Until(exp) > 25*time.Hour {
			t.Fatalf("round %d: expiry %v (ok %v), want about a day ahead", round, exp, ok)
		}
	}
	all, err := e.crm.Watches(ctx, "")
	if err != nil || len(all) != 1 {
		t.Fatalf("channels %+v, %v; want exactly one", all, err)
	}
	if others := e.webhooksAt(t, "other"); len(others) != 1 || others[0].ID != foreign.ID {
		t.Fatalf("someone else's webhook was touched: %+v", others)
	}
}

func TestUnsubscribeStopsDeliveries(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	for _, id := range []string{"gone", "kept"} {
		if err := e.sub.Subscribe(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sub.Unsubscribe(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := e.sub.Unsubscribe(ctx, "gone"); err != nil {
		t.Fatalf("second unsubscribe: %v", err)
	}
	if _, ok := e.channelOf(t, "gone"); ok {
		t.Fatal("CRM channel still there")
	}
	if hooks := e.webhooksAt(t, "gone"); len(hooks) != 0 {
		t.Fatalf("Desk webhooks still there: %+v", hooks)
	}
	if _, ok := e.sub.Expiry("gone"); ok {
		t.Fatal("subscriber still tracks the channel")
	}
	// Changes on both sides reach the kept integration only.
	crmID := e.crmInsert(t, "Contacts", map[string]any{"Last_Name": "After"})[0]
	deskID := deskCreate(t, e.deskOther, desk.Contacts, map[string]any{"lastName": "After"})
	e.rec.waitIDs(t, "kept", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpInsert, crmID)
	e.rec.waitIDs(t, "kept", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, deskID)
	for _, c := range e.rec.snapshot() {
		if c.integration == "gone" {
			t.Fatalf("signal for the unsubscribed integration: %+v", c.ch)
		}
	}
}

func TestRenewalBeforeExpiry(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk, subscriber: func(c *webhooks.SubscriberConfig) {
		c.ChannelTTL, c.RenewBefore = time.Hour, 10*time.Minute
	}})
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	first, _ := e.sub.Expiry("r")
	steps := []struct {
		advance time.Duration
		renewed bool
	}{
		{45 * time.Minute, false}, // 15 min left: not yet
		{10 * time.Minute, true},  // 5 min left: renewed
	}
	last := first
	for _, st := range steps {
		clk.Advance(st.advance)
		if err := e.sub.Check(ctx); err != nil {
			t.Fatal(err)
		}
		exp, _ := e.sub.Expiry("r")
		if renewed := exp.After(last); renewed != st.renewed {
			t.Fatalf("after %s: expiry %v (was %v), renewed %v, want %v", st.advance, exp, last, renewed, st.renewed)
		}
		ch, ok := e.channelOf(t, "r")
		if !ok || !ch.ChannelExpiry.Equal(exp) {
			t.Fatalf("CRM has %+v (ok %v), subscriber says %v", ch, ok, exp)
		}
		last = exp
	}
	// Past the first expiry the channel still delivers.
	clk.Advance(10 * time.Minute)
	if !clk.Now().After(first) {
		t.Fatal("test clock did not pass the first expiry")
	}
	id := e.crmInsert(t, "Contacts", map[string]any{"Last_Name": "Late"})[0]
	e.rec.waitIDs(t, "r", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpInsert, id)
}

func TestExpiredChannelStopsWithoutRenewal(t *testing.T) {
	// The counterpart of TestRenewalBeforeExpiry: without Check, CRM drops the channel.
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk, subscriber: func(c *webhooks.SubscriberConfig) {
		c.ChannelTTL, c.RenewBefore = time.Hour, 10*time.Minute
	}})
	if err := e.sub.Subscribe(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(61 * time.Minute)
	if _, ok := e.channelOf(t, "r"); ok {
		t.Fatal("CRM still lists the expired channel")
	}
}

// integrationList is a changeable Integrations callback.
type integrationList struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (l *integrationList) list(context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids), l.err
}

func (l *integrationList) set(err error, ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids, l.err = ids, err
}

func TestRunFollowsIntegrations(t *testing.T) {
	list := &integrationList{}
	list.set(nil, "x")
	e := newEnv(t, envOptions{subscriber: func(c *webhooks.SubscriberConfig) {
		c.Integrations, c.CheckInterval = list.list, 5*time.Millisecond
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.sub.Run(ctx) }()
	subscribed := func(id string) bool {
		_, tracked := e.sub.Expiry(id)
		_, watched := e.channelOf(t, id)
		return tracked && watched && len(e.webhooksAt(t, id)) == 1
	}
	waitUntil(t, "x subscribed", func() bool { return subscribed("x") })
	// A failing list changes nothing.
	list.set(errors.New("postgres down"))
	if err := e.sub.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "postgres down") {
		t.Fatalf("Check = %v, want the list error", err)
	}
	if !subscribed("x") {
		t.Fatal("x lost its subscription while the list failed")
	}
	list.set(nil, "y")
	waitUntil(t, "y subscribed and x unsubscribed", func() bool {
		_, watched := e.channelOf(t, "x")
		return subscribed("y") && !watched && len(e.webhooksAt(t, "x")) == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
}

func TestNewSubscriberValidates(t *testing.T) {
	e := newEnv(t, envOptions{})
	base := webhooks.SubscriberConfig{CRM: e.crm, Desk: e.deskOwn, PublicURL: "https://x", TokenSecret: "s", DeskSourceID: ownSource}
	tests := []struct {
		name   string
		change func(*webhooks.SubscriberConfig)
		want   string // "" = valid
	}{
		{"valid", func(*webhooks.SubscriberConfig) {}, ""},
		{"missing", func(c *webhooks.SubscriberConfig) { c.CRM, c.PublicURL = nil, "" }, "SubscriberConfig.CRM, SubscriberConfig.PublicURL required"},
		{"source not uuid", func(c *webhooks.SubscriberConfig) { c.DeskSourceID = "deskcrm" }, "must be a UUID"},
		{"ttl over a week", func(c *webhooks.SubscriberConfig) { c.ChannelTTL = 8 * 24 * time.Hour }, "exceeds CRM's maximum"},
		{"renew before ttl", func(c *webhooks.SubscriberConfig) { c.ChannelTTL, c.RenewBefore = time.Hour, time.Hour }, "must be shorter"},
		{"short ttl gets a fitting default", func(c *webhooks.SubscriberConfig) { c.ChannelTTL = time.Hour }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			_, err := webhooks.NewSubscriber(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if err := e.sub.Subscribe(context.Background(), "no/slash"); err == nil {
		t.Fatal("Subscribe accepted an invalid integration id")
	}
}
