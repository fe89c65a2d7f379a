package workflows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/internal/devserverbin"
)

// savedOverlapHistory is a run recorded against the dev server on today's path (the
// overlapping-steps and hinted-passes versions): a first sync whose steps overlap, paused while
// the contacts' Desk index ran (the steps in flight cancelled), a retry signal applied on
// resume before the next steps, exhausted credits on the contacts' creates in Desk (the other
// steps in flight cancelled, a credits wait, the steps run again), the retry pass that follows
// (its steps overlapping), a pass of one hinted side and module, and a full pass, until
// cancelled. Its replay catches changes that would break runs on this path; regenerate it with
//
//	DESKCRM_UPDATE_HISTORY=1 go test ./workflows -run TestDevServerOverlapReplays
//
// The three older saved histories are frozen: they are histories of the paths runs took before
// these versions, which new runs no longer take, and they stay to prove those still replay.
const savedOverlapHistory = "testdata/overlapping-steps.history.json"

// scriptedActivities are fakeActivities that, for one integration, hold the contacts' Desk
// index until the test lets it go, find the daily credits exhausted on the contacts' first
// create in Desk, and keep the inputs of the incremental passes.
type scriptedActivities struct {
	fakeActivities
	integration string
	gate        chan struct{}

	mu                        sync.Mutex
	held, exhausted, holdsNow bool
	passes                    []activities.IncrementalInput
}

// once reports whether flag was unset, and sets it.
func (f *scriptedActivities) once(flag *bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	was := *flag
	*flag = true
	return !was
}

func (f *scriptedActivities) IndexDesk(ctx context.Context, in activities.StepInput) (activities.StepResult, error) {
	if in.IntegrationID == f.integration && in.Module == activities.Contacts && f.once(&f.held) {
		f.mu.Lock()
		f.holdsNow = true
		f.mu.Unlock()
		select {
		case <-f.gate:
		case <-ctx.Done():
			return activities.StepResult{}, ctx.Err()
		}
	}
	return f.step("IndexDesk", in)
}

func (f *scriptedActivities) CreateInDesk(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	if in.IntegrationID == f.integration && in.Module == activities.Contacts && f.once(&f.exhausted) {
		return activities.StepResult{}, temporal.NewNonRetryableApplicationError("desk: credits exhausted", activities.ErrCreditsExhausted, nil, time.Second)
	}
	return f.step("CreateInDesk", in)
}

func (f *scriptedActivities) IncrementalPass(_ context.Context, in activities.IncrementalInput) (activities.IncrementalResult, error) {
	f.mu.Lock()
	f.passes = append(f.passes, in)
	f.mu.Unlock()
	return incrementalResults[in.Module], nil
}

// holding reports whether the contacts' Desk index is being held.
func (f *scriptedActivities) holding() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holdsNow
}

// passInputs returns the incremental passes' inputs so far.
func (f *scriptedActivities) passInputs() []activities.IncrementalInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.passes)
}

// startDevServer starts the embedded dev server with deskcrm's search attributes.
func startDevServer(ctx context.Context, t *testing.T) client.Client {
	t.Helper()
	path, err := devserverbin.Path()
	require.NoError(t, err, "find or build the dev server")
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     path,
		LogLevel:         "error",
		ClientOptions:    &client.Options{Namespace: "default", Logger: quietLogger()},
		SearchAttributes: SearchAttributeDeclarations(),
	})
	require.NoError(t, err, "start the dev server %s", path)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.Client()
}

// historyOf reads a run's whole history.
func historyOf(ctx context.Context, t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	return hist
}

// statusOf queries a run's status.
func statusOf(ctx context.Context, t *testing.T, c client.Client, id, runID string) Status {
	t.Helper()
	v, err := c.QueryWorkflow(ctx, id, runID, QueryStatus)
	require.NoError(t, err)
	var st Status
	require.NoError(t, v.Get(&st))
	return st
}

