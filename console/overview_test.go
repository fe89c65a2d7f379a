package console

import (
	"strings"
	"testing"
	"time"

	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// The overview's state is Retrying while a step waits for its next attempt after failing, with
// the step and its count; a step running its next attempt, a paused sync and a blocked one keep
// their own state.
func TestOverviewStateOfAStepTemporalRetries(t *testing.T) {
	waiting := tclient.Retrying{Activity: "IncrementalPass", Attempt: 4, LastFailure: "zoho crm: INTERNAL_ERROR", NextAttemptAt: time.Now().Add(time.Minute)}
	running := tclient.Retrying{Activity: "CreateInCRM", Attempt: 2, LastFailure: "the attempt timed out", Running: true}
	for _, tt := range []struct {
		name      string
		status    workflows.Status
		retrying  []tclient.Retrying
		state     string
		whyPrefix string
	}{
		{"waiting for its next attempt", workflows.Status{Phase: workflows.PhaseIdle}, []tclient.Retrying{running, waiting}, "Retrying", "step IncrementalPass failed 3 times"},
		{"running its next attempt", workflows.Status{Phase: workflows.PhaseInitial, CurrentStep: "create-in-crm-contacts"}, []tclient.Retrying{running}, "Initial sync", "step create-in-crm-contacts"},
		{"nothing failing", workflows.Status{Phase: workflows.PhaseIdle}, nil, "Idle", "between passes"},
		{"paused", workflows.Status{Phase: workflows.PhaseIdle, Paused: true, PausedReason: "paused by request"}, []tclient.Retrying{waiting}, "Paused", "paused by request"},
		{"blocked", workflows.Status{Phase: workflows.PhaseBlocked, PausedReason: "the mapping"}, []tclient.Retrying{waiting}, "Blocked", "the mapping"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := overviewData{Running: true, Status: tt.status, Retrying: tt.retrying}
			d.describe()
			if d.State != tt.state || !strings.HasPrefix(d.Why, tt.whyPrefix) {
				t.Errorf("state %q, why %q; want %q, %q…", d.State, d.Why, tt.state, tt.whyPrefix)
			}
		})
	}
}
