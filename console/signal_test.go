package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"deskcrm/activities"
	"deskcrm/workflows"
)

// statusAnswer is a Temporal client whose status query answers st and whose signals are
// recorded (signalRecorder).
type statusAnswer struct {
	*signalRecorder
	st workflows.Status
}

func (s *statusAnswer) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return statusValue{s.st}, nil
}

// statusValue is a query answer holding a status.
type statusValue struct{ st workflows.Status }

func (v statusValue) HasValue() bool { return true }

func (v statusValue) Get(ptr any) error {
	*ptr.(*workflows.Status) = v.st
	return nil
}

// Resume of a sync that runs, and pause of one paused by request already, send nothing and say
// so (the overview said "Sync resumed" for a sync that was never paused: a trial); the signals
// that change something are sent.
func TestSyncActionsThatChangeNothingSendNothing(t *testing.T) {
	lazy, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lazy.Close)
	fake := &statusAnswer{signalRecorder: &signalRecorder{Client: lazy}}
	e := newConsoleEnv(t, &activities.Activities{}, fake)
	cookie, csrf := e.signIn()
	for _, tc := range []struct {
		st       workflows.Status
		action   string
		location string
		sent     int
	}{
		{workflows.Status{}, "resume", "ok=not-paused", 0},
		{workflows.Status{Paused: true, PausedReason: workflows.PausedByRequest}, "pause", "ok=already-paused", 0},
		{workflows.Status{Paused: true, PausedReason: workflows.PausedByRequest}, "resume", "ok=resumed", 1},
		{workflows.Status{Paused: true, PausedReason: "Zoho daily API credits exhausted"}, "pause", "ok=paused", 2},
		{workflows.Status{}, "pause", "ok=paused", 3},
	} {
		fake.st = tc.st
		res, body := e.do("POST", "/console/sync", cookie, url.Values{"csrf": {csrf}, "action": {tc.action}}, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), tc.location) {
			t.Errorf("%s of %+v: %d %s, location %q, want %s", tc.action, tc.st, res.StatusCode, problemOf(body), res.Header.Get("Location"), tc.location)
		}
		if got := len(fake.signals()); got != tc.sent {
			t.Errorf("%s of %+v: %d signals sent so far, want %d", tc.action, tc.st, got, tc.sent)
		}
	}
}
