package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

func TestAddPendingKeepsIDsSortedUniqueAndBounded(t *testing.T) {
	many := make([]string, MaxPendingIDs+5)
	for i := range many {
		many[i] = fmt.Sprintf("id%05d", i)
	}
	tests := []struct {
		name     string
		start    map[string][]string
		sig      ChangesSignal
		want     map[string][]string
		overflow bool
	}{
		{"new ids, sorted", nil, ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"3", "1", "2"}, Operation: "update"},
			map[string][]string{"crm/contacts": {"1", "2", "3"}}, false},
		{"duplicates dropped", map[string][]string{"desk/accounts": {"1", "3"}},
			ChangesSignal{Source: "desk", Module: "accounts", IDs: []string{"3", "2", "2", ""}, Operation: "insert"},
			map[string][]string{"desk/accounts": {"1", "2", "3"}}, false},
		{"deletions keep no ids (the pass reads the recycle bins)", nil,
			ChangesSignal{Source: "desk", Module: "contacts", IDs: []string{"9"}, Operation: "delete"}, nil, false},
		{"unknown source or module keeps no ids", nil,
			ChangesSignal{Source: "erp", Module: "contacts", IDs: []string{"9"}}, nil, false},
		{"at most MaxPendingIDs per side and module", nil, ChangesSignal{Source: "crm", Module: "accounts", IDs: many},
			map[string][]string{"crm/accounts": many[:MaxPendingIDs]}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overflow := false
			got := addPending(tt.start, tt.sig, &overflow)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.overflow, overflow)
		})
	}
}

// hintsOf returns the hints of the IncrementalPass starts of a module, in order.
func (h *harness) hintsOf(module string) []map[string][]string {
	var out []map[string][]string
	for _, s := range h.startsOf("IncrementalPass/" + module) {
		out = append(out, s.Input.(activities.IncrementalInput).Hints)
	}
	return out
}

// Before hinted-passes, every changes signal asked for a full pass (TestHintedPasses covers
// the passes of hinted sides).
func TestChangesSignalsDuringAPassAreCoalescedIntoOneMoreFullPass(t *testing.T) {
	h := newHarness(t)
	h.pin(hintedPassVersion, workflow.DefaultVersion)
	// The first pass's accounts activity takes five minutes; 200 signals arrive meanwhile.
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, mock.MatchedBy(func(in activities.IncrementalInput) bool { return in.Module == activities.Accounts })).
		Return(incrementalResults[activities.Accounts], nil).After(5 * time.Minute).Once()
	h.signal(10*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"})
	for i := range 200 {
		h.signal(11*time.Minute+time.Duration(i)*time.Second, SignalChanges,
			ChangesSignal{Source: "desk", Module: "contacts", IDs: []string{fmt.Sprintf("d%d", i%50)}, Operation: "update"})
	}
	var done Status
	h.at(50*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.Equal(t, slicesRepeat(passOrder, 2), h.startsBetween(10*time.Minute, 50*time.Minute),
		"201 signals make two passes: the one they started and one more for those that came during it")
	hints := h.hintsOf(activities.Contacts)
	require.Len(t, hints, 2)
	// Ids are taken when a module's activity starts: the contacts of the first pass already
	// get those that came during its accounts, deduplicated.
	assert.Equal(t, []string{"c1"}, hints[0]["crm"])
	assert.Len(t, hints[0]["desk"], 50)
	assert.Empty(t, hints[1])
	assert.Equal(t, 201, done.ChangesSignals)
	assert.Equal(t, 2, done.Passes)
	assert.Empty(t, done.Pending)
	assert.False(t, done.SyncRequested)
}

func slicesRepeat(s []string, n int) []string {
	var out []string
	for range n {
		out = append(out, s...)
	}
	return out
}

func TestSignalsWhilePausedAreKeptAndNothingRunsUntilResume(t *testing.T) {
	h := newHarness(t)
	h.signal(10*time.Minute, SignalPause, nil)
	h.signal(20*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "accounts", IDs: []string{"a2", "a1"}, Operation: "update"})
	h.signal(21*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "accounts", IDs: []string{"a1"}, Operation: "update"})
	h.signal(22*time.Minute, SignalSyncNow, nil)
	var paused, done Status
	h.at(2*time.Hour, func() { paused = h.status() })
	h.signal(3*time.Hour, SignalResume, nil)
	h.at(3*time.Hour+10*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "30m"})

	assert.Empty(t, h.startsBetween(10*time.Minute, 3*time.Hour), "nothing calls Zoho while paused, signals and poll timers included")
	assert.Equal(t, map[string][]string{"crm/accounts": {"a1", "a2"}}, paused.Pending)
	assert.True(t, paused.SyncRequested)
	assert.Equal(t, passOrder, h.startsBetween(3*time.Hour, 3*time.Hour+10*time.Minute), "one pass catches up on resume")
	hints := h.hintsOf(activities.Accounts)
	require.NotEmpty(t, hints)
	assert.Equal(t, map[string][]string{"crm": {"a1", "a2"}}, hints[len(hints)-1])
	assert.Empty(t, done.Pending)
}

