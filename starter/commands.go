package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/internal/tclient"
	"deskcrm/logging"
	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/workflows"
)

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"start":     cmdStart,
	"pause":     signalCommand(workflows.SignalPause, "paused"),
	"resume":    signalCommand(workflows.SignalResume, "resumed"),
	"status":    cmdStatus,
	"history":   cmdHistory,
	"failures":  cmdFailures,
	"retry":     cmdRetry,
	"preflight": cmdPreflight,
	"mapping":   cmdMapping,
	"set-mode":  cmdSetMode,
	"relink":    cmdRelink,
	"plan":      cmdPlan,
}

// common are the flags every command takes.
type common struct {
	integration string
	json        bool
}

func newFlags(name string, c *common, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.integration, "integration", "default", "integration id")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return fs
}

// parse parses flags wherever they stand among the arguments (`retry 3 --json` works too).
func parse(fs *flag.FlagSet, args []string) error {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1 && !isNumber(a):
			flags = append(flags, a)
			// A flag given as "--name value" takes the next argument unless it is boolean.
			name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
			if f := fs.Lookup(name); f != nil && !strings.Contains(a, "=") && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	args = append(flags, append([]string{"--"}, positional...)...)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// dial connects to Temporal with the starter's configuration.
func dial(ctx context.Context) (client.Client, config.Starter, error) {
	cfg, err := config.LoadStarter()
	if err != nil {
		return nil, cfg, err
	}
	z, err := logging.New(config.Log{Format: cfg.Log.Format, Level: "warn"})
	if err != nil {
		return nil, cfg, err
	}
	opts, err := tclient.Options(cfg.Temporal, logging.Temporal(z), nil)
	if err != nil {
		return nil, cfg, err
	}
	c, err := tclient.Dial(ctx, opts, 5*time.Second)
	return c, cfg, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("start", &c, stderr)
	mode := fs.String("mode", "two-way", "two-way or one-way-crm-to-desk")
	lookback := fs.Int("lookback-days", 365, "only records created in this many days take part in the first sync")
	poll := fs.String("poll-interval", "1m", "how often an incremental pass runs without webhooks")
	wait := fs.Bool("wait", false, "wait for the first sync and show its progress")
	if err := parse(fs, args); err != nil {
		return err
	}
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	in := workflows.SyncInput{IntegrationID: c.integration, Mode: *mode, LookbackDays: *lookback, PollInterval: *poll}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.WorkflowID(c.integration),
		TaskQueue: config.TaskQueue,
		// One sync per integration: a second start is an error, not the running one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("integration %q already has a running sync (workflow %s); use `starter status`, or pause/resume it", c.integration, workflows.WorkflowID(c.integration))
	}
	if err != nil {
		return fmt.Errorf("start sync: %w", err)
	}
	if c.json {
		_ = printJSON(stdout, map[string]string{"workflowId": run.GetID(), "runId": run.GetRunID()})
	} else {
		fmt.Fprintf(stdout, "started sync of integration %q: workflow %s (run %s)\n", c.integration, run.GetID(), run.GetRunID())
	}
	if !*wait {
		return nil
	}
	return waitInitial(ctx, tc, run.GetID(), stderr)
}

