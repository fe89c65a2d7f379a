package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// In runs that began before overlapping-steps, the steps run one at a time: a pause cancels
// the one running, and resume carries on with it (TestPauseCancelsEveryStepInFlight covers
// the overlapping schedule).
func TestPauseDuringAStepCancelsItAndResumeRunsItAgainOneAtATime(t *testing.T) {
	steps := twoWayOrder[1 : len(twoWayOrder)-1]
	for i, key := range steps {
		t.Run(key, func(t *testing.T) {
			h := newHarness(t)
			h.pin(overlapVersion, workflow.DefaultVersion)
			name, module, _ := strings.Cut(key, "/")
			// The first run of the step takes 20 minutes; the pause comes 10 minutes in.
			h.env.OnActivity(name, mock.Anything, stepMatching(module)).
				Return(stepResults[key], nil).After(20 * time.Minute).Once()
			h.signal(10*time.Minute, SignalPause, nil)
			var paused Status
			h.at(25*time.Minute, func() { paused = h.status() })
			h.signal(30*time.Minute, SignalResume, nil)
			var done Status
			h.at(40*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
			h.run(SyncInput{PollInterval: "1h"})

			assert.Equal(t, PhaseInitial, paused.Phase)
			assert.True(t, paused.Paused)
			assert.Equal(t, "paused by request", paused.PausedReason)
			assert.Equal(t, "resume signal", paused.WaitingFor)
			assert.Equal(t, paused.Steps[i], paused.CurrentStep)
			assert.Equal(t, i, paused.Step)

			assert.Equal(t, []string{name}, h.canceled, "the running step is cancelled")
			assert.Equal(t, twoWayOrder[:i+2], h.startsBetween(0, 10*time.Minute))
			assert.Empty(t, h.startsBetween(10*time.Minute, 30*time.Minute), "no activity while paused")
			assert.Equal(t, twoWayOrder[i+1:], h.startsBetween(30*time.Minute, 40*time.Minute), "resume carries on with the same step")

			assert.Equal(t, PhaseIdle, done.Phase)
			assert.False(t, done.Paused)
			assert.Equal(t, twoWayProgress(), done.Progress, "the cancelled attempt counts nothing")
			assert.Contains(t, h.states, "paused")
		})
	}
}

func TestPauseDuringPreflightHoldsTheFirstStep(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).
		Return(activities.PreflightResult{}, nil).After(20 * time.Minute).Once()
	h.signal(10*time.Minute, SignalPause, nil)
	var paused Status
	h.at(25*time.Minute, func() { paused = h.status() })
	h.signal(30*time.Minute, SignalResume, nil)
	var done Status
	h.at(40*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.True(t, paused.Paused)
	assert.Equal(t, "resume signal", paused.WaitingFor)
	assert.Equal(t, "index-desk-accounts", paused.CurrentStep)
	assert.Equal(t, []string{"Preflight"}, h.startsBetween(0, 30*time.Minute))
	assert.Equal(t, twoWayOrder[1:], h.startsBetween(30*time.Minute, 40*time.Minute))
	assert.Equal(t, PhaseIdle, done.Phase)
	assert.Equal(t, twoWayProgress(), done.Progress)
}

func TestPauseWhileIdle(t *testing.T) {
	h := newHarness(t)
	h.signal(10*time.Minute, SignalPause, nil)
	var paused Status
	h.at(2*time.Hour, func() { paused = h.status() })
	h.signal(3*time.Hour, SignalResume, nil)
	var done Status
	h.at(3*time.Hour+10*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.Equal(t, PhaseIdle, paused.Phase)
	assert.True(t, paused.Paused)
	assert.Equal(t, "paused by request", paused.PausedReason)
	assert.Equal(t, "resume signal", paused.WaitingFor)
	assert.Equal(t, twoWayOrder, h.startsBetween(0, 10*time.Minute))
	assert.Empty(t, h.startsBetween(10*time.Minute, 3*time.Hour), "the poll timer must not start a pass while paused")
	// The poll interval passed while paused, so a pass runs on resume.
	assert.Equal(t, passOrder, h.startsBetween(3*time.Hour, 4*time.Hour))
	assert.False(t, done.Paused)
	assert.Equal(t, t0.Add(3*time.Hour), done.LastSync.UTC())
	assert.Equal(t, []string{"preflight", "initial-sync", "idle", "paused", "idle"}, h.states)
}

func TestPreflightProblemsBlockUntilResume(t *testing.T) {
	h := newHarness(t)
	problem := activities.PreflightProblem{Code: "FIELD_MISSING", Module: "contacts", CRM: "Mobile", Message: "CRM has no field Mobile"}
	h.env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).
		Return(activities.PreflightResult{Problems: []activities.PreflightProblem{problem}}, nil).Once()
	var blocked Status
	h.at(10*time.Minute, func() { blocked = h.status() })
	h.signal(20*time.Minute, SignalResume, nil)
	var done Status
	h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.Equal(t, PhaseBlocked, blocked.Phase)
	assert.True(t, blocked.Paused)
	assert.Contains(t, blocked.PausedReason, "1 problem(s)")
	assert.Equal(t, "resume signal", blocked.WaitingFor)
	assert.Equal(t, []activities.PreflightProblem{problem}, blocked.Problems)
	assert.Equal(t, []string{"Preflight"}, h.startsBetween(0, 20*time.Minute), "no step runs while blocked")
	assert.Equal(t, twoWayOrder, h.startsBetween(20*time.Minute, 30*time.Minute), "resume re-runs the preflight, then the steps")
	assert.Equal(t, PhaseIdle, done.Phase)
	assert.Empty(t, done.Problems)
	assert.False(t, done.Paused)
	assert.Equal(t, []string{"preflight", "blocked", "paused"}, h.states[:3])
	assert.Equal(t, []string{"preflight", "initial-sync", "idle"}, h.states[len(h.states)-3:])
}

func creditsError(wait time.Duration) error {
	return temporal.NewNonRetryableApplicationError("crm: credits exhausted", activities.ErrCreditsExhausted, nil, wait)
}

// The pause names the API whose credits ran out (a trial could not tell which), from the
// activity error's details; an error without it (an older worker's) says Zoho.
func TestCreditsPauseNamesTheAPI(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{temporal.NewNonRetryableApplicationError("desk: credits", activities.ErrCreditsExhausted, nil, time.Hour, "Zoho Desk"), "Zoho Desk daily API credits exhausted"},
		{creditsError(time.Hour), "Zoho daily API credits exhausted"},
	} {
		h := newHarness(t)
		h.env.OnActivity(acts.IndexCRM, mock.Anything, stepMatching(activities.Contacts)).Return(activities.StepResult{}, tc.err).Once()
		var waiting Status
		h.at(30*time.Minute, func() { waiting = h.status(); h.env.CancelWorkflow() })
		h.run(SyncInput{PollInterval: "1h"})
		assert.True(t, strings.HasPrefix(waiting.PausedReason, tc.want), "reason %q, want it to start with %q", waiting.PausedReason, tc.want)
	}
}

