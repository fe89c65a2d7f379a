package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"deskcrm/internal/pgtest"
	"deskcrm/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	st := store.New(pgtest.Pool(t))
	if _, err := st.EnsureIntegration(context.Background(), "it", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return st
}

func rows(prefix string, keys ...string) []store.IndexRow {
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]store.IndexRow, len(keys))
	for i, k := range keys {
		out[i] = store.IndexRow{RecordID: fmt.Sprintf("%s%03d", prefix, i), MatchKey: k, CreatedTime: now, ModifiedTime: now,
			Values: map[string]any{"k": k}}
	}
	return out
}

// Matching links one-to-one keys, logs shared keys as ambiguous and duplicates of linked
// records as already mapped, and leaves the rest for creation.
func TestMatchIndexed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	desk := store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}
	crm := desk.Other()
	if err := st.UpsertIndex(ctx, desk, rows("d", "a@x", "b@x", "b@x", "c@x", "", "only-desk@x")); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertIndex(ctx, crm, rows("c", "a@x", "b@x", "c@x", "", "only-crm@x")); err != nil {
		t.Fatal(err)
	}
	linked, amb, err := st.MatchIndexed(ctx, "it", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if linked != 2 { // a@x and c@x
		t.Errorf("linked %d, want 2", linked)
	}
	if len(amb) != 3 { // two Desk b@x and one CRM b@x
		t.Errorf("ambiguous %+v, want 3", amb)
	}
	// Unlinked leaves out matched, ambiguous and linked records: what remains is created.
	for sc, want := range map[store.Scope][]string{desk: {"d004", "d005"}, crm: {"c003", "c004"}} {
		got, err := st.Unlinked(ctx, sc, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.RecordID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("%s unlinked = %v, want %v", sc.Side, ids, want)
		}
	}
	// A later Desk record with the key of a linked pair is a duplicate of it.
	if err := st.UpsertIndex(ctx, desk, []store.IndexRow{{RecordID: "d100", MatchKey: "a@x", CreatedTime: time.Now(), ModifiedTime: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	_, amb, err = st.MatchIndexed(ctx, "it", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	var mapped []string
	for _, a := range amb {
		if a.AlreadyMapped {
			mapped = append(mapped, a.RecordID)
		}
	}
	if fmt.Sprint(mapped) != "[d100]" {
		t.Errorf("already mapped = %v, want [d100]", mapped)
	}
}

// Matching stays fast on a large index (it once was quadratic).
func BenchmarkMatchIndexed(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st := store.New(pgtest.Pool(b))
		if _, err := st.EnsureIntegration(ctx, "it", "two-way", time.Hour); err != nil {
			b.Fatal(err)
		}
		keys := make([]string, 10000)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d@x", i)
		}
		desk := store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}
		if err := st.UpsertIndex(ctx, desk, rows("d", keys...)); err != nil {
			b.Fatal(err)
		}
		if err := st.UpsertIndex(ctx, desk.Other(), rows("c", keys[5000:]...)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, _, err := st.MatchIndexed(ctx, "it", "contacts"); err != nil {
			b.Fatal(err)
		}
	}
}
