package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// PlanWorkflowName is the dry-run plan workflow, as typed in the Temporal UI or the starter.
const PlanWorkflowName = "PlanWorkflow"

// QueryPlanProgress is the plan's progress query: PlanProgress.
const QueryPlanProgress = "progress"

// planIndexVersion: the plan indexes Desk and CRM side by side (before it, one after the other).
const planIndexVersion = "plan-index-side-by-side"

// PlanProgress is how far a plan is: Done of Total steps, and what it does now.
type PlanProgress struct {
	Step  string `json:"step,omitempty"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// PlanWorkflowID is the id of an integration's dry-run plan.
func PlanWorkflowID(integrationID string) string { return "deskcrm-plan-" + integrationID }

// PlanRequest asks for a dry-run plan of an integration's first sync; like SyncInput, every
// field has a default: `{"integrationId":"default"}` plans the two-way first sync of a year.
type PlanRequest struct {
	IntegrationID string `json:"integrationId,omitempty"`
	Mode          string `json:"mode,omitempty"`
	LookbackDays  int    `json:"lookbackDays,omitempty"`
}

// PlanWorkflow plans an integration's first sync without writing anything to Zoho: the
// preflight, then per module (accounts before contacts) the same index steps as the sync and
// PlanFirstSync, which runs the sync's own read and plan functions with the writer left out.
// The report is stored in Postgres (the console and `starter plan` show the latest) and
// returned. A mapping with problems is reported and not planned.
func PlanWorkflow(ctx workflow.Context, req PlanRequest) (activities.PlanReport, error) {
	in, err := SyncInput{IntegrationID: req.IntegrationID, Mode: req.Mode, LookbackDays: req.LookbackDays}.withDefaults()
	if err != nil {
		return activities.PlanReport{}, err
	}
	mode := activityMode(in.Mode)
	rep := activities.PlanReport{IntegrationID: in.IntegrationID, Mode: in.Mode, LookbackDays: in.LookbackDays, Started: workflow.Now(ctx)}
	short := workflow.WithActivityOptions(ctx, planOptions(2*time.Minute))
	long := workflow.WithActivityOptions(ctx, planOptions(0))
	var a *activities.Activities
	sideBySide := workflow.GetVersion(ctx, planIndexVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	progress := PlanProgress{Step: "checking the mapping", Total: 2 + 3*len(modules)}
	if err := workflow.SetQueryHandler(ctx, QueryPlanProgress, func() (PlanProgress, error) { return progress, nil }); err != nil {
		return rep, err
	}
	// done counts n more steps done; the plan is now doing step.
	done := func(n int, step string) { progress.Done, progress.Step = progress.Done+n, step }
	var pre activities.PreflightResult
	if err := workflow.ExecuteActivity(short, a.Preflight, activities.PreflightInput{IntegrationID: in.IntegrationID, Mode: mode,
		LookbackDays: in.LookbackDays}).Get(ctx, &pre); err != nil {
		return rep, err
	}
	rep.Problems = pre.Problems
	done(1, "")
	if len(pre.Problems) == 0 {
		for _, m := range modules {
			step := activities.StepInput{IntegrationID: in.IntegrationID, Module: m, Mode: mode,
				Lookback: time.Duration(in.LookbackDays) * 24 * time.Hour, Now: rep.Started}
			var desk, crm activities.StepResult
			if sideBySide {
				done(0, "indexing "+m+" in Desk and CRM")
				fd, fc := workflow.ExecuteActivity(long, a.IndexDesk, step), workflow.ExecuteActivity(long, a.IndexCRM, step)
				errD, errC := fd.Get(ctx, &desk), fc.Get(ctx, &crm)
				if err := errors.Join(errD, errC); err != nil {
					return rep, err
				}
				done(2, "planning "+m)
			} else {
				done(0, "indexing "+m+" in Desk")
				if err := workflow.ExecuteActivity(long, a.IndexDesk, step).Get(ctx, &desk); err != nil {
					return rep, err
				}
				done(1, "indexing "+m+" in CRM")
				if err := workflow.ExecuteActivity(long, a.IndexCRM, step).Get(ctx, &crm); err != nil {
					return rep, err
				}
				done(1, "planning "+m)
			}
			rep.IndexDeskCredits += desk.DeskCredits
			rep.IndexCRMCredits += crm.CRMCredits
			var mp activities.ModulePlan
			if err := workflow.ExecuteActivity(long, a.PlanFirstSync, step).Get(ctx, &mp); err != nil {
				return rep, err
			}
			done(1, "")
			rep.Modules = append(rep.Modules, mp)
			rep.CRMCalls += mp.CRMCalls
			rep.DeskCalls += mp.DeskCalls
			rep.Duration += mp.Duration
		}
	}
	rep.Finished = workflow.Now(ctx)
	progress.Done, progress.Step = progress.Total-1, "saving the report" // a blocked plan skips the modules
	if err := workflow.ExecuteActivity(short, a.SavePlan, rep).Get(ctx, nil); err != nil {
		return rep, err
	}
	done(1, "")
	workflow.GetLogger(ctx).Info("plan made", "integration", in.IntegrationID, "modules", len(rep.Modules), "problems", len(rep.Problems))
	return rep, nil
}

// planOptions are the plan's activity options: long steps heartbeat like the sync's.
func planOptions(timeout time.Duration) workflow.ActivityOptions {
	opts := workflow.ActivityOptions{StartToCloseTimeout: timeout, RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: nonRetryableTypes,
	}}
	if timeout == 0 {
		opts.StartToCloseTimeout = 24 * time.Hour
		opts.HeartbeatTimeout = 10 * time.Second
	}
	return opts
}
