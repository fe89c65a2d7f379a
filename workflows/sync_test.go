package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
)

func TestWithDefaults(t *testing.T) {
	in, err := SyncInput{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, SyncInput{IntegrationID: "default", Mode: activities.ModeTwoWay, LookbackDays: 365, PollInterval: "1m"}, in)

	in, err = SyncInput{IntegrationID: "acme.eu_2", Mode: activities.ModeOneWayToDesk, LookbackDays: 30, PollInterval: "30s"}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, SyncInput{IntegrationID: "acme.eu_2", Mode: activities.ModeOneWayToDesk, LookbackDays: 30, PollInterval: "30s"}, in)
}

func TestInvalidInputFailsNamingEachProblem(t *testing.T) {
	tests := []struct {
		name string
		in   SyncInput
		want []string
	}{
		{"bad mode", SyncInput{Mode: "both-ways"}, []string{`mode "both-ways" must be "two-way", "one-way-crm-to-desk" or "legacy-import"`}},
		{"bad integration id", SyncInput{IntegrationID: "acme corp!"}, []string{`integrationId "acme corp!" must be 1-64 letters`}},
		{"too long integration id", SyncInput{IntegrationID: strings.Repeat("a", 65)}, []string{`integrationId "aaaa`}},
		{"poll interval without unit", SyncInput{PollInterval: "5"}, []string{`pollInterval "5" must be a duration of at least 1s`}},
		{"poll interval too short", SyncInput{PollInterval: "500ms"}, []string{`pollInterval "500ms" must be a duration of at least 1s`}},
		{"negative lookback", SyncInput{LookbackDays: -1}, []string{"lookbackDays -1 must be between 1 and 3650"}},
		{"every problem at once", SyncInput{IntegrationID: "a/b", Mode: "sideways", PollInterval: "soon", LookbackDays: 5000}, []string{
			`integrationId "a/b"`, `mode "sideways"`, `pollInterval "soon"`, "lookbackDays 5000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.run(tt.in)
			err := h.env.GetWorkflowError()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T: %v", err, err)
			assert.Equal(t, "InvalidInput", appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.Contains(t, err.Error(), "invalid input")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, h.keys(), "no activity may run on invalid input")
		})
	}
}

