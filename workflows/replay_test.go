package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/internal/devserverbin"
	"deskcrm/store"
)

// savedHistory is a first sync recorded against the dev server: its replay catches changes to
// SyncWorkflow that would break the workflows already running. It is frozen: it was recorded
// on the path runs took before the overlapping-steps and hinted-passes versions (its steps one
// at a time), which new runs no longer take, so the test below, which records a live history,
// no longer writes it (savedOverlapHistory is today's path).
const savedHistory = "testdata/first-sync.history.json"

// replayFailure is the one failed record the fake activities report.
var replayFailure = store.Failure{ID: 1, Module: activities.Accounts, Direction: activities.DeskToCRM, DeskID: "4000001",
	Code: "INVALID_DATA", Message: "rejected by the test", Attempts: 1}

// fakeActivities stands in for *activities.Activities on a real worker: same method names,
// hence the same activity types, answering from stepResults.
type fakeActivities struct{}

func (fakeActivities) step(name string, in activities.StepInput) (activities.StepResult, error) {
	r := stepResults[name+"/"+in.Module]
	if name == "CreateInCRM" && in.Module == activities.Accounts {
		r.Failures = []store.Failure{replayFailure}
	}
	return r, nil
}

func (f *fakeActivities) Preflight(context.Context, activities.PreflightInput) (activities.PreflightResult, error) {
	return activities.PreflightResult{}, nil
}

func (f *fakeActivities) IndexDesk(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("IndexDesk", in)
}

func (f *fakeActivities) IndexCRM(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("IndexCRM", in)
}

func (f *fakeActivities) Match(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("Match", in)
}

func (f *fakeActivities) CreateInCRM(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("CreateInCRM", in)
}

func (f *fakeActivities) CreateInDesk(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("CreateInDesk", in)
}

func (f *fakeActivities) ReconcilePairs(_ context.Context, in activities.StepInput) (activities.StepResult, error) {
	return f.step("ReconcilePairs", in)
}

func (f *fakeActivities) ReportFailure(_ context.Context, x store.Failure) error {
	return temporal.NewNonRetryableApplicationError(x.Code+": "+x.Message, activities.ErrRecordFailed, nil, x)
}

func (f *fakeActivities) FailureSummary(context.Context, string) (activities.FailureSummary, error) {
	return activities.FailureSummary{Open: 1, Recent: []store.Failure{replayFailure}}, nil
}

func (f *fakeActivities) MarkRetry(context.Context, activities.RetryInput) (activities.RetryResult, error) {
	return activities.RetryResult{Marked: 1}, nil
}

func (f *fakeActivities) RecordRuns(context.Context, activities.RunsInput) error { return nil }

func (f *fakeActivities) IncrementalPass(_ context.Context, in activities.IncrementalInput) (activities.IncrementalResult, error) {
	return incrementalResults[in.Module], nil
}

func (f *fakeActivities) SetMode(context.Context, activities.ModeInput) error { return nil }

func (f *fakeActivities) RecordMode(context.Context, activities.RecordModeInput) error { return nil }

func (f *fakeActivities) RunHistory(_ context.Context, in activities.HistoryInput) (activities.HistoryResult, error) {
	return activities.HistoryResult{Lines: []store.RunLine{{Time: in.Since.Truncate(24 * time.Hour), DayTotal: true, Runs: 2,
		Kind: "incremental", Module: activities.Contacts, Direction: activities.CRMToDesk, Updated: 2}}}, nil
}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

func newReplayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	Register(r)
	return r
}

// TestDevServerFirstSyncReplays runs a first sync on a real worker against the embedded dev
// server (bin/temporal-dev), with pause, resume and retry signals and a reported failure,
// then replays its history.
func TestDevServerFirstSyncReplays(t *testing.T) {
	path, err := devserverbin.Path()
	require.NoError(t, err, "find or build the dev server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  path,
		LogLevel:      "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: quietLogger()},
		SearchAttributes: temporal.NewSearchAttributes(StateKey.ValueSet(""), ModeKey.ValueSet(""),
			LastSyncKey.ValueSet(time.Time{}), OpenFailuresKey.ValueSet(0)),
	})
	require.NoError(t, err, "start the dev server %s", path)
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	const queue = "deskcrm-replay-test"
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterActivity(&fakeActivities{})
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID("replay"), TaskQueue: queue},
		WorkflowName, SyncInput{IntegrationID: "replay", PollInterval: "1h"})
	require.NoError(t, err)

	status := func() Status {
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), QueryStatus)
		require.NoError(t, err)
		var st Status
		require.NoError(t, v.Get(&st))
		return st
	}
	waitFor := func(what string, ok func(Status) bool) Status {
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := status()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; status: %+v", what, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	st := waitFor("the first sync", func(s Status) bool { return s.InitialDone })
	require.Equal(t, twoWayProgress(), st.Progress)
	require.Equal(t, 1, st.OpenFailures)

	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalPause, nil))
	waitFor("the pause", func(s Status) bool { return s.Paused })
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalResume, nil))
	waitFor("the resume", func(s Status) bool { return !s.Paused })
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalRetry, RetrySignal{IDs: []int64{1}}))
	waitFor("the retry pass", func(s Status) bool { return s.LastSync.After(st.LastSync) && len(s.RetryIDs) == 0 })

	require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	var canceled *temporal.CanceledError
	require.True(t, errors.As(run.Get(ctx, nil), &canceled))

	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	require.NotEmpty(t, hist.Events)
	require.NoError(t, newReplayer(t).ReplayWorkflowHistory(quietLogger(), hist), "replay the history just recorded")
}

// TestSavedHistoryReplays replays the committed history with today's SyncWorkflow.
func TestSavedHistoryReplays(t *testing.T) {
	require.FileExists(t, savedHistory, "regenerate it as the comment on savedHistory says")
	require.NoError(t, newReplayer(t).ReplayWorkflowHistoryFromJSONFile(quietLogger(), savedHistory))
}

// TestSavedHistoryCatchesAnIncompatibleWorkflow shows that the replay above can fail: a
// workflow that schedules other activities under the same name does not replay the history.
func TestSavedHistoryCatchesAnIncompatibleWorkflow(t *testing.T) {
	changed := func(ctx workflow.Context, in SyncInput) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		return workflow.ExecuteActivity(ctx, "IndexDesk", activities.StepInput{}).Get(ctx, nil)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: WorkflowName})
	silent := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Error(t, r.ReplayWorkflowHistoryFromJSONFile(silent, savedHistory))
}
