// Command initial benchmarks the first sync: it seeds both emulators (in this process, with
// Zoho-like latency and concurrency limits), runs the real worker binary against a real dev
// server and Postgres, and reports wall time, records per second, API calls against the
// minimum the page and batch limits allow, the API-bound time, the largest workflow history,
// and the worker's peak memory. Run it with `make bench-initial`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/seed"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgcluster"
	"deskcrm/internal/tclient"
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
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	// Postgres.
	dir, err := os.MkdirTemp("", "deskcrm-bench-pg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pgPort, _ := pgcluster.FreePort()
	pg, err := pgcluster.Start(ctx, dir, pgPort)
	if err != nil {
		return err
	}
	defer pg.Stop()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "create database bench"); err != nil {
		return err
	}
	conn.Close(ctx)

	// Temporal.
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: devBin, LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: quiet}})
	if err != nil {
		return fmt.Errorf("dev server: %w", err)
	}
	defer dev.Stop()
	tc := dev.Client()
	if _, err := tclient.EnsureSearchAttributes(ctx, tc, "default", workflows.SearchAttributes()); err != nil {
		return err
	}

	// Emulators with Zoho's limits and latency.
	auth := zohoauth.NewStore(zohoauth.Config{})
	crmSrv := crmemu.New(crmemu.Config{Auth: auth, Realism: realism.Config{Latency: latency,
		Limits: realism.Limits{MaxInFlight: crmConc, MaxComplexInFlight: 10}}})
	deskEngine := realism.New(realism.Config{Latency: latency, Limits: realism.Limits{MaxInFlight: deskConc}})
	deskSrv := deskemu.New(deskemu.Config{Auth: auth, Realism: deskEngine})
	crmURL, stopCRM, err := serve(crmSrv)
	if err != nil {
		return err
	}
	defer stopCRM()
	deskURL, stopDesk, err := serve(deskSrv)
	if err != nil {
		return err
	}
	defer stopDesk()
	t0 := time.Now()
	sum, err := seed.Generate(seed.Options{Seed: 42, Desk: deskSrv, CRM: crmSrv, DeskContacts: contacts, DeskAccounts: accounts,
		CRMContacts: contacts, CRMAccounts: accounts})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded %d contacts + %d accounts per side in %s (overlap: %d contacts, %d accounts)\n",
		contacts, accounts, time.Since(t0).Round(time.Millisecond), sum.OverlapContacts, sum.OverlapAccounts)
	crmSrv.Realism().ResetCalls()
	deskEngine.ResetCalls()

	// The worker, as a separate process so its memory is its own.
	httpPort, _ := pgcluster.FreePort()
	worker := exec.CommandContext(ctx, workerBin)
	worker.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+dev.FrontendHostPort(), "DATABASE_URL="+pg.URL("bench"),
		"ZOHO_CRM_URL="+crmURL, "ZOHO_DESK_URL="+deskURL, "ZOHO_ACCOUNTS_URL="+crmURL,
		fmt.Sprintf("ZOHO_CRM_CONCURRENCY=%d", crmConc), fmt.Sprintf("ZOHO_DESK_CONCURRENCY=%d", deskConc),
		fmt.Sprintf("DESKCRM_HTTP_ADDR=127.0.0.1:%d", httpPort), "LOG_LEVEL=warn")
	logFile, err := os.CreateTemp("", "deskcrm-bench-worker-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	worker.Stdout, worker.Stderr = logFile, logFile
	if err := worker.Start(); err != nil {
		return fmt.Errorf("start worker %s (run `make build` first): %w", workerBin, err)
	}
	defer func() { _ = worker.Process.Signal(os.Interrupt); _ = worker.Wait() }()
	if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort)); err != nil {
		out, _ := os.ReadFile(logFile.Name())
		return fmt.Errorf("%w\nworker log:\n%s", err, out)
	}

	start := time.Now()
	id := workflows.WorkflowID("bench")
	if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: config.TaskQueue}, workflows.WorkflowName,
		workflows.SyncInput{IntegrationID: "bench", PollInterval: "1h"}); err != nil {
		return err
	}
	var st workflows.Status
	for {
		v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		if err == nil && v.Get(&st) == nil && st.InitialDone {
			break
		}
		if err := worker.Process.Signal(syscall.Signal(0)); err != nil {
			out, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("worker died: %w\n%s", err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	wall := time.Since(start)
	peak := peakRSS(worker.Process.Pid)
	_ = tc.TerminateWorkflow(ctx, id, "", "bench over")

	maxEvents, runs, err := largestHistory(ctx, tc, id)
	if err != nil {
		return err
	}
	crmCalls := apiCalls(crmSrv.Realism().Calls())
	deskCalls := apiCalls(deskEngine.Calls())
	crmMin, deskMin := minimumCalls(st)
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
	fmt.Printf("  CRM API calls             %d (minimum %d, ratio %.3f); %s\n", crmCalls.total, crmMin, ratio(crmCalls.total, crmMin), crmCalls.detail)
	fmt.Printf("  Desk API calls            %d (minimum %d, ratio %.3f); %s\n", deskCalls.total, deskMin, ratio(deskCalls.total, deskMin), deskCalls.detail)
	fmt.Printf("  API-bound time            CRM %s, Desk %s → wall / bound = %.2f\n", crmBound.Round(time.Millisecond), deskBound.Round(time.Millisecond), wall.Seconds()/bound.Seconds())
	fmt.Printf("  max in flight seen        CRM %d, Desk %d\n", crmSrv.Realism().Calls().MaxInFlight, deskEngine.Calls().MaxInFlight)
	fmt.Printf("  open failures             %d\n", st.OpenFailures)
	fmt.Printf("  largest workflow history  %d events (%d runs)\n", maxEvents, runs)
	fmt.Printf("  worker peak RSS           %s\n", peak)
	return nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return errors.New("worker not healthy within 2 minutes")
}

type callCount struct {
	total  int
	detail string
}

// apiCalls counts the Zoho API calls in a call log, leaving out OAuth and admin paths.
func apiCalls(s realism.Stats) callCount {
	var c callCount
	var parts []string
	for ep, st := range s.Endpoints {
		if strings.Contains(ep, "/oauth/") || strings.Contains(ep, "/_emulator/") {
			continue
		}
		c.total += st.Calls
		parts = append(parts, fmt.Sprintf("%s ×%d", ep, st.Calls))
	}
	c.detail = strings.Join(sortStrings(parts), ", ")
	return c
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// minimumCalls is the fewest calls the page and batch limits allow for what the sync did:
// field metadata once per module, CRM pages of 200 and writes of 100, Desk pages of 100 and
// writes of one.
func minimumCalls(st workflows.Status) (crmMin, deskMin int) {
	ceil := func(n, d int) int { return (n + d - 1) / d }
	for _, m := range []string{"accounts", "contacts"} {
		p := st.Progress[m]
		crmMin += 1 + max(1, ceil(p.CRM.Indexed, 200)) + ceil(p.CRM.Added, 100) + ceil(p.CRM.Updated, 100)
		deskMin += 1 + max(1, ceil(p.Desk.Indexed, 100)) + p.Desk.Added + p.Desk.Updated
	}
	return crmMin, deskMin
}

// largestHistory counts the events of every run of the workflow (continue-as-new makes a chain).
func largestHistory(ctx context.Context, tc client.Client, id string) (int, int, error) {
	maxEvents, runs := 0, 0
	runID := ""
	seen := map[string]bool{}
	// Walk the chain backwards from the latest run.
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return 0, 0, err
	}
	runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for runID != "" && !seen[runID] {
		seen[runID] = true
		runs++
		n := 0
		first := ""
		it := tc.GetWorkflowHistory(ctx, id, runID, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return 0, 0, err
			}
			if n == 0 {
				first = ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
			}
			n++
		}
		maxEvents = max(maxEvents, n)
		runID = first
	}
	return maxEvents, runs, nil
}

// peakRSS reads the high-water mark of a process's resident memory.
func peakRSS(pid int) string {
	data, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}