func TestFirstSyncRunsEveryStepInOrder(t *testing.T) {
	tests := []struct {
		mode       string
		order      []string
		progress   map[string]*ModuleProgress
		crmCredits int
	}{
		{activities.ModeTwoWay, twoWayOrder, twoWayProgress(), twoWayCRMCredits},
		{activities.ModeOneWayToDesk,
			slices.DeleteFunc(slices.Clone(twoWayOrder), func(k string) bool { return strings.HasPrefix(k, "CreateInCRM/") }),
			func() map[string]*ModuleProgress {
				p := twoWayProgress()
				p[activities.Accounts].Linked -= 3
				p[activities.Accounts].CRM.Added, p[activities.Accounts].CRM.Failed = 0, 0
				p[activities.Contacts].Linked -= 30
				p[activities.Contacts].CRM.Added = 0
				return p
			}(),
			twoWayCRMCredits - 2},
	}
	for _, tt := range tests {
		// Activities that end at once start in the list's order on both paths: a step of the
		// overlapping schedule starts as soon as those it waits for are done, and the list is
		// in an order they allow (TestStepsOverlapAsTheAPIsAllow pins the overlap itself).
		for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
			t.Run(fmt.Sprintf("%s/overlapping-steps=%d", tt.mode, version), func(t *testing.T) {
				h := newHarness(t)
				h.pin(overlapVersion, version)
				var st Status
				var runs []RunSummary
				var statusJSON, historyJSON []map[string]any
				h.at(time.Minute, func() {
					st = h.status()
					h.query(QueryHistory, &runs)
					var s map[string]any
					h.query(QueryStatus, &s)
					statusJSON = append(statusJSON, s)
					h.query(QueryHistory, &historyJSON)
					h.env.CancelWorkflow()
				})
				h.run(SyncInput{IntegrationID: "acme", Mode: tt.mode, LookbackDays: 30, PollInterval: "1h"})

				assert.Equal(t, tt.order, h.keys())
				for _, s := range h.startsOf("IndexDesk/contacts") {
					assert.Equal(t, activities.StepInput{IntegrationID: "acme", Module: activities.Contacts, Mode: tt.mode,
						Lookback: 30 * 24 * time.Hour, Now: t0}, s.Input)
				}
				pre := h.startsOf("Preflight")
				require.Len(t, pre, 1)
				assert.Equal(t, activities.PreflightInput{IntegrationID: "acme", Mode: tt.mode, LookbackDays: 30}, pre[0].Input,
					"the preflight checks the mapping in the sync's mode and records its lookback")

				assert.Equal(t, PhaseIdle, st.Phase)
				assert.True(t, st.InitialDone)
				assert.False(t, st.Paused)
				assert.Equal(t, tt.mode, st.Mode)
				assert.Equal(t, tt.progress, st.Progress)
				assert.Equal(t, tt.crmCredits, st.CRMCredits)
				assert.Equal(t, twoWayDeskCredits, st.DeskCredits)
				assert.Equal(t, t0, st.LastSync.UTC())
				assert.Empty(t, st.CurrentStep)
				assert.Empty(t, st.RunningSteps)
				assert.Nil(t, st.Estimate, "no estimate once the first sync is done")
				assert.Contains(t, st.WaitingFor, "poll timer (1h0m0s)")
				wantSteps := []string{}
				for _, k := range tt.order[1 : len(tt.order)-1] {
					a, m, _ := strings.Cut(k, "/")
					wantSteps = append(wantSteps, map[string]string{"IndexDesk": "index-desk-", "IndexCRM": "index-crm-", "Match": "match-",
						"CreateInCRM": "create-in-crm-", "CreateInDesk": "create-in-desk-", "ReconcilePairs": "reconcile-"}[a]+m)
				}
				assert.Equal(t, wantSteps, st.Steps)

				// One history line per module and direction, from the summed progress.
				var want []RunSummary
				for _, m := range []string{activities.Accounts, activities.Contacts} {
					p := tt.progress[m]
					want = append(want,
						RunSummary{Time: t0, Kind: "initial", Module: m, Direction: activities.DeskToCRM, Added: p.CRM.Added, Updated: p.CRM.Updated, Failed: p.CRM.Failed, Runs: 1},
						RunSummary{Time: t0, Kind: "initial", Module: m, Direction: activities.CRMToDesk, Added: p.Desk.Added, Updated: p.Desk.Updated, Failed: p.Desk.Failed, Runs: 1})
				}
				for i := range runs {
					runs[i].Time = runs[i].Time.UTC()
				}
				assert.ElementsMatch(t, want, runs)
				rec := h.startsOf("RecordRuns")
				require.Len(t, rec, 1)
				in := rec[0].Input.(activities.RunsInput)
				assert.Equal(t, "acme", in.IntegrationID)
				require.Len(t, in.Runs, 4)
				for _, r := range in.Runs {
					assert.Equal(t, "initial", r.Kind)
					assert.Equal(t, t0, r.StartedAt.UTC())
					require.NotNil(t, r.FinishedAt)
					assert.NotEmpty(t, r.WorkflowID)
				}

				// Shapes as JSON clients (the UI, the starter) see them.
				require.Len(t, statusJSON, 1)
				for _, k := range []string{"integrationId", "mode", "phase", "step", "initialDone", "paused", "progress",
					"crmCreditsUsed", "deskCreditsUsed", "openFailures", "lastSync", "steps", "waitingFor"} {
					assert.Contains(t, statusJSON[0], k)
				}
				for _, k := range []string{"runs", "failures", "currentStep", "retryIds"} {
					assert.NotContains(t, statusJSON[0], k, "status must stay small")
				}
				acc := statusJSON[0]["progress"].(map[string]any)["accounts"].(map[string]any)
				assert.Equal(t, map[string]any{"indexed": 12.0, "added": float64(tt.progress["accounts"].CRM.Added),
					"updated": 4.0, "failed": float64(tt.progress["accounts"].CRM.Failed), "open": 0.0}, acc["crm"])
				require.Len(t, historyJSON, 4)
				for _, r := range historyJSON {
					assert.ElementsMatch(t, []string{"time", "kind", "module", "direction", "added", "updated", "failed", "runs"}, mapKeys(r))
				}

				assert.Equal(t, []string{"preflight", "initial-sync", "idle"}, h.states)
				assert.Equal(t, tt.mode, h.lastSA[ModeKey.GetName()])
				assert.Equal(t, t0, h.lastSA[LastSyncKey.GetName()].(time.Time).UTC())
				var canceled *temporal.CanceledError
				assert.True(t, errors.As(h.env.GetWorkflowError(), &canceled), "ended by the test's cancel: %v", h.env.GetWorkflowError())
			})
		}
	}
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRetrySignalsDuringAStepAreMergedAndAppliedBeforeTheNextStep(t *testing.T) {
	tests := []struct {
		name    string
		signals []RetrySignal
		wantIDs []int64
	}{
		{"some ids", []RetrySignal{{IDs: []int64{4, 5}}}, []int64{4, 5}},
		{"all", []RetrySignal{{}}, nil},
		{"ids from two signals", []RetrySignal{{IDs: []int64{1}}, {IDs: []int64{2, 3}}}, []int64{1, 2, 3}},
		{"ids then all", []RetrySignal{{IDs: []int64{1}}, {}}, nil},
		{"all then ids", []RetrySignal{{}, {IDs: []int64{1}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env.OnActivity(acts.IndexDesk, mock.Anything, stepMatching(activities.Accounts)).
				Return(stepResults["IndexDesk/accounts"], nil).After(20 * time.Minute).Once()
			for i, s := range tt.signals {
				h.signal(10*time.Minute+time.Duration(i)*time.Second, SignalRetry, s)
			}
			var done Status
			h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
			h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h"})

			keys := h.keys()
			require.GreaterOrEqual(t, len(keys), 5)
			assert.Equal(t, []string{"Preflight", "IndexDesk/accounts", "IndexCRM/accounts", "MarkRetry", "Match/accounts"}, keys[:5],
				"the retry is marked once the indexes are done, before the match starts")
			calls := h.startsOf("MarkRetry")
			require.Len(t, calls, 1)
			assert.Equal(t, activities.RetryInput{IntegrationID: "acme", IDs: tt.wantIDs}, calls[0].Input)
			assert.Empty(t, h.canceled, "a retry does not interrupt the running step")
			assert.Empty(t, done.RetryIDs)
			assert.False(t, done.RetryAll)
		})
	}
}

func TestRetrySignalWhileIdleRunsAPass(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version workflow.Version
		steps   []string
	}{
		{"overlapping", 1, rerunSteps},
		{"one at a time, before overlapping-steps", workflow.DefaultVersion, sequentialRerunSteps},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.pin(overlapVersion, tt.version)
			h.signal(10*time.Minute, SignalRetry, RetrySignal{IDs: []int64{7}})
			var done Status
			h.at(20*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
			h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h"})

			assert.Equal(t, concat([]string{"MarkRetry"}, tt.steps, []string{"RecordRuns"}, passOrder),
				h.startsBetween(10*time.Minute, 20*time.Minute), "the marked records are picked up at once, not at the next poll")
			assert.Equal(t, activities.RetryInput{IntegrationID: "acme", IDs: []int64{7}}, h.startsOf("MarkRetry")[0].Input)
			rec := h.startsOf("RecordRuns")
			require.Len(t, rec, 2)
			retried := rec[1].Input.(activities.RunsInput).Runs
			require.NotEmpty(t, retried)
			for _, r := range retried {
				assert.Equal(t, "retry", r.Kind, "the steps a retry runs again are recorded as a retry run")
				assert.Equal(t, t0.Add(10*time.Minute), r.StartedAt.UTC())
			}
			assert.Equal(t, t0.Add(10*time.Minute), done.LastSync.UTC())
			assert.False(t, done.SyncRequested)
		})
	}
}

