// Package benchenv sets up the world the benchmarks measure: a throwaway Postgres, the
// embedded Temporal dev server, both Zoho emulators in this process with Zoho-like latency and
// concurrency limits, and the real worker binary as a separate process.
package benchenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgcluster"
	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// Options describe the world.
type Options struct {
	Latency         time.Duration
	CRMConcurrency  int
	DeskConcurrency int
	TemporalDev     string // dev server binary
	Worker          string // worker binary
	// PGStatements loads pg_stat_statements into the benchmark's Postgres, so that a run can
	// report where Postgres spent its time (TopStatements).
	PGStatements bool
	// HugePages maps Postgres's shared buffers in huge pages, growing the kernel's pool for the
	// run when it is short (as root) and giving it back at Close; see reserveHugePages.
	HugePages bool
}

// Env is a running world. Close stops everything.
type Env struct {
	Opts       Options
	Temporal   client.Client
	TemporalAt string
	CRM        *crmemu.Server
	Desk       *deskemu.Server
	DeskEngine *realism.Engine
	CRMURL     string
	DeskURL    string
	closers    []func()
	pg         *pgcluster.Cluster
	databases  int
	// PostgresMemory says how large Postgres's shared buffers are and in which pages they live.
	PostgresMemory string
}

// Start brings the world up.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	e := &Env{Opts: o}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	dir, err := os.MkdirTemp("", "deskcrm-bench-pg-")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { os.RemoveAll(dir) })
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	// Sized as the README advises for a production server holding a large org: buffers for
	// the working set of links and merge bases, and checkpoints spaced for bulk writes
	// (PostgreSQL docs, "Populating a Database" and "WAL Configuration").
	buffersMB := sharedBuffersMB()
	// checkpoint_timeout and max_wal_size: at the default 5 minutes a 1M sync (11 minutes)
	// paid two timed checkpoints besides the settling one, and with 8 GB one requested by its
	// 5.5 GB of WAL, each writing again the pages of links and index records dirtied since
	// (Postgres's background processes 24 s of processor time, against 1 s for a 100k sync):
	// a cost of the run's length, not of the sync's work.
	settings := []string{fmt.Sprintf("shared_buffers=%dMB", buffersMB), "max_wal_size=16GB", "checkpoint_timeout=30min",
		"maintenance_work_mem=512MB"}
	if o.PGStatements {
		settings = append(settings, "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all")
	}
	pages := "normal pages (huge pages not asked for)"
	var before hugePagesPool
	if o.HugePages {
		restore, err := reserveHugePages(buffersMB)
		e.closers = append(e.closers, restore) // after Postgres has stopped: closers run last first
		pages = ""
		if err != nil {
			pages = "normal pages: " + err.Error()
		}
		settings = append(settings, "huge_pages=try")
		before, _ = readHugePagesPool()
	}
	if e.pg, err = pgcluster.StartWith(ctx, dir, port, pgcluster.Options{Settings: settings}); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = e.pg.Stop() })
	if o.HugePages {
		// Postgres reserves its huge pages when it maps its shared memory at start.
		if after, err := readHugePagesPool(); err == nil && before.available()-after.available() >= hugePagesFor(buffersMB, after.SizeKB)/2 {
			pages = fmt.Sprintf("%d kB huge pages (%d reserved)", after.SizeKB, before.available()-after.available())
		} else if err == nil && pages == "" {
			pages = "normal pages: Postgres did not map the huge pages"
		}
	}
	e.PostgresMemory = fmt.Sprintf("%d MB of shared buffers in %s", buffersMB, pages)

	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: o.TemporalDev, LogLevel: "error",
		SearchAttributes: workflows.SearchAttributeDeclarations(),
		ClientOptions:    &client.Options{Namespace: "default", Logger: quiet}})
	if err != nil {
		return nil, fmt.Errorf("dev server %s (run `make build`): %w", o.TemporalDev, err)
	}
	e.closers = append(e.closers, func() { _ = dev.Stop() })
	e.Temporal, e.TemporalAt = dev.Client(), dev.FrontendHostPort()
	if _, err := tclient.EnsureSearchAttributes(ctx, e.Temporal, "default", workflows.SearchAttributes()); err != nil {
		return nil, err
	}

	auth := zohoauth.NewStore(zohoauth.Config{})
	// CRM's search index lags behind writes as Zoho's does (the emulator's default).
	e.CRM = crmemu.New(crmemu.Config{Auth: auth, Realism: realism.Config{Latency: o.Latency,
		Limits: realism.Limits{MaxInFlight: o.CRMConcurrency, MaxComplexInFlight: 10}}})
	e.DeskEngine = realism.New(realism.Config{Latency: o.Latency, Limits: realism.Limits{MaxInFlight: o.DeskConcurrency}})
	e.Desk = deskemu.New(deskemu.Config{Auth: auth, Realism: e.DeskEngine})
	if e.CRMURL, err = e.serve(e.CRM); err != nil {
		return nil, err
	}
	if e.DeskURL, err = e.serve(e.Desk); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	e.closers = append(e.closers, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// Close stops everything Start started, in reverse order.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// NewDatabase creates an empty database and returns its URL.
func (e *Env) NewDatabase(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, e.pg.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	e.databases++
	name := fmt.Sprintf("bench%d", e.databases)
	if _, err := conn.Exec(ctx, "create database "+name); err != nil {
		return "", err
	}
	return e.pg.URL(name), nil
}

// Worker is the worker binary running as a child process.
type Worker struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited
	waitErr error
	log     string
	Addr    string // its HTTP address
	// DatabaseURL is its Postgres database.
	DatabaseURL string
}

