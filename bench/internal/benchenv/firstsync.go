package benchenv

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"

	"deskcrm/activities"
	"deskcrm/workflows"
)

// FirstSync is what a benchmark measured of one first sync.
type FirstSync struct {
	Status           workflows.Status
	Wall             time.Duration
	PeakRSS          string
	MaxEvents, Runs  int
	Steps            string // time per activity type
	CRMCalls         Calls
	DeskCalls        Calls
	CRMMin, DeskMin  int // MinimumCalls
	CRMMaxInFlight   int
	DeskMaxInFlight  int
	Indexed, Written int
	// Settle is how long Postgres then took to finish the work the sync's writes left it (Settle).
	Settle time.Duration
	// CPU is the processor time each part of the world used during the sync and its Settle.
	CPU CPUTimes
	// Probe is the median processor time of the speed probe's fixed work during the sync
	// (SpeedProbe), of Probes probes: the machine's speed while the sync ran.
	Probe  time.Duration
	Probes int
}

// RunFirstSync starts integration "bench" on the worker, waits for its first sync, stops the
// workflow and gathers the measures. Call counts start from the emulators' last reset.
func (e *Env) RunFirstSync(ctx context.Context, w *Worker) (FirstSync, error) {
	var f FirstSync
	cpu0 := ReadCPUTimes()
	start := time.Now()
	probe := StartSpeedProbe(2 * time.Second)
	if err := e.StartSync(ctx, workflows.SyncInput{IntegrationID: "bench", PollInterval: "1h"}); err != nil {
		probe.Stop()
		return f, err
	}
	st, err := e.WaitInitial(ctx, "bench", w)
	f.Probe, f.Probes = probe.Stop()
	if err != nil {
		return f, err
	}
	f.Status, f.Wall, f.PeakRSS = st, time.Since(start), w.PeakRSS()
	if f.Settle, err = Settle(ctx, w.DatabaseURL); err != nil {
		return f, err
	}
	f.CPU = ReadCPUTimes().Sub(cpu0)
	id := workflows.WorkflowID("bench")
	_ = e.Temporal.TerminateWorkflow(ctx, id, "", "bench over")
	if f.MaxEvents, f.Runs, err = LargestHistory(ctx, e.Temporal, id); err != nil {
		return f, err
	}
	if f.Steps, err = StepTimes(ctx, e.Temporal, id); err != nil {
		return f, err
	}
	crm, desk := e.CRM.Realism().Calls(), e.DeskEngine.Calls()
	f.CRMCalls, f.DeskCalls = APICalls(crm), APICalls(desk)
	f.CRMMaxInFlight, f.DeskMaxInFlight = crm.MaxInFlight, desk.MaxInFlight
	f.CRMMin, f.DeskMin = MinimumCalls(st, activities.DefaultCRMBulkReadThreshold)
	for _, p := range st.Progress {
		f.Indexed += p.Desk.Indexed + p.CRM.Indexed
		f.Written += p.CRM.Added + p.Desk.Added + p.CRM.Updated + p.Desk.Updated
	}
	return f, nil
}

// Settle vacuums and analyzes every table of the database at url, then checkpoints, and
// returns how long that took. Postgres defers part of the cost of writes: dirty pages are
// written at the next checkpoint (every 5 minutes by default, checkpoint_timeout) and dead
// rows are vacuumed when autovacuum comes round (PostgreSQL docs, "WAL Configuration" and
// "Routine Vacuuming"). A sync of a million records pays that inside its run, a sync of a
// hundred thousand after it; settling each run pays it in full, so runs of different sizes
// compare the same work.
func Settle(ctx context.Context, url string) (time.Duration, error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	for _, sql := range []string{"vacuum (analyze)", "checkpoint"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return 0, fmt.Errorf("settle: %s: %w", sql, err)
		}
	}
	return time.Since(start), nil
}

// Print writes the measures every first-sync benchmark reports; users is the users (CRM)
// and agents (Desk) the days at each edition's allowance are computed for.
func (f FirstSync) Print(w io.Writer, users int) {
	secs := f.Wall.Seconds()
	fmt.Fprintf(w, "  wall time                 %s\n", f.Wall.Round(time.Millisecond))
	fmt.Fprintf(w, "  database settled after    %s more (vacuum, analyze, checkpoint: the writes' deferred cost)\n", f.Settle.Round(time.Millisecond))
	fmt.Fprintf(w, "  records indexed           %d (%.0f/s)\n", f.Indexed, float64(f.Indexed)/secs)
	fmt.Fprintf(w, "  records written           %d created or updated (%.0f/s)\n", f.Written, float64(f.Written)/secs)
	for _, m := range []string{"accounts", "contacts"} {
		p := f.Status.Progress[m]
		fmt.Fprintf(w, "  %-9s linked %d; to CRM: %d added, %d updated, %d failed; to Desk: %d added, %d updated, %d failed\n",
			m, p.Linked, p.CRM.Added, p.CRM.Updated, p.CRM.Failed, p.Desk.Added, p.Desk.Updated, p.Desk.Failed)
	}
	fmt.Fprintf(w, "  CRM API calls             %d (minimum %d, ratio %.3f), %d credits; %s\n",
		f.CRMCalls.Total, f.CRMMin, Ratio(f.CRMCalls.Total, f.CRMMin), f.CRMCalls.Credits, f.CRMCalls.Detail)
	fmt.Fprintf(w, "  Desk API calls            %d (minimum %d, ratio %.3f), %d credits; %s\n",
		f.DeskCalls.Total, f.DeskMin, Ratio(f.DeskCalls.Total, f.DeskMin), f.DeskCalls.Credits, f.DeskCalls.Detail)
	fmt.Fprintf(w, "  days at each edition      %s (%d users and agents, 20%% of each day's credits kept in reserve)\n",
		CreditDays(f.CRMCalls.Credits, f.DeskCalls.Credits, users, 20), users)
	fmt.Fprintf(w, "  max in flight seen        CRM %d, Desk %d\n", f.CRMMaxInFlight, f.DeskMaxInFlight)
	fmt.Fprintf(w, "  open failures             %d\n", f.Status.OpenFailures)
	fmt.Fprintf(w, "  largest workflow run      %d events (%d runs)\n", f.MaxEvents, f.Runs)
	fmt.Fprintf(w, "  worker peak RSS           %s\n", f.PeakRSS)
	fmt.Fprintf(w, "  time per activity type    %s\n", f.Steps)
	fmt.Fprintf(w, "  processor time            %s (sync and settling)\n", f.CPU.String(f.Wall+f.Settle, runtime.NumCPU()))
	if s := f.CPU.PostgresString(); s != "" {
		fmt.Fprintf(w, "  postgres by process       %s\n", s)
	}
	if f.Probes > 0 {
		fmt.Fprintf(w, "  machine speed probe       %s of processor time per fixed work (median of %d probes, every 2s; higher is slower)\n",
			f.Probe.Round(10*time.Microsecond), f.Probes)
	}
}
