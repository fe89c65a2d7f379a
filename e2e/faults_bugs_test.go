package e2e

// Engine defects the fault matrix found, each pinned by a test that fails until it is fixed
// (see the lead's notes for where the fix belongs).

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"deskcrm/workflows"
)

// TestWorkerKilledAfterCreatesLosesCounterpartIDs kills the worker (SIGKILL) at its first
// write of Desk ids into CRM contacts, the counterpart ids of the contacts the first sync just
// created in Desk. The creates are settled (their links complete) 100 at a time as they
// finish, but the counterpart ids are written only after every create of the batch, and
// nothing writes them again: the retried step finds no pending link and no unlinked record.
// The CRM contacts whose Desk ids were not written keep none (DESIGN 5: every linked pair
// carries its counterpart's id on both sides). Same window: CreateInCRM (links completed per
// insert, cf_crm_id written at the end) and the creates of incremental passes.
func TestWorkerKilledAfterCreatesLosesCounterpartIDs(t *testing.T) {
	t.Parallel()
	runFaultScenario(t, smallWorld, faultScenario{
		opts:        worldOptions{latency: true},
		workers:     func(w *world) { w.startChild() },
		initial:     func(w *world) { w.crmTap.dropAt("PUT", crmContacts, 1, w.killChild) },
		initialOnly: true,
	})
}

// TestTransientWriteErrorLosesCounterpartIDs answers one write — the 50th PATCH of a Desk
// contact, while the first sync gives the Desk sources of the contacts it created in CRM their
// cf_crm_id — with a 503. The step fails and is retried, but the retry has nothing left to do:
// the links were completed before the counterpart ids were written, so the Desk contacts after
// the failed call never get their cf_crm_id (the defect of
// TestWorkerKilledAfterCreatesLosesCounterpartIDs, without any kill).
func TestTransientWriteErrorLosesCounterpartIDs(t *testing.T) {
	t.Parallel()
	runFaultScenario(t, smallWorld, faultScenario{
		opts:        worldOptions{latency: true},
		initial:     func(w *world) { w.deskTap.failEvery("PATCH", deskContact, 50, 1, http.StatusServiceUnavailable) },
		initialOnly: true,
	})
}

// TestTransientWriteErrorRestartsReconcileFromScratch answers every 20th PATCH the first
// sync sends a Desk contact with a 503. ReconcilePairs plans a batch of up to 1,000 pairs from
// the index and stores no pair's base until every write of the batch has succeeded, so the
// attempt that meets the 503 leaves nothing done, and the retried attempt plans the same
// batch from the same (now stale) index and writes every pair again — meeting the next 503 in
// turn. With a steady rate of transient errors (5% of calls: TestFaultsAPIChaos) a batch of n
// writes succeeds with probability 0.95^n, ~0 for n in the hundreds, so the first sync never
// ends. Fixed (transient errors retried in place, or the written pairs settled), each contact
// is written at most twice.
func TestTransientWriteErrorRestartsReconcileFromScratch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, smallWorld, worldOptions{latency: true})
	w.deskTap.failEvery("PATCH", deskContact, 20, 0, http.StatusServiceUnavailable)
	w.startWorker()
	w.startSync()
	w.waitInitial("e2e", 2*time.Minute, func(st workflows.Status) {
		for call, n := range w.deskTap.callsPerPath() {
			if strings.HasPrefix(call, "PATCH ") && n > 2 {
				t.Fatalf("the first sync sent %s %d times (step %s): each attempt of the step writes the whole batch again", call, n, st.CurrentStep)
			}
		}
	})
}