func TestSyncNowAndChangesSignalsRunAPass(t *testing.T) {
	for _, sig := range []string{SignalSyncNow, SignalChanges} {
		t.Run(sig, func(t *testing.T) {
			h := newHarness(t)
			h.signal(10*time.Minute, sig, nil)
			var runs []RunSummary
			h.at(20*time.Minute, func() { h.query(QueryHistory, &runs); h.env.CancelWorkflow() })
			h.run(SyncInput{PollInterval: "1h"})

			assert.Equal(t, passOrder, h.startsBetween(10*time.Minute, 20*time.Minute))
			require.Len(t, runs, 8, "four initial lines and four incremental ones")
			assert.Equal(t, "incremental", runs[0].Kind)
		})
	}
}

func failure(id int64, module, dir, code string) store.Failure {
	return store.Failure{ID: id, Module: module, Direction: dir, DeskID: "d" + string(rune('0'+id)), Code: code, Message: "rejected", Attempts: 1}
}

func TestStepFailuresAreReportedAndQueryable(t *testing.T) {
	f1 := failure(1, activities.Accounts, activities.DeskToCRM, "INVALID_DATA")
	f2 := failure(2, activities.Accounts, activities.DeskToCRM, "DUPLICATE_DATA")
	f3 := failure(3, activities.Contacts, activities.CRMToDesk, "MANDATORY_NOT_FOUND")
	f0 := failure(9, activities.Contacts, activities.CRMToDesk, "AMBIGUOUS_MATCH") // an earlier run's

	setup := func(h *harness) {
		r := stepResults["CreateInCRM/accounts"]
		r.Failures = []store.Failure{f1, f2}
		h.env.OnActivity(acts.CreateInCRM, mock.Anything, stepMatching(activities.Accounts)).Return(r, nil).Once()
		r = stepResults["ReconcilePairs/contacts"]
		r.Failures = []store.Failure{f3}
		h.env.OnActivity(acts.ReconcilePairs, mock.Anything, stepMatching(activities.Contacts)).Return(r, nil).Once()
	}

	t.Run("summary from the store", func(t *testing.T) {
		h := newHarness(t)
		setup(h)
		// The run reads the log when it starts (a sync started again finds it), then after
		// each step that logged failures.
		h.env.OnActivity(acts.FailureSummary, mock.Anything, "default").
			Return(activities.FailureSummary{Open: 4, Recent: []store.Failure{f0},
				Links: map[string]int{activities.Accounts: 40, activities.Contacts: 400}}, nil).Once()
		h.env.OnActivity(acts.FailureSummary, mock.Anything, "default").
			Return(activities.FailureSummary{Open: 7, Recent: []store.Failure{f2, f1}}, nil).Once()
		h.env.OnActivity(acts.FailureSummary, mock.Anything, "default").
			Return(activities.FailureSummary{Open: 8, Recent: []store.Failure{f3, f2, f1},
				ByDirection: map[string]int{"accounts/desk-to-crm": 2, "contacts/crm-to-desk": 6}}, nil).Once()
		var st Status
		var fs []store.Failure
		h.at(time.Minute, func() {
			st = h.status()
			h.query(QueryFailures, &fs)
			h.env.CancelWorkflow()
		})
		h.run(SyncInput{PollInterval: "1h"})

		var reported []store.Failure
		for _, s := range h.startsOf("ReportFailure") {
			reported = append(reported, s.Input.(store.Failure))
		}
		assert.ElementsMatch(t, []store.Failure{f1, f2, f3}, reported, "one ReportFailure per failure")
		require.Len(t, h.summaries, 3, "the count is read at the start and refreshed after each step with failures")
		assert.Less(t, h.summaries[0].ID, h.startsOf("Preflight")[0].ID, "the log of the runs before it is read first")
		assert.Equal(t, 8, st.OpenFailures)
		assert.Equal(t, int64(8), h.lastSA[OpenFailuresKey.GetName()])
		assert.Equal(t, []store.Failure{f3, f2, f1}, fs)
		want := twoWayProgress()
		want[activities.Accounts].Links, want[activities.Contacts].Links = 40, 400 // the links in Postgres at the start
		// The records failing now per side, from the last look at the log.
		want[activities.Accounts].CRM.Open, want[activities.Contacts].Desk.Open = 2, 6
		assert.Equal(t, want, st.Progress, "failures do not change the counters the step reported")
	})

	t.Run("summary unavailable", func(t *testing.T) {
		h := newHarness(t)
		setup(h)
		h.env.OnActivity(acts.FailureSummary, mock.Anything, mock.Anything).
			Return(activities.FailureSummary{}, temporal.NewNonRetryableApplicationError("db down", activities.ErrPermanent, nil))
		var st Status
		var fs []store.Failure
		h.at(time.Minute, func() {
			st = h.status()
			h.query(QueryFailures, &fs)
			h.env.CancelWorkflow()
		})
		h.run(SyncInput{PollInterval: "1h"})

		assert.Len(t, h.startsOf("ReportFailure"), 3)
		assert.Equal(t, []store.Failure{f3, f1, f2}, fs, "newest first, from the steps themselves")
		assert.Equal(t, PhaseIdle, st.Phase, "a failing summary does not stop the sync")
	})
}

