package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"deskcrm/config"
	"deskcrm/workflows"
)

// fakeTemporal is a Temporal client holding workflows in memory, for the commands' tests. It
// answers as the server does: "not found" for an unknown workflow, "unknown queryType" for a
// query to a closed one, "already started" for a second start. It records the workflows
// started and the signals sent. A method the commands do not call panics (the nil Client).
type fakeTemporal struct {
	client.Client
	mu        sync.Mutex
	workflows map[string]*fakeWorkflow // by workflow id
	// startFails, when set, is the failure a started workflow ends with at once.
	startFails error
	started    []string // ids of the workflows started
	signals    []fakeSignal
	updates    []string // names of the updates sent
	dials      int
}

// fakeWorkflow is one workflow: its status, the answers of its queries while it runs, and how
// it ended once closed.
type fakeWorkflow struct {
	status  enumspb.WorkflowExecutionStatus
	queries map[string]any
	pending []*workflowpb.PendingActivityInfo // its pending activities, as DescribeWorkflowExecution lists them
	result  error                             // a closed run's failure (nil: completed)
	reason  string                            // a terminated run's reason
	// update answers the updates of a running workflow: their result, or the error the
	// client's Get returns (a validator's refusal, as the SDK hands it over). nil: updates
	// are not faked.
	update func(name string, args []any) (any, error)
}

type fakeSignal struct {
	workflowID, name string
	arg              any
}

// useFakeTemporal makes the commands dial f for the rest of the test.
func useFakeTemporal(t *testing.T, f *fakeTemporal) {
	t.Helper()
	if f.workflows == nil {
		f.workflows = map[string]*fakeWorkflow{}
	}
	old := dial
	dial = func(context.Context) (client.Client, config.Starter, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dials++
		return f, config.Starter{}, nil
	}
	t.Cleanup(func() { dial = old })
}

func running(queries map[string]any) *fakeWorkflow {
	return &fakeWorkflow{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, queries: queries}
}

func (f *fakeTemporal) Close() {}

func (f *fakeTemporal) workflow(id string) (*fakeWorkflow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workflows[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return w, nil
}

func (f *fakeTemporal) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	w, err := f.workflow(id)
	if err != nil {
		return nil, err
	}
	return &client.WorkflowExecutionDescription{WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{
		WorkflowExecution: workflow.Execution{ID: id, RunID: "run-" + id}, Status: w.status},
		RawResponse: &workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: w.pending}}, nil
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if !strings.Contains(req.GetQuery(), "ExecutionStatus = 'Running'") || !strings.Contains(req.GetQuery(), workflows.WorkflowName) {
		return nil, fmt.Errorf("fake lists running %s workflows only, not %q", workflows.WorkflowName, req.GetQuery())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for id, w := range f.workflows {
		if w.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
				Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id}, Status: w.status})
		}
	}
	return resp, nil
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.workflows[opts.ID]; ok && w.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", "run-"+opts.ID)
	}
	w := running(nil)
	if f.startFails != nil {
		w = &fakeWorkflow{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, result: f.startFails}
	}
	f.workflows[opts.ID] = w
	f.started = append(f.started, opts.ID)
	return fakeRun{f: f, id: opts.ID}, nil
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, _ string) client.WorkflowRun {
	return fakeRun{f: f, id: id}
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, name string, _ ...any) (converter.EncodedValue, error) {
	w, err := f.workflow(id)
	if err != nil {
		return nil, err
	}
	answer, ok := w.queries[name]
	if w.status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || !ok {
		return nil, serviceerror.NewQueryFailed("unknown queryType " + name + ". KnownQueryTypes=[__stack_trace __open_sessions __temporal_workflow_metadata]")
	}
	return jsonValue{answer}, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	w, err := f.workflow(id)
	if err != nil {
		return err
	}
	if w.status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, fakeSignal{workflowID: id, name: name, arg: arg})
	return nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	w, err := f.workflow(opts.WorkflowID)
	if err != nil {
		return nil, err
	}
	if w.status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, serviceerror.NewNotFound("workflow execution already completed")
	}
	if w.update == nil {
		return nil, errors.New("fake: updates of this workflow are not faked")
	}
	f.mu.Lock()
	f.updates = append(f.updates, opts.UpdateName)
	f.mu.Unlock()
	v, err := w.update(opts.UpdateName, opts.Args)
	return fakeUpdate{v: v, err: err}, nil
}

// fakeUpdate is the handle of a completed update: Get returns its error, or its result through
// JSON as the data converter hands it over.
type fakeUpdate struct {
	client.WorkflowUpdateHandle
	v   any
	err error
}

func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	if u.err != nil {
		return u.err
	}
	return jsonValue{u.v}.Get(ptr)
}

func (f *fakeTemporal) GetWorkflowHistory(_ context.Context, id, _ string, _ bool, filter enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	it := &fakeEvents{}
	w, err := f.workflow(id)
	if err == nil && filter == enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT && w.status == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		it.events = append(it.events, &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{
				WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{Reason: w.reason}}})
	}
	return it
}

type fakeEvents struct{ events []*historypb.HistoryEvent }

func (it *fakeEvents) HasNext() bool { return len(it.events) > 0 }

func (it *fakeEvents) Next() (*historypb.HistoryEvent, error) {
	ev := it.events[0]
	it.events = it.events[1:]
	return ev, nil
}

// fakeRun is a workflow run of fakeTemporal: Get blocks while the workflow runs and returns
// how it ended, wrapped as the SDK wraps it.
type fakeRun struct {
	client.WorkflowRun
	f  *fakeTemporal
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

func (r fakeRun) Get(ctx context.Context, _ any) error {
	w, err := r.f.workflow(r.id)
	if err != nil {
		return err
	}
	if w.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		// A test that waits for a running workflow ends instead of hanging.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return serviceerror.NewDeadlineExceeded("fake: the workflow still runs")
		}
	}
	if w.result == nil {
		return nil
	}
	return fmt.Errorf("workflow execution error (type: %s, workflowID: %s, runID: run-%s): %w", workflows.WorkflowName, r.id, r.id, w.result)
}

// jsonValue is a query's answer, handed over through JSON as the data converter does.
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }

func (j jsonValue) Get(ptr any) error {
	if j.v == nil {
		return errors.New("no value")
	}
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}
