package activities

import (
	"context"
	"sync"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// outcome collects what a step or pass did, safely across goroutines. The counts of what was
// written are kept in Postgres under key, in the transactions that commit the writes (see
// store.Count), so that they survive a killed attempt: a retried attempt adds to them, and the
// result reports the activity's total (flush).
type outcome struct {
	key      string
	mu       sync.Mutex
	res      StepResult
	failures []store.Failure
	// What an incremental pass reports besides StepResult (decisions, not writes).
	echoes, skipped, matched, conflicts int
}

// Names of the committed counters.
const (
	countLinked      = "linked"
	countCreatedCRM  = "created-crm"
	countCreatedDesk = "created-desk"
	countUpdatedCRM  = "updated-crm"
	countUpdatedDesk = "updated-desk"
)

// newOutcome returns the outcome of the activity running in ctx: its counts are kept under the
// activity's workflow run and activity id, the same for every attempt. Outside an activity
// (tests call activities directly) every call counts apart.
func newOutcome(ctx context.Context) *outcome {
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		return &outcome{key: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID}
	}
	return &outcome{key: "call/" + uuid.NewString()}
}

// counted returns a count of n under name for this outcome's activity.
func (o *outcome) counted(name string, n int) store.Count {
	return store.Count{Key: o.key, Name: name, N: n}
}

// count adds n to one of the result's counters.
func (o *outcome) count(n *int, by int) {
	o.mu.Lock()
	*n += by
	o.mu.Unlock()
}

// fail records a failure of a record (logged and counted by flush).
func (o *outcome) fail(f store.Failure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures = append(o.failures, f)
}

// failPlanned records the failures a plan decided.
func (o *outcome) failPlanned(module string, fs []reconcile.Failure) {
	for _, f := range fs {
		o.fail(store.Failure{Module: module, Direction: directionTo(f.To), DeskID: f.DeskID, CRMID: f.CRMID, Code: f.Code, Message: f.Message})
	}
}

// flush records the failures in the log, puts the newest few in the result, and fills the
// result's counts with what the activity committed, over all its attempts.
func (a *Activities) flush(ctx context.Context, integrationID string, o *outcome) (StepResult, error) {
	recorded, err := a.Store.RecordFailures(ctx, integrationID, o.key, o.failures)
	if err != nil {
		return o.res, err
	}
	o.failures = nil
	if len(recorded) > MaxReportedFailures {
		recorded = recorded[:MaxReportedFailures]
	}
	o.res.Failures = recorded
	counts, err := a.Store.Counts(ctx, o.key)
	if err != nil {
		return o.res, err
	}
	if err := a.Store.PruneCounts(ctx); err != nil {
		return o.res, err
	}
	o.res.Linked = counts[countLinked]
	o.res.CreatedInCRM, o.res.CreatedInDesk = counts[countCreatedCRM], counts[countCreatedDesk]
	o.res.UpdatedInCRM, o.res.UpdatedInDesk = counts[countUpdatedCRM], counts[countUpdatedDesk]
	o.res.FailedToCRM, o.res.FailedToDesk = counts[store.FailedCount(DeskToCRM)], counts[store.FailedCount(CRMToDesk)]
	a.creditsLeft(&o.res)
	return o.res, nil
}

// directionTo names the direction of a write to side s.
func directionTo(s mapping.Side) string {
	if s == mapping.CRM {
		return DeskToCRM
	}
	return CRMToDesk
}