// TestDevServerOverlapReplays runs a sync on a real worker against the embedded dev server
// through every command the overlapping-steps and hinted-passes versions added, then replays
// its history.
func TestDevServerOverlapReplays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startDevServer(ctx, t)
	const queue, integration = "deskcrm-replay-overlap", "replay-overlap"
	fakes := &scriptedActivities{integration: integration, gate: make(chan struct{})}
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterActivity(fakes)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID(integration), TaskQueue: queue},
		WorkflowName, SyncInput{IntegrationID: integration, PollInterval: "1h"})
	require.NoError(t, err)
	status := func() Status { return statusOf(ctx, t, c, run.GetID(), run.GetRunID()) }
	signal := func(name string, arg any) {
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), name, arg))
	}
	eventually := func(what string, ok func(Status) bool) Status {
		var st Status
		require.Eventually(t, func() bool { st = status(); return ok(st) }, time.Minute, 20*time.Millisecond, what)
		return st
	}

	// The accounts' writes and the contacts' indexes overlap; the contacts' Desk index is held.
	require.Eventually(t, fakes.holding, time.Minute, 20*time.Millisecond, "the contacts' Desk index")
	st := eventually("the accounts' steps", func(s Status) bool { return s.Step >= 7 })
	require.Contains(t, st.RunningSteps, "index-desk-contacts")
	signal(SignalPause, nil)
	eventually("the pause", func(s Status) bool { return s.Paused })
	signal(SignalRetry, RetrySignal{IDs: []int64{1}})
	close(fakes.gate) // the held index ends (its cancellation asked for, it finishes first)
	eventually("the held step's end", func(s Status) bool { return len(s.RetryIDs) == 1 && s.Step == 8 })
	signal(SignalResume, nil)
	st = eventually("the first sync", func(s Status) bool { return s.InitialDone })
	require.Equal(t, twoWayProgress(), st.Progress, "every step counted once")

	// The retry marked during the first sync runs a pass after it; then a hinted and a full pass.
	eventually("the retry pass", func(s Status) bool { return s.Passes >= 1 && !s.RetryMarked && !s.SyncRequested })
	before := len(fakes.passInputs())
	passes := status().Passes
	signal(SignalChanges, ChangesSignal{Source: activities.SideCRM, Module: activities.Contacts, IDs: []string{"c1"}, Operation: "update"})
	eventually("the hinted pass", func(s Status) bool { return s.Passes > passes })
	hinted := fakes.passInputs()[before:]
	require.Len(t, hinted, 2, "the contact's side's accounts, then the contact")
	assert.Equal(t, activities.Accounts, hinted[0].Module)
	assert.Equal(t, []string{activities.SideCRM}, hinted[0].Sides)
	assert.Equal(t, activities.Contacts, hinted[1].Module)
	assert.Equal(t, []string{activities.SideCRM}, hinted[1].Sides)
	assert.Equal(t, map[string][]string{activities.SideCRM: {"c1"}}, hinted[1].Hints)
	passes = status().Passes
	signal(SignalSyncNow, nil)
	eventually("the full pass", func(s Status) bool { return s.Passes > passes })

	require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	var canceled *temporal.CanceledError
	require.True(t, errors.As(run.Get(ctx, nil), &canceled))

	hist := historyOf(ctx, t, c, run.GetID(), run.GetRunID())
	scheduled, cancelRequested := map[string]int{}, 0
	for _, e := range hist.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[a.GetActivityType().GetName()]++
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED {
			cancelRequested++
		}
	}
	require.Positive(t, cancelRequested, "the pause and the credits wait cancelled steps in flight")
	// Accounts' and contacts' creates in Desk in the first sync, the contacts' again after the
	// credits wait, both again in the retry pass.
	require.Equal(t, 5, scheduled["CreateInDesk"])
	require.Equal(t, 1, scheduled["MarkRetry"])
	require.NoError(t, newReplayer(t).ReplayWorkflowHistory(quietLogger(), hist), "replay the history just recorded")

	if os.Getenv("DESKCRM_UPDATE_HISTORY") == "1" {
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(savedOverlapHistory), 0o755))
		require.NoError(t, os.WriteFile(savedOverlapHistory, append(b, '\n'), 0o644))
		t.Logf("wrote %s (%d events)", savedOverlapHistory, len(hist.Events))
	}
}

// TestSavedOverlapHistoryReplays replays the committed history of today's path.
func TestSavedOverlapHistoryReplays(t *testing.T) {
	require.FileExists(t, savedOverlapHistory, "regenerate it as the comment on savedOverlapHistory says")
	require.NoError(t, newReplayer(t).ReplayWorkflowHistoryFromJSONFile(quietLogger(), savedOverlapHistory))
}

// The overlapping schedule takes no more events than the steps one at a time: a first sync on
// each path (the older one forced with the worker's preferred version), counted up to the
// RecordRuns that ends it.
func TestDevServerOverlappingFirstSyncTakesNoMoreEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startDevServer(ctx, t)
	firstSyncEvents := func(queue string, version workflow.Version) int {
		w := worker.New(c, queue, worker.Options{PreferredVersionProvider: func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
			if in.ChangeID == overlapVersion {
				return &worker.VersionPreference{Version: version}
			}
			return nil
		}})
		Register(w)
		w.RegisterActivity(&fakeActivities{})
		require.NoError(t, w.Start())
		defer w.Stop()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID(queue), TaskQueue: queue},
			WorkflowName, SyncInput{IntegrationID: queue, PollInterval: "1h"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return statusOf(ctx, t, c, run.GetID(), run.GetRunID()).InitialDone },
			time.Minute, 20*time.Millisecond, "the first sync on %s", queue)
		require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
		_ = run.Get(ctx, nil)
		for i, e := range historyOf(ctx, t, c, run.GetID(), run.GetRunID()).Events {
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "RecordRuns" {
				return i + 1
			}
		}
		t.Fatalf("no RecordRuns on %s", queue)
		return 0
	}
	oneAtATime := firstSyncEvents("events-one-at-a-time", workflow.DefaultVersion)
	overlapping := firstSyncEvents("events-overlapping", 1)
	t.Logf("first sync: %d events one step at a time, %d overlapping", oneAtATime, overlapping)
	assert.LessOrEqual(t, overlapping, oneAtATime)
}
