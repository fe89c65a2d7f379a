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

	"deskcrm/bench/internal/benchenv"
	"deskcrm/emulator/seed"
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

	f, err := env.RunFirstSync(ctx, worker)
	if err != nil {
		return err
	}
	crmBound := time.Duration(float64(f.CRMMin) * float64(latency) / float64(crmConc))
	deskBound := time.Duration(float64(f.DeskMin) * float64(latency) / float64(deskConc))
	fmt.Printf("\nfirst sync of %d contacts + %d accounts per side, %s latency, concurrency CRM %d / Desk %d\n",
		contacts, accounts, latency, crmConc, deskConc)
	f.Print(os.Stdout, 10)
	fmt.Printf("  API-bound time            CRM %s, Desk %s (the minimum calls at the concurrency limits) → wall / bound = %.2f\n",
		crmBound.Round(time.Millisecond), deskBound.Round(time.Millisecond), f.Wall.Seconds()/max(crmBound, deskBound).Seconds())
	return nil
}
