package main

// What the starter asks Temporal about the sync workflows before it acts on one: whether it
// runs, how it ended, and which integrations run.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"deskcrm/workflows"
)

// requireRunning returns nil when the integration's sync workflow runs, and otherwise an
// error saying that it does not and why: never started, or how its last run ended (failed with
// its message, terminated with its reason, ...). A closed workflow answers queries with
// "unknown queryType" when it failed before setting its handlers up, and signals with "not
// found", neither of which says what happened.
func requireRunning(ctx context.Context, tc client.Client, integration string) error {
	_, err := describeRunning(ctx, tc, integration)
	return err
}

// describeRunning is requireRunning that also returns the running workflow's description
// (its pending activities: tclient.RetryingIn).
func describeRunning(ctx context.Context, tc client.Client, integration string) (*client.WorkflowExecutionDescription, error) {
	id := workflows.WorkflowID(integration)
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, neverStarted(ctx, tc, integration)
	}
	if err != nil {
		return nil, fmt.Errorf("ask Temporal about the sync of integration %q (workflow %s): %w", integration, id, err)
	}
	if desc.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return desc, nil
	}
	how := closedHow(ctx, tc, id, desc.WorkflowExecution.RunID, desc.Status)
	return nil, endedError(fmt.Sprintf("the sync of integration %q is not running", integration), integration, how)
}

// neverStarted is the error for an integration whose sync workflow Temporal does not know,
// naming the integrations that run (the id may be mistyped).
func neverStarted(ctx context.Context, tc client.Client, integration string) error {
	running, err := runningIntegrations(ctx, tc)
	if err == nil && len(running) > 0 {
		return fmt.Errorf("integration %q has no sync workflow (%s); the integrations with a running sync are %s: pass one with --integration",
			integration, workflows.WorkflowID(integration), quoted(running))
	}
	return fmt.Errorf("integration %q has no sync workflow (%s); start one with `starter start --integration %s`",
		integration, workflows.WorkflowID(integration), integration)
}

// endedError says that an integration's sync ended (what), how, and how to start it again.
func endedError(what, integration, how string) error {
	next := fmt.Sprintf("`starter start --integration %s` starts it again", integration)
	if strings.HasPrefix(how, "failed") {
		next = "fix what it names, then " + next
	}
	return fmt.Errorf("%s: it %s; %s", what, how, next)
}

// closedHow says how a closed run ended, as "failed: <message>", "was terminated (<reason>)",
// "completed" and the like. The failure's message comes through the client, which decodes it.
func closedHow(ctx context.Context, tc client.Client, id, runID string, status enumspb.WorkflowExecutionStatus) string {
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		if reason := terminateReason(ctx, tc, id, runID); reason != "" {
			return "was terminated (" + reason + ")"
		}
		return "was terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		if how, ok := howEnded(tc.GetWorkflow(ctx, id, runID).Get(ctx, nil)); ok {
			return how
		}
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(status.String(), "WORKFLOW_EXECUTION_STATUS_"), "_", " "))
}

// howEnded reads a workflow run's result as how the run ended ("completed", "failed: ...",
// "was terminated"), from the first of Temporal's errors in it (the SDK wraps them in a
// WorkflowExecutionError); ok is false when err is no run's result but a failure to get it.
func howEnded(err error) (how string, ok bool) {
	if err == nil {
		return "completed", true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case *temporal.TerminatedError:
			return "was terminated", true
		case *temporal.CanceledError:
			return "was canceled", true
		case *temporal.TimeoutError:
			return "timed out", true
		case *temporal.ApplicationError, *temporal.ActivityError, *temporal.PanicError:
			if sealed := sealedFailure(e); sealed != nil {
				return "failed, with a message this starter cannot open: " + sealed.Error(), true
			}
			return "failed: " + failureText(e), true
		}
	}
	return "", false
}

// failureText is a failure's message without the SDK's decorations (error types, event ids,
// identities): "activity Preflight: connect to CRM: ...".
func failureText(err error) string {
	switch e := err.(type) {
	case *temporal.ActivityError:
		return "activity " + e.ActivityType().GetName() + ": " + failureText(e.Unwrap())
	case *temporal.ApplicationError:
		if cause := e.Unwrap(); cause != nil {
			return e.Message() + ": " + failureText(cause)
		}
		return e.Message()
	case nil:
		return "no message"
	}
	return err.Error()
}

// terminateReason is the reason given when a run was terminated (the worker's delete gives
// "integration deleted"), or "" when it cannot be read.
func terminateReason(ctx context.Context, tc client.Client, id, runID string) string {
	it := tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return ""
		}
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return a.GetReason()
		}
	}
	return ""
}

// runningIntegrations lists the integrations whose sync workflow runs, by id, from Temporal's
// visibility (which may miss a sync started a second ago).
func runningIntegrations(ctx context.Context, tc client.Client) ([]string, error) {
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.WorkflowName),
	}
	var ids []string
	for {
		resp, err := tc.ListWorkflow(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("list the running syncs: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), workflows.WorkflowID("")); ok {
				ids = append(ids, id)
			}
		}
		if len(resp.GetNextPageToken()) == 0 {
			break
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// refuseNewIntegration refuses to start an integration that never ran while others run: a
// mistyped --integration would start a full first sync against the Zoho orgs the others
// already sync, creating every record again on both sides. The first integration, and one
// that ran before (its workflow is known, whatever its state), start freely.
func refuseNewIntegration(ctx context.Context, tc client.Client, integration string) error {
	_, err := tc.DescribeWorkflow(ctx, workflows.WorkflowID(integration), "")
	var nf *serviceerror.NotFound
	if err == nil {
		return nil
	}
	if !errors.As(err, &nf) {
		return fmt.Errorf("ask Temporal whether integration %q ran before: %w", integration, err)
	}
	running, err := runningIntegrations(ctx, tc)
	if err != nil {
		return fmt.Errorf("check that integration %q is not a mistyped id of one that runs: %w; pass --new if it is a new integration", integration, err)
	}
	running = slices.DeleteFunc(running, func(id string) bool { return id == integration })
	if len(running) == 0 {
		return nil
	}
	return fmt.Errorf("integration %q does not exist yet; integration(s) %s already sync this worker's Zoho orgs, and two integrations on the same orgs create duplicates; check --integration for a typo, or pass --new to start another one anyway",
		integration, quoted(running))
}
