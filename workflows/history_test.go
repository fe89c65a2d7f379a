package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"deskcrm/activities"
	"deskcrm/internal/pgtest"
	"deskcrm/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The history query answers seven days of runs from Postgres, however many runs there were
// (a pass an hour for nine days here), in a bounded view; and the mode and look-back the
// workflow runs with are what Postgres holds, whatever a preflight stored before.
func TestHistoryAnswersSevenDaysFromPostgres(t *testing.T) {
	ctx := context.Background()
	st := store.New(pgtest.Pool(t))
	// A preflight before the start registered the integration as two-way, a year back.
	_, err := st.EnsureIntegration(ctx, "acme", activities.ModeTwoWay, 365*24*time.Hour)
	require.NoError(t, err)
	type sums struct{ runs, added, updated, failed int }
	var week sums
	for at := t0.Add(-9 * 24 * time.Hour); !at.After(t0); at = at.Add(time.Hour) {
		for i, dir := range []string{activities.DeskToCRM, activities.CRMToDesk} {
			fin := at.Add(time.Second)
			r := store.Run{WorkflowID: WorkflowID("acme"), RunID: "earlier", Kind: "incremental", Module: modules[i], Direction: dir,
				StartedAt: at, FinishedAt: &fin, Added: 1, Updated: 2 + i, Failed: i}
			_, err := st.RecordRun(ctx, "acme", r)
			require.NoError(t, err)
			if !at.Before(t0.Add(-HistoryKeep)) {
				week.runs, week.added, week.updated, week.failed = week.runs+1, week.added+r.Added, week.updated+r.Updated, week.failed+r.Failed
			}
		}
	}

	h := newHarnessWith(t, &activities.Activities{Store: st})
	var lines []RunSummary
	h.at(time.Minute, func() { h.query(QueryHistory, &lines); h.env.CancelWorkflow() })
	state := idleState(activities.ModeOneWayToDesk)
	h.run(SyncInput{IntegrationID: "acme", Mode: activities.ModeOneWayToDesk, LookbackDays: 30, PollInterval: "1h", State: state})

	in, err := st.Integration(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, activities.ModeOneWayToDesk, in.Mode, "the workflow's mode wins over what the preflight stored")
	assert.Equal(t, 30*24*time.Hour, in.Lookback)

	require.NotEmpty(t, lines)
	assert.LessOrEqual(t, len(lines), HistoryNewest+8*3*2*2)
	var got sums
	for i, l := range lines {
		got.runs, got.added, got.updated, got.failed = got.runs+l.Runs, got.added+l.Added, got.updated+l.Updated, got.failed+l.Failed
		assert.Equal(t, i >= HistoryNewest, l.DayTotal, "line %d: the newest %d runs one line each, then day totals", i, HistoryNewest)
		assert.False(t, l.Time.Before(t0.Add(-HistoryKeep).Truncate(24*time.Hour)), "line %d from %s is older than seven days", i, l.Time)
	}
	assert.Equal(t, week, got, "every run of the seven days, counted once")
	assert.Equal(t, t0, lines[0].Time.UTC(), "newest first")
	assert.Equal(t, t0.Add(-HistoryKeep).Truncate(24*time.Hour), lines[len(lines)-1].Time.UTC(), "back to the day seven days ago")
}

// When Postgres cannot be read, the history query still shows the passes since the last read,
// before the view it read then.
func TestHistoryShowsNewerPassesWhenPostgresCannotBeRead(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.RunHistory, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.HistoryInput) (activities.HistoryResult, error) {
			return h.fakeHistory(in), nil
		}).Once()
	h.env.OnActivity(acts.RunHistory, mock.Anything, mock.Anything).Return(activities.HistoryResult{},
		temporal.NewNonRetryableApplicationError("postgres down", activities.ErrPermanent, nil))
	h.signal(10*time.Minute, SignalSyncNow, nil)
	var lines []RunSummary
	h.at(20*time.Minute, func() { h.query(QueryHistory, &lines); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	require.Len(t, lines, 8, "four lines of the pass, then the first sync's four as last read")
	for i, l := range lines {
		want := "incremental"
		if i >= 4 {
			want = "initial"
		}
		assert.Equal(t, want, l.Kind, "line %d", i)
	}
	assert.Len(t, h.reads, 2, "read on entering idle and after the pass")
}

// Every run records the mode and look-back at its start (a run after continue-as-new too),
// and every mode change records the new mode.
func TestModeIsRecordedAtEveryRunStartAndChange(t *testing.T) {
	h := newHarness(t)
	h.env.SetCurrentHistoryLength(2001)
	h.signal(10*time.Minute, SignalSyncNow, nil)
	h.run(SyncInput{IntegrationID: "acme", Mode: activities.ModeTwoWay, LookbackDays: 30, PollInterval: "1h",
		State: idleState(activities.ModeOneWayToDesk)})
	in := canInput(t, h.env.GetWorkflowError())
	assert.Equal(t, []activities.RecordModeInput{{IntegrationID: "acme", Mode: activities.ModeOneWayToDesk, LookbackDays: 30}}, h.modes,
		"the state's mode, which the workflow holds, wins over the input's")

	h2 := newHarness(t)
	var out updateOutcome
	h2.update(10*time.Minute, UpdateSetMode, &out, SetModeRequest{Mode: activities.ModeTwoWay})
	h2.cancelAt(20 * time.Minute)
	h2.run(in)
	require.NoError(t, out.err)
	assert.Equal(t, []activities.RecordModeInput{
		{IntegrationID: "acme", Mode: activities.ModeOneWayToDesk, LookbackDays: 30},
		{IntegrationID: "acme", Mode: activities.ModeTwoWay, LookbackDays: 30},
	}, h2.modes)
}