func TestAPassThatHasMoreRunsAgainAtOnce(t *testing.T) {
	h := newHarness(t)
	more := incrementalResults[activities.Contacts]
	more.More = true
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, mock.MatchedBy(func(in activities.IncrementalInput) bool { return in.Module == activities.Contacts })).
		Return(more, nil).Once()
	h.signal(10*time.Minute, SignalSyncNow, nil)
	h.at(20*time.Minute, h.env.CancelWorkflow)
	h.run(SyncInput{PollInterval: "1h"})
	assert.Equal(t, slicesRepeat(passOrder, 2), h.startsBetween(10*time.Minute, 20*time.Minute))
}

func TestIncrementalPassesKeepCursorsAndRecordHistory(t *testing.T) {
	cur := activities.Cursor{Position: t0.Add(time.Minute), Deleted: t0}
	h := newHarness(t)
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.IncrementalInput) (activities.IncrementalResult, error) {
			r := incrementalResults[in.Module]
			r.CRMCursor, r.DeskCursor = cur, cur
			return r, nil
		})
	h.env.SetCurrentHistoryLength(2001)
	h.signal(10*time.Minute, SignalSyncNow, nil)
	state := &State{IntegrationID: "acme", Mode: activities.ModeTwoWay, Phase: PhaseIdle, InitialDone: true, InitialStart: t0.Add(-time.Hour),
		Progress: twoWayProgress(), Pending: map[string][]string{"desk/contacts": {"d1"}}}
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h", State: state})

	in := canInput(t, h.env.GetWorkflowError())
	for _, s := range h.startsOf("IncrementalPass/contacts") {
		x := s.Input.(activities.IncrementalInput)
		assert.Equal(t, t0.Add(-time.Hour), x.Since.UTC(), "cursors start at the first sync's start")
		assert.Equal(t, map[string][]string{"desk": {"d1"}}, x.Hints, "ids kept over continue-as-new reach the pass")
	}
	for _, k := range []string{"accounts/crm", "accounts/desk", "contacts/crm", "contacts/desk"} {
		assert.Equal(t, cur.Position, in.State.Cursors[k].Position.UTC(), k)
	}
	var lines []string
	for _, r := range in.State.Runs {
		lines = append(lines, fmt.Sprintf("%s %s %s +%d ~%d", r.Kind, r.Module, r.Direction, r.Added, r.Updated))
	}
	assert.ElementsMatch(t, []string{
		"incremental accounts desk-to-crm +0 ~1", "incremental accounts crm-to-desk +0 ~2",
		"incremental contacts desk-to-crm +3 ~0", "incremental contacts crm-to-desk +4 ~5",
	}, lines, "one history line per module and direction that did something")
}

