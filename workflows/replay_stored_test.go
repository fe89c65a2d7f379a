package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"deskcrm/activities"
	"deskcrm/internal/devserverbin"
)

// savedStoredStateHistory is a run recorded against the dev server on the stored-state path:
// the mode recorded at the start (RecordMode), the first sync, the history view read on
// entering idle (RunHistory), a set-mode update to one-way and back to two-way (a catch-up
// pass whose steps are recorded with RecordRuns), a retry pass, and passes that read the view
// again, until cancelled. Its replay catches changes that would break runs started on this
// path. It is frozen, as savedHistory is.
const savedStoredStateHistory = "testdata/stored-state.history.json"

// TestDevServerStoredStateReplays runs a sync on a real worker against the embedded dev
// server through every command the stored-state version added, then replays its history.
func TestDevServerStoredStateReplays(t *testing.T) {
	path, err := devserverbin.Path()
	require.NoError(t, err, "find or build the dev server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     path,
		LogLevel:         "error",
		ClientOptions:    &client.Options{Namespace: "default", Logger: quietLogger()},
		SearchAttributes: SearchAttributeDeclarations(),
	})
	require.NoError(t, err, "start the dev server %s", path)
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	const queue = "deskcrm-replay-stored"
	w := worker.New(c, queue, worker.Options{})
	Register(w)
	w.RegisterActivity(&fakeActivities{})
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID("replay-stored"), TaskQueue: queue},
		WorkflowName, SyncInput{IntegrationID: "replay-stored", PollInterval: "1h"})
	require.NoError(t, err)
	status := func() Status {
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), QueryStatus)
		require.NoError(t, err)
		var st Status
		require.NoError(t, v.Get(&st))
		return st
	}
	require.Eventually(t, func() bool { return status().InitialDone }, time.Minute, 50*time.Millisecond, "the first sync")

	setMode := func(mode string) {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: UpdateSetMode,
			Args: []any{SetModeRequest{Mode: mode}}, WaitForStage: client.WorkflowUpdateStageCompleted})
		require.NoError(t, err)
		var res ModeResult
		require.NoError(t, h.Get(ctx, &res))
	}
	// passAfter does what starts a pass and waits for it: the count is read before, as a fast
	// pass may end before the status is asked.
	passAfter := func(start func()) {
		want := status().Passes + 1
		start()
		require.Eventually(t, func() bool { return status().Passes >= want }, 30*time.Second, 10*time.Millisecond)
	}
	setMode(activities.ModeOneWayToDesk)
	passAfter(func() { require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalSyncNow, nil)) })
	passAfter(func() { setMode(activities.ModeTwoWay) }) // a catch-up pass follows at once
	passAfter(func() {
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalRetry, RetrySignal{IDs: []int64{1}}))
	})
	passAfter(func() {
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), SignalChanges,
			ChangesSignal{Source: activities.SideCRM, Module: activities.Contacts, IDs: []string{"1"}, Operation: "update"}))
	})
	var history []RunSummary
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), QueryHistory)
	require.NoError(t, err)
	require.NoError(t, v.Get(&history))
	require.NotEmpty(t, history)

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
	scheduled := map[string]int{}
	for _, e := range hist.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[a.GetActivityType().GetName()]++
		}
	}
	require.Equal(t, 3, scheduled["RecordMode"], "at the start and at each mode change")
	require.Positive(t, scheduled["RunHistory"])
	require.Positive(t, scheduled["RecordRuns"])
	require.Zero(t, scheduled["SetMode"])
	require.NoError(t, newReplayer(t).ReplayWorkflowHistory(quietLogger(), hist), "replay the history just recorded")
}

// TestSavedStoredStateHistoryReplays replays the committed stored-state history with today's
// SyncWorkflow.
func TestSavedStoredStateHistoryReplays(t *testing.T) {
	require.FileExists(t, savedStoredStateHistory, "regenerate it as the comment on savedStoredStateHistory says")
	require.NoError(t, newReplayer(t).ReplayWorkflowHistoryFromJSONFile(quietLogger(), savedStoredStateHistory))
}
