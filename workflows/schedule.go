package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// The overlapping schedule of the first sync (overlapVersion). Each API's reads and writes
// keep its own pipe full and never wait for the other API's:
//
//	[index-desk ∥ index-crm](accounts) → match(accounts)
//	→ [create-in-crm ∥ create-in-desk ∥ reconcile](accounts) ∥ [index-desk ∥ index-crm](contacts) → match(contacts)
//	→ [create-in-crm ∥ create-in-desk ∥ reconcile](contacts), once accounts' writes are all done.
//
// Contacts are indexed while the accounts are written: the index keeps a Desk account
// reference that has no link yet as Desk's id, and the contacts' steps translate it through
// the links made since (index_records.raw_refs, activities.resolveRefs). The contacts' match
// links contacts by email and reads no account, so it runs as soon as their indexes are done,
// beside the accounts' writes. The contacts' writes carry account references, so they wait
// for every write of the accounts.

// waitsFor reports whether step x of the overlapping schedule starts only once step y is done.
func waitsFor(x, y step) bool {
	xm, ym := slices.Index(modules, x.module), slices.Index(modules, y.module)
	switch {
	case xm == ym:
		switch x.kind {
		case stepMatch:
			return y.indexes()
		case stepCreateInCRM, stepCreateInDesk, stepReconcile:
			return y.kind == stepMatch
		}
	case xm > ym: // an earlier module: contacts after accounts
		if x.indexes() {
			return y.kind == stepMatch
		}
		if x.writes() {
			return y.writes()
		}
	}
	return false
}

// writes reports whether the step writes to Zoho (the creates and the reconcile of pairs).
func (x step) writes() bool {
	return x.kind == stepCreateInCRM || x.kind == stepCreateInDesk || x.kind == stepReconcile
}