// waitInitial polls the status query and draws a progress bar until the first sync is done.
func waitInitial(ctx context.Context, tc client.Client, id string, out io.Writer) error {
	var bar *progressbar.ProgressBar
	for {
		st, err := queryStatus(ctx, tc, id)
		if err == nil {
			if bar == nil && len(st.Steps) > 0 {
				bar = progressbar.NewOptions(len(st.Steps), progressbar.OptionSetWriter(out), progressbar.OptionShowCount(),
					progressbar.OptionSetDescription("first sync"))
			}
			if bar != nil {
				_ = bar.Set(st.Step)
				bar.Describe(fmt.Sprintf("%-27s", orDash(runningShort(st))))
			}
			if st.InitialDone {
				if bar != nil {
					_ = bar.Finish()
				}
				fmt.Fprintln(out)
				return nil
			}
			if st.Phase == workflows.PhaseBlocked {
				return fmt.Errorf("the sync is blocked: %s", st.PausedReason)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func queryStatus(ctx context.Context, tc client.Client, id string) (workflows.Status, error) {
	var st workflows.Status
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// query asks the integration's running sync for a query's answer.
func query(ctx context.Context, integration, name string, out any) error {
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID(integration), "", name)
	if err != nil {
		return notRunning(integration, err)
	}
	return v.Get(out)
}

func signalCommand(name, done string) command {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		var c common
		fs := newFlags(name, &c, stderr)
		if err := parse(fs, args); err != nil {
			return err
		}
		tc, _, err := dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		if err := tc.SignalWorkflow(ctx, workflows.WorkflowID(c.integration), "", name, nil); err != nil {
			return notRunning(c.integration, err)
		}
		fmt.Fprintf(stdout, "sync of integration %q %s\n", c.integration, done)
		return nil
	}
}

func notRunning(integration string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("integration %q has no running sync; start one with `starter start --integration %s`", integration, integration)
	}
	return err
}

// cmdHistory prints the sync runs of the last seven days from Postgres, which holds every run
// (the sync need not be running): the newest runs one line each and the older ones summed per
// day, as the history query answers; --all lists every run.
func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("history", &c, stderr)
	all := fs.Bool("all", false, "list every run of the seven days instead of summing the older ones per day")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, _, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := readHistory(ctx, st, c.integration, time.Now(), *all)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, runs)
	}
	printHistory(stdout, runs)
	return nil
}

// readHistory reads the runs of the seven days before now, newest first, in the history
// query's shape.
func readHistory(ctx context.Context, st *store.Store, integration string, now time.Time, all bool) ([]workflows.RunSummary, error) {
	since := now.Add(-workflows.HistoryKeep)
	out := []workflows.RunSummary{}
	if all {
		runs, err := st.RecentRuns(ctx, integration, since)
		for _, r := range runs {
			out = append(out, workflows.RunSummary{Time: r.StartedAt, Kind: r.Kind, Module: r.Module, Direction: r.Direction,
				Added: r.Added, Updated: r.Updated, Failed: r.Failed, Runs: 1})
		}
		return out, err
	}
	lines, err := st.RunHistory(ctx, integration, since, workflows.HistoryNewest)
	for _, l := range lines {
		out = append(out, workflows.RunSummary{Time: l.Time, Kind: l.Kind, Module: l.Module, Direction: l.Direction,
			Added: l.Added, Updated: l.Updated, Failed: l.Failed, Runs: l.Runs, DayTotal: l.DayTotal})
	}
	return out, err
}

// printHistory prints run lines as a table; a day's total shows its UTC date and run count.
func printHistory(w io.Writer, runs []workflows.RunSummary) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no sync runs in the last seven days")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "date\tkind\tsource → destination\tmodule\truns\tadded\tupdated\tfailed")
	for _, r := range runs {
		date := r.Time.Local().Format("2006-01-02 15:04")
		if r.DayTotal {
			date = r.Time.UTC().Format("2006-01-02") + " (UTC day)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", date, r.Kind, arrow(r.Direction), r.Module, max(r.Runs, 1), r.Added, r.Updated, r.Failed)
	}
	tw.Flush()
}

func arrow(direction string) string {
	if direction == activities.DeskToCRM {
		return "Desk → CRM"
	}
	return "CRM → Desk"
}

func cmdFailures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("failures", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	var list []store.Failure
	if err := query(ctx, c.integration, workflows.QueryFailures, &list); err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, list)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "id\ttime\tmodule\tdirection\tdesk id\tcrm id\tcode\tattempts\tmessage")
	for _, f := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.LastAt.Local().Format("2006-01-02 15:04:05"), f.Module, arrow(f.Direction),
			orDash(f.DeskID), orDash(f.CRMID), f.Code, f.Attempts, f.Message)
	}
	return w.Flush()
}

func cmdRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("retry", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("failure id %q must be a positive number from `starter failures`", a)}
		}
		ids = append(ids, id)
	}
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := tc.SignalWorkflow(ctx, workflows.WorkflowID(c.integration), "", workflows.SignalRetry, workflows.RetrySignal{IDs: ids}); err != nil {
		return notRunning(c.integration, err)
	}
	if len(ids) == 0 {
		fmt.Fprintln(stdout, "retrying every open failure")
	} else {
		fmt.Fprintf(stdout, "retrying %d failure(s)\n", len(ids))
	}
	return nil
}

