package main

// The commands that read what the sync did and act on it: history, failures, retry.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"deskcrm/activities"
	"deskcrm/store"
	"deskcrm/workflows"
)

// cmdHistory prints the sync runs of the last seven days from Postgres, which holds every run
// (the sync need not be running): the newest runs one line each and the older ones summed per
// day, as the history query answers; --all lists every run.
func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var all *bool
	return readAndPrint(ctx, "history", args, stdout, stderr,
		func(fs *flag.FlagSet) {
			all = fs.Bool("all", false, "list every run of the seven days instead of summing the older ones per day")
		},
		func(ctx context.Context, st *store.Store, integration string) (any, func(io.Writer), error) {
			runs, err := readHistory(ctx, st, integration, time.Now(), *all)
			return runs, func(w io.Writer) { printHistory(w, runs) }, err
		})
}

// readAndPrint runs a command that reads Postgres for an integration and prints what it read:
// flags (the common ones, and those flags adds), no arguments; read returns the value for
// --json and how to print it for people.
func readAndPrint(ctx context.Context, name string, args []string, stdout, stderr io.Writer, flags func(*flag.FlagSet),
	read func(context.Context, *store.Store, string) (any, func(io.Writer), error)) error {
	var c common
	fs := newFlags(name, &c, stderr)
	if flags != nil {
		flags(fs)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	st, _, err := openStoreFor(ctx, c.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	v, print, err := read(ctx, st, c.integration)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, v)
	}
	print(stdout)
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

// cmdConflicts prints the conflict log of the last seven days from Postgres, newest first:
// per pair, the fields that held two values (changed on both sides since the sync before, or
// different when first synced) and which value each kept,
// by which rule (store.RecordConflicts). No values: the log keeps none.
func cmdConflicts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return readAndPrint(ctx, "conflicts", args, stdout, stderr, nil,
		func(ctx context.Context, st *store.Store, integration string) (any, func(io.Writer), error) {
			cs, _, err := st.RecentConflicts(ctx, integration, time.Now().Add(-store.ConflictKeep), 0)
			if cs == nil {
				cs = []store.Conflict{} // --json prints [], not null
			}
			return cs, func(w io.Writer) { printConflicts(w, cs) }, err
		})
}

// printConflicts prints conflicts one line per field.
func printConflicts(w io.Writer, cs []store.Conflict) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "no field held two values in the last seven days")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "time\tmodule\tdesk id\tcrm id\tfield: edit kept (rule)")
	for _, c := range cs {
		for _, f := range c.Fields {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.At.Local().Format("2006-01-02 15:04:05"), c.Module, c.DeskID, c.CRMID, f.Words())
		}
	}
	tw.Flush()
}

// cmdFailures prints the open failures of the failure log: module, code, both ids and the
// reason.
func cmdFailures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("failures", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	var list []store.Failure
	if err := query(ctx, c.integration, workflows.QueryFailures, &list); err != nil {
		return err
	}
	if c.json {
		if err := printJSON(stdout, list); err != nil {
			return err
		}
		if messagesCut(list) {
			fmt.Fprintln(stderr, cutMessagesHint)
		}
		return nil
	}
	return printFailures(stdout, list)
}

// cutMessagesHint says where a message the sync's failures query cut is whole.
const cutMessagesHint = "messages ending in … are cut (the sync keeps 300 bytes of each); the console's Failures page shows them whole, " +
	"as does the record's failed ReportFailure activity in the Temporal UI"

// printFailures prints failures as a table, and where the cut messages are whole if any is.
func printFailures(out io.Writer, list []store.Failure) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "id\ttime\tmodule\tdirection\tdesk id\tcrm id\tcode\tattempts\tmessage")
	for _, f := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.LastAt.Local().Format("2006-01-02 15:04:05"), f.Module, arrow(f.Direction),
			orDash(f.DeskID), orDash(f.CRMID), strings.Join(f.AllCodes(), ","), f.Attempts, f.Message)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if messagesCut(list) {
		fmt.Fprintln(out, "\n"+cutMessagesHint)
	}
	return nil
}

// messagesCut reports whether a message of list was cut by the sync (workflows.cutMessage
// ends it with "…").
func messagesCut(list []store.Failure) bool {
	return slices.ContainsFunc(list, func(f store.Failure) bool { return strings.HasSuffix(f.Message, "…") })
}

// cmdRetry sends the retry signal: the failures named by id, or every open one when none is;
// the next pass writes those records again. Ids that are not open failures are left out, with
// a note, before anything is sent (the workflow marks only open ones and cannot answer a
// signal); when none is open nothing is sent.
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
	if err := requireRunning(ctx, tc, c.integration); err != nil {
		return err
	}
	// The status first: a starter that cannot open it (another payload key than the worker's)
	// would send a signal the worker cannot open either, and a signal has no answer.
	st, err := syncStatus(ctx, tc, c.integration)
	if err != nil {
		return fmt.Errorf("nothing was retried: %w", err)
	}
	if len(ids) > 0 {
		if ids, err = checkOpenFailures(ctx, tc, c.integration, ids, st.OpenFailures, stderr); err != nil {
			return err
		}
	}
	if err := tc.SignalWorkflow(ctx, workflows.WorkflowID(c.integration), "", workflows.SignalRetry, workflows.RetrySignal{IDs: ids}); err != nil {
		return fmt.Errorf("signal retry to the sync of integration %q: %w", c.integration, err)
	}
	if len(ids) == 0 {
		fmt.Fprintln(stdout, "retrying every open failure")
	} else {
		fmt.Fprintf(stdout, "retrying %d failure(s)\n", len(ids))
	}
	return nil
}

// checkOpenFailures returns the failure ids that are among the open failures the sync lists
// (its failures query, which `starter failures` prints), and says on out which are not: closed
// (say by a fix that synced the record since), of another integration or never recorded. When
// none is open it is an error and nothing is retried. That list holds the newest open failures
// only: when there are more (openFailures, from the status), an id missing from it may still
// be open, and is let through with a note on out.
func checkOpenFailures(ctx context.Context, tc client.Client, integration string, ids []int64, openFailures int, out io.Writer) ([]int64, error) {
	var listed []store.Failure
	v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID(integration), "", workflows.QueryFailures)
	if err == nil {
		err = v.Get(&listed)
	}
	if err != nil {
		return nil, fmt.Errorf("read the open failures of integration %q to check the ids: %w", integration, readable(err))
	}
	open := map[int64]bool{}
	for _, f := range listed {
		open[f.ID] = true
	}
	var missing []string
	var retry []int64
	for _, id := range ids {
		if open[id] {
			retry = append(retry, id)
		} else {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	switch {
	case len(missing) == 0:
		return ids, nil
	case openFailures > len(listed):
		fmt.Fprintf(out, "note: failure(s) %s are not among the newest %d of the %d open failures `starter failures` lists; they are retried if they are open\n",
			strings.Join(missing, ", "), len(listed), openFailures)
		return ids, nil
	case len(retry) == 0:
		return nil, fmt.Errorf("failure(s) %s are not open failures of integration %q (closed, of another integration, or never recorded); nothing was retried: `starter failures --integration %s` lists the open ones",
			strings.Join(missing, ", "), integration, integration)
	}
	fmt.Fprintf(out, "note: failure(s) %s are not open failures of integration %q (closed, of another integration, or never recorded) and are left out\n",
		strings.Join(missing, ", "), integration)
	return retry, nil
}