func TestCreditsExhaustedPausesUntilTheWaitPasses(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.IndexCRM, mock.Anything, stepMatching(activities.Contacts)).
		Return(activities.StepResult{}, creditsError(3*time.Hour)).Once()
	var waiting Status
	h.at(time.Hour, func() { waiting = h.status() })
	var done Status
	h.at(3*time.Hour+time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.True(t, waiting.Paused)
	assert.Contains(t, waiting.PausedReason, "credits exhausted")
	assert.Contains(t, waiting.PausedReason, t0.Add(3*time.Hour).Format(time.RFC3339))
	// It waits for the credits, or an earlier resume: not for the resume signal alone.
	assert.Contains(t, waiting.WaitingFor, "the daily API credits, at "+t0.Add(3*time.Hour).Format(time.RFC3339)+", or the resume signal")
	// The steps cancelled with it may or may not have finished first (they overlap): the
	// failed step is among those that run when the wait is over.
	assert.Contains(t, waiting.RunningSteps, "index-crm-contacts")
	calls := h.startsOf("IndexCRM/contacts")
	require.Len(t, calls, 2)
	assert.Equal(t, t0.Add(3*time.Hour), calls[1].At, "the step runs again once the wait has passed")
	assert.Empty(t, h.startsBetween(time.Second, 3*time.Hour))
	assert.False(t, done.Paused)
	assert.Equal(t, PhaseIdle, done.Phase)
	assert.Equal(t, twoWayProgress(), done.Progress)
	assert.Contains(t, h.states, "paused")
}

func TestPauseRequestedDuringACreditsWaitOutlastsIt(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.IndexCRM, mock.Anything, stepMatching(activities.Contacts)).
		Return(activities.StepResult{}, creditsError(3*time.Hour)).Once()
	h.signal(time.Hour, SignalPause, nil)
	var held Status
	h.at(4*time.Hour, func() { held = h.status() })
	h.signal(5*time.Hour, SignalResume, nil)
	h.cancelAt(5*time.Hour + time.Minute)
	h.run(SyncInput{PollInterval: "1h"})

	assert.True(t, held.Paused, "the admin's pause must not end when the credits return")
	assert.Equal(t, "paused by request", held.PausedReason)
	assert.Empty(t, h.startsBetween(time.Second, 5*time.Hour))
	calls := h.startsOf("IndexCRM/contacts")
	require.Len(t, calls, 2)
	assert.Equal(t, t0.Add(5*time.Hour), calls[1].At)
}

func TestResumeEndsACreditsWaitEarly(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.Match, mock.Anything, stepMatching(activities.Accounts)).
		Return(activities.StepResult{}, creditsError(0)).Once() // no wait given: an hour
	h.signal(10*time.Minute, SignalResume, nil)
	h.cancelAt(20 * time.Minute)
	h.run(SyncInput{PollInterval: "1h"})

	calls := h.startsOf("Match/accounts")
	require.Len(t, calls, 2)
	assert.Equal(t, t0.Add(10*time.Minute), calls[1].At)
}

// Paused, the status says the sync waits for the resume signal only once nothing it started
// still runs: a pass or step the pause cancelled may call Zoho until its next heartbeat tells
// it to stop, and an admin who pauses to keep the sync off Zoho needs to know when it is.
func TestPausedStatusWaitsForCancelledStepsToStop(t *testing.T) {
	s := newSyncImpl(SyncInput{IntegrationID: "it", PollInterval: "1h"})
	s.st.Paused = true
	s.st.InitialDone = true
	s.pausable = "incremental-contacts"
	assert.Equal(t, "incremental-contacts to stop, then the resume signal", s.status(t0).WaitingFor)
	s.pausable = ""
	s.running = []runningStep{{name: "create-in-crm-contacts"}, {name: "reconcile-contacts"}}
	assert.Equal(t, "create-in-crm-contacts, reconcile-contacts to stop, then the resume signal", s.status(t0).WaitingFor)
	s.running = nil
	assert.Equal(t, "resume signal", s.status(t0).WaitingFor)
}