// openStore connects to Postgres for the commands that read or write it directly.
func openStore(ctx context.Context) (*store.Store, config.Starter, error) {
	cfg, err := config.LoadStarter()
	if err != nil {
		return nil, cfg, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	return st, cfg, err
}

func cmdPreflight(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("preflight", &c, stderr)
	mode := fs.String("mode", "", "check for this mode (default: the integration's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, cfg, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	res, err := acts.Preflight(ctx, activities.PreflightInput{IntegrationID: c.integration, Mode: *mode})
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, res)
	}
	if len(res.Problems) == 0 {
		fmt.Fprintln(stdout, "mapping OK: every mapped field exists on both sides with compatible types, and every mandatory field is mapped")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "code\tmodule\tdesk field\tcrm field\tproblem")
	for _, p := range res.Problems {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.Module, orDash(p.Desk), orDash(p.CRM), p.Message)
	}
	w.Flush()
	return fmt.Errorf("the mapping has %d problem(s); fix them with `starter mapping import`", len(res.Problems))
}

func cmdMapping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "import") {
		return usageError{"mapping needs a subcommand: `starter mapping show [--module contacts]` or `starter mapping import FILE`"}
	}
	sub := args[0]
	var c common
	fs := newFlags("mapping "+sub, &c, stderr)
	module := fs.String("module", "", "contacts or accounts (show: default both)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	// An import file is checked before anything is opened or stored.
	var maps []mapping.Mapping
	if sub == "import" {
		if fs.NArg() != 1 {
			return usageError{"mapping import needs one FILE: a JSON mapping, or a list of them (see `starter mapping show --json`)"}
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("read mapping file: %w", err)
		}
		if maps, err = mapping.ParseList(data); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
	}
	st, cfg, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.EnsureIntegration(ctx, c.integration, activities.ModeTwoWay, 365*24*time.Hour); err != nil {
		return err
	}
	defaults := mapping.Default
	if cfg.Zoho.Emulated() {
		defaults = mapping.DemoMapping
	}
	if sub == "show" {
		var out []mapping.Mapping
		for _, m := range []string{activities.Accounts, activities.Contacts} {
			if *module != "" && *module != m {
				continue
			}
			rows, err := st.Mapping(ctx, c.integration, m)
			if err != nil {
				return err
			}
			mp := defaults(mapping.Module(m))
			if len(rows) > 0 {
				mp = mapping.Mapping{Module: mapping.Module(m)}
				for _, r := range rows {
					mp.Fields = append(mp.Fields, mapping.FieldMap{Desk: r.DeskField, CRM: r.CRMField, Direction: mapping.Direction(r.Direction), Policy: mapping.Policy(r.Policy)})
				}
			}
			out = append(out, mp)
		}
		if c.json {
			return printJSON(stdout, out)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "module\tdesk field\tcrm field\tdirection\tpolicy")
		for _, mp := range out {
			for _, f := range mp.Fields {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mp.Module, f.Desk, f.CRM, orDash(string(f.Direction)), orDash(string(f.Policy)))
			}
		}
		return w.Flush()
	}
	for _, mp := range maps {
		n, err := activities.ImportMapping(ctx, st, c.integration, mp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d %s field(s); run `starter preflight` to check them against Zoho\n", n, mp.Module)
	}
	return nil
}

func orString(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// cmdSetMode switches an integration between two-way and one-way CRM → Desk sync, or moves
// a legacy scheduled import to sync (once: it cannot be reverted). The workflow's validator
// answers, so the command reports a definite yes or no.
func cmdSetMode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("set-mode", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"set-mode needs one MODE: two-way, one-way-crm-to-desk, or sync (the one-time switch from the legacy scheduled import)"}
	}
	update, arg := workflows.UpdateSetMode, any(workflows.SetModeRequest{Mode: fs.Arg(0)})
	if fs.Arg(0) == "sync" {
		update, arg = workflows.UpdateSwitchToSync, nil
	}
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	opts := client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(c.integration), UpdateName: update,
		WaitForStage: client.WorkflowUpdateStageCompleted}
	if arg != nil {
		opts.Args = []any{arg}
	}
	handle, err := tc.UpdateWorkflow(ctx, opts)
	if err != nil {
		return notRunning(c.integration, err)
	}
	var res workflows.ModeResult
	if err := handle.Get(ctx, &res); err != nil {
		return fmt.Errorf("mode not changed: %w", err)
	}
	if c.json {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "integration %q: mode %s (was %s)\n", c.integration, res.Mode, res.Previous)
	return nil
}