// StartWorker runs the worker against this world with a fresh database, plus extra
// environment, and waits until /healthz answers.
func (e *Env) StartWorker(ctx context.Context, extraEnv ...string) (*Worker, error) {
	dbURL, err := e.NewDatabase(ctx)
	if err != nil {
		return nil, err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	w := &Worker{Addr: fmt.Sprintf("127.0.0.1:%d", port), DatabaseURL: dbURL}
	w.cmd = exec.CommandContext(ctx, e.Opts.Worker)
	w.cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+e.TemporalAt, "DATABASE_URL="+dbURL,
		"ZOHO_CRM_URL="+e.CRMURL, "ZOHO_DESK_URL="+e.DeskURL, "ZOHO_ACCOUNTS_URL="+e.CRMURL,
		fmt.Sprintf("ZOHO_CRM_CONCURRENCY=%d", e.Opts.CRMConcurrency), fmt.Sprintf("ZOHO_DESK_CONCURRENCY=%d", e.Opts.DeskConcurrency),
		"DESKCRM_HTTP_ADDR="+w.Addr, "LOG_LEVEL=warn")
	w.cmd.Env = append(w.cmd.Env, extraEnv...)
	f, err := os.CreateTemp("", "deskcrm-bench-worker-*.log")
	if err != nil {
		return nil, err
	}
	w.log = f.Name()
	w.cmd.Stdout, w.cmd.Stderr = f, f
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s (run `make build`): %w", e.Opts.Worker, err)
	}
	w.exited = make(chan struct{})
	go func() { w.waitErr = w.cmd.Wait(); close(w.exited) }()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + w.Addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return w, nil
			}
		}
		if err := w.Alive(); err != nil {
			return nil, err
		}
		time.Sleep(300 * time.Millisecond)
	}
	w.Stop()
	return nil, errors.New("worker not healthy within 2 minutes:\n" + w.Log())
}

// Alive reports an error with the worker's log if it has exited.
func (w *Worker) Alive() error {
	select {
	case <-w.exited:
		return fmt.Errorf("worker exited (%v):\n%s", w.waitErr, w.Log())
	default:
		return nil
	}
}

// Log returns what the worker printed.
func (w *Worker) Log() string {
	b, _ := os.ReadFile(w.log)
	return string(b)
}

// PeakRSS reads the high-water mark of the worker's resident memory.
func (w *Worker) PeakRSS() string {
	data, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(w.cmd.Process.Pid), "status"))
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

// Stop interrupts the worker and waits for it.
func (w *Worker) Stop() {
	_ = w.cmd.Process.Signal(os.Interrupt)
	<-w.exited
	os.Remove(w.log)
}

// StartSync starts an integration's sync on the worker's task queue.
func (e *Env) StartSync(ctx context.Context, in workflows.SyncInput) error {
	_, err := e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(in.IntegrationID), TaskQueue: config.TaskQueue},
		workflows.WorkflowName, in)
	return err
}

// WaitInitial waits for the integration's first sync to end and returns its status.
func (e *Env) WaitInitial(ctx context.Context, integrationID string, w *Worker) (workflows.Status, error) {
	var st workflows.Status
	for {
		v, err := e.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(integrationID), "", workflows.QueryStatus)
		if err == nil && v.Get(&st) == nil && st.InitialDone {
			return st, nil
		}
		if err := w.Alive(); err != nil {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sharedBuffersMB is a quarter of the machine's memory (PostgreSQL docs, "Resource
// Consumption": "a reasonable starting value for shared_buffers is 25% of the memory in your
// system"), at least 128 MB.
func sharedBuffersMB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					return max(128, kb/1024/4)
				}
			}
		}
	}
	return 128
}
