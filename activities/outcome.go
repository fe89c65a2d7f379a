package activities

import (
	"context"
	"sync"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho"
)

// outcome collects what a step or pass did, safely across goroutines.
type outcome struct {
	mu       sync.Mutex
	res      StepResult
	failures []store.Failure
	// What an incremental pass reports besides StepResult.
	echoes, skipped, matched int
}

// count adds n to one of the result's counters.
func (o *outcome) count(n *int, by int) {
	o.mu.Lock()
	*n += by
	o.mu.Unlock()
}

// fail records a failure of a record.
func (o *outcome) fail(f store.Failure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if f.Direction == DeskToCRM {
		o.res.FailedToCRM++
	} else {
		o.res.FailedToDesk++
	}
	o.failures = append(o.failures, f)
}

// failPlanned records the failures a plan decided.
func (o *outcome) failPlanned(module string, fs []reconcile.Failure) {
	for _, f := range fs {
		o.fail(store.Failure{Module: module, Direction: directionTo(f.To), DeskID: f.DeskID, CRMID: f.CRMID, Code: f.Code, Message: f.Message})
	}
}

// flush records the failures in the log and puts the newest few in the result.
func (a *Activities) flush(ctx context.Context, integrationID string, o *outcome) (StepResult, error) {
	recorded, err := a.Store.RecordFailures(ctx, integrationID, o.failures)
	if err != nil {
		return o.res, err
	}
	if len(recorded) > MaxReportedFailures {
		recorded = recorded[:MaxReportedFailures]
	}
	o.res.Failures = recorded
	return o.res, nil
}

// directionTo names the direction of a write to side s.
func directionTo(s mapping.Side) string {
	if s == mapping.CRM {
		return DeskToCRM
	}
	return CRMToDesk
}

// failureOf turns a per-record Zoho error into a failure-log entry.
func failureOf(module, direction, deskID, crmID string, err error) store.Failure {
	return store.Failure{Module: module, Direction: direction, DeskID: deskID, CRMID: crmID,
		Code: zoho.FailureCode(err), Message: err.Error()}
}
