package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"deskcrm/activities"
)

// rerunSteps are the first-sync steps a two-way pass runs again for a retry or a catch-up,
// in the order they start: both matches at once (the contacts' match needs no account), then
// the accounts' writes, then the contacts'.
var rerunSteps = []string{
	"Match/accounts", "Match/contacts",
	"CreateInCRM/accounts", "CreateInDesk/accounts", "ReconcilePairs/accounts",
	"CreateInCRM/contacts", "CreateInDesk/contacts", "ReconcilePairs/contacts",
}

// sequentialRerunSteps are the steps a pass runs again in runs that began before
// overlapVersion, one at a time.
var sequentialRerunSteps = []string{
	"Match/accounts", "CreateInCRM/accounts", "CreateInDesk/accounts", "ReconcilePairs/accounts",
	"Match/contacts", "CreateInCRM/contacts", "CreateInDesk/contacts", "ReconcilePairs/contacts",
}

// idleState is the state of an integration whose first sync is done, in the given mode.
func idleState(mode string) *State {
	return &State{IntegrationID: "acme", Mode: mode, Phase: PhaseIdle, Step: 12, InitialDone: true,
		InitialStart: t0.Add(-2 * time.Hour), OneWaySince: t0.Add(-time.Hour), Progress: twoWayProgress(), LastSync: t0.Add(-time.Minute)}
}

// A switch to two-way that arrives while a pass runs is not lost when that pass ends: the
// pass finishes in the mode it began in, and the next pass catches up in two-way mode.
func TestSetModeDuringAPassTakesEffectOnTheNextPass(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Accounts)).
		Return(incrementalResults[activities.Accounts], nil).After(5 * time.Minute).Once()
	h.signal(10*time.Minute, SignalSyncNow, nil)
	var out updateOutcome
	h.update(12*time.Minute, UpdateSetMode, &out, SetModeRequest{Mode: activities.ModeTwoWay})
	var done Status
	h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h", State: idleState(activities.ModeOneWayToDesk)})

	require.NoError(t, out.rejected)
	require.NoError(t, out.err)
	assert.Equal(t, concat(passOrder, rerunSteps, []string{"RecordRuns"}, passOrder), h.startsBetween(10*time.Minute, 30*time.Minute),
		"the next pass runs at once and catches up: the first sync's create steps, then a two-way pass")
	accounts, contacts := h.startsOf("IncrementalPass/accounts"), h.startsOf("IncrementalPass/contacts")
	require.Len(t, accounts, 2)
	require.Len(t, contacts, 2)
	assert.Equal(t, activities.ModeOneWayToDesk, contacts[0].Input.(activities.IncrementalInput).Mode, "a pass under way keeps its mode")
	assert.Equal(t, activities.ModeTwoWay, accounts[1].Input.(activities.IncrementalInput).Mode)
	assert.Equal(t, t0.Add(-time.Hour), accounts[1].Input.(activities.IncrementalInput).DeskFrom.UTC(),
		"Desk changes are read again from when one-way mode began")
	for _, s := range h.startsOf("CreateInCRM/accounts") {
		assert.Equal(t, activities.ModeTwoWay, s.Input.(activities.StepInput).Mode)
	}
	assert.False(t, done.CatchUp)
	assert.Equal(t, activities.ModeTwoWay, done.Mode)
}

