package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"deskcrm/workflows"
)

func TestStatusShowsTheRunningStepsAndTheEstimate(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	st := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseInitial, Mode: "two-way", Step: 3,
		Steps:        make([]string, 12),
		RunningSteps: []string{"create-in-crm-accounts", "create-in-desk-accounts", "index-desk-contacts"},
		CurrentStep:  "create-in-crm-accounts",
		Estimate: &workflows.Estimate{AsOf: now, Finish: now.Add(26 * time.Hour), CreditResets: 1,
			CRM:   &workflows.EstimateCredits{Needed: 55, PerDay: 40, Today: 20, Resets: 1},
			Desk:  &workflows.EstimateCredits{Needed: 130},
			Basis: "records from the indexes and the matches"},
	}
	var out bytes.Buffer
	printStatus(&out, st, nil, now)
	s := out.String()
	assert.Contains(t, s, "create-in-crm-accounts, create-in-desk-accounts, index-desk-contacts (3 of 12 done)")
	assert.Contains(t, s, "(in 26h0m0s), after 1 daily credit reset(s)")
	assert.Contains(t, s, "CRM 55 (40 a day, 20 today), Desk 130 (no daily limit known)")
	assert.Regexp(t, `estimate based on +records from the indexes and the matches`, s)
	assert.Equal(t, "create-in-crm-accounts +2", runningShort(st))

	st.Paused, st.Estimate = true, &workflows.Estimate{AsOf: now, Basis: "known once both sides of every module are indexed"}
	out.Reset()
	printStatus(&out, st, nil, now)
	assert.Contains(t, out.String(), "steps on resume")
	assert.Regexp(t, `first sync ends +not known yet`, out.String())
}

// A step Temporal keeps retrying shows in `status` (and `status --json`) with its error:
// the sync's own status cannot see it, and would say "idle". A step in its first attempt is
// not shown; one whose next attempt runs now (after its worker was killed) says so.
func TestStatusNamesTheStepsTemporalRetries(t *testing.T) {
	failure := temporal.GetDefaultFailureConverter().ErrorToFailure(
		temporal.NewApplicationError("crm: the CRM refused the token (INVALID_TOKEN)", "Auth"))
	next := time.Now().Add(40 * time.Second)
	f := &fakeTemporal{workflows: map[string]*fakeWorkflow{"deskcrm-sync-default": {
		status:  enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		queries: map[string]any{workflows.QueryStatus: workflows.Status{IntegrationID: "default", Phase: workflows.PhaseIdle}},
		pending: []*workflowpb.PendingActivityInfo{
			{ActivityType: &commonpb.ActivityType{Name: "IndexCRM"}, Attempt: 1, State: enumspb.PENDING_ACTIVITY_STATE_STARTED},
			{ActivityType: &commonpb.ActivityType{Name: "CreateInCRM"}, Attempt: 2, State: enumspb.PENDING_ACTIVITY_STATE_STARTED,
				LastFailure: temporal.GetDefaultFailureConverter().ErrorToFailure(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil))},
			{ActivityType: &commonpb.ActivityType{Name: "IncrementalPass"}, Attempt: 6, LastFailure: failure,
				NextAttemptScheduleTime: timestamppb.New(next)},
		}}}}
	useFakeTemporal(t, f)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"status"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	assert.Regexp(t, `retrying +IncrementalPass failed 5 times, next attempt in (39|40)s: crm: the CRM refused the token \(INVALID_TOKEN\)`, out.String())
	assert.Regexp(t, `retrying +CreateInCRM failed 1 time, attempt 2 running: the attempt timed out \(Heartbeat timeout`, out.String())
	assert.NotContains(t, out.String(), "IndexCRM")

	out.Reset()
	if err := run(context.Background(), []string{"status", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var got statusJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, "idle", got.Phase)
	if assert.Len(t, got.Retrying, 2) {
		assert.Equal(t, int32(6), got.Retrying[0].Attempt)
		assert.Equal(t, "crm: the CRM refused the token (INVALID_TOKEN)", got.Retrying[0].LastFailure)
		assert.False(t, got.Retrying[0].Running)
		assert.True(t, got.Retrying[1].Running)
	}
}
