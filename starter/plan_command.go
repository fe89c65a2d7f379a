package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/workflows"
)

// cmdPlan runs the dry-run plan of an integration's first sync (PlanWorkflow: nothing is
// written to Zoho), waits for it, and prints what the first sync would do, with a sample of the
// merges read from Postgres. An integration id Postgres does not know is refused while others
// exist (the plan's preflight would register it); before the first start any id may be planned.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("plan", &c, stderr)
	mode := fs.String("mode", "two-way", "two-way or one-way-crm-to-desk")
	lookback := fs.Int("lookback-days", 365, "only records created in this many days take part in the first sync")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	// PlanWorkflow checks its input as SyncWorkflow does.
	if err := checkSyncInput(workflows.SyncInput{IntegrationID: c.integration, Mode: *mode, LookbackDays: *lookback}); err != nil {
		return err
	}
	// The plan's preflight registers an integration it does not know: a mistyped id would
	// become an integration. Before the first start there is none, and the plan may go first.
	st, _, err := openStoreFor(ctx, c.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.PlanWorkflowID(c.integration), TaskQueue: config.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.PlanWorkflowName, workflows.PlanRequest{IntegrationID: c.integration, Mode: *mode, LookbackDays: *lookback})
	if err != nil {
		return fmt.Errorf("start the plan: %w", err)
	}
	if !c.json {
		fmt.Fprintf(stdout, "planning the first sync of %q (workflow %s): indexing both sides, nothing is written to Zoho...\n", c.integration, run.GetID())
	}
	var rep activities.PlanReport
	if err := run.Get(ctx, &rep); err != nil {
		return fmt.Errorf("plan: %w", readable(err))
	}
	if c.json {
		return printJSON(stdout, rep)
	}
	printPlan(stdout, rep)
	if samples, err := st.PlanSamples(ctx, c.integration); err == nil {
		for _, m := range []string{activities.Accounts, activities.Contacts} {
			for i, s := range samples[m] {
				if i == 3 {
					fmt.Fprintf(stdout, "  … %d more sampled %s merges in the console\n", len(samples[m])-3, m)
					break
				}
				var fields []string
				for _, f := range s.Fields {
					fields = append(fields, fmt.Sprintf("%s→%s from %s", f.Desk, f.CRM, f.Winner))
				}
				fmt.Fprintf(stdout, "  %s Desk %s / CRM %s: %s\n", m, s.DeskID, s.CRMID, strings.Join(fields, ", "))
			}
		}
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("the mapping has %d problem(s): the first sync would not start; see `starter preflight`", len(rep.Problems))
	}
	return nil
}

// printPlan prints a plan report as tables.
func printPlan(w io.Writer, rep activities.PlanReport) {
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "mapping problem: %s %s: %s\n", p.Code, p.Module, p.Message)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "module\tin look-back (Desk/CRM)\tlinked already\tmatches\tcreate in CRM\tcreate in Desk\tupdate in CRM\tupdate in Desk\tfailures")
	for _, m := range rep.Modules {
		var fails []string
		for code, n := range m.Failures {
			fails = append(fails, fmt.Sprintf("%s %d", code, n))
		}
		sort.Strings(fails)
		fmt.Fprintf(tw, "%s\t%d / %d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", m.Module, m.DeskIndexed, m.CRMIndexed, m.LinkedAlready, m.Matches,
			m.CreateInCRM, m.CreateInDesk, m.UpdateInCRM, m.UpdateInDesk, orDash(strings.Join(fails, ", ")))
	}
	tw.Flush()
	fmt.Fprintf(w, "API calls: CRM %d, Desk %d (indexing spent %d CRM and %d Desk credits); about %s at the configured concurrency\n",
		rep.CRMCalls, rep.DeskCalls, rep.IndexCRMCredits, rep.IndexDeskCredits, rep.Duration.Round(time.Second))
}
