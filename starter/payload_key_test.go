package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"deskcrm/codec"
	"deskcrm/config"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
)

// newCodec is a codec with a random key.
func newCodec(t *testing.T) *codec.Codec {
	t.Helper()
	key := make([]byte, codec.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c, err := codec.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealed is a failure as a starter with the payload key theirs reads it when the worker with
// the key ours sealed it (nil theirs: a starter without a key).
func sealed(ours, theirs *codec.Codec, err error) error {
	reader := temporal.GetDefaultFailureConverter()
	if theirs != nil {
		reader = codec.FailureConverter(theirs)
	}
	return reader.FailureToError(codec.FailureConverter(ours).ErrorToFailure(err))
}

// A failure the worker sealed with a key the starter does not hold reads "Encoded failure" in
// the SDK; the starter names the key and the variable to set instead, as `status` does for a
// query's answer: set-mode's refusal, and how a closed sync ended.
func TestSealedFailuresNameThePayloadKey(t *testing.T) {
	worker, starter := newCodec(t), newCodec(t)
	refusal := temporal.NewApplicationError("the first sync is still running: change the mode once it is done", "")
	for name, theirs := range map[string]*codec.Codec{"another key": starter, "no key": nil} {
		w := running(map[string]any{workflows.QueryStatus: workflows.Status{IntegrationID: "default", Mode: "two-way", InitialDone: true}})
		w.update = func(string, []any) (any, error) { return nil, sealed(worker, theirs, refusal) }
		f := &fakeTemporal{workflows: map[string]*fakeWorkflow{
			"deskcrm-sync-default": w,
			"deskcrm-sync-t2": {status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
				result: sealed(worker, theirs, temporal.NewNonRetryableApplicationError("invalid input: mode \"foo\"", "InvalidInput", nil))},
		}}
		useFakeTemporal(t, f)
		want := `codec: payload sealed with an unknown key "` + worker.KeyID() + `": set it as DESKCRM_PAYLOAD_KEY`
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"set-mode", "one-way-crm-to-desk"}, "mode not changed: " + want},
			{[]string{"status", "--integration", "t2"}, `the sync of integration "t2" is not running: it failed, with a message this starter cannot open: ` + want},
			{[]string{"pause", "--integration", "t2"}, `it failed, with a message this starter cannot open: ` + want},
		} {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), encodedFailure) {
				t.Errorf("%s: %v: err = %v\nwant %q", name, tc.args, err, tc.want)
			}
		}
	}
	if err := sealedFailure(sealed(worker, worker, refusal)); err != nil {
		t.Errorf("a failure the starter opened: %v", err)
	}
}

// Against a real Temporal server whose worker seals payloads with another key than the
// starter's: every command that talks to the sync names the key and DESKCRM_PAYLOAD_KEY —
// queries, start and signals (which are not sent: the worker could not open them, and a signal has no
// answer to say so), updates (set-mode used to print "Encoded failure (type: wrapError,
// retryable: true): Encoded failure …") and how a closed sync ended.
func TestWrongPayloadKeyIsExplained(t *testing.T) {
	workerKey, starterKey := newCodec(t), newCodec(t)
	tc, srv := temporaltest.StartWith(t, temporaltest.Options{ClientOptions: client.Options{
		DataConverter: codec.DataConverter(workerKey), FailureConverter: codec.FailureConverter(workerKey)}})
	w := worker.New(tc, config.TaskQueue, worker.Options{})
	workflows.Register(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	sc, err := client.Dial(client.Options{HostPort: srv.GRPC, Namespace: "default",
		DataConverter: codec.DataConverter(starterKey), FailureConverter: codec.FailureConverter(starterKey),
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	useClient(t, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The syncs are started by the worker's side (its key): one runs, one failed at once.
	if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID("default"), TaskQueue: config.TaskQueue},
		workflows.WorkflowName, workflows.SyncInput{IntegrationID: "default"}); err != nil {
		t.Fatal(err)
	}
	startFailedSync(ctx, t, tc, "t2")
	var before workflows.Status
	for {
		v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID("default"), "", workflows.QueryStatus)
		if err == nil && v.Get(&before) == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the sync does not answer its status query: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	want := `payload sealed with an unknown key "` + workerKey.KeyID() + `": set it as DESKCRM_PAYLOAD_KEY`
	for _, args := range [][]string{
		{"status"}, {"failures"}, {"retry"}, {"retry", "7"}, {"pause"}, {"resume"}, {"sync-now"},
		{"set-mode", "two-way"}, {"set-mode", "sync"}, {"status", "--integration", "t2"},
		{"start", "--integration", "t5", "--new"},
	} {
		var out bytes.Buffer
		err := run(ctx, args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), encodedFailure) {
			t.Errorf("%v: err = %v\nwant %q", args, err, want)
		}
	}
	// The update itself, as the server answers it: the worker could not open its argument.
	h, err := sc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID("default"), UpdateName: workflows.UpdateSetMode,
		Args: []any{workflows.SetModeRequest{Mode: "two-way"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err == nil || !strings.Contains(err.Error(), encodedFailure) {
		t.Fatalf("an update with the wrong key: err = %v, want the SDK's %q", err, encodedFailure)
	}
	if got := modeRefusal(err); !strings.Contains(got.Error(), want) {
		t.Errorf("set-mode's refusal: %v, want %q", got, want)
	}

	if _, err := tc.DescribeWorkflow(ctx, workflows.WorkflowID("t5"), ""); err == nil {
		t.Error("a sync was started with input the worker cannot open")
	}

	var after workflows.Status
	v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID("default"), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&after)
	}
	if err != nil || after.Paused || after.SyncRequested || after.RetryAll || after.Mode != before.Mode {
		t.Errorf("the sync after the refused commands: %+v %v; want nothing received", after, err)
	}
}
