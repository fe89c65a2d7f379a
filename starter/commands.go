package main

import (
	"bytes"
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
	"go.temporal.io/sdk/temporal"

	"deskcrm/config"
	"deskcrm/internal/tclient"
	"deskcrm/logging"
	"deskcrm/store"
	"deskcrm/workflows"
)

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"start":     cmdStart,
	"pause":     signalCommand(workflows.SignalPause, pauseOutcome),
	"resume":    signalCommand(workflows.SignalResume, resumeOutcome),
	"sync-now":  signalCommand(workflows.SignalSyncNow, syncNowOutcome),
	"status":    cmdStatus,
	"history":   cmdHistory,
	"failures":  cmdFailures,
	"conflicts": cmdConflicts,
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
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			f := fs.Lookup(name)
			if f != nil && isBoolFlag(f) {
				next := ""
				if i+1 < len(args) {
					next = args[i+1]
				}
				if err := boolValueMistake(fs.Name(), name, value, hasValue, next); err != nil {
					return err
				}
			}
			if f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
				// A flag where the value should be means the value was left out (`--integration
				// --json` took "--json" as the integration id: a trial).
				if next := args[i+1]; strings.HasPrefix(next, "-") && len(next) > 1 && !isNumber(next) {
					return usageError{fmt.Sprintf("--%s needs a value before %s: `%s --%s VALUE`", name, next, fs.Name(), name)}
				}
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	args = append(flags, append([]string{"--"}, positional...)...)
	// The flag package prints a mistake and then the flags; the mistake is printed once, by
	// main, so only --help's list goes out.
	out := fs.Output()
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = printed.WriteTo(out)
		return err // run ends with success, and the command does nothing
	}
	if err != nil {
		return usageError{fmt.Sprintf("%v (`starter %s --help` lists its flags)", err, fs.Name())}
	}
	return nil
}

// noArguments refuses positional arguments to a command that takes none, naming them.
func noArguments(fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return nil
	}
	return usageError{fmt.Sprintf("%s takes no arguments, but was given %s; an integration id goes in --integration ID", fs.Name(), quoted(fs.Args()))}
}

// quoted lists strings quoted and comma-separated: "a", "b".
func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// boolWords are the words people give boolean flags, by the value they mean.
var boolWords = map[string]bool{"true": true, "yes": true, "on": true, "false": false, "no": false, "off": false}

