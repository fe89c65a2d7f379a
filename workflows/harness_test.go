package workflows

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
)

// t0 is the mock clock's start in every workflow test.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// stepResults is what the mocked step activities return by default, keyed "Activity/module".
// The numbers differ per step so that a step counted twice or not at all shows in the sums.
var stepResults = map[string]activities.StepResult{
	"IndexDesk/accounts":      {Indexed: 10, DeskCredits: 1},
	"IndexCRM/accounts":       {Indexed: 12, CRMCredits: 2},
	"Match/accounts":          {Linked: 7},
	"CreateInCRM/accounts":    {CreatedInCRM: 3, FailedToCRM: 1, CRMCredits: 1},
	"CreateInDesk/accounts":   {CreatedInDesk: 2, DeskCredits: 2},
	"ReconcilePairs/accounts": {UpdatedInCRM: 4, UpdatedInDesk: 5, FailedToDesk: 1, CRMCredits: 1, DeskCredits: 5},
	"IndexDesk/contacts":      {Indexed: 100, DeskCredits: 2},
	"IndexCRM/contacts":       {Indexed: 90, CRMCredits: 1},
	"Match/contacts":          {Linked: 60},
	"CreateInCRM/contacts":    {CreatedInCRM: 30, CRMCredits: 1},
	"CreateInDesk/contacts":   {CreatedInDesk: 20, FailedToDesk: 2, DeskCredits: 20},
	"ReconcilePairs/contacts": {UpdatedInCRM: 6, UpdatedInDesk: 7, CRMCredits: 1, DeskCredits: 7},
}

// incrementalResults is what the mocked IncrementalPass returns by default, per module.
var incrementalResults = map[string]activities.IncrementalResult{
	activities.Accounts: {StepResult: activities.StepResult{UpdatedInCRM: 1, UpdatedInDesk: 2, CRMCredits: 1, DeskCredits: 3}},
	activities.Contacts: {StepResult: activities.StepResult{CreatedInCRM: 3, CreatedInDesk: 4, UpdatedInDesk: 5, CRMCredits: 2, DeskCredits: 9}},
}

// passOrder is the activity order of one incremental pass.
var passOrder = []string{"IncrementalPass/accounts", "IncrementalPass/contacts"}

// twoWayOrder is the activity order of a two-way first sync, "Activity/module".
var twoWayOrder = []string{
	"Preflight",
	"IndexDesk/accounts", "IndexCRM/accounts", "Match/accounts", "CreateInCRM/accounts", "CreateInDesk/accounts", "ReconcilePairs/accounts",
	"IndexDesk/contacts", "IndexCRM/contacts", "Match/contacts", "CreateInCRM/contacts", "CreateInDesk/contacts", "ReconcilePairs/contacts",
	"RecordRuns",
}

// twoWayProgress is the progress stepResults add up to in a two-way first sync.
func twoWayProgress() map[string]*ModuleProgress {
	return map[string]*ModuleProgress{
		activities.Accounts: {Linked: 7 + 3 + 2,
			Desk: SideCounts{Indexed: 10, Added: 2, Updated: 5, Failed: 1},
			CRM:  SideCounts{Indexed: 12, Added: 3, Updated: 4, Failed: 1}},
		activities.Contacts: {Linked: 60 + 30 + 20,
			Desk: SideCounts{Indexed: 100, Added: 20, Updated: 7, Failed: 2},
			CRM:  SideCounts{Indexed: 90, Added: 30, Updated: 6, Failed: 0}},
	}
}

const (
	twoWayCRMCredits  = 2 + 1 + 1 + 1 + 1 + 1
	twoWayDeskCredits = 1 + 2 + 5 + 2 + 20 + 7
)

// started is one activity start seen by the test environment.
type started struct {
	At    time.Time
	Key   string // "Activity/module" for steps, "Activity" otherwise
	Input any    // the decoded argument
	// ID is the activity's id: the test environment numbers activities in the order the
	// workflow schedules them, so the starts are listed in that order (the environment runs
	// activities on goroutines, which may report their starts in another).
	ID int
	// End is when the activity ended (zero: it had not), Canceled whether by cancellation.
	End      time.Time
	Canceled bool
}

