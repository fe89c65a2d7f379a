package store_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"deskcrm/internal/pgtest"
	"deskcrm/schema"
	"deskcrm/store"
)

// plannedPool is a pool on a fresh database whose sessions send the plan of every statement
// they run, with the rows and loops of each node, to the client (auto_explain at NOTICE),
// collected by the returned function.
func plannedPool(t *testing.T) (*pgxpool.Pool, func() []string) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	// Migrated first, on connections of their own: tern resets the sessions it migrates on.
	plain, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = schema.Migrate(ctx, plain)
	plain.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var plans []string
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "Query Text:") {
			mu.Lock()
			plans = append(plans, n.Message)
			mu.Unlock()
		}
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0;
			set auto_explain.log_analyze = on; set auto_explain.log_timing = off;
			set auto_explain.log_level = notice; set auto_explain.log_nested_statements = on`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := plans
		plans = nil
		return out
	}
}

// The match step links pairs while links grows from nothing under it. It reads whether a
// record is linked, and inserts links, by probing links_desk and links_crm, and refreshes
// links' planner statistics before each batch (store.RefreshStatistics): planned from the
// statistics of a nearly empty links, "not exists (… desk_id = … or crm_id = …)" became a
// scan of links for every pair, and the match of 100,000 accounts per side took 16 s, 29
// times that of 10,000. No statement may read links more than once.
func TestMatchProbesLinksByIndexAsLinksGrow(t *testing.T) {
	ctx := context.Background()
	pool, plans := plannedPool(t)
	st := store.New(pool)
	if _, err := st.EnsureIntegration(ctx, "it", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// Links of another module, as an earlier sync leaves them: Postgres would rightly scan a
	// table of a page or two for each row, which is no fault of the statements.
	others := make([]string, 5000)
	for i := range others {
		others[i] = fmt.Sprintf("%05d", i)
	}
	if _, err := st.LinkPairs(ctx, "it", "contacts", others, others); err != nil {
		t.Fatal(err)
	}
	desk := store.Scope{IntegrationID: "it", Module: "accounts", Side: "desk"}
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("account %05d", i)
	}
	if err := st.UpsertIndex(ctx, desk, rows("d", keys...)); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertIndex(ctx, desk.Other(), rows("c", keys[5000:]...)); err != nil {
		t.Fatal(err)
	}
	if err := st.RefreshStatistics(ctx); err != nil {
		t.Fatal(err)
	}
	plans()
	linked := 0
	for after := ""; ; {
		if err := st.RefreshStatistics(ctx); err != nil {
			t.Fatal(err)
		}
		page, err := st.KeyGroups(ctx, "it", "accounts", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var d, c []string
		for _, m := range page {
			if m.Linked {
				t.Fatalf("%s %s reported linked before it was", m.Side, m.ID)
			}
			if m.Side == "desk" {
				d = append(d, m.ID)
			} else {
				c = append(c, m.ID)
			}
		}
		ids, err := st.LinkPairs(ctx, "it", "accounts", d, c)
		if err != nil {
			t.Fatal(err)
		}
		linked += len(ids)
		after = page[len(page)-1].Key
	}
	if linked != 15000 {
		t.Fatalf("linked %d pairs, want 15000", linked)
	}
	if err := st.RefreshStatistics(ctx); err != nil {
		t.Fatal(err)
	}
	cands, err := st.Candidates(ctx, "it", "accounts", keys[4995:5005])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		if c.Linked {
			got = append(got, c.Side+" "+c.Row.RecordID)
		}
	}
	if want := "[crm c000 crm c001 crm c002 crm c003 crm c004 desk d5000 desk d5001 desk d5002 desk d5003 desk d5004]"; fmt.Sprint(got) != want {
		t.Errorf("linked candidates = %v\nwant %s", got, want)
	}
	seen := plans()
	if len(seen) < 10 {
		t.Fatalf("auto_explain reported %d plans; want one per statement", len(seen))
	}
	for _, p := range seen {
		if n := rescansOfLinks(p); n > 1 {
			t.Errorf("a statement read links %d times:\n%s", n, p)
		}
	}
}

var seqScanOfLinks = regexp.MustCompile(`(?m)^(\s*)(?:->\s+)?Seq Scan on links\b.*loops=(\d+)\)`)
var loops = regexp.MustCompile(`loops=(\d+)\)`)

// rescansOfLinks is how many times a plan (auto_explain's text, with actual rows and loops)
// read the whole of links: the loops of its sequential scans of links, or of a Materialize
// node directly above one (a rescan of the materialized table).
func rescansOfLinks(plan string) int {
	lines := strings.Split(plan, "\n")
	most := 0
	for i, line := range lines {
		m := seqScanOfLinks.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if i > 0 && strings.Contains(lines[i-1], "Materialize") {
			if lm := loops.FindStringSubmatch(lines[i-1]); lm != nil {
				n, _ = strconv.Atoi(lm[1])
			}
		}
		most = max(most, n)
	}
	return most
}

// The steps that leave out records with an open failure read the open failures at most once
// a statement (hashed) or probe them by the record's id, never all of them for each row: the
// create steps (Unlinked), the reconcile step (UnreconciledPairs, a failure on either id of a
// pair) and the incremental pass (FailedSince). With 20,000 open failures of other records —
// a sync whose records mostly fail, as an unmapped required field makes them —
// UnreconciledPairs' "desk_id = … or crm_id = …" rescanned all of them for every pair: 4
// million rows and 160 ms a batch of 200, growing with the failures times the pairs.
func TestFailedRecordsAreFoundByID(t *testing.T) {
	ctx := context.Background()
	pool, plans := plannedPool(t)
	st := store.New(pool)
	if _, err := st.EnsureIntegration(ctx, "it", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	desk := store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}
	keys := make([]string, 2000)
	for i := range keys {
		keys[i] = fmt.Sprintf("p%04d@x", i)
	}
	deskRows, crmRows := rows("d", keys...), rows("c", keys...)
	alone := make([]string, 1000)
	for i := range alone {
		alone[i] = fmt.Sprintf("u%04d@x", i)
	}
	unlinked := rows("u", alone...)
	if err := st.UpsertIndex(ctx, desk, append(deskRows, unlinked...)); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertIndex(ctx, desk.Other(), crmRows); err != nil {
		t.Fatal(err)
	}
	var d, c []string
	for i := range deskRows {
		d, c = append(d, deskRows[i].RecordID), append(c, crmRows[i].RecordID)
	}
	if _, err := st.LinkPairs(ctx, "it", "contacts", d, c); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `insert into sync_failures (integration_id, module, direction, desk_id, code, message)
		select 'it', 'contacts', 'desk-to-crm', 'z' || n, 'INVALID_DATA', 'unmapped required field' from generate_series(1, 20000) n`); err != nil {
		t.Fatal(err)
	}
	failed := []store.Failure{
		{Module: "contacts", Direction: "desk-to-crm", DeskID: d[10], Code: "INVALID_DATA"},
		{Module: "contacts", Direction: "crm-to-desk", CRMID: c[20], Code: "INVALID_DATA"},
		{Module: "contacts", Direction: "desk-to-crm", DeskID: unlinked[5].RecordID, Code: "INVALID_DATA"},
	}
	if _, err := st.RecordFailures(ctx, "it", "", failed); err != nil {
		t.Fatal(err)
	}
	if err := st.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	plans()

	pairs := map[string]bool{}
	for after := int64(0); ; {
		page, err := st.UnreconciledPairs(ctx, "it", "contacts", after, 200)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			pairs[p.DeskID] = true
		}
		after = page[len(page)-1].LinkID
	}
	if len(pairs) != 1998 || pairs[d[10]] || pairs[d[20]] {
		t.Errorf("UnreconciledPairs returned %d pairs (with %s: %v, with %s's pair: %v); want 1998, neither of the pairs with a failure",
			len(pairs), d[10], pairs[d[10]], c[20], pairs[d[20]])
	}
	var creatable []string
	for after := ""; ; {
		page, err := st.Unlinked(ctx, desk, after, 200)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			creatable = append(creatable, r.RecordID)
		}
		after = page[len(page)-1].RecordID
	}
	if len(creatable) != 999 || slices.Contains(creatable, unlinked[5].RecordID) {
		t.Errorf("Unlinked returned %d records (with the failed %s: %v); want 999 without it",
			len(creatable), unlinked[5].RecordID, slices.Contains(creatable, unlinked[5].RecordID))
	}
	since, err := st.FailedSince(ctx, desk, d[:200])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := since[d[10]]; len(since) != 1 || !ok {
		t.Errorf("FailedSince = %v; want %s only", since, d[10])
	}

	seen := plans()
	if len(seen) < 10 {
		t.Fatalf("auto_explain reported %d plans; want one per statement", len(seen))
	}
	for _, p := range seen {
		if n := rowsReadFrom(p, "sync_failures"); n > 2*20003 {
			t.Errorf("a statement read %d rows of sync_failures (20,003 open failures):\n%s", n, p)
		}
	}
}

var scanNode = regexp.MustCompile(`^(\s*)(?:->\s+)?.*\bon (\w+)\b.*\(actual rows=(\d+) loops=(\d+)\)`)
var materialize = regexp.MustCompile(`Materialize\b.*\(actual rows=(\d+) loops=(\d+)\)`)
var removedRows = regexp.MustCompile(`Rows Removed by (?:Filter|Index Recheck): (\d+)`)

// rowsReadFrom is how many rows of table a plan (auto_explain's text, with actual rows and
// loops) read: for each scan node of the table, the rows it returned and removed by its
// filter (EXPLAIN gives both per loop) times its loops, or, under a Materialize, the rows the
// Materialize returned times its loops (each rescan reads the materialized table again).
func rowsReadFrom(plan, table string) int {
	lines := strings.Split(plan, "\n")
	total := 0
	for i, line := range lines {
		m := scanNode.FindStringSubmatch(line)
		if m == nil || m[2] != table {
			continue
		}
		if i > 0 {
			if mm := materialize.FindStringSubmatch(lines[i-1]); mm != nil {
				rows, _ := strconv.Atoi(mm[1])
				loops, _ := strconv.Atoi(mm[2])
				total += rows * loops
				continue
			}
		}
		rows, _ := strconv.Atoi(m[3])
		loops, _ := strconv.Atoi(m[4])
		// The node's details are the lines below it, indented deeper, up to the next node.
		for _, detail := range lines[i+1:] {
			if strings.Contains(detail, "->") || len(detail)-len(strings.TrimLeft(detail, " ")) <= len(m[1]) {
				break
			}
			if r := removedRows.FindStringSubmatch(detail); r != nil {
				n, _ := strconv.Atoi(r[1])
				rows += n
			}
		}
		total += rows * loops
	}
	return total
}
