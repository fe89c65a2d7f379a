// Command incremental benchmarks freshness: how long a change made in one system takes to be
// visible in the other, through webhooks and through polling, at Zoho-like latency, for
// single changes and for a bulk update. Run it with `make bench-incremental`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"deskcrm/bench/internal/benchenv"
	"deskcrm/workflows"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

func main() {
	records := flag.Int("records", 10000, "contacts synced before measuring (and the size of the bulk update)")
	singles := flag.Int("singles", 20, "single changes measured per direction")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency added to every API call")
	poll := flag.Duration("poll", 5*time.Second, "poll interval of the polling run")
	polling := flag.Bool("polling", true, "also measure without webhooks, polling every -poll")
	flag.Parse()
	opts := benchenv.Options{Latency: *latency, CRMConcurrency: 15, DeskConcurrency: 15, TemporalDev: "bin/temporal-dev", Worker: "bin/worker"}
	runs := []bool{true}
	if *polling {
		runs = append(runs, false)
	}
	for _, webhooks := range runs {
		if err := run(opts, webhooks, *records, *singles, *poll); err != nil {
			fmt.Fprintln(os.Stderr, "bench-incremental:", err)
			os.Exit(1)
		}
	}
}

func run(opts benchenv.Options, webhooks bool, records, singles int, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env, err := benchenv.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()

	// CRM holds the contacts; the first sync creates them all in Desk, linked.
	now := time.Now().UTC()
	batch := make([]map[string]any, 0, 1000)
	for i := range records {
		batch = append(batch, map[string]any{"Last_Name": fmt.Sprintf("Bench %d", i), "Email": fmt.Sprintf("bench%d@example.com", i),
			"Phone": "000", "Created_Time": now.Add(-time.Hour).Format("2006-01-02T15:04:05+00:00"), "Modified_Time": now.Add(-time.Hour).Format("2006-01-02T15:04:05+00:00")})
		if len(batch) == cap(batch) || i == records-1 {
			if _, err := env.CRM.Load("Contacts", batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	w, err := env.StartWorker(ctx, fmt.Sprintf("DESKCRM_WEBHOOKS=%v", webhooks))
	if err != nil {
		return err
	}
	defer w.Stop()
	interval := "1h" // with webhooks on, the poll timer must not be what delivers changes
	how := "webhooks"
	if !webhooks {
		interval, how = poll.String(), "polling every "+poll.String()
	}
	t0 := time.Now()
	if err := env.StartSync(ctx, workflows.SyncInput{IntegrationID: "bench", PollInterval: interval}); err != nil {
		return err
	}
	if _, err := env.WaitInitial(ctx, "bench", w); err != nil {
		return err
	}
	fmt.Printf("\n== %s: %d contacts, %s latency; first sync took %s\n", how, records, opts.Latency, time.Since(t0).Round(time.Millisecond))

	pairs := map[string]string{} // CRM id → Desk id
	for _, r := range env.Desk.Records("contacts") {
		cf, _ := r["cf"].(map[string]any)
		pairs[fmt.Sprint(cf["cf_crm_id"])] = fmt.Sprint(r["id"])
	}
	if len(pairs) != records {
		return fmt.Errorf("first sync linked %d of %d contacts", len(pairs), records)
	}
	crmIDs := make([]string, 0, len(pairs))
	for c := range pairs {
		crmIDs = append(crmIDs, c)
	}
	slices.Sort(crmIDs)
	crmClient, deskClient, err := clients(env)
	if err != nil {
		return err
	}
	// Let the sync settle: its first pass re-reads everything the first sync wrote (and skips
	// it as echoes), and it subscribes to webhooks. Steady state starts when that pass is done.
	settle := time.Now()
	if err := waitSettled(ctx, env, 2*time.Minute); err != nil {
		return err
	}
	fmt.Printf("  first pass after the first sync (echoes of its writes) settled in %s\n", time.Since(settle).Round(time.Millisecond))

	var toDesk, toCRM []time.Duration
	for i := range singles {
		c := crmIDs[i]
		phone := fmt.Sprintf("1-%d", i)
		if _, err := crmClient.Update(ctx, "Contacts", []crm.Record{{ID: c, Fields: map[string]any{"Phone": phone}}}); err != nil {
			return err
		}
		d, err := waitFor(ctx, 2*poll+30*time.Second, func() bool { r, _ := env.Desk.Record("contacts", pairs[c]); return r["phone"] == phone })
		if err != nil {
			return fmt.Errorf("CRM → Desk change %d: %w", i, err)
		}
		toDesk = append(toDesk, d)

		c2 := crmIDs[len(crmIDs)-1-i]
		phone2 := fmt.Sprintf("2-%d", i)
		if _, err := deskClient.Update(ctx, "contacts", pairs[c2], desk.Record{Fields: map[string]any{"phone": phone2}}); err != nil {
			return err
		}
		d, err = waitFor(ctx, 2*poll+30*time.Second, func() bool { r, _ := env.CRM.Record("Contacts", c2); return r["Phone"] == phone2 })
		if err != nil {
			return fmt.Errorf("change %d from Desk to CRM: %w", i, err)
		}
		toCRM = append(toCRM, d)
	}
	report("single change CRM → Desk", toDesk)
	report("single change Desk → CRM", toCRM)

	// Bulk update of every contact in CRM, 100 per call, as fast as CRM takes them.
	written := make(map[string]time.Time, len(crmIDs))
	var mu sync.Mutex
	env.CRM.Realism().ResetCalls()
	env.DeskEngine.ResetCalls()
	bulkStart := time.Now()
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	var bulkErr error
	for start := 0; start < len(crmIDs); start += crm.MaxWriteBatch {
		ids := crmIDs[start:min(start+crm.MaxWriteBatch, len(crmIDs))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			recs := make([]crm.Record, len(ids))
			for i, id := range ids {
				recs[i] = crm.Record{ID: id, Fields: map[string]any{"Phone": "bulk"}}
			}
			_, err := crmClient.Update(ctx, "Contacts", recs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bulkErr = err
			}
			at := time.Now()
			for _, id := range ids {
				written[id] = at
			}
		}()
	}
	wg.Wait()
	if bulkErr != nil {
		return fmt.Errorf("bulk update: %w", bulkErr)
	}
	writeTime := time.Since(bulkStart)
	seen := map[string]time.Duration{}
	deadline := time.Now().Add(10 * time.Minute)
	// Each look reads only the records modified since the one before (with a second of
	// overlap): a look at every record took the emulator's store for a render of the whole
	// module ten times a second, and so slowed the very writes it measures.
	since := bulkStart.Add(-time.Second)
	for len(seen) < len(crmIDs) && time.Now().Before(deadline) {
		now := time.Now()
		recs := env.Desk.ModifiedSince("contacts", since)
		since = now.Add(-time.Second)
		for _, r := range recs {
			if r["phone"] != "bulk" {
				continue
			}
			cf, _ := r["cf"].(map[string]any)
			c := fmt.Sprint(cf["cf_crm_id"])
			if _, ok := seen[c]; !ok {
				seen[c] = now.Sub(written[c])
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	lat := make([]time.Duration, 0, len(seen))
	for _, d := range seen {
		lat = append(lat, d)
	}
	all := time.Since(bulkStart)
	fmt.Printf("  bulk update of %d CRM contacts: written in %s, all visible in Desk %s after the first write (%d/%d arrived)\n",
		len(crmIDs), writeTime.Round(time.Millisecond), all.Round(time.Millisecond), len(seen), len(crmIDs))
	// The bound: one Desk PATCH per contact at Desk's concurrency limit and the latency.
	bound := time.Duration(float64(len(crmIDs)) * float64(opts.Latency) / float64(opts.DeskConcurrency))
	fmt.Printf("  bulk API-bound time         %s (%d Desk PATCHes at concurrency %d, %s each) → visible / bound = %.2f\n",
		bound.Round(time.Millisecond), len(crmIDs), opts.DeskConcurrency, opts.Latency, all.Seconds()/bound.Seconds())
	if !webhooks {
		// Without webhooks a change waits for the next poll, up to a whole interval.
		fmt.Printf("  bulk bound with the poll wait %s (the above + one poll interval) → visible / bound = %.2f\n",
			(bound + poll).Round(time.Millisecond), all.Seconds()/(bound+poll).Seconds())
	}
	report("bulk, per record", lat)
	crmCalls, deskCalls := benchenv.APICalls(env.CRM.Realism().Calls()), benchenv.APICalls(env.DeskEngine.Calls())
	fmt.Printf("  bulk API calls              CRM %d (%d of them the bulk update itself): %s\n", crmCalls.Total,
		(len(crmIDs)+crm.MaxWriteBatch-1)/crm.MaxWriteBatch, crmCalls.Detail)
	fmt.Printf("  bulk API calls              Desk %d (minimum %d, one PATCH per contact): %s\n", deskCalls.Total, len(crmIDs), deskCalls.Detail)
	if os.Getenv("BENCH_TIMELINE") != "" {
		tl, err := benchenv.Timeline(ctx, env.Temporal, workflows.WorkflowID("bench"), bulkStart)
		if err != nil {
			return err
		}
		fmt.Print("  activities since the bulk update began:\n" + tl)
	}
	return nil
}

// waitSettled waits until an incremental pass has completed since the first sync and the
// workflow is idle with nothing requested.
func waitSettled(ctx context.Context, env *benchenv.Env, limit time.Duration) error {
	var first time.Time
	deadline := time.Now().Add(limit)
	// With webhooks on nothing else would start that first pass before the first measured change.
	if err := env.Temporal.SignalWorkflow(ctx, workflows.WorkflowID("bench"), "", workflows.SignalSyncNow, nil); err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		v, err := env.Temporal.QueryWorkflow(ctx, workflows.WorkflowID("bench"), "", workflows.QueryStatus)
		var st workflows.Status
		if err == nil && v.Get(&st) == nil {
			if first.IsZero() {
				first = st.LastSync
			}
			if st.LastSync.After(first) && st.Phase == workflows.PhaseIdle && !st.SyncRequested {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the sync did not settle within %s", limit)
}

// waitFor polls cond every 10 ms and returns how long it took to hold.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("not visible after %s", limit)
}

func report(what string, ds []time.Duration) {
	if len(ds) == 0 {
		fmt.Printf("  %-28s no samples\n", what)
		return
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	fmt.Printf("  %-28s p50 %-8s p95 %-8s max %-8s (%d samples)\n", what, q(0.5).Round(time.Millisecond), q(0.95).Round(time.Millisecond),
		ds[len(ds)-1].Round(time.Millisecond), len(ds))
}

// clients returns API clients acting as a person editing records: a source id of their own,
// so Desk's webhooks report their changes.
func clients(env *benchenv.Env) (*crm.Client, *desk.Client, error) {
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "deskcrm-dev", ClientSecret: "deskcrm-dev-secret",
		RefreshToken: "deskcrm-dev-refresh", AccountsURL: env.CRMURL})
	if err != nil {
		return nil, nil, err
	}
	c, err := crm.New(crm.Config{BaseURL: env.CRMURL, Tokens: tokens, Concurrency: 5})
	if err != nil {
		return nil, nil, err
	}
	d, err := desk.New(desk.Config{BaseURL: env.DeskURL, OrgID: "1000000001", Tokens: tokens, Concurrency: 5, SourceID: uuid.NewString()})
	return c, d, err
}