// acts is the receiver of the activity methods the tests mock by reference: the worker
// registers *activities.Activities, whose method names are the activity types.
var acts *activities.Activities

// harness wraps a test workflow environment whose activities are mocked, and records every
// activity start, cancellation and search-attribute upsert. It keeps a fake run-history table
// filled as Postgres is (RecordRuns, and each IncrementalPass that did something), from
// which the mocked RunHistory answers.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// real holds the activities that run for real rather than mocked (RecordMode, RunHistory
	// and RecordRuns, against Postgres); nil mocks every activity.
	real *activities.Activities

	mu       sync.Mutex
	starts   []started
	canceled []string
	webhooks []string                     // integration ids EnsureWebhooks was called with
	modes    []activities.RecordModeInput // RecordMode calls, in order
	reads    []time.Time                  // when RunHistory was called
	// summaries are the FailureSummary calls (the failure log and links read from Postgres).
	summaries []started
	runs      []store.Run // the fake run-history table
	states    []string    // DeskcrmState values upserted, in order
	lastSA    map[string]any
}

// stepActivities are the activities that take a StepInput, by activity type.
var stepActivities = map[string]any{"IndexDesk": acts.IndexDesk, "IndexCRM": acts.IndexCRM, "Match": acts.Match,
	"CreateInCRM": acts.CreateInCRM, "CreateInDesk": acts.CreateInDesk, "ReconcilePairs": acts.ReconcilePairs}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

// newHarnessWith registers real as the worker's activities (nil: an empty *Activities, all
// mocked); RecordMode, RunHistory and RecordRuns then run for real.
func newHarnessWith(t *testing.T, real *activities.Activities) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	if real == nil {
		env.RegisterActivity(&activities.Activities{})
	} else {
		env.RegisterActivity(real)
	}
	h := &harness{t: t, env: env, real: real, lastSA: map[string]any{}}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		id, err := strconv.Atoi(info.ActivityID)
		if err != nil {
			t.Errorf("activity id %q is not the environment's sequence number", info.ActivityID)
		}
		s := started{At: env.Now().UTC(), Key: info.ActivityType.Name, ID: id}
		h.mu.Lock()
		defer h.mu.Unlock()
		// Bookkeeping activities are kept apart from the sync's own steps, which the tests
		// compare in order.
		switch info.ActivityType.Name {
		case "EnsureWebhooks":
			var id string
			_ = args.Get(&id)
			h.webhooks = append(h.webhooks, id)
			return
		case "RecordMode":
			var in activities.RecordModeInput
			_ = args.Get(&in)
			h.modes = append(h.modes, in)
			return
		case "RunHistory":
			h.reads = append(h.reads, s.At)
			return
		case "Preflight":
			var in activities.PreflightInput
			_ = args.Get(&in)
			s.Input = in
		case "MarkRetry":
			var in activities.RetryInput
			_ = args.Get(&in)
			s.Input = in
		case "RecordRuns":
			var in activities.RunsInput
			_ = args.Get(&in)
			s.Input = in
			h.runs = append(h.runs, in.Runs...)
		case "FailureSummary":
			var id string
			_ = args.Get(&id)
			s.Input = id
			h.summaries = append(h.summaries, s)
			return
		case "IncrementalPass":
			var in activities.IncrementalInput
			_ = args.Get(&in)
			s.Key += "/" + in.Module
			s.Input = in
		case "SetMode":
			var in activities.ModeInput
			_ = args.Get(&in)
			s.Input = in
		case "ReportFailure":
			var f store.Failure
			_ = args.Get(&f)
			s.Input = f
		default:
			var in activities.StepInput
			_ = args.Get(&in)
			s.Key += "/" + in.Module
			s.Input = in
		}
		h.starts = append(h.starts, s)
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, result converter.EncodedValue, err error) {
		h.ended(info, false)
		if info.ActivityType.Name != "IncrementalPass" || err != nil {
			return
		}
		// The activity records its own lines, one per direction that did something.
		var r activities.IncrementalResult
		_ = result.Get(&r)
		now := env.Now().UTC()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, run := range []store.Run{
			{Direction: activities.DeskToCRM, Added: r.CreatedInCRM, Updated: r.UpdatedInCRM, Failed: r.FailedToCRM},
			{Direction: activities.CRMToDesk, Added: r.CreatedInDesk, Updated: r.UpdatedInDesk, Failed: r.FailedToDesk},
		} {
			if run.Added+run.Updated+run.Failed > 0 {
				run.Kind, run.StartedAt = "incremental", now
				h.runs = append(h.runs, run)
			}
		}
	})
	env.SetOnActivityCanceledListener(func(info *activity.Info) {
		h.ended(info, true)
		h.mu.Lock()
		h.canceled = append(h.canceled, info.ActivityType.Name)
		h.mu.Unlock()
	})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		h.mu.Lock()
		defer h.mu.Unlock()
		if v, ok := sa.GetKeyword(StateKey); ok {
			h.lastSA[StateKey.GetName()] = v
			if len(h.states) == 0 || h.states[len(h.states)-1] != v {
				h.states = append(h.states, v)
			}
		}
		if v, ok := sa.GetKeyword(ModeKey); ok {
			h.lastSA[ModeKey.GetName()] = v
		}
		if v, ok := sa.GetInt64(OpenFailuresKey); ok {
			h.lastSA[OpenFailuresKey.GetName()] = v
		}
		if v, ok := sa.GetTime(LastSyncKey); ok {
			h.lastSA[LastSyncKey.GetName()] = v
		}
	}).Return(nil)
	return h
}