// update sends an update at t0+d and records its outcome.
type updateOutcome struct {
	rejected error
	err      error
	done     bool
	result   any
}

func (h *harness) update(d time.Duration, name string, out *updateOutcome, args ...any) {
	h.at(d, func() {
		h.env.UpdateWorkflow(name, fmt.Sprintf("%s-%s", name, d), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { out.rejected = err },
			OnComplete: func(r any, err error) { out.result, out.err, out.done = r, err, true },
		}, args...)
	})
}

func TestSetModeValidatorRefusesWithAClearMessage(t *testing.T) {
	tests := []struct {
		name  string
		input SyncInput
		at    time.Duration
		req   SetModeRequest
		want  string
	}{
		{"unknown mode", SyncInput{}, 10 * time.Minute, SetModeRequest{Mode: "sideways"}, `mode "sideways" is not a sync mode: use "two-way" or "one-way-crm-to-desk"`},
		{"back to the legacy import", SyncInput{}, 10 * time.Minute, SetModeRequest{Mode: ModeLegacyImport}, "cannot be reverted"},
		{"a legacy integration", SyncInput{Mode: ModeLegacyImport}, 10 * time.Minute, SetModeRequest{Mode: activities.ModeTwoWay}, "use the switch-to-sync update"},
		{"during the first sync", SyncInput{}, 2 * time.Minute, SetModeRequest{Mode: activities.ModeOneWayToDesk}, "the first sync is still running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env.OnActivity(acts.IndexDesk, mock.Anything, stepMatching(activities.Accounts)).
				Return(stepResults["IndexDesk/accounts"], nil).After(5 * time.Minute).Once()
			var out updateOutcome
			h.update(tt.at, UpdateSetMode, &out, tt.req)
			var st Status
			h.at(30*time.Minute, func() { st = h.status(); h.env.CancelWorkflow() })
			tt.input.PollInterval = "1h"
			h.run(tt.input)
			require.Error(t, out.rejected)
			assert.Contains(t, out.rejected.Error(), tt.want)
			assert.False(t, out.done)
			assert.Empty(t, h.startsOf("SetMode"))
			assert.Equal(t, []activities.RecordModeInput{{IntegrationID: "default", Mode: activityModeOr(tt.input.Mode), LookbackDays: 365}}, h.modes,
				"a refused update stores nothing: the mode is recorded once, at the run's start")
			assert.Equal(t, activityModeOr(tt.input.Mode), st.Mode)
		})
	}
}

func activityModeOr(mode string) string {
	if mode == "" {
		return activities.ModeTwoWay
	}
	return mode
}

