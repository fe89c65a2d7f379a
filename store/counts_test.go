package store_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"deskcrm/store"
)

// An activity's retries neither add attempts to a record's failure nor count it twice; another
// activity meeting the same failure does both. Counts added with a commit are read back.
func TestFailuresAndCountsAreIdempotentUnderRetries(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	f := []store.Failure{{Module: "contacts", Direction: "desk-to-crm", DeskID: "d1", Code: "VALUE_TOO_LONG", Message: "too long"}}
	for range 3 { // the same activity, three attempts
		got, err := st.RecordFailures(ctx, "it", "wf/run/7", f)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Attempts != 1 {
			t.Fatalf("attempts %d after retries of one activity, want 1", got[0].Attempts)
		}
	}
	got, err := st.RecordFailures(ctx, "it", "wf/run/9", f) // a later pass meets it again
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Attempts != 2 {
		t.Errorf("attempts %d after a second activity, want 2", got[0].Attempts)
	}
	for key, want := range map[string]int{"wf/run/7": 1, "wf/run/9": 1} {
		c, err := st.Counts(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if c[store.FailedCount("desk-to-crm")] != want {
			t.Errorf("%s counted %v, want %d failure", key, c, want)
		}
	}
	sc := store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}
	if err := st.AddPendingLinks(ctx, sc, []string{"d2"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteLinks(ctx, sc, []store.Completion{{SourceID: "d2", TargetID: "c2"}}, store.Count{Key: "wf/run/7", Name: "created", N: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := st.Counts(ctx, "wf/run/7")
	if err != nil {
		t.Fatal(err)
	}
	if c["created"] != 1 {
		t.Errorf("counts %v, want created 1", c)
	}
}

// Two transactions counting for one activity do not wait for each other: a count added while
// another transaction's count of the same name is uncommitted goes through at once (with one
// counter row per name, it waited for that commit), and both are read back.
func TestConcurrentCountsOfOneActivityDoNotQueue(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `insert into activity_counts (key, name, n) values ('wf/run/3', 'created', 1)`); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.AddCounts(short, store.Count{Key: "wf/run/3", Name: "created", N: 2}); err != nil {
		t.Fatalf("a count beside an uncommitted one of the same activity: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.AddCounts(ctx, store.Count{Key: "wf/run/3", Name: "created", N: 5}); err != nil {
		t.Fatal(err)
	}
	c, err := st.Counts(ctx, "wf/run/3")
	if err != nil {
		t.Fatal(err)
	}
	if c["created"] != 8 {
		t.Errorf("counts %v, want created 8", c)
	}
}

// A record with several problems in one pass is one open failure naming each of them (the log
// keeps one open failure per record and direction: the last problem hid the others), counted
// once; another record's failure and the other direction's stay apart.
func TestFailuresOfOneRecordAreOneEntryNamingEach(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	fs := []store.Failure{
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d1", Code: "TYPE_MISMATCH", Message: "phone is not a number"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d2", Code: "VALUE_TOO_LONG", Message: "too long"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d1", Code: "MANDATORY_NOT_FOUND", Message: "Last_Name is required"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d1", Code: "TYPE_MISMATCH", Message: "phone is not a number"}, // said twice
		{Module: "contacts", Direction: "crm-to-desk", DeskID: "d1", Code: "TYPE_MISMATCH", Message: "birthday is not a date"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d3", Code: "VALUE_TOO_LONG", Message: "first too long"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: "d3", Code: "VALUE_TOO_LONG", Message: "last too long"},
	}
	got, err := st.RecordFailures(ctx, "it", "wf/run/1", fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ dir, desk, code, msg string }{
		{"desk-to-crm", "d1", "TYPE_MISMATCH", "phone is not a number; Last_Name is required"},
		{"desk-to-crm", "d2", "VALUE_TOO_LONG", "too long"},
		{"crm-to-desk", "d1", "TYPE_MISMATCH", "birthday is not a date"},
		{"desk-to-crm", "d3", "VALUE_TOO_LONG", "first too long; last too long"},
	}
	if len(got) != len(want) {
		t.Fatalf("recorded %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if g := got[i]; g.Direction != w.dir || g.DeskID != w.desk || g.Code != w.code || g.Message != w.msg {
			t.Errorf("entry %d: %s %s %s %q, want %s %s %s %q", i, g.Direction, g.DeskID, g.Code, g.Message, w.dir, w.desk, w.code, w.msg)
		}
	}
	open, n, err := st.OpenFailures(ctx, "it", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || len(open) != 4 {
		t.Fatalf("%d open failures (%d listed), want 4", n, len(open))
	}
	c, err := st.Counts(ctx, "wf/run/1")
	if err != nil {
		t.Fatal(err)
	}
	if c[store.FailedCount("desk-to-crm")] != 3 || c[store.FailedCount("crm-to-desk")] != 1 {
		t.Errorf("counted %v, want 3 desk-to-crm and 1 crm-to-desk", c)
	}
	// The merged entry is found and counted under each of its codes: the console's code
	// filter showed it under its first only.
	if got := got[0].AllCodes(); !slices.Equal(got, []string{"TYPE_MISMATCH", "MANDATORY_NOT_FOUND"}) {
		t.Errorf("d1's codes %v, want TYPE_MISMATCH and MANDATORY_NOT_FOUND", got)
	}
	if got := got[3].AllCodes(); !slices.Equal(got, []string{"VALUE_TOO_LONG"}) {
		t.Errorf("d3's codes %v, want VALUE_TOO_LONG once", got)
	}
	log, err := st.FailureLog(ctx, "it", store.FailureFilter{Code: "MANDATORY_NOT_FOUND"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].DeskID != "d1" || !slices.Equal(log[0].Codes, []string{"TYPE_MISMATCH", "MANDATORY_NOT_FOUND"}) {
		t.Errorf("filtered by its second code: %+v, want d1's entry with both codes", log)
	}
	codes, total, err := st.FailureCodes(ctx, "it")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"TYPE_MISMATCH": 2, "MANDATORY_NOT_FOUND": 1, "VALUE_TOO_LONG": 2}; !maps.Equal(codes, want) || total != 4 {
		t.Errorf("codes %v of %d entries, want %v of 4", codes, total, want)
	}
}

// The open failures per module and direction count records failing now: a record that failed
// in two passes is one, a record that synced since is none, and the other direction and module
// stay apart (the overview's and status's "failing" columns).
func TestOpenFailuresByDirectionCountRecordsNotAttempts(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	d1 := store.Failure{Module: "contacts", Direction: "desk-to-crm", DeskID: "d1", Code: "VALUE_TOO_LONG", Message: "too long"}
	d2 := store.Failure{Module: "contacts", Direction: "desk-to-crm", DeskID: "d2", Code: "VALUE_TOO_LONG", Message: "too long"}
	c1 := store.Failure{Module: "contacts", Direction: "crm-to-desk", CRMID: "c1", Code: "TYPE_MISMATCH", Message: "not a date"}
	a1 := store.Failure{Module: "accounts", Direction: "desk-to-crm", DeskID: "a1", Code: "DUPLICATE_DATA", Message: "taken"}
	for _, run := range []string{"wf/run/1", "wf/run/2"} { // two passes meet d1 again
		if _, err := st.RecordFailures(ctx, "it", run, []store.Failure{d1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordFailures(ctx, "it", "wf/run/3", []store.Failure{d2, c1, a1}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureIntegration(ctx, "other", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordFailures(ctx, "other", "wf/run/4", []store.Failure{d2}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ResolveRecordFailures(ctx, "it", "contacts", "desk", []string{"d2"}); err != nil || n != 1 {
		t.Fatalf("resolved %d (%v), want 1", n, err)
	}
	got, err := st.OpenFailuresByDirection(ctx, "it")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"contacts/desk-to-crm": 1, "contacts/crm-to-desk": 1, "accounts/desk-to-crm": 1}
	if !maps.Equal(got, want) {
		t.Errorf("open failures by direction %v, want %v", got, want)
	}
}

// OpenFailuresWithIDs reads the open failures a retry names (or all of them), newest first and
// at most limit, without a closed one or another integration's.
func TestOpenFailuresWithIDs(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var ids []int64
	for _, id := range []string{"d1", "d2", "d3"} {
		fs, err := st.RecordFailures(ctx, "it", "", []store.Failure{{Module: "contacts", Direction: "desk-to-crm", DeskID: id, Code: "VALUE_TOO_LONG", Message: "too long"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fs[0].ID)
	}
	if _, err := st.RecordMode(ctx, "other", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordFailures(ctx, "other", "", []store.Failure{{Module: "contacts", Direction: "desk-to-crm", DeskID: "x", Code: "VALUE_TOO_LONG", Message: "too long"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResolveRecordFailures(ctx, "it", "contacts", "desk", []string{"d2"}); err != nil {
		t.Fatal(err)
	}
	deskIDs := func(fs []store.Failure) (out []string) {
		for _, f := range fs {
			out = append(out, f.DeskID)
		}
		return out
	}
	some, err := st.OpenFailuresWithIDs(ctx, "it", []int64{ids[0], ids[1]}, 10)
	if err != nil || !slices.Equal(deskIDs(some), []string{"d1"}) {
		t.Errorf("the open ones of d1 and d2: %v (%v), want d1's", deskIDs(some), err)
	}
	all, err := st.OpenFailuresWithIDs(ctx, "it", nil, 10)
	if err != nil || len(all) != 2 {
		t.Errorf("all open: %v (%v), want d1's and d3's", deskIDs(all), err)
	}
	if one, err := st.OpenFailuresWithIDs(ctx, "it", nil, 1); err != nil || len(one) != 1 {
		t.Errorf("limit 1: %v (%v)", deskIDs(one), err)
	}
}
