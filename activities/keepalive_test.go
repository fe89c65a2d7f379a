package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/internal/temporaltest"
)

// keepAliveTimeout is the heartbeat timeout of the test activities: they go quiet for three.
const keepAliveTimeout = 2 * time.Second

// quiet goes without a heartbeat for three heartbeat timeouts, then answers.
func quiet(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt > 1 {
		return "retried after a heartbeat timeout", nil
	}
	time.Sleep(3 * keepAliveTimeout)
	return "survived", nil
}

// resumable heartbeats its progress and fails; its second attempt goes quiet for three
// heartbeat timeouts and fails; the third reports the progress it finds.
func resumable(ctx context.Context) (string, error) {
	switch activity.GetInfo(ctx).Attempt {
	case 1:
		activity.RecordHeartbeat(ctx, "page 7")
		return "", errors.New("first attempt fails")
	case 2:
		time.Sleep(3 * keepAliveTimeout)
		return "", errors.New("second attempt fails")
	}
	var progress string
	if !activity.HasHeartbeatDetails(ctx) {
		return "no progress", nil
	}
	if err := activity.GetHeartbeatDetails(ctx, &progress); err != nil {
		return "", err
	}
	return progress, nil
}

func keepAliveWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: keepAliveTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3}})
	var out string
	err := workflow.ExecuteActivity(ctx, name).Get(ctx, &out)
	return out, err
}

// KeepAlive keeps an activity that is busy without heartbeating alive past its heartbeat
// timeout, and repeats the previous attempt's progress rather than erasing it.
func TestKeepAliveHeartbeatsQuietActivitiesWithTheirLatestDetails(t *testing.T) {
	tc := temporaltest.Start(t)
	w := worker.New(tc, "keepalive", worker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.KeepAlive{}}})
	w.RegisterWorkflow(keepAliveWorkflow)
	w.RegisterActivityWithOptions(quiet, activity.RegisterOptions{Name: "quiet"})
	w.RegisterActivityWithOptions(resumable, activity.RegisterOptions{Name: "resumable"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	for name, want := range map[string]string{"quiet": "survived", "resumable": "page 7"} {
		run, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "keepalive-" + name, TaskQueue: "keepalive"}, keepAliveWorkflow, name)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := run.Get(t.Context(), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}
