package e2e

// Engine defects the fault matrix found, each kept as a regression test of its fix.

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

// TestWorkerKilledAfterCreatesKeepsCounterpartIDs kills the worker (SIGKILL) at its first
// write of Desk ids into CRM contacts, the counterpart ids of the contacts the first sync just
// created in Desk. Found by the fault matrix: the links were completed before the ids were
// written, and nothing wrote them again. Now a settled create leaves its counterpart id due
// (store counterpart_due) until it is written, and the retried step writes what is due
// (writer.loadDue), so every pair carries both ids as in the clean run.
func TestWorkerKilledAfterCreatesKeepsCounterpartIDs(t *testing.T) {
	t.Parallel()
	runFaultScenario(t, smallWorld, faultScenario{
		opts:        worldOptions{latency: true},
		workers:     func(w *world) { w.startChild() },
		initial:     func(w *world) { w.crmTap.dropAt("PUT", crmContacts, 1, w.killChild) },
		initialOnly: true,
	})
}

// TestTransientWriteErrorKeepsCounterpartIDs answers one write — the 50th PATCH of a Desk
// contact, while the first sync gives the Desk sources of the contacts it created in CRM their
// cf_crm_id — with a 503: the defect of TestWorkerKilledAfterCreatesKeepsCounterpartIDs
// without any kill. The ids still due are written by the retried step.
func TestTransientWriteErrorKeepsCounterpartIDs(t *testing.T) {
	t.Parallel()
	runFaultScenario(t, smallWorld, faultScenario{
		opts:        worldOptions{latency: true},
		initial:     func(w *world) { w.deskTap.failEvery("PATCH", deskContact, 50, 1, http.StatusServiceUnavailable) },
		initialOnly: true,
	})
}

// TestTransientWriteErrorsDoNotRestartReconcile answers every 20th PATCH the first sync sends
// a Desk contact with a 503. Found by the fault matrix: ReconcilePairs stored no pair's base
// until every write of its batch had succeeded, so each retried attempt wrote the whole batch
// again and met the next 503 (with 5% of calls failing, a batch of hundreds never ends). Now
// updates by id are idempotent and retried in the client (zoho.Request.Idempotent), and an
// attempt that fails settles the pairs it wrote: each contact reaches Desk at most twice.
func TestTransientWriteErrorsDoNotRestartReconcile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, smallWorld, worldOptions{latency: true})
	w.deskTap.failEvery("PATCH", deskContact, 20, 0, http.StatusServiceUnavailable)
	w.startWorker()
	w.startSync()
	w.waitInitial("e2e", 2*time.Minute, func(st workflows.Status) {
		// A call the tap failed is retried in place (and that retry may be failed too): the
		// calls that reached Desk are what a whole-batch rewrite would multiply.
		for call, n := range w.deskTap.passedPerPath() {
			if strings.HasPrefix(call, "PATCH ") && n > 2 {
				t.Fatalf("the first sync wrote %s %d times (step %s): each attempt of the step writes the whole batch again", call, n, st.CurrentStep)
			}
		}
	})
}

// TestRecoveringCreatesWithinHeartbeatTimeout kills the worker (SIGKILL) at its 100th create
// of a Desk contact, with Desk's search answering in 150 ms. The retried CreateInDesk first
// settles the creates the dead worker left pending, which takes longer than the 10 s heartbeat
// timeout; activities.KeepAlive heartbeats it meanwhile, so Temporal does not time the live
// attempt out and start another beside it: the step ends on its second attempt.
func TestRecoveringCreatesWithinHeartbeatTimeout(t *testing.T) {
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

// TestPauseDuringCreatesKeepsEveryRecordOnce pauses the sync while the first sync creates
// contacts in Desk (each create answered in a second, so the step is surely running when the
// cancellation reaches it), waits until the step has stopped, and resumes. The cancelled
// attempt's counterpart ids stay due (TestWorkerKilledAfterCreatesKeepsCounterpartIDs), and
// the creates it sent that land after it ended — the tap passes a held request on after the
// client gave up on it, as a busy server does — are found by the recovery, which waits
// activities.landingWindow before creating anything again: no record is created twice.
func TestPauseDuringCreatesKeepsEveryRecordOnce(t *testing.T) {
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

// TestResumeWhileStepCancelsKeepsTheSync pauses the sync while the first sync creates
// contacts in Desk (each create answered in a second) and resumes it as soon as the status
// query says it is paused — at once, while the running step is still being cancelled. Found
// by the fault matrix: the step judged its cancellation after the activity ended, when the
// sync was no longer paused, took it for a failure and ended the workflow as Canceled. The
// workflow must stay running and finish the first sync.
func TestResumeWhileStepCancelsKeepsTheSync(t *testing.T) {
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