func TestSetModeSwitchesAndCatchesUpWhenGoingTwoWay(t *testing.T) {
	h := newHarness(t)
	var toOneWay, toTwoWay updateOutcome
	h.update(10*time.Minute, UpdateSetMode, &toOneWay, SetModeRequest{Mode: activities.ModeOneWayToDesk})
	h.signal(20*time.Minute, SignalSyncNow, nil)
	var oneWay Status
	var oneWaySA string
	h.at(30*time.Minute, func() { oneWay = h.status(); oneWaySA = h.lastModeSA() })
	h.update(40*time.Minute, UpdateSetMode, &toTwoWay, SetModeRequest{Mode: activities.ModeTwoWay})
	var done Status
	h.at(50*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h"})

	require.NoError(t, toOneWay.rejected)
	require.NoError(t, toOneWay.err)
	require.True(t, toOneWay.done)
	require.NoError(t, toTwoWay.err)
	assert.Empty(t, h.startsOf("SetMode"), "runs since stored-state record the mode with RecordMode")
	assert.Equal(t, []activities.RecordModeInput{
		{IntegrationID: "acme", Mode: activities.ModeTwoWay, LookbackDays: 365},
		{IntegrationID: "acme", Mode: activities.ModeOneWayToDesk, LookbackDays: 365},
		{IntegrationID: "acme", Mode: activities.ModeTwoWay, LookbackDays: 365},
	}, h.modes, "the mode and look-back are stored in Postgres at the start and at each change")
	assert.Equal(t, activities.ModeOneWayToDesk, oneWay.Mode)
	passes := h.startsOf("IncrementalPass/accounts")
	require.NotEmpty(t, passes)
	assert.Equal(t, t0.Add(20*time.Minute), passes[0].At)
	assert.Equal(t, activities.ModeOneWayToDesk, passes[0].Input.(activities.IncrementalInput).Mode, "the next pass runs one-way")
	assert.Equal(t, activities.ModeOneWayToDesk, oneWaySA, "the DeskcrmMode search attribute follows")
	// Back to two-way: Desk records and changes one-way mode did not send are sent.
	assert.Equal(t, concat(rerunSteps, []string{"RecordRuns"}, passOrder), h.startsBetween(40*time.Minute, 50*time.Minute),
		"the steps' runs are recorded in the history")
	last := h.startsOf("IncrementalPass/accounts")
	assert.Equal(t, t0.Add(10*time.Minute), last[len(last)-1].Input.(activities.IncrementalInput).DeskFrom.UTC(),
		"Desk changes are read again from when one-way mode began")
	assert.Equal(t, activities.ModeTwoWay, done.Mode)
	assert.False(t, done.CatchUp)
	// The update says since when Desk's held-back changes are sent (starter set-mode prints it).
	assert.Equal(t, t0.Add(10*time.Minute), toTwoWay.result.(ModeResult).CatchUpSince.UTC())
	assert.True(t, toOneWay.result.(ModeResult).CatchUpSince.IsZero())
}

func (h *harness) lastModeSA() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, _ := h.lastSA[ModeKey.GetName()].(string)
	return v
}

func TestLegacyImportSwitchesToSyncOnce(t *testing.T) {
	h := newHarness(t)
	var early, first, second, setMode updateOutcome
	h.update(0, UpdateSwitchToSync, &early)
	var legacy Status
	h.at(5*time.Minute, func() { legacy = h.status() })
	h.update(10*time.Minute, UpdateSwitchToSync, &first)
	h.update(20*time.Minute, UpdateSwitchToSync, &second)
	h.update(21*time.Minute, UpdateSetMode, &setMode, SetModeRequest{Mode: ModeLegacyImport})
	var done Status
	h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{IntegrationID: "old", Mode: ModeLegacyImport, PollInterval: "1h"})

	// The legacy integration runs as a one-way import: no CRM creates, activities in one-way mode.
	assert.NotContains(t, h.startsBetween(0, 10*time.Minute), "CreateInCRM/accounts")
	assert.Equal(t, activities.ModeOneWayToDesk, h.startsOf("IndexDesk/accounts")[0].Input.(activities.StepInput).Mode)
	require.NotEmpty(t, h.modes)
	assert.Equal(t, activities.RecordModeInput{IntegrationID: "old", Mode: ModeLegacyImport, LookbackDays: 365}, h.modes[0],
		"the legacy mode is stored when the run starts, before the preflight")
	assert.Empty(t, h.startsOf("SetMode"))
	assert.Equal(t, ModeLegacyImport, legacy.Mode)
	require.Error(t, early.rejected, "not before the first import is done")
	require.NoError(t, first.rejected)
	require.NoError(t, first.err)
	require.Error(t, second.rejected)
	assert.Contains(t, second.rejected.Error(), "cannot be reverted")
	require.Error(t, setMode.rejected)
	assert.Contains(t, setMode.rejected.Error(), "cannot be reverted")
	assert.Equal(t, activities.ModeTwoWay, done.Mode)
	assert.True(t, done.SwitchedToSync)
	assert.Contains(t, h.startsBetween(10*time.Minute, 20*time.Minute), "CreateInCRM/contacts", "the switch sends Desk records to CRM")
}
