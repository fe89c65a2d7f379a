package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// PlanWorkflowName is the dry-run plan workflow, as typed in the Temporal UI or the starter.
const PlanWorkflowName = "PlanWorkflow"

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
	var pre activities.PreflightResult
	if err := workflow.ExecuteActivity(short, a.Preflight, activities.PreflightInput{IntegrationID: in.IntegrationID, Mode: mode,
		LookbackDays: in.LookbackDays}).Get(ctx, &pre); err != nil {
		return rep, err
	}
	rep.Problems = pre.Problems
	if len(pre.Problems) == 0 {
		for _, m := range modules {
			step := activities.StepInput{IntegrationID: in.IntegrationID, Module: m, Mode: mode,
				Lookback: time.Duration(in.LookbackDays) * 24 * time.Hour, Now: rep.Started}
			var desk, crm activities.StepResult
			if err := workflow.ExecuteActivity(long, a.IndexDesk, step).Get(ctx, &desk); err != nil {
				return rep, err
			}
			if err := workflow.ExecuteActivity(long, a.IndexCRM, step).Get(ctx, &crm); err != nil {
				return rep, err
			}
			rep.IndexDeskCredits += desk.DeskCredits
			rep.IndexCRMCredits += crm.CRMCredits
			var mp activities.ModulePlan
			if err := workflow.ExecuteActivity(long, a.PlanFirstSync, step).Get(ctx, &mp); err != nil {
				return rep, err
			}
			rep.Modules = append(rep.Modules, mp)
			rep.CRMCalls += mp.CRMCalls
			rep.DeskCalls += mp.DeskCalls
			rep.Duration += mp.Duration
		}
	}
	rep.Finished = workflow.Now(ctx)
	if err := workflow.ExecuteActivity(short, a.SavePlan, rep).Get(ctx, nil); err != nil {
		return rep, err
	}
	workflow.GetLogger(ctx).Info("plan made", "integration", in.IntegrationID, "modules", len(rep.Modules), "problems", len(rep.Problems))
	return rep, nil
}

// planOptions are the plan's activity options: long steps heartbeat like the sync's.
func planOptions(timeout time.Duration) workflow.ActivityOptions {
	opts := workflow.ActivityOptions{StartToCloseTimeout: timeout, RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrCreditsExhausted, activities.ErrPermanent},
	}}
	if timeout == 0 {
		opts.StartToCloseTimeout = 24 * time.Hour
		opts.HeartbeatTimeout = 10 * time.Second
	}
	return opts
}
