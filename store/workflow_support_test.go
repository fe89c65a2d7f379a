package store_test

import (
	"context"
	"testing"
	"time"

	"deskcrm/internal/pgtest"
	"deskcrm/store"
)

// The workflow's copy of the mode and look-back wins over what a preflight or an earlier run
// stored, and a deleted integration comes back with it.
func TestRecordModeOverwritesTheStoredCopy(t *testing.T) {
	ctx := context.Background()
	st := store.New(pgtest.Pool(t))
	year := 365 * 24 * time.Hour

	in, err := st.RecordMode(ctx, "new", "one-way-crm-to-desk", 0)
	if err != nil {
		t.Fatal(err)
	}
	if in.Mode != "one-way-crm-to-desk" || in.Lookback != year || in.State != "active" {
		t.Errorf("a new integration: %+v, want one-way, a year, active", in)
	}

	// A preflight before the start registered it as two-way with a year.
	if _, err := st.EnsureIntegration(ctx, "it", "two-way", year); err != nil {
		t.Fatal(err)
	}
	in, err = st.RecordMode(ctx, "it", "one-way-crm-to-desk", 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if in.Mode != "one-way-crm-to-desk" || in.Lookback != 30*24*time.Hour {
		t.Errorf("after RecordMode: mode %s lookback %s, want one-way and 30 days", in.Mode, in.Lookback)
	}
	in, err = st.RecordMode(ctx, "it", "two-way", 0)
	if err != nil {
		t.Fatal(err)
	}
	if in.Mode != "two-way" || in.Lookback != 30*24*time.Hour {
		t.Errorf("a zero look-back keeps the stored one: mode %s lookback %s", in.Mode, in.Lookback)
	}

	if _, err := st.DeleteIntegration(ctx, "it"); err != nil {
		t.Fatal(err)
	}
	in, err = st.RecordMode(ctx, "it", "legacy-import", 0)
	if err != nil {
		t.Fatal(err)
	}
	if in.State != "active" || in.DeletedAt != nil || in.Mode != "legacy-import" {
		t.Errorf("a sync started after a delete: %+v, want active again in its mode", in)
	}
}

// Seven days of a pass a minute come back as at most newest lines plus one line per day,
// kind, module and direction, with every run counted once.
func TestRunHistoryIsBoundedAndCountsEveryRun(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	now := time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
	since := now.Add(-7 * 24 * time.Hour)
	var want struct{ runs, added, updated, failed int }
	add := func(at time.Time, kind, module, dir string, added, updated, failed int) {
		t.Helper()
		fin := at.Add(time.Second)
		if _, err := st.RecordRun(ctx, "it", store.Run{WorkflowID: "w", RunID: "r", Kind: kind, Module: module, Direction: dir,
			StartedAt: at, FinishedAt: &fin, Added: added, Updated: updated, Failed: failed}); err != nil {
			t.Fatal(err)
		}
		if !at.Before(since) {
			want.runs++
			want.added += added
			want.updated += updated
			want.failed += failed
		}
	}
	add(now.Add(-8*24*time.Hour), "incremental", "contacts", "desk-to-crm", 100, 100, 100) // older than seven days
	add(since.Add(time.Minute), "initial", "accounts", "crm-to-desk", 7, 0, 1)
	// A pass every ten minutes for seven days, two lines each.
	for at := since.Add(time.Hour); at.Before(now); at = at.Add(10 * time.Minute) {
		add(at, "incremental", "contacts", "desk-to-crm", 1, 2, 0)
		add(at, "incremental", "accounts", "crm-to-desk", 0, 1, 1)
	}
	add(now.Add(-time.Minute), "retry", "contacts", "desk-to-crm", 3, 0, 0)

	lines, err := st.RunHistory(ctx, "it", since, 50)
	if err != nil {
		t.Fatal(err)
	}
	if max := 50 + 8*3*2*2; len(lines) > max {
		t.Fatalf("%d lines, want at most %d", len(lines), max)
	}
	var got struct{ runs, added, updated, failed int }
	singles := 0
	for i, l := range lines {
		got.runs += l.Runs
		got.added += l.Added
		got.updated += l.Updated
		got.failed += l.Failed
		if l.Time.Before(since.Truncate(24 * time.Hour)) {
			t.Errorf("line %d from %s is older than seven days", i, l.Time)
		}
		if i > 0 && l.Time.After(lines[i-1].Time) {
			t.Errorf("line %d (%s) is newer than line %d (%s): want newest first", i, l.Time, i-1, lines[i-1].Time)
		}
		if l.DayTotal {
			if !l.Time.Equal(l.Time.Truncate(24*time.Hour)) || l.Runs < 1 {
				t.Errorf("day total %+v: want 00:00 UTC and a run count", l)
			}
			continue
		}
		singles++
		if singles > 50 || l.Runs != 1 {
			t.Errorf("single line %d: %+v", singles, l)
		}
	}
	if got != want {
		t.Errorf("the view sums %+v, want every run of the seven days once: %+v", got, want)
	}
	if lines[0].Kind != "retry" || lines[0].DayTotal {
		t.Errorf("newest line %+v, want the retry run", lines[0])
	}
	last := lines[len(lines)-1]
	if !last.DayTotal || last.Kind != "initial" && last.Kind != "incremental" {
		t.Errorf("oldest line %+v, want a day total", last)
	}
}
