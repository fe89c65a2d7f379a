package e2e

// The fault matrix's notification faults: the Desk webhook receiver down while Desk delivers
// (its deliveries are retried, then dropped), and CRM's notification channel expired (CRM
// stops notifying). Polling must catch up with every change, and the channel must come back.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/webhooks"
	"deskcrm/workflows"
)

// hooked is a world's webhook path: the receiver (behind a switch that takes it down) and the
// subscriber of the in-process worker.
type hooked struct {
	recv *webhooks.Handler
	subs *webhooks.Subscriber
	down atomic.Bool
}

// channelTTL is the lifetime the test's CRM channel is subscribed with: short, and never
// renewed until the test says so, so that it expires under the sync.
const channelTTL = 5 * time.Second

// startHookedWorker starts the in-process worker with a webhook receiver and subscriber, as
// the worker binary wires them (webhooks_test.go), the CRM channel asked for channelTTL.
func (w *world) startHookedWorker() *hooked {
	w.t.Helper()
	h := &hooked{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			cutConnection(rw) // a receiver that is down answers nothing
			return
		}
		h.recv.ServeHTTP(rw, r)
	}))
	w.t.Cleanup(srv.Close)
	var err error
	h.recv, err = webhooks.NewHandler(webhooks.Config{TokenSecret: "faults-webhook-secret", DeskURL: w.deskURL,
		DeskOrgID: w.desk.OrgID(), Logger: zap.NewNop(), FlushInterval: 50 * time.Millisecond,
		Signal: func(ctx context.Context, id string, p webhooks.Changes) error {
			return w.tc.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalChanges, p)
		},
		// The subscriber below is built with the worker's clients; deliveries come after it is.
		WebhookIntegration: func(ctx context.Context, webhookID string) (string, error) {
			return h.subs.DeskWebhookIntegration(ctx, webhookID)
		},
		ChannelExpiry: func(id string) (time.Time, bool) { return h.subs.Expiry(id) },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = h.recv.Close(context.Background()) })
	w.startWorkerWith(func(a *activities.Activities) {
		h.subs, err = webhooks.NewSubscriber(webhooks.SubscriberConfig{CRM: a.CRM, Desk: a.Desk, PublicURL: srv.URL,
			TokenSecret: "faults-webhook-secret", DeskSourceID: activities.SourceID(), Logger: zap.NewNop(),
			ChannelTTL: channelTTL})
		if err != nil {
			w.t.Fatal(err)
		}
		a.Webhooks = h.subs
	})
	return h
}

// TestFaultsNotificationsLost runs the bulk update with the Desk webhook receiver down (for
// the size's hooksDown: Desk retries each delivery three times, then drops it) and CRM's
// notification channel expired (CRM drops it and notifies nothing). The sync polls every 5 s:
// the next polls must bring every change across. Then the subscriber's renewal round, which a
// worker runs every few minutes, must subscribe the lost channel again.
func TestFaultsNotificationsLost(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		var h *hooked
		var crmSentBefore int64
		runFaultScenario(t, size, faultScenario{
			opts:    worldOptions{latency: true, poll: "5s"},
			workers: func(w *world) { h = w.startHookedWorker() },
			bulk: func(w *world) {
				if err := waitFor(time.Minute, func() (bool, string) {
					exp, ok := h.subs.Expiry("e2e")
					return ok && time.Now().After(exp), "the CRM channel has not expired yet"
				}); err != nil {
					t.Fatalf("the sync never subscribed a CRM channel, or it never expired: %v", err)
				}
				crmSentBefore, _ = w.crm.NotificationsSent()
				h.down.Store(true)
				w.background("the webhook receiver down for "+size.hooksDown.String(), func() {
					time.Sleep(size.hooksDown)
					if sent, _ := w.crm.NotificationsSent(); sent != crmSentBefore {
						t.Errorf("CRM sent %d notifications on an expired channel", sent-crmSentBefore)
					}
					h.down.Store(false)
				})
			},
			verify: func(t *testing.T, w *world) {
				dropped := 0
				for _, s := range w.desk.WebhookStats() {
					dropped += s.EventsDropped
				}
				if dropped == 0 {
					t.Errorf("Desk dropped no webhook event: the receiver's outage was not exercised (stats %+v)", w.desk.WebhookStats())
				}
				// The renewal round finds the channel gone and subscribes it again.
				if err := h.subs.Check(context.Background()); err != nil {
					t.Errorf("renewal round: %v", err)
				}
				if exp, ok := h.subs.Expiry("e2e"); !ok || !exp.After(time.Now()) {
					t.Errorf("after the renewal round the CRM channel expires at %v (%v), want a time to come", exp, ok)
				}
				u := w.newFaultUsers()
				watches, err := u.crm.Watches(context.Background(), "Contacts")
				if err != nil || len(watches) == 0 {
					t.Errorf("CRM lists no channel after the renewal round: %v %v", watches, err)
				}
				t.Logf("Desk dropped %d webhook events; receiver stats %+v", dropped, h.recv.Stats())
			},
		})
	})
}