// canInput decodes the input a ContinueAsNewError carries.
func canInput(t *testing.T, err error) SyncInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %T: %v", err, err)
	assert.Equal(t, WorkflowName, can.WorkflowType.Name)
	var in SyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.NotNil(t, in.State)
	return in
}

func TestContinueAsNewDuringTheFirstSyncKeepsTheState(t *testing.T) {
	h := newHarness(t)
	h.env.SetContinueAsNewSuggested(true)
	h.run(SyncInput{IntegrationID: "acme", LookbackDays: 30, PollInterval: "1h"})

	in := canInput(t, h.env.GetWorkflowError())
	assert.Equal(t, []string{"Preflight", "IndexDesk/accounts", "IndexCRM/accounts"}, h.keys(),
		"the steps in flight end; no other starts before the run continues as new")
	assert.Equal(t, "acme", in.IntegrationID)
	assert.Equal(t, 30, in.LookbackDays)
	assert.Equal(t, "1h", in.PollInterval)
	assert.Equal(t, activities.ModeTwoWay, in.Mode)
	st := in.State
	assert.Equal(t, 2, st.Step)
	assert.ElementsMatch(t, []string{"index-desk-accounts", "index-crm-accounts"}, st.Done)
	assert.False(t, st.InitialDone)
	assert.Equal(t, t0, st.InitialStart.UTC())
	assert.Equal(t, 10, st.Progress[activities.Accounts].Desk.Indexed)
	assert.Equal(t, 12, st.Progress[activities.Accounts].CRM.Indexed)
	assert.Equal(t, 1, st.DeskCredits)
	assert.Equal(t, 2, st.CRMCredits)

	// The next run carries on with the steps after them and ends with the same sums as one run.
	h2 := newHarness(t)
	h2.env.SetStartTime(t0.Add(time.Hour))
	var done Status
	var runs []RunSummary
	h2.env.RegisterDelayedCallback(func() {
		done = h2.status()
		h2.query(QueryHistory, &runs)
		h2.env.CancelWorkflow()
	}, time.Minute)
	h2.run(in)
	assert.Equal(t, append([]string{"Preflight"}, twoWayOrder[3:]...), h2.keys())
	for _, s := range h2.starts {
		if si, ok := s.Input.(activities.StepInput); ok {
			assert.Equal(t, t0, si.Now.UTC(), "the lookback counts from the first run's start")
		}
	}
	assert.Equal(t, twoWayProgress(), done.Progress)
	assert.Equal(t, twoWayCRMCredits, done.CRMCredits)
	assert.Equal(t, twoWayDeskCredits, done.DeskCredits)
	assert.True(t, done.InitialDone)
	assert.Len(t, runs, 4)
}

