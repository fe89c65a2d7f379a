package e2e

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"deskcrm/activities"
	"deskcrm/internal/temporaltest"
	"deskcrm/webhooks"
	"deskcrm/workflows"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// With webhooks on and the poll timer an hour away, a change in either system reaches the
// other through the notification: CRM's callback or Desk's signed webhook, the receiver, the
// changes signal, one incremental pass.
func TestChangesArriveThroughWebhooks(t *testing.T) {
	h := newHarness(t, temporaltest.Start(t))
	seedWorld(t, h)
	recv := httptest.NewServer(nil)
	t.Cleanup(recv.Close)
	var subs *webhooks.Subscriber
	hooks, err := webhooks.NewHandler(webhooks.Config{
		TokenSecret: "e2e-webhook-secret", DeskURL: h.deskURL, DeskOrgID: h.desk.OrgID(), Logger: zaptest.NewLogger(t),
		FlushInterval: 50 * time.Millisecond,
		Signal: func(ctx context.Context, id string, p webhooks.Changes) error {
			return h.tc.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalChanges, p)
		},
		// The subscriber below is built with the worker's clients; deliveries come after it is.
		WebhookIntegration: func(ctx context.Context, webhookID string) (string, error) {
			return subs.DeskWebhookIntegration(ctx, webhookID)
		},
		ChannelExpiry: func(id string) (time.Time, bool) { return subs.Expiry(id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	recv.Config.Handler = hooks
	t.Cleanup(func() { _ = hooks.Close(context.Background()) })

	h.startWorkerWith(func(a *activities.Activities) {
		subs, err = webhooks.NewSubscriber(webhooks.SubscriberConfig{CRM: a.CRM, Desk: a.Desk, PublicURL: recv.URL,
			TokenSecret: "e2e-webhook-secret", DeskSourceID: activities.SourceID(), Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		a.Webhooks = subs
	})
	h.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: "1h"})
	h.waitInitial("e2e", 2*time.Minute, nil)
	waitUntil(t, 30*time.Second, "the sync subscribes to webhooks", func() bool { _, ok := subs.Expiry("e2e"); return ok })

	// People edit records: their Desk writes carry a source id of their own, so Desk notifies us.
	u := newUsers(t, h)
	u.desk = deskUser(t, h, uuid.NewString())

	alice := find(t, h.crm.Records("Contacts"), "Email", "alice@acme.com")
	deskAlice := find(t, h.desk.Records("contacts"), "email", "alice@acme.com")
	if _, err := u.crm.Update(context.Background(), "Contacts", []crm.Record{{ID: alice, Fields: map[string]any{"Phone": "555-7777"}}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the CRM change reaches Desk", func() bool {
		r, _ := h.desk.Record("contacts", deskAlice)
		return r["phone"] == "555-7777"
	})

	bob := find(t, h.desk.Records("contacts"), "email", "bob@globex.com")
	crmBob := find(t, h.crm.Records("Contacts"), "Email", "bob@globex.com")
	if _, err := u.desk.Update(context.Background(), "contacts", bob, desk.Record{Fields: map[string]any{"title": "CTO"}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the Desk change reaches CRM", func() bool {
		r, _ := h.crm.Record("Contacts", crmBob)
		return r["Title"] == "CTO"
	})
	if st := hooks.Stats(); st.Signals == 0 {
		t.Errorf("the receiver sent no signal: %+v", st)
	}
}

// deskUser is a Desk client whose writes carry the given source id.
func deskUser(t *testing.T, h *harness, sourceID string) *desk.Client {
	t.Helper()
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "deskcrm-dev", ClientSecret: "deskcrm-dev-secret",
		RefreshToken: "deskcrm-dev-refresh", AccountsURL: h.crmURL})
	if err != nil {
		t.Fatal(err)
	}
	d, err := desk.New(desk.Config{BaseURL: h.deskURL, OrgID: h.desk.OrgID(), Tokens: tokens, SourceID: sourceID})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, limit)
}
