package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"deskcrm/activities"
)

// The plan indexes each module's two sides side by side, then plans it, accounts first, and
// answers its progress query at every step.
func TestPlanIndexesBothSidesAtOnceAndReportsItsProgress(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	var a *activities.Activities
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflow(PlanWorkflow)
	env.OnActivity(a.Preflight, mock.Anything, mock.Anything).Return(activities.PreflightResult{}, nil).After(time.Minute)
	starts := map[string]time.Duration{}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in activities.StepInput
		if info.ActivityType.Name == "IndexDesk" || info.ActivityType.Name == "IndexCRM" {
			require.NoError(t, args.Get(&in))
			starts[info.ActivityType.Name+"/"+in.Module] = env.Now().Sub(t0)
		}
	})
	for _, m := range modules {
		for _, fn := range []any{a.IndexDesk, a.IndexCRM} {
			env.OnActivity(fn, mock.Anything, stepMatching(m)).Return(activities.StepResult{Indexed: 10}, nil).After(10 * time.Minute)
		}
		env.OnActivity(a.PlanFirstSync, mock.Anything, stepMatching(m)).Return(activities.ModulePlan{Module: m}, nil).After(5 * time.Minute)
	}
	env.OnActivity(a.SavePlan, mock.Anything, mock.Anything).Return(nil)
	var seen []PlanProgress
	for _, at := range []time.Duration{30 * time.Second, 5 * time.Minute, 13 * time.Minute, 20 * time.Minute, 30 * time.Minute} {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryPlanProgress)
			require.NoError(t, err)
			var p PlanProgress
			require.NoError(t, v.Get(&p))
			seen = append(seen, p)
		}, at)
	}
	env.ExecuteWorkflow(PlanWorkflow, PlanRequest{IntegrationID: "acme"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.Equal(t, time.Minute, starts["IndexDesk/accounts"])
	assert.Equal(t, time.Minute, starts["IndexCRM/accounts"], "both sides at once")
	assert.Equal(t, 16*time.Minute, starts["IndexCRM/contacts"], "after the accounts' plan")
	assert.Equal(t, []PlanProgress{
		{Step: "checking the mapping", Total: 8},
		{Step: "indexing accounts in Desk and CRM", Done: 1, Total: 8},
		{Step: "planning accounts", Done: 3, Total: 8},
		{Step: "indexing contacts in Desk and CRM", Done: 4, Total: 8},
		{Step: "planning contacts", Done: 6, Total: 8},
	}, seen)
	var rep activities.PlanReport
	require.NoError(t, env.GetWorkflowResult(&rep))
	assert.Len(t, rep.Modules, 2)
}