// prerequisites lists, for each step, the indexes of the steps it waits for: in the
// overlapping schedule as waitsFor says, else (runs before overlapVersion) the step before it.
func prerequisites(steps []step, overlap bool) [][]int {
	out := make([][]int, len(steps))
	for i, x := range steps {
		for j, y := range steps {
			if (overlap && waitsFor(x, y)) || (!overlap && j == i-1) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}

// errContinueAsNew ends the overlapping first sync for a continue-as-new: the steps in flight
// finished, and no other was started, so that none loses its progress.
var errContinueAsNew = errors.New("the first sync continues in a new run")

// flight is one step whose activity runs.
type flight struct {
	x      step
	fut    workflow.Future
	cancel workflow.CancelFunc
	since  time.Time
	// stopped: a pause or a credits wait asked for its cancellation.
	stopped bool
}

// runOverlapping runs the steps not yet done, each as soon as the steps it waits for are done,
// several at once. The first sync's run (first) records each step done in the state with
// what it measured, and stops starting steps when the run should continue as new
// (errContinueAsNew once the steps in flight have ended). Pause, retry and credits keep their
// meaning per step:
//
//   - a pause cancels every step in flight; on resume they all run again (each is idempotent
//     and resumes from what Postgres holds);
//   - a retry signal is applied (MarkRetry) before the next steps start;
//   - exhausted daily credits on one step pause the sync: the steps in flight are cancelled,
//     and run again with the others when the wait is over;
//   - a step that fails otherwise fails the sync, once the steps still in flight have been
//     cancelled.
func (s *syncImpl) runOverlapping(ctx workflow.Context, steps []step, done map[string]bool, mode string, first bool) error {
	prereq := prerequisites(steps, true)
	var flying []*flight
	draining := false
	defer s.showRunning(nil)
	for {
		if len(flying) == 0 {
			if countDone(steps, done) == len(steps) {
				return nil
			}
			if !s.creditsUntil.IsZero() {
				s.waitForCredits(ctx)
			}
			if draining {
				return errContinueAsNew
			}
			if err := s.awaitUnpaused(ctx); err != nil {
				return err
			}
		}
		if !s.st.Paused && !draining {
			if ready := readySteps(steps, prereq, done, flying); len(ready) > 0 {
				if err := s.applyRetries(ctx); err != nil {
					s.abandon(ctx, flying)
					return err
				}
				for _, x := range ready {
					flying = append(flying, s.startStep(ctx, x, mode))
				}
			}
		}
		s.showRunning(flying)
		err := workflow.Await(ctx, func() bool { return anyEnded(flying) || (s.st.Paused && anyUnstopped(flying)) })
		if err != nil {
			s.abandon(ctx, flying)
			return err
		}
		if s.st.Paused && anyUnstopped(flying) {
			workflow.GetLogger(ctx).Info("paused: cancelling the running steps", "integration", s.st.IntegrationID, "steps", names(flying))
			for _, f := range flying {
				f.cancel()
				f.stopped = true
			}
		}
		var failed error
		rest := flying[:0]
		for _, f := range flying {
			if !f.fut.IsReady() {
				rest = append(rest, f)
				continue
			}
			if err := s.endStep(ctx, f, done, first); err != nil && failed == nil {
				failed = err
			}
		}
		flying = rest
		s.showRunning(flying)
		if failed != nil {
			s.abandon(ctx, flying)
			return failed
		}
		if first && !draining && s.shouldContinueAsNew(ctx) {
			workflow.GetLogger(ctx).Info("first sync: no new step before continuing as new", "integration", s.st.IntegrationID)
			draining = true
		}
	}
}

// startStep starts one step's activity.
func (s *syncImpl) startStep(ctx workflow.Context, x step, mode string) *flight {
	in := activities.StepInput{IntegrationID: s.st.IntegrationID, Module: x.module, Mode: activityMode(mode),
		Lookback: time.Duration(s.in.LookbackDays) * 24 * time.Hour, Now: s.st.InitialStart}
	actCtx, cancel := workflow.WithCancel(ctx)
	fut := workflow.ExecuteActivity(s.activityCtx(actCtx, 0), x.activity, in)
	return &flight{x: x, fut: fut, cancel: cancel, since: workflow.Now(ctx)}
}

// endStep takes in a step whose activity ended: a success is absorbed (and, in the first
// sync's run, recorded as done); a cancellation by a pause leaves the step to run again; exhausted
// credits begin a credits wait, unless the admin's pause holds the sync anyway (the step then
// runs on resume); any other error is returned.
func (s *syncImpl) endStep(ctx workflow.Context, f *flight, done map[string]bool, first bool) error {
	var res activities.StepResult
	err := f.fut.Get(ctx, &res)
	f.cancel()
	if first {
		s.measure(f.x, workflow.Now(ctx).Sub(f.since), res, err == nil)
	}
	end, wait := endOfStep(err, s.st.Paused || f.stopped, s.stored, s.pausedRetry)
	switch end {
	case stepDone:
		done[f.x.name()] = true
		if first {
			s.st.Done = append(s.st.Done, f.x.name())
			s.st.Step = len(s.st.Done)
		}
		s.absorb(ctx, f.x, res)
	case stepRunsAgain:
	case stepWaitsForCredits:
		if s.st.Paused && s.creditsUntil.IsZero() {
			workflow.GetLogger(ctx).Info("credits exhausted while paused: the step runs again on resume",
				"integration", s.st.IntegrationID, "step", f.x.name())
			break
		}
		s.beginCreditsPause(ctx, wait, creditsAPI(err))
	default:
		return fmt.Errorf("%s: %w", f.x.name(), err)
	}
	return nil
}

// abandon cancels the steps in flight and waits for their activities to end (a cancellation
// of the workflow cancels them anyway), so that none writes after the sync stopped.
func (s *syncImpl) abandon(ctx workflow.Context, flying []*flight) {
	for _, f := range flying {
		f.cancel()
	}
	for _, f := range flying {
		_ = f.fut.Get(ctx, nil) // the sync ends with the error that made it abandon them
	}
}

// readySteps lists, in the steps' order, those not done and not in flight whose prerequisites
// are done.
func readySteps(steps []step, prereq [][]int, done map[string]bool, flying []*flight) []step {
	var out []step
	for i, x := range steps {
		if done[x.name()] || slices.ContainsFunc(flying, func(f *flight) bool { return f.x.name() == x.name() }) {
			continue
		}
		if !slices.ContainsFunc(prereq[i], func(j int) bool { return !done[steps[j].name()] }) {
			out = append(out, x)
		}
	}
	return out
}

func countDone(steps []step, done map[string]bool) int {
	n := 0
	for _, x := range steps {
		if done[x.name()] {
			n++
		}
	}
	return n
}

func anyEnded(flying []*flight) bool {
	return slices.ContainsFunc(flying, func(f *flight) bool { return f.fut.IsReady() })
}

func anyUnstopped(flying []*flight) bool {
	return slices.ContainsFunc(flying, func(f *flight) bool { return !f.stopped })
}

func names(flying []*flight) []string {
	out := make([]string, len(flying))
	for i, f := range flying {
		out[i] = f.x.name()
	}
	return out
}

// showRunning keeps the steps in flight for the status: their names and since when they run.
func (s *syncImpl) showRunning(flying []*flight) {
	s.running = s.running[:0]
	for _, f := range flying {
		s.running = append(s.running, runningStep{name: f.x.name(), since: f.since})
	}
	s.st.WaitingFor = strings.Join(names(flying), ", ")
}

// runningStep is a step in flight, as the status shows it.
type runningStep struct {
	name  string
	since time.Time
}

// firstSyncDone returns the first sync's steps done: those the state names, or, for a state
// an older run carried (Step counted the steps done in order), the first Step steps.
func (s *syncImpl) firstSyncDone() map[string]bool {
	if len(s.st.Done) == 0 && s.st.Step > 0 {
		for _, x := range s.steps[:min(s.st.Step, len(s.steps))] {
			s.st.Done = append(s.st.Done, x.name())
		}
	}
	done := make(map[string]bool, len(s.st.Done))
	for _, n := range s.st.Done {
		done[n] = true
	}
	s.st.Step = len(s.st.Done)
	return done
}

// nextSteps lists the first sync's steps that run next: those in flight, or, while none is
// (paused, waiting for credits, between two steps), those whose prerequisites are done.
func (s *syncImpl) nextSteps() []string {
	if len(s.running) > 0 {
		out := make([]string, 0, len(s.running))
		for _, r := range s.running {
			out = append(out, r.name)
		}
		order := initialSteps(activities.ModeTwoWay) // every step, in the steps' order
		slices.SortStableFunc(out, func(a, b string) int {
			return slices.IndexFunc(order, func(x step) bool { return x.name() == a }) -
				slices.IndexFunc(order, func(x step) bool { return x.name() == b })
		})
		return out
	}
	if s.st.InitialDone || !s.overlap {
		return nil
	}
	done := map[string]bool{}
	for _, n := range s.st.Done {
		done[n] = true
	}
	var out []string
	for _, x := range readySteps(s.steps, prerequisites(s.steps, true), done, nil) {
		out = append(out, x.name())
	}
	return out
}
