package store_test

import (
	"context"
	"fmt"
	"regexp"
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
