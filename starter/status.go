package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/converter"

	"deskcrm/activities"
	"deskcrm/codec"
	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// statusJSON is `status --json`: the status query's answer, and the steps Temporal retries.
type statusJSON struct {
	workflows.Status
	Retrying []tclient.Retrying `json:"retrying,omitempty"`
}

// cmdStatus prints the status query's answer — phase, mode, the steps running, the first
// sync's estimate, progress per module and side — and the steps that keep failing, which
// only Temporal knows of (the pending activities of the description requireRunning reads).
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("status", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	tc, cfg, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	desc, err := describeRunning(ctx, tc, c.integration)
	if err != nil {
		return err
	}
	id := workflows.WorkflowID(c.integration)
	st, err := queryStatus(ctx, tc, id)
	if err != nil {
		return fmt.Errorf("query %s of the sync of integration %q: %w", workflows.QueryStatus, c.integration, err)
	}
	sealed, err := codec.FromConfig(cfg.Temporal)
	if err != nil {
		return err
	}
	var fc converter.FailureConverter
	if sealed != nil {
		fc = codec.FailureConverter(sealed)
	}
	retrying := tclient.RetryingIn(desc, fc)
	if c.json {
		return printJSON(stdout, statusJSON{Status: st, Retrying: retrying})
	}
	printStatus(stdout, st, retrying, time.Now())
	return nil
}

// printStatus writes a status for people; now is the wall clock, for "in 3h0m".
func printStatus(stdout io.Writer, st workflows.Status, retrying []tclient.Retrying, now time.Time) {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "integration\t%s\n", st.IntegrationID)
	fmt.Fprintf(w, "phase\t%s\n", st.Phase)
	for _, r := range retrying {
		next := fmt.Sprintf("attempt %d running", r.Attempt)
		if !r.Running {
			next = fmt.Sprintf("next attempt in %s", max(0, r.NextAttemptAt.Sub(now)).Round(time.Second))
		}
		fmt.Fprintf(w, "retrying\t%s failed %s, %s: %s\n", r.Activity, r.Failures(), next, r.LastFailure)
	}
	fmt.Fprintf(w, "mode\t%s\n", st.Mode)
	fmt.Fprintf(w, "paused\t%s\n", strings.TrimSpace(fmt.Sprintf("%v %s", st.Paused, st.PausedReason)))
	if len(st.RunningSteps) > 0 {
		what := "steps"
		if st.Paused {
			what = "steps on resume"
		}
		done := ""
		if !st.InitialDone {
			done = fmt.Sprintf(" (%d of %d done)", st.Step, len(st.Steps))
		}
		fmt.Fprintf(w, "%s\t%s%s\n", what, strings.Join(st.RunningSteps, ", "), done)
	}
	fmt.Fprintf(w, "waiting for\t%s\n", orDash(st.WaitingFor))
	if len(st.Hinted) > 0 {
		fmt.Fprintf(w, "hinted\t%s (a pass of these sides follows)\n", strings.Join(st.Hinted, ", "))
	}
	if !st.LastSync.IsZero() {
		fmt.Fprintf(w, "last sync\t%s\n", st.LastSync.Local().Format(time.RFC1123))
	}
	fmt.Fprintf(w, "credits used\tCRM %d, Desk %d since the sync started (a total, not today's)\n", st.CRMCredits, st.DeskCredits)
	if e := st.Estimate; e != nil {
		printEstimate(w, e, now)
	}
	fmt.Fprintf(w, "open failures\t%d\n", st.OpenFailures)
	w.Flush()
	fmt.Fprintln(stdout)
	w = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "module\tlinked\tdesk indexed\tdesk added\tdesk updated\tto desk failing\tcrm indexed\tcrm added\tcrm updated\tto crm failing\t")
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		p := st.Progress[m]
		if p == nil {
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", m, max(p.Linked, p.Links), p.Desk.Indexed, p.Desk.Added, p.Desk.Updated, p.Desk.Open,
			p.CRM.Indexed, p.CRM.Added, p.CRM.Updated, p.CRM.Open)
	}
	w.Flush()
	for _, p := range st.Problems {
		fmt.Fprintf(stdout, "problem: %s %s: %s\n", p.Code, p.Module, p.Message)
	}
}

// printEstimate writes the first sync's estimate: when it should end, the credit resets it
// waits for, the credits it needs, and what that is based on.
func printEstimate(w io.Writer, e *workflows.Estimate, now time.Time) {
	end := "not known yet"
	if !e.Finish.IsZero() {
		end = fmt.Sprintf("by %s (in %s)", e.Finish.Local().Format(time.RFC1123), max(0, e.Finish.Sub(now)).Round(time.Minute))
	}
	if e.CreditResets > 0 {
		end += fmt.Sprintf(", after %d daily credit reset(s)", e.CreditResets)
	}
	fmt.Fprintf(w, "first sync ends\t%s\n", end)
	if e.CRM != nil && e.Desk != nil {
		fmt.Fprintf(w, "credits to spend\tCRM %s, Desk %s\n", creditsLine(e.CRM), creditsLine(e.Desk))
	}
	fmt.Fprintf(w, "estimate based on\t%s\n", e.Basis)
}

func creditsLine(c *workflows.EstimateCredits) string {
	if c.PerDay == 0 {
		return fmt.Sprintf("%d (no daily limit known)", c.Needed)
	}
	return fmt.Sprintf("%d (%d a day, %d today)", c.Needed, c.PerDay, c.Today)
}

// runningShort names the steps running for the progress bar: the first, and how many more.
func runningShort(st workflows.Status) string {
	if len(st.RunningSteps) <= 1 {
		return st.CurrentStep
	}
	return fmt.Sprintf("%s +%d", st.RunningSteps[0], len(st.RunningSteps)-1)
}