// TestRecoveringCreatesOutlastsHeartbeatTimeout kills the worker (SIGKILL) at its 100th create
// of a Desk contact, with Desk's search answering in 150 ms. The retried CreateInDesk first
// settles the ~100 creates the dead worker left pending: one Desk search per pending record,
// one after another, with no heartbeat between them (activities/write_recover.go
// recoverCreates, writer_desk.go findCreatedInDesk) — ~17 s here, longer than the 10 s
// heartbeat timeout (at Zoho's real latency, 100 searches take 20-50 s). So Temporal times the
// live attempt out and starts another beside it, which recovers the same records while the
// first goes on. Fixed (a heartbeat per search), the step ends on its second attempt.
func TestRecoveringCreatesOutlastsHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t, smallWorld, worldOptions{latency: true})
	w.deskTap.slowDown("GET", deskContactsScan, 150*time.Millisecond)
	w.deskTap.dropAt("POST", deskContacts, 100, w.killChild)
	w.startChild()
	w.startSync()
	w.waitInitial("e2e", 3*time.Minute, func(workflows.Status) {
		if a := w.pendingActivity("CreateInDesk"); a != nil && a.GetAttempt() >= 3 {
			t.Fatalf("CreateInDesk is on attempt %d after one kill; the last attempt failed with: %s",
				a.GetAttempt(), a.GetLastFailure().GetMessage())
		}
	})
	w.settle()
}

// TestPauseDuringCreatesLosesCounterpartIDs pauses the sync while the first sync creates
// contacts in Desk (each create answered in a second, so the step is surely running when the
// cancellation reaches it), waits until the step has stopped, and resumes. The cancelled
// attempt settles the creates that finished, then fails to write their CRM sources' Desk ids
// (its context is cancelled), and the step run again on resume has nothing left to do: the
// defect of TestWorkerKilledAfterCreatesLosesCounterpartIDs, reached by an admin's pause.
func TestPauseDuringCreatesLosesCounterpartIDs(t *testing.T) {
	t.Parallel()
	runFaultScenario(t, smallWorld, faultScenario{
		opts: worldOptions{latency: true},
		initial: func(w *world) {
			w.deskTap.slowDown("POST", deskContacts, time.Second)
			w.deskTap.at("POST", deskContacts, 30, func() {
				w.background("pause the sync, resume it once its step stopped", func() { w.pauseAndResume(true) })
			})
		},
		initialOnly: true,
	})
}

// TestResumeWhileStepCancelsEndsTheSync pauses the sync while the first sync creates contacts
// in Desk (each create answered in a second) and resumes it as soon as the status query says
// it is paused and waits for the resume signal — which it says at once, while the running
// step is still being cancelled. When the cancelled activity then ends, the sync is no longer
// paused, so workflows/steps.go endOfStep (`paused && errors.As(err, &canceled)`, judged
// after the activity ended) does not take the cancellation for the pause's: the step "fails"
// with a CanceledError and the whole workflow ends as Canceled. The sync is gone until someone
// starts it again. Incremental passes (runIncremental, same executePausable) alike.
func TestResumeWhileStepCancelsEndsTheSync(t *testing.T) {
	t.Parallel()
	w := newWorld(t, smallWorld, worldOptions{latency: true})
	w.deskTap.slowDown("POST", deskContacts, time.Second)
	w.deskTap.at("POST", deskContacts, 30, func() {
		w.background("pause the sync, resume it once the status says paused", func() { w.pauseAndResume(false) })
	})
	w.startWorker()
	w.startSync()
	w.waitInitial("e2e", 2*time.Minute, func(workflows.Status) {
		d, err := w.tc.DescribeWorkflow(context.Background(), workflows.WorkflowID("e2e"), "")
		if err == nil && d.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("the sync workflow ended (%v) after a pause and a resume during its first sync",
				d.RawResponse.GetWorkflowExecutionInfo().GetStatus())
		}
	})
	w.settle()
}

// pauseAndResume signals pause, waits until the status says the sync is paused (and, with
// stopped, until its running step has ended), and signals resume. Failures are reported with
// t.Errorf (it runs in a background goroutine).
func (w *world) pauseAndResume(stopped bool) {
	ctx := context.Background()
	if err := w.tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalPause, nil); err != nil {
		w.t.Errorf("pause: %v", err)
		return
	}
	if err := waitFor(time.Minute, func() (bool, string) {
		st, err := w.status("e2e")
		paused := err == nil && st.Paused && st.WaitingFor == "resume signal"
		if stopped && len(w.pendingActivities()) > 0 {
			return false, "a step still runs"
		}
		return paused, fmt.Sprintf("%+v %v", st.WaitingFor, err)
	}); err != nil {
		w.t.Errorf("the sync did not pause: %v", err)
	}
	if err := w.tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalResume, nil); err != nil {
		w.t.Errorf("resume: %v", err)
	}
}
