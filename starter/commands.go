package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"deskcrm/config"
	"deskcrm/internal/tclient"
	"deskcrm/logging"
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

// cmdStart starts the integration's sync workflow (SyncWorkflow) with its mode, look-back and
// poll interval; with --wait it follows the first sync with a progress bar until it is done.
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

// openStore connects to Postgres for the commands that read or write it directly.
func openStore(ctx context.Context) (*store.Store, config.Starter, error) {
	cfg, err := config.LoadStarter()
	if err != nil {
		return nil, cfg, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	return st, cfg, err
}