// ended records the end of an activity's latest start.
func (h *harness) ended(info *activity.Info, canceled bool) {
	id, _ := strconv.Atoi(info.ActivityID)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.starts) - 1; i >= 0; i-- {
		if h.starts[i].ID == id && h.starts[i].End.IsZero() {
			h.starts[i].End, h.starts[i].Canceled = h.env.Now().UTC(), canceled
			return
		}
	}
}

// pin makes the workflow take version v of a change, e.g. the path of runs that began
// before it (workflow.DefaultVersion).
func (h *harness) pin(changeID string, v workflow.Version) {
	h.env.OnGetVersion(changeID, workflow.DefaultVersion, 1).Return(v)
}

// fakeHistory answers RunHistory from the fake run table as store.RunHistory does: the
// newest runs one line each, the older ones summed per UTC day, kind, module and direction.
func (h *harness) fakeHistory(in activities.HistoryInput) activities.HistoryResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	var recent []store.Run
	for i := len(h.runs) - 1; i >= 0; i-- {
		if !h.runs[i].StartedAt.Before(in.Since) {
			recent = append(recent, h.runs[i])
		}
	}
	slices.SortStableFunc(recent, func(a, b store.Run) int { return b.StartedAt.Compare(a.StartedAt) })
	var out activities.HistoryResult
	totals := map[string]int{}
	for i, r := range recent {
		line := store.RunLine{Time: r.StartedAt, Runs: 1, Kind: r.Kind, Module: r.Module, Direction: r.Direction,
			Added: r.Added, Updated: r.Updated, Failed: r.Failed}
		if i >= in.Newest {
			line.Time, line.DayTotal = r.StartedAt.UTC().Truncate(24*time.Hour), true
			key := fmt.Sprint(line.Time, line.Kind, line.Module, line.Direction)
			if j, ok := totals[key]; ok {
				t := &out.Lines[j]
				t.Runs, t.Added, t.Updated, t.Failed = t.Runs+1, t.Added+r.Added, t.Updated+r.Updated, t.Failed+r.Failed
				continue
			}
			totals[key] = len(out.Lines)
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

// stepMatching matches the StepInput of one module.
func stepMatching(module string) any {
	return mock.MatchedBy(func(in activities.StepInput) bool { return in.Module == module })
}

// incrementalMatching matches the IncrementalInput of one module.
func incrementalMatching(module string) any {
	return mock.MatchedBy(func(in activities.IncrementalInput) bool { return in.Module == module })
}

// mockDefaults mocks every activity; call it after any test-specific mock, since the first
// matching mock wins.
func (h *harness) mockDefaults() {
	env := h.env
	for name, fn := range stepActivities {
		env.OnActivity(fn, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
			r, ok := stepResults[name+"/"+in.Module]
			if !ok {
				return activities.StepResult{}, fmt.Errorf("no canned result for %s/%s", name, in.Module)
			}
			return r, nil
		})
	}
	env.OnActivity(acts.IncrementalPass, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.IncrementalInput) (activities.IncrementalResult, error) {
			return incrementalResults[in.Module], nil
		})
	if h.real == nil {
		env.OnActivity(acts.RecordMode, mock.Anything, mock.Anything).Return(nil)
		env.OnActivity(acts.RunHistory, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.HistoryInput) (activities.HistoryResult, error) {
				return h.fakeHistory(in), nil
			})
		env.OnActivity(acts.RecordRuns, mock.Anything, mock.Anything).Return(nil)
	}
	env.OnActivity(acts.SetMode, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.EnsureWebhooks, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).Return(activities.PreflightResult{}, nil)
	env.OnActivity(acts.MarkRetry, mock.Anything, mock.Anything).Return(activities.RetryResult{Marked: 1}, nil)
	env.OnActivity(acts.FailureSummary, mock.Anything, mock.Anything).Return(activities.FailureSummary{}, nil)
	env.OnActivity(acts.ReportFailure, mock.Anything, mock.Anything).Return(
		func(context.Context, store.Failure) error {
			return temporal.NewNonRetryableApplicationError("record failed", activities.ErrRecordFailed, nil)
		})
}

