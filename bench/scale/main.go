// Command scale benchmarks the first sync at scale: both emulators seeded with N contacts and
// N/10 accounts per side (30% overlap, the usual mix), no added latency and the Enterprise
// concurrency limits (CRM 20 with the complex sub-limit 10, Desk 25), so the machine rather
// than the emulated network is measured. The whole first sync runs through the real worker
// (a separate process), Postgres and the dev server. For each size it prints the wall time,
// records per second, API calls and credits against the minimum, the worker's peak RSS, the
// Postgres database's size, the largest workflow run in events, time per step, and the days
// the same sync takes at each edition's daily credits. Run it with `make bench-scale`
// (SIZES=100000,100000,1000000,100000,100000 by default: the small size twice on each side of the large one).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"deskcrm/bench/internal/benchenv"
	"deskcrm/emulator/seed"
	"deskcrm/workflows"
)

func main() {
	sizes := flag.String("sizes", "100000,100000,1000000,100000,100000", "contacts per side of each run, comma-separated (accounts: a tenth); a size given twice counts as the mean of its runs")
	crmConc := flag.Int("crm-concurrency", 20, "CRM concurrency limit (Enterprise: 20, complex sub-limit 10)")
	deskConc := flag.Int("desk-concurrency", 25, "Desk concurrency limit (Enterprise: 25)")
	users := flag.Int("users", 10, "users (CRM) and agents (Desk) the daily credit allowances are computed for")
	workerBin := flag.String("worker", "bin/worker", "worker binary")
	devBin := flag.String("temporal-dev", "bin/temporal-dev", "dev server binary")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the emulators) for each size to this file, suffixed with the size")
	pgStatements := flag.Int("pg-statements", 0, "print Postgres's WAL volume and checkpoints and the N statements it spent the most time on in each size's sync (pg_stat_wal, pg_stat_statements)")
	workerProfile := flag.String("worker-cpuprofile", "", "write a CPU profile of each size's worker to this file, suffixed with the size")
	hugePages := flag.Bool("huge-pages", true, "map Postgres's shared buffers in huge pages, as PostgreSQL's docs advise for large shared_buffers; as root the run grows the kernel's pool (vm.nr_hugepages) and gives it back at the end")
	allocProfile := flag.String("allocprofile", "", "write the allocations of this process (the emulators) since the start to this file after each size, suffixed with the size")
	thp := flag.Bool("transparent-huge-pages", true, "map the processes' memory (the Go heaps of the worker and the emulators, Postgres's backends) in transparent huge pages: as root the run sets the kernel's mode to always and sets it back at the end")
	flag.Parse()
	restoreTHP := func() {}
	if *thp {
		was, restore, err := benchenv.UseTransparentHugePages()
		restoreTHP = restore
		switch {
		case err != nil:
			fmt.Printf("transparent huge pages: %v; the run goes on without them\n", err)
		case was == "always":
			fmt.Printf("transparent huge pages: always\n")
		default:
			fmt.Printf("transparent huge pages: always for the run (was %s; set back at the end)\n", was)
		}
	}
	exit := func(code int) {
		restoreTHP()
		os.Exit(code)
	}
	defer restoreTHP()
	// Ctrl-C ends the run (and still writes the CPU profile).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []result
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			fmt.Fprintf(os.Stderr, "bench-scale: size %q: want a number of contacts ≥ 10\n", s)
			exit(2)
		}
		prof := ""
		if *workerProfile != "" {
			prof = fmt.Sprintf("%s.%d", *workerProfile, n)
		}
		stopProfile, err := startCPUProfile(*cpuProfile, n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale:", err)
			exit(2)
		}
		r, err := run(ctx, n, *crmConc, *deskConc, *users, *workerBin, *devBin, prof, *pgStatements, *hugePages)
		stopProfile()
		if err == nil && *allocProfile != "" {
			err = writeAllocProfile(fmt.Sprintf("%s.%d", *allocProfile, n))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale:", err)
			exit(1)
		}
		results = append(results, r)
	}
	printGrowth(results)
}

