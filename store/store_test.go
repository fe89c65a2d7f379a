package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// KeyGroups hands the match step every key that both sides carry, with all its records and
// whether each is linked, a page of keys at a time; Unlinked leaves records whose key the
// other side carries to the match step.
func TestKeyGroups(t *testing.T) {
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
	if _, err := st.LinkPairs(ctx, "it", "contacts", []string{"d003"}, []string{"c002"}); err != nil { // c@x
		t.Fatal(err)
	}
	var got []string
	after := ""
	for {
		page, err := st.KeyGroups(ctx, "it", "contacts", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, fmt.Sprintf("%s %s %s %v", m.Key, m.Side, m.ID, m.Linked))
		}
		after = page[len(page)-1].Key
	}
	want := []string{
		"a@x crm c000 false", "a@x desk d000 false",
		"b@x crm c001 false", "b@x desk d001 false", "b@x desk d002 false",
		"c@x crm c002 true", "c@x desk d003 true",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("KeyGroups =\n%v\nwant\n%v", got, want)
	}
	// What remains for the create steps: no link and no candidate on the other side.
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
}

// Reading the key groups of a large index stays fast (matching was once quadratic).
func BenchmarkKeyGroups(b *testing.B) {
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
		for after := ""; ; {
			page, err := st.KeyGroups(ctx, "it", "contacts", after, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Key
		}
	}
}

// CopyIndex and UpsertIndex write the same rows: a record twice in one batch is written once,
// as its last occurrence, and a second write replaces the first.
func TestCopyIndexWritesWhatUpsertIndexWrites(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, write := range []struct {
		name, module string
		fn           func(context.Context, store.Scope, []store.IndexRow) error
	}{{"upsert", "contacts", st.UpsertIndex}, {"copy", "accounts", st.CopyIndex}} {
		t.Run(write.name, func(t *testing.T) {
			sc := store.Scope{IntegrationID: "it", Module: write.module, Side: "crm"}
			first := rows("r", "a@x", "b@x", "c@x")
			first[1].Problems = []string{"too long"}
			first[2].RawRefs = map[string]string{"account": "d7"}
			dup := first[0]
			dup.MatchKey, dup.Values = "a2@x", map[string]any{"k": "a2@x"}
			if err := write.fn(ctx, sc, append(first, dup)); err != nil {
				t.Fatal(err)
			}
			if err := write.fn(ctx, sc, rows("r", "a@x", "b2@x")[1:]); err != nil { // r001 again
				t.Fatal(err)
			}
			got, err := st.IndexRows(ctx, sc, []string{"r000", "r001", "r002"})
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := st.IndexCount(ctx, sc); n != 3 {
				t.Errorf("count = %d, want 3", n)
			}
			if got["r000"].MatchKey != "a2@x" || got["r000"].Values["k"] != "a2@x" {
				t.Errorf("r000 = %+v, want the batch's last occurrence", got["r000"])
			}
			if got["r001"].MatchKey != "b2@x" || got["r001"].Problems != nil {
				t.Errorf("r001 = %+v, want the second write", got["r001"])
			}
			if got["r002"].RawRefs["account"] != "d7" {
				t.Errorf("r002 = %+v, want its raw references", got["r002"])
			}
		})
	}
}

// The worker's connections run without parallel query unless DATABASE_URL asks for it.
func TestOpenTurnsParallelQueryOffUnlessTheURLSetsIt(t *testing.T) {
	for _, c := range []struct{ params, want string }{{"", "0"}, {"max_parallel_workers_per_gather=2", "2"}} {
		url := pgtest.URL(t)
		if c.params != "" {
			sep := "?"
			if strings.Contains(url, "?") {
				sep = "&"
			}
			url += sep + c.params
		}
		st, err := store.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := st.Pool.QueryRow(t.Context(), "show max_parallel_workers_per_gather").Scan(&got); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if got != c.want {
			t.Errorf("URL params %q: max_parallel_workers_per_gather = %s, want %s", c.params, got, c.want)
		}
	}
}

// LinkPairs leaves out every pair of which either record has a link already — linked, or
// pending a create on either side — and a record paired twice in one call is linked once,
// in its first pair.
func TestLinkPairsLeavesOutRecordsLinkedAlready(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	desk := store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}
	if _, err := st.LinkPairs(ctx, "it", "contacts", []string{"d1"}, []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddPendingLinks(ctx, desk, []string{"d2"}); err != nil { // d2 is being created in CRM
		t.Fatal(err)
	}
	ids, err := st.LinkPairs(ctx, "it", "contacts",
		[]string{"d1", "d9", "d2", "d3", "d4", "d4", "d5"},
		[]string{"c8", "c1", "c2", "c3", "c4", "c5", "c4"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for d := range ids {
		got = append(got, d)
	}
	slices.Sort(got)
	if want := []string{"d3", "d4"}; !slices.Equal(got, want) {
		t.Fatalf("linked %v, want %v", got, want)
	}
	for d, c := range map[string]string{"d1": "c1", "d3": "c3", "d4": "c4"} {
		l, err := st.LinkByDesk(ctx, "it", "contacts", d)
		if err != nil {
			t.Fatal(err)
		}
		if l.CRMID != c {
			t.Errorf("%s linked to %q, want %q", d, l.CRMID, c)
		}
	}
}

// A connection setting pgx cannot use is named in the error — the URL's part or the PG*
// variable beside it — and the password never is.
func TestOpenSaysWhichConnectionSettingIsWrong(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, url, env string
		want           []string
	}{
		{"port", "postgres://deskcrm:s3cretpw@127.0.0.1:notaport/deskcrm", "", []string{"DATABASE_URL", "port"}},
		{"sslmode in the URL", "postgres://deskcrm:s3cretpw@127.0.0.1:5432/deskcrm?sslmode=sometimes", "", []string{"DATABASE_URL", "sslmode"}},
		{"sslmode in the environment", "postgres://deskcrm:s3cretpw@127.0.0.1:5432/deskcrm", "sometimes", []string{"PGSSLMODE", "sslmode"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("PGSSLMODE", tt.env)
			}
			st, err := store.Open(ctx, tt.url)
			if err == nil {
				st.Close()
				t.Fatal("Open accepted a connection string pgx cannot use")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