func TestContinueAsNewWhenIdleKeepsRecentHistory(t *testing.T) {
	old := RunSummary{Time: t0.Add(-8 * 24 * time.Hour), Kind: "incremental", Module: "contacts", Direction: activities.DeskToCRM, Added: 1}
	recent := RunSummary{Time: t0.Add(-24 * time.Hour), Kind: "initial", Module: "contacts", Direction: activities.CRMToDesk, Added: 2}
	state := &State{IntegrationID: "acme", Mode: activities.ModeOneWayToDesk, Phase: PhaseIdle, Step: 10, InitialDone: true,
		InitialStart: t0.Add(-48 * time.Hour), Progress: twoWayProgress(), CRMCredits: 5, DeskCredits: 6, OpenFailures: 2,
		LastSync: t0.Add(-time.Hour), Runs: []RunSummary{recent, old}}
	h := newHarness(t)
	h.env.SetCurrentHistoryLength(2001)
	h.signal(10*time.Minute, SignalSyncNow, nil)
	h.run(SyncInput{IntegrationID: "acme", Mode: activities.ModeTwoWay, PollInterval: "1h", State: state})

	assert.Equal(t, passOrder, h.keys(), "no preflight or first-sync steps once the first sync is done")
	for _, x := range h.startsOf("IncrementalPass/contacts") {
		assert.Equal(t, activities.ModeOneWayToDesk, x.Input.(activities.IncrementalInput).Mode, "the state's mode wins over the input's")
	}
	in := canInput(t, h.env.GetWorkflowError())
	st := in.State
	assert.Equal(t, activities.ModeOneWayToDesk, in.Mode)
	assert.True(t, st.InitialDone)
	assert.Equal(t, t0.Add(10*time.Minute), st.LastSync.UTC())
	assert.Equal(t, 2, st.OpenFailures)
	assert.Equal(t, 5+1+2, st.CRMCredits, "the credits of both modules' passes")
	require.GreaterOrEqual(t, len(st.Runs), 2)
	assert.Equal(t, recent, func() RunSummary { r := st.Runs[len(st.Runs)-1]; r.Time = r.Time.UTC(); return r }(),
		"runs of the last seven days are kept, oldest last")
	for _, r := range st.Runs {
		assert.False(t, r.Time.Before(t0.Add(-7*24*time.Hour)), "runs older than seven days are dropped: %+v", r)
	}
	var incremental []RunSummary
	for _, r := range st.Runs[:len(st.Runs)-1] {
		assert.Equal(t, "incremental", r.Kind)
		assert.Equal(t, t0.Add(10*time.Minute), r.Time.UTC())
		incremental = append(incremental, r)
	}
	assert.Len(t, incremental, 4)
	// The counters keep growing from the carried state.
	assert.Equal(t, twoWayProgress()[activities.Contacts].Desk.Added+4, st.Progress[activities.Contacts].Desk.Added)
}