// A retry that arrives while a pass runs is not lost when that pass ends: the next pass runs
// the first sync's steps again for the records it marked.
func TestRetryDuringAPassTakesEffectOnTheNextPass(t *testing.T) {
	tests := []struct {
		name string
		slow func(h *harness) // makes the first pass's part the retry arrives in take five minutes
		want []string         // activities from the first retry on
	}{
		{"during the steps a retry runs again",
			func(h *harness) {
				h.env.OnActivity(acts.Match, mock.Anything, stepMatching(activities.Accounts)).
					Return(stepResults["Match/accounts"], nil).After(5 * time.Minute).Once()
			},
			// The second retry is marked before the next steps start (the accounts' writes, once
			// their match is done); the pass goes on, and the next pass runs the steps again.
			concat([]string{"MarkRetry"}, rerunSteps[:2], []string{"MarkRetry"}, rerunSteps[2:], []string{"RecordRuns"}, passOrder,
				rerunSteps, []string{"RecordRuns"}, passOrder)},
		{"during the incremental pass",
			func(h *harness) {
				h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Accounts)).
					Return(incrementalResults[activities.Accounts], nil).After(5 * time.Minute).Once()
			},
			concat([]string{"MarkRetry"}, rerunSteps, []string{"RecordRuns"}, passOrder,
				[]string{"MarkRetry"}, rerunSteps, []string{"RecordRuns"}, passOrder)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.slow(h)
			h.signal(10*time.Minute, SignalRetry, RetrySignal{IDs: []int64{1}})
			h.signal(12*time.Minute, SignalRetry, RetrySignal{IDs: []int64{2}})
			var done Status
			h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
			h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h", State: idleState(activities.ModeTwoWay)})

			assert.Equal(t, tt.want, h.startsBetween(10*time.Minute, 30*time.Minute))
			var marked [][]int64
			for _, s := range h.startsOf("MarkRetry") {
				marked = append(marked, s.Input.(activities.RetryInput).IDs)
			}
			assert.Equal(t, [][]int64{{1}, {2}}, marked)
			assert.False(t, done.RetryMarked)
			assert.Empty(t, done.RetryIDs)
		})
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Failures marked during the first sync may belong to a module whose steps already ran: a
// pass right after the first sync picks them up.
func TestRetryDuringTheFirstSyncRunsAPassAfterIt(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.IndexCRM, mock.Anything, stepMatching(activities.Contacts)).
		Return(stepResults["IndexCRM/contacts"], nil).After(20 * time.Minute).Once()
	h.signal(10*time.Minute, SignalRetry, RetrySignal{})
	h.cancelAt(30 * time.Minute)
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h"})

	keys := h.keys()
	i := indexOf(keys, "RecordRuns")
	require.Positive(t, i, "the first sync ends")
	assert.Equal(t, "MarkRetry", keys[indexOf(keys, "IndexCRM/contacts")+1])
	assert.Equal(t, concat(rerunSteps, []string{"RecordRuns"}, passOrder), keys[i+1:], "a retry pass follows the first sync at once")
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// A paused step runs again when the pause cancelled it, or when the pause's cancel reached a
// failing attempt whose error Temporal would have retried (a trial paused during a CRM outage:
// the attempt's 503 came back instead of the cancellation and failed the whole sync); an error
// for good ends it as it would unpaused (runs from before stored-state keep running it again;
// runs from before paused-retry failed on the retryable error too).
func TestEndOfStep(t *testing.T) {
	permanent := temporal.NewNonRetryableApplicationError("bad credentials", activities.ErrPermanent, nil)
	canceled := temporal.NewCanceledError()
	outage := temporal.NewApplicationError("read CRM deleted accounts: zoho crm: INTERNAL_ERROR [HTTP 503]", "")
	typedPermanent := temporal.NewApplicationError("mapping refused", activities.ErrPermanent) // non-retryable by the policy's types
	heartbeat := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil)
	tests := []struct {
		name        string
		err         error
		paused      bool
		stored      bool
		pausedRetry bool
		want        stepEnd
		wait        time.Duration
	}{
		{"a retryable error while paused", outage, true, true, true, stepRunsAgain, 0},
		{"a retryable error while paused, before paused-retry", outage, true, true, false, stepFails, 0},
		{"a retryable error, not paused (the activity's retries are over)", outage, false, true, true, stepFails, 0},
		{"a heartbeat timeout while paused", heartbeat, true, true, true, stepRunsAgain, 0},
		{"a permanent error while paused, with paused-retry", permanent, true, true, true, stepFails, 0},
		{"an error of a non-retryable type while paused", typedPermanent, true, true, true, stepFails, 0},
		{"success", nil, false, true, false, stepDone, 0},
		{"success while paused", nil, true, true, false, stepDone, 0},
		{"cancelled by the pause", canceled, true, true, false, stepRunsAgain, 0},
		{"cancelled, not paused (the workflow is cancelled)", canceled, false, true, false, stepFails, 0},
		{"a permanent error while paused", permanent, true, true, false, stepFails, 0},
		{"a permanent error while paused, before stored-state", permanent, true, false, false, stepRunsAgain, 0},
		{"a permanent error", permanent, false, true, false, stepFails, 0},
		{"credits exhausted", creditsError(2 * time.Hour), false, true, false, stepWaitsForCredits, 2 * time.Hour},
		{"credits exhausted while paused", creditsError(0), true, true, false, stepWaitsForCredits, time.Hour},
		{"wrapped", errors.Join(errors.New("step"), permanent), true, true, false, stepFails, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, wait := endOfStep(tt.err, tt.paused, tt.stored, tt.pausedRetry)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wait, wait)
		})
	}
}

// A retry of more ids than the state keeps retries every open failure.
func TestRetryOfManyIDsRetriesEveryFailure(t *testing.T) {
	h := newHarness(t)
	many := make([]int64, maxRetryIDs+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	h.signal(10*time.Minute, SignalPause, nil)
	h.signal(11*time.Minute, SignalRetry, RetrySignal{IDs: []int64{3, 1}})
	h.signal(12*time.Minute, SignalRetry, RetrySignal{IDs: []int64{1, 2}})
	var few Status
	h.at(13*time.Minute, func() { few = h.status() })
	h.signal(14*time.Minute, SignalRetry, RetrySignal{IDs: many})
	var all Status
	h.at(15*time.Minute, func() { all = h.status(); h.env.CancelWorkflow() })
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.IncrementalInput) (activities.IncrementalResult, error) {
			return activities.IncrementalResult{}, nil
		})
	h.run(SyncInput{PollInterval: "1h", State: idleState(activities.ModeTwoWay)})

	assert.Equal(t, []int64{1, 2, 3}, few.RetryIDs, "sorted and unique")
	assert.True(t, all.RetryAll)
	assert.Empty(t, all.RetryIDs)
}

// Retries that arrive while MarkRetry marks earlier ones are marked in the next round, not
// dropped (a trial: of eight Retry clicks within a second, four were never marked).
func TestRetriesDuringTheMarkingAreNotDropped(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.MarkRetry, mock.Anything, mock.Anything).Return(activities.RetryResult{Marked: 1}, nil).After(time.Minute).Once()
	h.signal(10*time.Minute, SignalRetry, RetrySignal{IDs: []int64{1}})
	h.signal(10*time.Minute+20*time.Second, SignalRetry, RetrySignal{IDs: []int64{2}})
	h.signal(10*time.Minute+30*time.Second, SignalRetry, RetrySignal{IDs: []int64{3, 1}})
	var done Status
	h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h", State: idleState(activities.ModeTwoWay)})

	var marked [][]int64
	for _, s := range h.startsOf("MarkRetry") {
		marked = append(marked, s.Input.(activities.RetryInput).IDs)
	}
	assert.Equal(t, [][]int64{{1}, {2, 3}}, marked, "the retries received during the first marking are marked next (1 was just marked)")
	assert.Empty(t, done.RetryIDs)
	assert.False(t, done.RetryAll)
}
