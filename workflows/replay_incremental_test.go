package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"deskcrm/internal/devserverbin"
)

// savedIncrementalHistory is a run recorded against the dev server on the versioned path of
// idle syncs: the first sync, the webhook subscription (ensure-webhooks), a set-mode update,
// incremental passes on sync-now signals until the run continued as new. Its replay catches
// changes that would break running idle syncs. It is frozen, as savedHistory is.
const savedIncrementalHistory = "testdata/incremental.history.json"

// EnsureWebhooks stands in for the webhook subscription.
func (f *fakeActivities) EnsureWebhooks(context.Context, string) error { return nil }

// TestDevServerIncrementalReplays runs an idle sync on a real worker against the embedded dev
// server until it continues as new, then replays the run that ended.
func TestDevServerIncrementalReplays(t *testing.T) {
	path, err := devserverbin.Path()
	require.NoError(t, err, "find or build the dev server")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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

	const queue = "deskcrm-replay-incremental"
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterActivity(&fakeActivities{})
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID("replay-incremental"), TaskQueue: queue},
		WorkflowName, SyncInput{IntegrationID: "replay-incremental", PollInterval: "1h"})
	require.NoError(t, err)
	firstRun := run.GetRunID()
	status := func() Status {
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", QueryStatus)
		require.NoError(t, err)
		var st Status
		require.NoError(t, v.Get(&st))
		return st
	}
	require.Eventually(t, func() bool { return status().InitialDone }, time.Minute, 50*time.Millisecond, "the first sync")

	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: firstRun, UpdateName: UpdateSetMode,
		Args: []any{SetModeRequest{Mode: "one-way-crm-to-desk"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var res ModeResult
	require.NoError(t, h.Get(ctx, &res))
	require.Equal(t, "one-way-crm-to-desk", res.Mode)

	// Passes on sync-now until the run continues as new.
	continued := func() bool {
		d, err := c.DescribeWorkflow(ctx, run.GetID(), "")
		require.NoError(t, err)
		return d.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId() != firstRun
	}
	for i := 0; !continued(); i++ {
		require.Less(t, i, 2000, "the run did not continue as new")
		passes := status().Passes
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", SignalSyncNow, nil))
		require.Eventually(t, func() bool { return continued() || status().Passes > passes }, 30*time.Second, 10*time.Millisecond)
	}

	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), firstRun, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	last := hist.Events[len(hist.Events)-1]
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, last.GetEventType())
	require.NoError(t, newReplayer(t).ReplayWorkflowHistory(quietLogger(), hist), "replay the history just recorded")
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "test done"))
}

// TestSavedIncrementalHistoryReplays replays the committed idle-sync history with today's
// SyncWorkflow.
func TestSavedIncrementalHistoryReplays(t *testing.T) {
	require.FileExists(t, savedIncrementalHistory, "regenerate it as the comment on savedIncrementalHistory says")
	require.NoError(t, newReplayer(t).ReplayWorkflowHistoryFromJSONFile(quietLogger(), savedIncrementalHistory))
}
