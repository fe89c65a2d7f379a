package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"deskcrm/internal/pgtest"
	"deskcrm/store"
	"deskcrm/workflows"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testStore opens a fresh database for a test and points the starter at it (DATABASE_URL).
func testStore(t *testing.T) *store.Store {
	t.Helper()
	url := pgtest.URL(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	t.Setenv("DATABASE_URL", url)
	return st
}

// `starter history` reads seven days of runs from Postgres, with no sync running: the newest
// one line each, older ones summed per day, or every run with --all.
func TestHistoryReadsSevenDaysFromPostgres(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	for _, id := range []string{"acme", "quiet"} {
		if _, err := st.RecordMode(ctx, id, "two-way", 0); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	total := 0
	// A run every two hours, none within half an hour of the seven days' start.
	for at := now.Add(-9*24*time.Hour + 30*time.Minute); at.Before(now); at = at.Add(2 * time.Hour) {
		fin := at.Add(time.Second)
		if _, err := st.RecordRun(ctx, "acme", store.Run{WorkflowID: "w", RunID: "r", Kind: "incremental", Module: "contacts",
			Direction: "crm-to-desk", StartedAt: at, FinishedAt: &fin, Added: 1}); err != nil {
			t.Fatal(err)
		}
		if !at.Before(now.Add(-workflows.HistoryKeep)) {
			total++
		}
	}

	for _, tc := range []struct {
		args  []string
		lines func(int) bool
	}{
		{[]string{"history", "--integration", "acme", "--json"}, func(n int) bool { return n > workflows.HistoryNewest && n <= workflows.HistoryNewest+8 }},
		{[]string{"history", "--integration", "acme", "--json", "--all"}, func(n int) bool { return n == total }},
	} {
		var out, errOut bytes.Buffer
		if err := run(ctx, tc.args, &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", tc.args, err, errOut.String())
		}
		var runs []workflows.RunSummary
		if err := json.Unmarshal(out.Bytes(), &runs); err != nil {
			t.Fatalf("%v: %v: %s", tc.args, err, out.String())
		}
		sum := 0
		for _, r := range runs {
			sum += r.Runs
			if r.Time.Before(now.Add(-workflows.HistoryKeep).Truncate(24 * time.Hour)) {
				t.Errorf("%v: a run from %s, older than seven days", tc.args, r.Time)
			}
		}
		if !tc.lines(len(runs)) || sum != total {
			t.Errorf("%v: %d lines summing %d runs, want %d runs", tc.args, len(runs), sum, total)
		}
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"history", "--integration", "acme"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CRM → Desk") || !strings.Contains(out.String(), "(UTC day)") {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"history", "--integration", "quiet"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no sync runs") {
		t.Errorf("an integration without runs: %q", out.String())
	}
	// A mistyped id is an error naming the integrations, not an empty history.
	err := run(ctx, []string{"history", "--integration", "nobody"}, &out, &out)
	if want := `integration "nobody" does not exist; the integrations are "acme", "quiet"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("an unknown integration: err = %v, want %q", err, want)
	}
}

// `starter conflicts` lists the conflict log of the seven days from Postgres, one line per
// field with the edit kept and the rule in words, newest first; --json gives the entries.
func TestConflictsListTheLogFromPostgres(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	if _, err := st.RecordMode(ctx, "acme", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"conflicts", "--integration", "acme"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "no field held two values") {
		t.Fatalf("an empty log: %v %q %q", err, out.String(), errOut.String())
	}
	if err := st.RecordConflicts(ctx, "acme", "wf/run/1", []store.Conflict{
		{Module: "contacts", DeskID: "d1", CRMID: "c1", Fields: []store.ConflictField{{Field: "title=Title", Kept: "crm", Rule: "newest"}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordConflicts(ctx, "acme", "wf/run/2", []store.Conflict{
		{Module: "accounts", DeskID: "d2", CRMID: "c2", Fields: []store.ConflictField{
			{Field: "phone=Phone", Kept: "desk", Rule: "desk-wins"}, {Field: "website=Website", Kept: "crm", Rule: "direction"}}},
	}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"conflicts", "--integration", "acme"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "phone ↔ Phone: Desk's edit kept (the field's policy: desk-wins)") ||
		!strings.Contains(lines[2], "website ↔ Website: CRM's edit kept (the field flows one way only)") ||
		!strings.Contains(lines[3], "title ↔ Title: CRM's edit kept (newest: the record modified last)") || !strings.Contains(lines[3], "d1") {
		t.Errorf("conflicts:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"conflicts", "--integration", "acme", "--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var cs []store.Conflict
	if err := json.Unmarshal(out.Bytes(), &cs); err != nil || len(cs) != 2 || cs[0].CRMID != "c2" || len(cs[0].Fields) != 2 {
		t.Errorf("--json: %v %s", err, out.String())
	}
}

// `delete` refuses an integration Postgres does not know before asking to confirm it (a trial
// was asked to confirm deleting "nope"), naming those it knows.
func TestDeleteRefusesAnUnknownIntegrationBeforeAsking(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	if _, err := st.RecordMode(ctx, "acme", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	old := stdin
	stdin = strings.NewReader("nope\n")
	t.Cleanup(func() { stdin = old })
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"delete", "--integration", "nope", "--worker-url", "http://127.0.0.1:1"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `integration "nope" does not exist; the integrations are "acme"`) {
		t.Errorf("err = %v, want the unknown integration named", err)
	}
	if strings.Contains(out.String(), "Type the integration id to confirm") {
		t.Errorf("asked to confirm deleting an unknown integration: %q", out.String())
	}
}