// printGrowth prints how the wall time and each part's processor time grow from the smallest
// size to each larger one. A size run more than once (the default -sizes
// 100000,100000,1000000,100000,100000: the small size twice before and twice after the large
// one) counts as the mean of its runs:
// the same 100k sync took 53 s in one run and 86 s in another minutes later, with every
// part's processor time 1.6 times as high (the machine, not the sync, was slower), and a
// one-minute run samples one moment of that while a 13-minute run averages over it.
func printGrowth(results []result) {
	var sizes []int
	runs := map[int][]result{}
	for _, r := range results {
		if len(runs[r.records]) == 0 {
			sizes = append(sizes, r.records)
		}
		runs[r.records] = append(runs[r.records], r)
	}
	if len(sizes) < 2 {
		return
	}
	slices.Sort(sizes)
	mean := func(rs []result) result {
		m := result{records: rs[0].records, cpu: benchenv.CPUTimes{}}
		for _, r := range rs {
			m.wall += r.wall / time.Duration(len(rs))
			m.settled += r.settled / time.Duration(len(rs))
			for k, v := range r.cpu {
				m.cpu[k] += v / time.Duration(len(rs))
			}
			m.probe += r.probe / time.Duration(len(rs))
		}
		return m
	}
	fmt.Printf("\ngrowth\n")
	for _, n := range sizes {
		if rs := runs[n]; len(rs) > 1 {
			var walls []string
			for _, r := range rs {
				walls = append(walls, r.wall.Round(time.Millisecond).String())
			}
			m := mean(rs)
			fmt.Printf("  %d records: %d runs, wall %s (mean %s; settled %s)\n", n, len(rs), strings.Join(walls, ", "),
				m.wall.Round(time.Millisecond), m.settled.Round(time.Millisecond))
		}
	}
	a := mean(runs[sizes[0]])
	for _, n := range sizes[1:] {
		b := mean(runs[n])
		size, wall := float64(b.records)/float64(a.records), b.wall.Seconds()/a.wall.Seconds()
		fmt.Printf("  %d → %d records: size ×%.1f, wall time ×%.1f (%.2f of linear)\n", a.records, b.records, size, wall, wall/size)
		settled := b.settled.Seconds() / a.settled.Seconds()
		fmt.Printf("  %d → %d records: size ×%.1f, wall time with the database settled ×%.1f (%.2f of linear)\n", a.records, b.records, size, settled, settled/size)
		// Which part's work grows faster than the data: on a machine the sync keeps busy,
		// the wall time follows the total.
		var parts []string
		for _, k := range benchenv.CPUParts {
			if a.cpu[k] > 0 {
				g := b.cpu[k].Seconds() / a.cpu[k].Seconds()
				parts = append(parts, fmt.Sprintf("%s ×%.1f (%.2f)", k, g, g/size))
			}
		}
		fmt.Printf("  processor time by part (of linear): %s\n", strings.Join(parts, ", "))
		parts = parts[:0]
		for _, k := range benchenv.PostgresParts {
			if a.cpu[k] > 0 {
				g := b.cpu[k].Seconds() / a.cpu[k].Seconds()
				parts = append(parts, fmt.Sprintf("%s ×%.1f (%.2f)", strings.TrimPrefix(k, "postgres/"), g, g/size))
			}
		}
		if len(parts) > 0 {
			fmt.Printf("  postgres by process (of linear): %s\n", strings.Join(parts, ", "))
		}
		if a.probe > 0 && b.probe > 0 {
			// The same fixed work took this much longer: the processors ran slower by about that
			// factor (a lower clock, a busier host or hyperthread sibling), whatever the sync did.
			fmt.Printf("  machine speed probe: %s → %s per fixed work (×%.2f; above 1 the processors were slower in the larger run)\n",
				a.probe.Round(10*time.Microsecond), b.probe.Round(10*time.Microsecond), b.probe.Seconds()/a.probe.Seconds())
		}
	}
}

type result struct {
	records int
	wall    time.Duration
	settled time.Duration // wall plus the database's settling (benchenv.Settle)
	cpu     benchenv.CPUTimes
	probe   time.Duration // the speed probe's median (benchenv.SpeedProbe)
}