func TestStatusJSONRoundTrips(t *testing.T) {
	// The status is decoded by the starter and the UI as JSON: its fields must survive it.
	in := Status{IntegrationID: "x", Mode: activities.ModeTwoWay, Phase: PhaseBlocked, Paused: true,
		Problems: []activities.PreflightProblem{{Code: "C", Module: "contacts", Message: "m"}}, Progress: twoWayProgress(),
		Steps: []string{"a"}, CurrentStep: "a"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out Status
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

// The status query's JSON names are the public interface (the UI, the starter, scripts): they
// are those the status had when it embedded the state, whatever the state's fields become.
func TestStatusJSONNamesStayTheSame(t *testing.T) {
	at := t0
	full := Status{IntegrationID: "x", Mode: "m", Phase: "p", Step: 1, Steps: []string{"a"}, CurrentStep: "a", InitialDone: true,
		InitialStart: at, Paused: true, PausedReason: "r", WaitingFor: "w", Problems: []activities.PreflightProblem{{}},
		Progress: twoWayProgress(), CRMCredits: 1, DeskCredits: 1, LastSync: at, OpenFailures: 1, RetryIDs: []int64{1}, RetryAll: true,
		SyncRequested: true, Cursors: map[string]activities.Cursor{"k": {}}, Pending: map[string][]string{"k": {"1"}},
		PendingOverflow: true, ChangesSignals: 1, Passes: 1, RetryMarked: true, CatchUp: true, DeskRewind: at, OneWaySince: at,
		SwitchedToSync: true, RunningSteps: []string{"a"}, Hinted: []string{"crm/contacts"}, Estimate: &Estimate{}}
	b, err := json.Marshal(full)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.ElementsMatch(t, []string{"integrationId", "mode", "phase", "step", "steps", "currentStep", "initialDone", "initialStart",
		"paused", "pausedReason", "waitingFor", "problems", "progress", "crmCreditsUsed", "deskCreditsUsed", "lastSync",
		"openFailures", "retryIds", "retryAll", "syncRequested", "cursors", "pending", "pendingOverflow", "changesSignals",
		"passes", "retryMarked", "catchUp", "deskRewind", "oneWaySince", "switchedToSync", "runningSteps", "hinted", "estimate"}, mapKeys(m))
}

// Entering idle subscribes the integration to webhooks once per run; a legacy import, which
// only runs scheduled imports, is never subscribed.
func TestIdleSubscribesToWebhooksOncePerRun(t *testing.T) {
	h := newHarness(t)
	h.at(3*time.Hour, h.env.CancelWorkflow)
	h.run(SyncInput{IntegrationID: "acme", PollInterval: "1h"})
	assert.Equal(t, []string{"acme"}, h.webhooks)

	legacy := newHarness(t)
	legacy.at(3*time.Hour, legacy.env.CancelWorkflow)
	legacy.run(SyncInput{IntegrationID: "old", Mode: ModeLegacyImport, PollInterval: "1h"})
	assert.Empty(t, legacy.webhooks)
}

// A pass whose records synced closes their failures in Postgres (FailuresResolved): the
// workflow reads the log again, so the failures query, the count and the search attribute
// stop showing them; a pass that closed none reads nothing.
func TestFailuresClosedByAPassLeaveTheFailuresQuery(t *testing.T) {
	h := newHarness(t)
	f1 := failure(1, activities.Contacts, activities.DeskToCRM, "VALUE_TOO_LONG")
	h.env.OnActivity(acts.FailureSummary, mock.Anything, "default").
		Return(activities.FailureSummary{Open: 1, Recent: []store.Failure{f1}, ByDirection: map[string]int{"contacts/desk-to-crm": 1}}, nil).Once()
	h.env.OnActivity(acts.FailureSummary, mock.Anything, "default").Return(activities.FailureSummary{Open: 0}, nil).Once()
	r := incrementalResults[activities.Contacts]
	r.FailuresResolved = 1
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Contacts)).Return(r, nil).Once()
	var before, after Status
	var fs []store.Failure
	h.at(59*time.Minute, func() { before = h.status() })
	h.at(61*time.Minute+30*time.Second, func() {
		after = h.status()
		h.query(QueryFailures, &fs)
		h.env.CancelWorkflow()
	})
	h.run(SyncInput{PollInterval: "1h"})

	assert.Equal(t, 1, before.OpenFailures, "the failure the run found at its start")
	assert.Equal(t, 0, after.OpenFailures, "closed by the pass")
	assert.Equal(t, 1, before.Progress[activities.Contacts].CRM.Open, "the record failing to reach CRM")
	assert.Equal(t, 0, after.Progress[activities.Contacts].CRM.Open, "synced: failing no more")
	assert.Empty(t, fs)
	assert.Equal(t, int64(0), h.lastSA[OpenFailuresKey.GetName()])
	assert.Len(t, h.summaries, 2, "read at the start and after the pass that closed a failure; not after the accounts' pass")
}