// boolValueMistake refuses a boolean flag given its value the way other flags take theirs:
// "--calls no" leaves "no" as an argument (a boolean flag alone means true), and "--calls=no"
// is not a value Go's flags read. value is what followed "=" when hasValue, next the argument
// after the flag ("" at the end). The message names the form that works: --calls=false.
func boolValueMistake(command, name, value string, hasValue bool, next string) error {
	word, given := next, "--"+name+" "+next
	if hasValue {
		if _, err := strconv.ParseBool(value); err == nil {
			return nil
		}
		word, given = value, "--"+name+"="+value
	}
	on, ok := boolWords[strings.ToLower(word)]
	if !ok {
		return nil
	}
	fix := fmt.Sprintf("--%s=false", name)
	if on {
		fix = fmt.Sprintf("--%s (or --%s=true)", name, name)
	}
	return usageError{fmt.Sprintf("--%s is a yes/no flag and takes its value after \"=\": write %s instead of %q (`starter %s --help` lists the flags)",
		name, fix, given, command)}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// dial connects to Temporal with the starter's configuration (tests replace it).
var dial = dialConfigured

func dialConfigured(ctx context.Context) (client.Client, config.Starter, error) {
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
// The input is checked first, by the workflow's own rules, and an integration that never ran
// is started only when no other runs, or with --new.
func cmdStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("start", &c, stderr)
	mode := fs.String("mode", "two-way", "two-way or one-way-crm-to-desk")
	lookback := fs.Int("lookback-days", 365, "only records created in this many days take part in the first sync")
	poll := fs.String("poll-interval", "1m", "how often an incremental pass runs without webhooks")
	wait := fs.Bool("wait", false, "wait for the first sync and show its progress")
	isNew := fs.Bool("new", false, "start an integration that never ran although others run (two on the same Zoho orgs create duplicates)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	in := workflows.SyncInput{IntegrationID: c.integration, Mode: *mode, LookbackDays: *lookback, PollInterval: *poll}
	if err := checkSyncInput(in); err != nil {
		return err
	}
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := checkPayloadKey(ctx, tc); err != nil {
		return err
	}
	if !*isNew {
		if err := refuseNewIntegration(ctx, tc, c.integration); err != nil {
			return err
		}
	}
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
	return waitInitial(ctx, tc, c.integration, run, stderr)
}

// syncInputFlags are the starter's flags for the SyncInput fields the workflow's input check
// names.
var syncInputFlags = []struct{ field, flag string }{
	{"integrationId", "--integration"}, {"mode", "--mode"}, {"lookbackDays", "--lookback-days"}, {"pollInterval", "--poll-interval"},
}

// checkSyncInput makes the workflow's own check of its input (workflows.ValidateSyncInput)
// before anything starts, naming each problem by its flag: a workflow started with bad input
// fails at once, with the reason only in its (encrypted) history.
func checkSyncInput(in workflows.SyncInput) error {
	var problems []string
	if in.LookbackDays == 0 {
		// The workflow reads 0 as "not given" and takes 365; here it was typed.
		problems = append(problems, "--lookback-days 0 must be at least 1 (leave the flag out for 365)")
	}
	_, err := workflows.ValidateSyncInput(in)
	var ae *temporal.ApplicationError
	switch {
	case errors.As(err, &ae):
		for _, p := range strings.Split(strings.TrimPrefix(ae.Message(), "invalid input: "), "\n") {
			for _, f := range syncInputFlags {
				if rest, ok := strings.CutPrefix(p, f.field+" "); ok {
					p = f.flag + " " + rest
					break
				}
			}
			problems = append(problems, p)
		}
	case err != nil:
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return usageError{"nothing was started; fix the input the sync would refuse:\n  " + strings.Join(problems, "\n  ")}
}

// waitInitial polls the status query and draws a progress bar until the first sync is done.
// It returns as soon as the workflow closes (a sync that fails at its start closes at once),
// with how it ended.
func waitInitial(ctx context.Context, tc client.Client, integration string, run client.WorkflowRun, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- run.Get(ctx, nil) }()
	var bar *progressbar.ProgressBar
	for {
		st, err := queryStatus(ctx, tc, run.GetID())
		if err != nil && isKeyProblem(err) {
			// Every query would fail alike: say why instead of waiting without a bar.
			return fmt.Errorf("the sync of integration %q was started, but its progress cannot be read: %w", integration, readable(err))
		}
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
		case err := <-closed:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if bar != nil {
				fmt.Fprintln(out)
			}
			how, ok := howEnded(err)
			if !ok {
				return fmt.Errorf("follow the sync of integration %q: %w", integration, err)
			}
			return endedError(fmt.Sprintf("the sync of integration %q ended before its first sync was done", integration), integration, how)
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

// syncStatus asks the integration's running sync for its status. A sync whose answer this
// starter cannot open (another DESKCRM_PAYLOAD_KEY than the worker's) is an error that says so:
// the commands that send a signal or an update read the status first, because the worker
// cannot open what such a starter sends either, and a signal has no answer to say it.
func syncStatus(ctx context.Context, tc client.Client, integration string) (workflows.Status, error) {
	st, err := queryStatus(ctx, tc, workflows.WorkflowID(integration))
	if err != nil {
		return st, fmt.Errorf("query %s of the sync of integration %q: %w", workflows.QueryStatus, integration, readable(err))
	}
	return st, nil
}

// checkPayloadKey refuses to start a sync when a running one answers its status sealed with
// a payload key this starter does not hold: the worker could not open the new sync's input
// either, and the sync would fail its every workflow task without a word. With no sync
// running, or one that cannot answer now, there is nothing to check against.
func checkPayloadKey(ctx context.Context, tc client.Client) error {
	running, err := runningIntegrations(ctx, tc)
	if err != nil || len(running) == 0 {
		return nil
	}
	if _, err := syncStatus(ctx, tc, running[0]); err != nil && isKeyProblem(err) {
		return fmt.Errorf("nothing was started: this starter's payload key is not the worker's: %w", err)
	}
	return nil
}

// query asks the integration's running sync for a query's answer.
func query(ctx context.Context, integration, name string, out any) error {
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := requireRunning(ctx, tc, integration); err != nil {
		return err
	}
	v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID(integration), "", name)
	if err != nil {
		return fmt.Errorf("query %s of the sync of integration %q: %w", name, integration, readable(err))
	}
	if err := v.Get(out); err != nil {
		return fmt.Errorf("query %s of the sync of integration %q: %w", name, integration, err)
	}
	return nil
}

// signalOutcome decides, from the status of the sync a signal is for, whether the signal is
// sent (a pause of a sync paused by request changes nothing), and what happened, printed after
// "sync of integration X".
type signalOutcome func(st workflows.Status) (send bool, said string)

// pausedByRequest is the reason a sync paused by the pause signal gives (workflows, receive).
const pausedByRequest = workflows.PausedByRequest

// pauseOutcome: a sync paused by request is already paused; one paused for another reason
// (credits, mapping problems) stays paused until resumed once it has the signal.
func pauseOutcome(st workflows.Status) (bool, string) {
	switch {
	case st.Paused && st.PausedReason == pausedByRequest:
		return false, "is already paused; nothing was sent (`starter resume` resumes it)"
	case st.Paused:
		return true, fmt.Sprintf("paused: it was already paused (%s), and now stays paused until `starter resume`", st.PausedReason)
	}
	return true, "paused"
}

// resumeOutcome: a sync that is not paused has nothing to resume.
func resumeOutcome(st workflows.Status) (bool, string) {
	switch {
	case !st.Paused:
		return false, "is not paused; nothing was sent (it runs)"
	case st.PausedReason != "" && st.PausedReason != pausedByRequest:
		return true, fmt.Sprintf("resumed (it was paused: %s)", st.PausedReason)
	}
	return true, "resumed"
}

// syncNowOutcome: the pass of a paused sync waits for resume.
func syncNowOutcome(st workflows.Status) (bool, string) {
	if st.Paused {
		return true, fmt.Sprintf("asked for an incremental pass now; the sync is paused (%s): the pass runs once it is resumed (`starter resume`)", orDash(st.PausedReason))
	}
	return true, "asked for an incremental pass now (it runs once the sync is idle)"
}

// signalCommand is a command that sends the running sync a signal without input. It reads
// the sync's status first: outcome decides from it whether the signal is sent and what to
// print, and a starter that cannot open the status (another payload key than the worker's)
// stops there, since the worker could not open its signal either.
func signalCommand(name string, outcome signalOutcome) command {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		var c common
		fs := newFlags(name, &c, stderr)
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArguments(fs); err != nil {
			return err
		}
		tc, _, err := dial(ctx)
		if err != nil {
			return err
		}
		defer tc.Close()
		if err := requireRunning(ctx, tc, c.integration); err != nil {
			return err
		}
		st, err := syncStatus(ctx, tc, c.integration)
		if err != nil {
			return fmt.Errorf("nothing was sent: %w", err)
		}
		send, said := outcome(st)
		if send {
			if err := tc.SignalWorkflow(ctx, workflows.WorkflowID(c.integration), "", name, nil); err != nil {
				return fmt.Errorf("signal %s to the sync of integration %q: %w", name, c.integration, err)
			}
		}
		fmt.Fprintf(stdout, "sync of integration %q %s\n", c.integration, said)
		return nil
	}
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

// openStoreFor opens the store for a command about integration, refusing an id Postgres does
// not know (requireKnown). The caller closes the store.
func openStoreFor(ctx context.Context, integration string) (*store.Store, config.Starter, error) {
	st, cfg, err := openStore(ctx)
	if err != nil {
		return nil, cfg, err
	}
	if err := requireKnown(ctx, st, integration); err != nil {
		st.Close()
		return nil, cfg, err
	}
	return st, cfg, nil
}

// requireKnown refuses an integration id that Postgres does not know while others exist, so
// that a mistyped id is an error instead of an empty answer or a new integration. With no
// integration at all (before the first start) the id may be the one about to start, and the
// commands that set one up may go on: preflight, plan, mapping and permissions before the
// first `starter start`, as the README describes.
func requireKnown(ctx context.Context, st *store.Store, integration string) error {
	_, err := st.Integration(ctx, integration)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ids, err := st.IntegrationIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return unknownIntegration(integration, ids)
}

// requireIntegration reads an integration that must exist in Postgres, even before any
// other does (relink works on an integration's links), refusing an unknown id by name.
func requireIntegration(ctx context.Context, st *store.Store, integration string) (store.Integration, error) {
	in, err := st.Integration(ctx, integration)
	if !errors.Is(err, store.ErrNotFound) {
		return in, err
	}
	ids, err := st.IntegrationIDs(ctx)
	if err != nil {
		return in, err
	}
	return in, unknownIntegration(integration, ids)
}

// unknownIntegration is the error for an integration id Postgres does not know; ids are the
// integrations it knows.
func unknownIntegration(integration string, ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("integration %q does not exist, and no integration does yet (`starter start --integration NAME` creates one)", integration)
	}
	return fmt.Errorf("integration %q does not exist; the integrations are %s: pass one with --integration (`starter start --integration NAME` creates one)",
		integration, quoted(ids))
}