// writeAllocProfile writes the allocation profile of this process (pprof "allocs") to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// startCPUProfile profiles this process (the emulators) into path suffixed with the size,
// until the returned function is called; with no path it does nothing.
func startCPUProfile(path string, size int) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", path, size))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func run(ctx context.Context, contacts, crmConc, deskConc, users int, workerBin, devBin, workerProfile string, pgStatements int, hugePages bool) (result, error) {
	accounts := contacts / 10
	ctx, cancel := context.WithTimeout(ctx, 6*time.Hour)
	defer cancel()
	env, err := benchenv.Start(ctx, benchenv.Options{CRMConcurrency: crmConc, DeskConcurrency: deskConc, TemporalDev: devBin, Worker: workerBin,
		PGStatements: pgStatements > 0, HugePages: hugePages})
	if err != nil {
		return result{}, err
	}
	defer env.Close()
	t0 := time.Now()
	sum, err := seed.Generate(seed.Options{Seed: 42, Desk: env.Desk, CRM: env.CRM, DeskContacts: contacts, DeskAccounts: accounts,
		CRMContacts: contacts, CRMAccounts: accounts, Tickets: 100, Activities: 100, ChunkSize: 5000})
	if err != nil {
		return result{}, fmt.Errorf("seed: %w", err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("\nseeded %d contacts + %d accounts per side in %s (overlap: %d contacts, %d accounts); emulators hold %d MiB\n",
		contacts, accounts, time.Since(t0).Round(time.Millisecond), sum.OverlapContacts, sum.OverlapAccounts, ms.HeapAlloc>>20)
	env.CRM.Realism().ResetCalls()
	env.DeskEngine.ResetCalls()

	worker, err := env.StartWorker(ctx, "DESKCRM_WEBHOOKS=false", "DESKCRM_CPU_PROFILE="+workerProfile)
	if err != nil {
		return result{}, err
	}
	defer worker.Stop()
	syncStart := time.Now()
	f, err := env.RunFirstSync(ctx, worker)
	if err != nil {
		return result{}, err
	}
	dbSize, err := databaseSize(ctx, worker.DatabaseURL)
	if err != nil {
		return result{}, err
	}
	fmt.Printf("first sync of %d contacts + %d accounts per side, no added latency, concurrency CRM %d / Desk %d\n",
		contacts, accounts, crmConc, deskConc)
	f.Print(os.Stdout, users)
	fmt.Printf("  Postgres database size    %d MiB; %s\n", dbSize>>20, env.PostgresMemory)
	if os.Getenv("BENCH_TIMELINE") != "" {
		tl, err := benchenv.Timeline(ctx, env.Temporal, workflows.WorkflowID("bench"), syncStart)
		if err != nil {
			return result{}, err
		}
		fmt.Print("  activities (seconds from the start of the sync):\n" + tl)
	}
	if pgStatements > 0 {
		top, err := topStatements(ctx, worker.DatabaseURL, pgStatements)
		if err != nil {
			return result{}, err
		}
		fmt.Print(top)
	}
	return result{records: 2 * (contacts + accounts), wall: f.Wall, settled: f.Wall + f.Settle, cpu: f.CPU, probe: f.Probe}, nil
}

// databaseSize is pg_database_size of the worker's database, in bytes.
func databaseSize(ctx context.Context, url string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "select pg_database_size(current_database())").Scan(&n)
	return n, err
}

