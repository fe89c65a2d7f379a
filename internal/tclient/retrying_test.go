package tclient_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"deskcrm/codec"
	"deskcrm/internal/tclient"
	"deskcrm/internal/temporaltest"
)

// A step that keeps failing is listed from the server's record of the workflow's pending
// activities, with its attempt and its error — opened by the payload codec's failure
// converter, and sealed to anyone without it; a step in its first attempt is not listed.
func TestRetryingInNamesAStepThatKeepsFailing(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	c, err := codec.New(key)
	if err != nil {
		t.Fatal(err)
	}
	fc := codec.FailureConverter(c)
	tc, _ := temporaltest.StartWith(t, temporaltest.Options{ClientOptions: client.Options{
		DataConverter: codec.DataConverter(c), FailureConverter: fc}})
	w := worker.New(tc, "retrying-test", worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 1}})
		fails := workflow.ExecuteActivity(ctx, "IncrementalPass")
		waits := workflow.ExecuteActivity(workflow.WithTaskQueue(ctx, "nobody-polls"), "CreateInCRM")
		if err := fails.Get(ctx, nil); err != nil {
			return err
		}
		return waits.Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "Sync"})
	w.RegisterActivityWithOptions(func(context.Context) error {
		return errors.New("crm: the CRM refused the token (INVALID_TOKEN)")
	}, activity.RegisterOptions{Name: "IncrementalPass"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "retrying", TaskQueue: "retrying-test"}, "Sync"); err != nil {
		t.Fatal(err)
	}

	var got []tclient.Retrying
	for len(got) == 0 || got[0].Attempt < 3 {
		got = tclient.RetryingIn(describe(t, tc, "retrying"), fc)
		if ctx.Err() != nil {
			t.Fatalf("no step seen failing twice: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("listed %+v, want only IncrementalPass (CreateInCRM never ran, so never failed)", got)
	}
	r := got[0]
	if r.Activity != "IncrementalPass" || r.LastFailure != "crm: the CRM refused the token (INVALID_TOKEN)" || r.LastFailedAt.IsZero() {
		t.Errorf("listed %+v", r)
	}

	sealed := tclient.RetryingIn(describe(t, tc, "retrying"), nil)
	if len(sealed) != 1 || strings.Contains(sealed[0].LastFailure, "INVALID_TOKEN") {
		t.Errorf("without the codec the failure reads %+v, want it sealed", sealed)
	}
}

func describe(t *testing.T, tc client.Client, id string) *client.WorkflowExecutionDescription {
	t.Helper()
	d, err := tc.DescribeWorkflow(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
