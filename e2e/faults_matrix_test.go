package e2e

// The fault matrix of DESIGN.md section 6, as tests: each fault hits a first sync and then an
// incremental pass in the middle of a bulk update, and each run must end in exactly the two
// databases a clean run of the same data ends in — record by record, link by link, with no
// failure logged that the clean run did not log.

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"deskcrm/workflows"
)

// faultScenario is one row of the matrix.
type faultScenario struct {
	opts worldOptions
	// workers starts the world's worker (default: one in this process).
	workers func(w *world)
	// initial and bulk arm the faults of the first sync and of the bulk update.
	initial, bulk func(w *world)
	// verify asserts that the faults happened (a fault that never fired proves nothing).
	verify func(t *testing.T, w *world)
	// initialOnly stops after the first sync.
	initialOnly bool
}

// cleanResult is what the clean run of a size ends with, after each half.
type cleanResult struct {
	initial, bulk worldState
	failed        bool
}

var cleanRuns struct {
	mu   sync.Mutex
	done map[string]*cleanResult
}

// cleanRun runs the world of the given size without faults (once per test binary; later
// callers get the same result) and returns its states.
func cleanRun(t *testing.T, size worldSize) *cleanResult {
	t.Helper()
	cleanRuns.mu.Lock()
	defer cleanRuns.mu.Unlock()
	if r := cleanRuns.done[size.name]; r != nil {
		if r.failed {
			t.Fatalf("the clean %s run failed (see the test that ran it)", size.name)
		}
		return r
	}
	if cleanRuns.done == nil {
		cleanRuns.done = map[string]*cleanResult{}
	}
	r := &cleanResult{failed: true}
	cleanRuns.done[size.name] = r
	began := time.Now()
	w := newWorld(t, size, worldOptions{})
	w.startWorker()
	r.initial, r.bulk = w.runPhases(nil, nil, true)
	if t.Failed() {
		t.Fatalf("the clean %s run failed", size.name)
	}
	r.failed = false
	t.Logf("clean %s run: %d record lines, %d links, %d failures after the bulk update (%s)", size.name,
		len(r.bulk.Records), len(r.bulk.Links), len(r.bulk.Failures), time.Since(began).Round(time.Second))
	w.stopWorker()
	return r
}

// runPhases runs the first sync and then (withBulk) the bulk update, arming the faults of
// each half first, and returns the state after each (settled: fault actions over, two passes
// since).
func (w *world) runPhases(initial, bulk func(w *world), withBulk bool) (afterInitial, afterBulk worldState) {
	w.t.Helper()
	if initial != nil {
		initial(w)
	}
	w.startSync()
	w.waitInitial("e2e", w.size.timeout, func(workflows.Status) {
		if stuck, why := w.livelocked(); stuck {
			w.t.Fatalf("first sync: %s", why)
		}
	})
	w.settle()
	w.passes(w.t, 2)
	afterInitial = w.state()
	if !withBulk {
		return afterInitial, afterInitial
	}
	if bulk != nil {
		bulk(w)
	}
	p := w.bulkUpdate(w.newFaultUsers())
	if err := waitFor(w.size.timeout, func() (bool, string) {
		if stuck, why := w.livelocked(); stuck {
			w.t.Fatalf("bulk update: %s", why)
		}
		return w.arrived(p)
	}); err != nil {
		w.t.Errorf("the bulk update did not reach the other side: %v", err) // the comparison says more
	}
	w.settle()
	w.passes(w.t, 2)
	return afterInitial, w.state()
}

// runFaultScenario runs a scenario on a world of the given size and compares it with the
// clean run.
func runFaultScenario(t *testing.T, size worldSize, sc faultScenario) {
	want := cleanRun(t, size)
	began := time.Now()
	w := newWorld(t, size, sc.opts)
	if sc.workers != nil {
		sc.workers(w)
	} else {
		w.startWorker()
	}
	gotInitial, gotBulk := w.runPhases(sc.initial, sc.bulk, !sc.initialOnly)
	if compareStates(t, "after the first sync", gotInitial, want.initial) && !sc.initialOnly {
		compareStates(t, "after the bulk update", gotBulk, want.bulk)
	}
	for name, tp := range map[string]*tap{"CRM": w.crmTap, "Desk": w.deskTap} {
		if ok, missing := tp.firedAll(); !ok {
			t.Errorf("%s triggers that never fired (the test did not exercise them): %v", name, missing)
		}
	}
	if sc.verify != nil {
		sc.verify(t, w)
	}
	t.Logf("%s: %d record lines compared after each half (%s)", t.Name(), len(gotBulk.Records), time.Since(began).Round(time.Second))
}

// waitFor polls cond every half second until it holds, and returns an error with its last
// explanation if it does not within timeout.
func waitFor(timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		ok, w := cond()
		if ok {
			return nil
		}
		why = w
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("not within %s (%s)", timeout, why)
}

// TestFaultsControl runs the matrix's world with latency and no fault: it must end exactly
// as the clean run (it checks the comparison itself).
func TestFaultsControl(t *testing.T) {
	forEachSize(t, func(t *testing.T, size worldSize) {
		runFaultScenario(t, size, faultScenario{opts: worldOptions{latency: true}})
	})
}
