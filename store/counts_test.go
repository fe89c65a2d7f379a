package store_test

import (
	"context"
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
