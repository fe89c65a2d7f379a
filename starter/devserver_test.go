package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"deskcrm/config"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
)

// noClose is a client the commands cannot close: the test's own, shared by every command.
type noClose struct{ client.Client }

func (noClose) Close() {}

// useClient makes the commands dial c (kept open across them) for the rest of the test.
func useClient(t *testing.T, c client.Client) {
	t.Helper()
	old := dial
	dial = func(context.Context) (client.Client, config.Starter, error) {
		return noClose{c}, config.Starter{}, nil
	}
	t.Cleanup(func() { dial = old })
}

// Against a real Temporal server and SyncWorkflow (without activities, so a started sync
// stays in its preflight): the visibility query that finds the running integrations, the
// refusal of a mistyped id, how a failed and a terminated sync are reported, and `start
// --wait` returning when its workflow closes.
func TestStarterAgainstTheDevServer(t *testing.T) {
	tc := temporaltest.Start(t)
	w := worker.New(tc, config.TaskQueue, worker.Options{})
	workflows.Register(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	useClient(t, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	starter := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, &out)
		return out.String(), err
	}

	if _, err := starter("start"); err != nil {
		t.Fatalf("the first start: %v", err)
	}
	// Visibility follows the start a moment later.
	for {
		running, err := runningIntegrations(ctx, tc)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(running, []string{"default"}) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("running integrations: %v", running)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := starter("start", "--integration", "t1"); err == nil || !strings.Contains(err.Error(), `integration "t1" does not exist yet; integration(s) "default"`) {
		t.Errorf("a mistyped id: err = %v", err)
	}

	// A sync started with bad input elsewhere (the Temporal UI) fails at once.
	startFailedSync(ctx, t, tc, "t2")
	for _, cmd := range []string{"status", "failures", "pause"} {
		if _, err := starter(cmd, "--integration", "t2"); err == nil ||
			!strings.Contains(err.Error(), `the sync of integration "t2" is not running: it failed: invalid input: mode "foo" must be`) {
			t.Errorf("%s of a failed sync: err = %v", cmd, err)
		}
	}

	// --wait returns when the workflow closes: here the worker's delete terminates it.
	waited := make(chan error, 1)
	go func() {
		_, err := starter("start", "--integration", "t4", "--new", "--wait")
		waited <- err
	}()
	for {
		d, err := tc.DescribeWorkflow(ctx, workflows.WorkflowID("t4"), "")
		if err == nil && d.HistoryLength > 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("t4 did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := tc.TerminateWorkflow(ctx, workflows.WorkflowID("t4"), "", "integration deleted"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err == nil || !strings.Contains(err.Error(), `the sync of integration "t4" ended before its first sync was done: it was terminated`) {
			t.Errorf("start --wait: err = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("start --wait still waits 30 s after its workflow was terminated")
	}
	if _, err := starter("status", "--integration", "t4"); err == nil ||
		!strings.Contains(err.Error(), `the sync of integration "t4" is not running: it was terminated (integration deleted)`) {
		t.Errorf("status of a terminated sync: err = %v", err)
	}
	out, err := starter("status")
	if err != nil || !strings.Contains(out, "phase") {
		t.Errorf("status of the running sync: %v\n%s", err, out)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the test ran out of time")
	}
}

// startFailedSync starts the sync of integration id with bad input (mode "foo"), as one
// started from the Temporal UI could be, and waits for it to fail.
func startFailedSync(ctx context.Context, t *testing.T, tc client.Client, id string) {
	t.Helper()
	bad, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(id), TaskQueue: config.TaskQueue},
		workflows.WorkflowName, workflows.SyncInput{IntegrationID: id, Mode: "foo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Get(ctx, nil); err == nil {
		t.Fatalf("a sync with mode foo ran (integration %s)", id)
	}
}