// topStatements lists the n statements of the worker's database with the most execution
// time (pg_stat_statements), with their calls, rows and mean time.
func topStatements(ctx context.Context, url string, n int) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// The library collects from the start; the extension only makes its view readable.
	if _, err := conn.Exec(ctx, "create extension if not exists pg_stat_statements"); err != nil {
		return "", fmt.Errorf("pg_stat_statements: %w", err)
	}
	var b strings.Builder
	var walRecords, walFPI, walBytes, timed, requested int64
	if err := conn.QueryRow(ctx, `select w.wal_records, w.wal_fpi, w.wal_bytes::bigint, c.checkpoints_timed, c.checkpoints_req
		from pg_stat_wal w, pg_stat_bgwriter c`).Scan(&walRecords, &walFPI, &walBytes, &timed, &requested); err != nil {
		return "", fmt.Errorf("pg_stat_wal: %w", err)
	}
	fmt.Fprintf(&b, "  Postgres WAL              %d MiB, %d records, %d full-page images; checkpoints %d timed, %d requested\n",
		walBytes>>20, walRecords, walFPI, timed, requested)
	// What autovacuum did during the run (its processor time is the "autovacuum and other
	// exited" part): a table vacuumed or analyzed again each time its changes pass the
	// thresholds is scanned again at its size then.
	av, err := conn.Query(ctx, `select relname, autovacuum_count, autoanalyze_count, n_dead_tup from pg_stat_user_tables
		where autovacuum_count + autoanalyze_count > 0 order by relname`)
	if err != nil {
		return "", fmt.Errorf("pg_stat_user_tables: %w", err)
	}
	var tables []string
	for av.Next() {
		var name string
		var vacuums, analyzes, dead int64
		if err := av.Scan(&name, &vacuums, &analyzes, &dead); err != nil {
			return "", err
		}
		tables = append(tables, fmt.Sprintf("%s %d vacuums, %d analyzes (%d dead rows now)", name, vacuums, analyzes, dead))
	}
	if err := av.Err(); err != nil {
		return "", fmt.Errorf("pg_stat_user_tables: %w", err)
	}
	if len(tables) == 0 {
		tables = append(tables, "none")
	}
	fmt.Fprintf(&b, "  Postgres autovacuum       %s\n", strings.Join(tables, "; "))
	// An update that is not HOT writes the row's new version on another page and an entry in
	// every index of the table; HOT ones stay on the page and are pruned without VACUUM.
	up, err := conn.Query(ctx, `select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables
		where n_tup_upd > 0 order by n_tup_upd desc`)
	if err != nil {
		return "", fmt.Errorf("pg_stat_user_tables: %w", err)
	}
	var updates []string
	for up.Next() {
		var name string
		var n, hot int64
		if err := up.Scan(&name, &n, &hot); err != nil {
			return "", err
		}
		updates = append(updates, fmt.Sprintf("%s %d (%d HOT)", name, n, hot))
	}
	if err := up.Err(); err != nil {
		return "", fmt.Errorf("pg_stat_user_tables: %w", err)
	}
	if len(updates) == 0 {
		updates = append(updates, "none")
	}
	fmt.Fprintf(&b, "  Postgres row updates      %s\n", strings.Join(updates, "; "))
	// Summed by text: a statement over a temporary table (CopyIndex's insert from index_load)
	// gets a new query id with each table, and was listed once per call.
	rows, err := conn.Query(ctx, `select sum(total_exec_time), sum(calls)::bigint, sum(rows)::bigint,
			sum(jit_functions)::bigint, sum(jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time),
			regexp_replace(query, '\s+', ' ', 'g') q
		from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
		group by q order by 1 desc limit $1`, n)
	if err != nil {
		return "", fmt.Errorf("pg_stat_statements: %w", err)
	}
	defer rows.Close()
	b.WriteString("  Postgres statements by total time\n")
	for rows.Next() {
		var total, jitTime float64
		var calls, nrows, jitFunctions int64
		var q string
		if err := rows.Scan(&total, &calls, &nrows, &jitFunctions, &jitTime, &q); err != nil {
			return "", err
		}
		if len(q) > 160 {
			q = q[:160] + "…"
		}
		jit := ""
		if jitFunctions > 0 { // compiled by LLVM (PostgreSQL docs, "Just-in-Time Compilation")
			jit = fmt.Sprintf(" [JIT: %d functions, %.1fs]", jitFunctions, jitTime/1000)
		}
		fmt.Fprintf(&b, "    %8.1fs %7d calls %9d rows%s  %s\n", total/1000, calls, nrows, jit, q)
	}
	return b.String(), rows.Err()
}
