// Command initial benchmarks the first sync: it seeds both emulators (in this process, with
// Zoho-like latency and concurrency limits), runs the real worker binary against a real dev
// server and Postgres, and reports wall time, records per second, API calls against the
// minimum the page and batch limits allow, the API-bound time, the largest workflow history,
// and the worker's peak memory. Run it with `make bench-initial`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"deskcrm/activities"
	"deskcrm/bench/internal/benchenv"
	"deskcrm/emulator/seed"
	"deskcrm/workflows"
)

func main() {
	contacts := flag.Int("contacts", 20000, "contacts per side")
	accounts := flag.Int("accounts", 5000, "accounts per side")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency added to every API call")
	crmConc := flag.Int("crm-concurrency", 15, "CRM concurrency limit (Professional: 15, complex sub-limit 10)")
	deskConc := flag.Int("desk-concurrency", 15, "Desk concurrency limit (Professional: 15)")
	workerBin := flag.String("worker", "bin/worker", "worker binary")
	devBin := flag.String("temporal-dev", "bin/temporal-dev", "dev server binary")
	flag.Parse()
	if err := run(*contacts, *accounts, *latency, *crmConc, *deskConc, *workerBin, *devBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench-initial:", err)
		os.Exit(1)
	}
}

func run(contacts, accounts int, latency time.Duration, crmConc, deskConc int, workerBin, devBin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	env, err := benchenv.Start(ctx, benchenv.Options{Latency: latency, CRMConcurrency: crmConc, DeskConcurrency: deskConc,
		TemporalDev: devBin, Worker: workerBin})
	if err != nil {
		return err
	}
	defer env.Close()
	t0 := time.Now()
	sum, err := seed.Generate(seed.Options{Seed: 42, Desk: env.Desk, CRM: env.CRM, DeskContacts: contacts, DeskAccounts: accounts,
		CRMContacts: contacts, CRMAccounts: accounts})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded %d contacts + %d accounts per side in %s (overlap: %d contacts, %d accounts)\n",
		contacts, accounts, time.Since(t0).Round(time.Millisecond), sum.OverlapContacts, sum.OverlapAccounts)
	env.CRM.Realism().ResetCalls()
	env.DeskEngine.ResetCalls()

	// The worker runs as a separate process so that its memory is its own. Webhooks are off:
	// this measures the first sync alone.
	worker, err := env.StartWorker(ctx, "DESKCRM_WEBHOOKS=false")
	if err != nil {
		return err
	}
	defer worker.Stop()

	start := time.Now()
	if err := env.StartSync(ctx, workflows.SyncInput{IntegrationID: "bench", PollInterval: "1h"}); err != nil {
		return err
	}
	st, err := env.WaitInitial(ctx, "bench", worker)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	peak := worker.PeakRSS()
	id := workflows.WorkflowID("bench")
	tc := env.Temporal
	_ = tc.TerminateWorkflow(ctx, id, "", "bench over")

	maxEvents, runs, err := benchenv.LargestHistory(ctx, tc, id)
	if err != nil {
		return err
	}
	steps, err := benchenv.StepTimes(ctx, tc, id)
	if err != nil {
		return err
	}
	crmSrv, deskEngine := env.CRM, env.DeskEngine
	crmCalls := benchenv.APICalls(crmSrv.Realism().Calls())
	deskCalls := benchenv.APICalls(deskEngine.Calls())
	crmMin, deskMin := benchenv.MinimumCalls(st, activities.DefaultCRMBulkReadThreshold)
	crmBound := time.Duration(float64(crmMin) * float64(latency) / float64(crmConc))
	deskBound := time.Duration(float64(deskMin) * float64(latency) / float64(deskConc))
	bound := max(crmBound, deskBound)
	moved := 0
	for _, m := range []string{"accounts", "contacts"} {
		p := st.Progress[m]
		moved += p.CRM.Added + p.Desk.Added + p.CRM.Updated + p.Desk.Updated
	}
	indexed := 0
	for _, p := range st.Progress {
		indexed += p.Desk.Indexed + p.CRM.Indexed
	}

	fmt.Printf("\nfirst sync of %d contacts + %d accounts per side, %s latency, concurrency CRM %d / Desk %d\n",
		contacts, accounts, latency, crmConc, deskConc)
	fmt.Printf("  wall time                 %s\n", wall.Round(time.Millisecond))
	fmt.Printf("  records indexed           %d (%.0f/s)\n", indexed, float64(indexed)/wall.Seconds())
	fmt.Printf("  records written           %d created or updated (%.0f/s)\n", moved, float64(moved)/wall.Seconds())
	for _, m := range []string{"accounts", "contacts"} {
		p := st.Progress[m]
		fmt.Printf("  %-9s linked %d; to CRM: %d added, %d updated, %d failed; to Desk: %d added, %d updated, %d failed\n",
			m, p.Linked, p.CRM.Added, p.CRM.Updated, p.CRM.Failed, p.Desk.Added, p.Desk.Updated, p.Desk.Failed)
	}
	fmt.Printf("  CRM API calls             %d (minimum %d, ratio %.3f), %d credits; %s\n", crmCalls.Total, crmMin, benchenv.Ratio(crmCalls.Total, crmMin), crmCalls.Credits, crmCalls.Detail)
	fmt.Printf("  Desk API calls            %d (minimum %d, ratio %.3f), %d credits; %s\n", deskCalls.Total, deskMin, benchenv.Ratio(deskCalls.Total, deskMin), deskCalls.Credits, deskCalls.Detail)
	fmt.Printf("  days at each edition      %s (10 users and agents, 20%% of each day's credits kept in reserve)\n",
		benchenv.CreditDays(crmCalls.Credits, deskCalls.Credits, 10, 20))
	fmt.Printf("  API-bound time            CRM %s, Desk %s → wall / bound = %.2f\n", crmBound.Round(time.Millisecond), deskBound.Round(time.Millisecond), wall.Seconds()/bound.Seconds())
	fmt.Printf("  max in flight seen        CRM %d, Desk %d\n", crmSrv.Realism().Calls().MaxInFlight, deskEngine.Calls().MaxInFlight)
	fmt.Printf("  open failures             %d\n", st.OpenFailures)
	fmt.Printf("  largest workflow history  %d events (%d runs)\n", maxEvents, runs)
	fmt.Printf("  worker peak RSS           %s\n", peak)
	fmt.Printf("  time per activity type    %s\n", steps)
	return nil
}
