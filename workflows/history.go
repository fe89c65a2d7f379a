package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
)

// refreshHistory reads the seven-day history view from Postgres, which holds every run (the
// first sync's, each pass's, each retry's), for the history query to answer. The view is
// bounded: the newest HistoryNewest runs, then the older ones summed per day. A failed read
// keeps the previous view; the query then puts the lines of later passes before it.
func (s *syncImpl) refreshHistory(ctx workflow.Context) {
	now := workflow.Now(ctx)
	var res activities.HistoryResult
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3}, // the next pass reads it again
	})
	err := workflow.ExecuteActivity(actx, (*activities.Activities).RunHistory,
		activities.HistoryInput{IntegrationID: s.st.IntegrationID, Since: now.Add(-HistoryKeep), Newest: HistoryNewest}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Warn("run history not read; the history query shows the last view and this run's passes",
			"integration", s.st.IntegrationID, "error", err)
		return
	}
	view := make([]RunSummary, 0, len(res.Lines))
	for _, l := range res.Lines {
		view = append(view, RunSummary{Time: l.Time, Kind: l.Kind, Module: l.Module, Direction: l.Direction,
			Added: l.Added, Updated: l.Updated, Failed: l.Failed, Runs: l.Runs, DayTotal: l.DayTotal})
	}
	s.st.History, s.st.HistoryRead, s.st.RunsSinceRead = view, now, 0
}

// recordRuns appends run lines to the history in Postgres, retrying as every activity of the
// sync does. An error that retrying cannot fix is logged and ignored: the history then misses
// those lines, and the sync goes on.
func (s *syncImpl) recordRuns(ctx workflow.Context, lines []RunSummary, start time.Time) {
	if len(lines) == 0 {
		return
	}
	now := workflow.Now(ctx)
	info := workflow.GetInfo(ctx)
	runs := make([]store.Run, 0, len(lines))
	for _, l := range lines {
		runs = append(runs, store.Run{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Kind: l.Kind,
			Module: l.Module, Direction: l.Direction, StartedAt: start, FinishedAt: &now, Added: l.Added, Updated: l.Updated, Failed: l.Failed})
	}
	if err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).RecordRuns,
		activities.RunsInput{IntegrationID: s.st.IntegrationID, Runs: runs}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("runs not recorded in the run history", "integration", s.st.IntegrationID, "error", err)
	}
}