// at runs fn when the mock clock reaches t0+d.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// signal sends a signal at t0+d.
func (h *harness) signal(d time.Duration, name string, arg any) {
	h.at(d, func() { h.env.SignalWorkflow(name, arg) })
}

// cancelAt ends the (otherwise endless) workflow at t0+d.
func (h *harness) cancelAt(d time.Duration) { h.at(d, h.env.CancelWorkflow) }

// run mocks the remaining activities and runs the workflow to its end.
func (h *harness) run(in SyncInput) {
	h.mockDefaults()
	h.env.ExecuteWorkflow(WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the workflow did not complete")
	}
}

// status queries the status; call it from a delayed callback.
func (h *harness) status() Status {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryStatus)
	if err != nil {
		h.t.Fatalf("query status: %v", err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		h.t.Fatalf("decode status: %v", err)
	}
	return st
}

// query runs a query and decodes its answer into out.
func (h *harness) query(name string, out any) {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(name)
	if err != nil {
		h.t.Fatalf("query %s: %v", name, err)
	}
	if err := v.Get(out); err != nil {
		h.t.Fatalf("decode %s: %v", name, err)
	}
}

// ordered returns the recorded starts in the order the workflow scheduled the activities
// (attempts of one activity in the order they started).
func (h *harness) ordered() []started {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.starts)
	slices.SortStableFunc(out, func(a, b started) int { return a.ID - b.ID })
	return out
}

// keys returns the recorded activity starts' keys, in the order the workflow scheduled them.
func (h *harness) keys() []string {
	var out []string
	for _, s := range h.ordered() {
		out = append(out, s.Key)
	}
	return out
}

// startsBetween returns the keys of the activities started in [t0+from, t0+to).
func (h *harness) startsBetween(from, to time.Duration) []string {
	var out []string
	for _, s := range h.ordered() {
		if !s.At.Before(t0.Add(from)) && s.At.Before(t0.Add(to)) {
			out = append(out, s.Key)
		}
	}
	return out
}

// inFlight returns the keys of the activities running at t0+at: started at or before it and
// ended after it.
func (h *harness) inFlight(at time.Duration) []string {
	var out []string
	for _, s := range h.ordered() {
		if !s.At.After(t0.Add(at)) && (s.End.IsZero() || s.End.After(t0.Add(at))) {
			out = append(out, s.Key)
		}
	}
	return out
}

// startsOf returns the recorded starts of one key.
func (h *harness) startsOf(key string) []started {
	var out []started
	for _, s := range h.ordered() {
		if s.Key == key {
			out = append(out, s)
		}
	}
	return out
}
