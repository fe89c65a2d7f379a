package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
)

// stepKind is what one first-sync step does; with its module it names the step.
type stepKind string

// Kinds of first-sync steps, in the order they run per module.
const (
	stepIndexDesk    stepKind = "index-desk"
	stepIndexCRM     stepKind = "index-crm"
	stepMatch        stepKind = "match"
	stepCreateInCRM  stepKind = "create-in-crm"
	stepCreateInDesk stepKind = "create-in-desk"
	stepReconcile    stepKind = "reconcile"
)

// step is one unit of the first sync: one activity over one module.
type step struct {
	kind     stepKind
	module   string
	activity any // a method of *activities.Activities
}

// name is the step's name as the status shows it, e.g. "index-desk-contacts".
func (x step) name() string { return string(x.kind) + "-" + x.module }

// indexes reports whether the step reads a side into the index (passes do not run those again).
func (x step) indexes() bool { return x.kind == stepIndexDesk || x.kind == stepIndexCRM }

// initialSteps lists the first sync, accounts before contacts.
func initialSteps(mode string) []step {
	mode = activityMode(mode)
	var a *activities.Activities
	var steps []step
	for _, m := range modules {
		steps = append(steps,
			step{stepIndexDesk, m, a.IndexDesk},
			step{stepIndexCRM, m, a.IndexCRM},
			step{stepMatch, m, a.Match},
		)
		if mode == activities.ModeTwoWay {
			steps = append(steps, step{stepCreateInCRM, m, a.CreateInCRM})
		}
		steps = append(steps,
			step{stepCreateInDesk, m, a.CreateInDesk},
			step{stepReconcile, m, a.ReconcilePairs},
		)
	}
	return steps
}

// runStep runs one first-sync activity in the given mode, cancelling it when the sync is
// paused and running it again on resume (every step is idempotent and resumes from what
// Postgres holds).
func (s *syncImpl) runStep(ctx workflow.Context, x step, mode string) error {
	for {
		if err := s.awaitUnpaused(ctx); err != nil {
			return err
		}
		if err := s.applyRetries(ctx); err != nil {
			return err
		}
		in := activities.StepInput{IntegrationID: s.st.IntegrationID, Module: x.module, Mode: activityMode(mode),
			Lookback: time.Duration(s.in.LookbackDays) * 24 * time.Hour, Now: s.st.InitialStart}
		var res activities.StepResult
		again, err := s.executePausable(ctx, x.name(), x.activity, in, &res)
		if err != nil {
			return err
		}
		if again {
			continue
		}
		s.absorb(ctx, x, res)
		return nil
	}
}

// executePausable runs one long activity and cancels it when the sync is paused meanwhile.
// again is true when the activity should simply run again: it was cancelled by a pause (now
// over), or the daily credits ran out and their reset was waited for. Any other error ends
// the step, paused or not.
func (s *syncImpl) executePausable(ctx workflow.Context, name string, activity, in, out any) (again bool, err error) {
	s.st.WaitingFor, s.pausable = name, name
	actCtx, cancel := workflow.WithCancel(ctx)
	fut := workflow.ExecuteActivity(s.activityCtx(actCtx, 0), activity, in)
	_ = workflow.Await(ctx, func() bool { return fut.IsReady() || s.st.Paused }) // cancellation: fut.Get returns it
	if !fut.IsReady() {
		workflow.GetLogger(ctx).Info("paused: cancelling the running step", "integration", s.st.IntegrationID, "step", name)
		cancel()
	}
	err = fut.Get(ctx, out)
	cancel()
	s.st.WaitingFor, s.pausable = "", ""
	switch end, wait := endOfStep(err, s.st.Paused, s.stored, s.pausedRetry); end {
	case stepDone:
		return false, nil
	case stepRunsAgain:
		return true, nil
	case stepWaitsForCredits:
		s.pauseForCredits(ctx, wait, creditsAPI(err))
		return true, nil
	default:
		return false, fmt.Errorf("%s: %w", name, err)
	}
}

// stepEnd is what becomes of a step whose activity ended.
type stepEnd int

const (
	stepDone            stepEnd = iota // it succeeded
	stepFails                          // its error ends the sync's run
	stepRunsAgain                      // a pause cancelled it: it runs again on resume
	stepWaitsForCredits                // the daily credits ran out: it runs again when they return
)

// endOfStep decides what becomes of a step whose activity ended with err (nil: success), and
// for stepWaitsForCredits how long the credits take to return. A cancellation while paused
// runs the step again, and so does (with retryAfterPause, runs from pausedRetryVersion on) an
// error Temporal would have retried had the pause not cancelled the activity: the pause's
// cancel reached an attempt that was failing (Zoho answering 503), and the attempt's error
// came back instead of the cancellation — it failed the whole sync. A paused step that fails
// for good (a non-retryable error) fails (runs that began before storedStateVersion ran it
// again after any error while paused).
func endOfStep(err error, paused, stored, retryAfterPause bool) (stepEnd, time.Duration) {
	if err == nil {
		return stepDone, 0
	}
	var canceled *temporal.CanceledError
	if paused && errors.As(err, &canceled) {
		return stepRunsAgain, 0
	}
	if wait, ok := creditsExhausted(err); ok {
		return stepWaitsForCredits, wait
	}
	if paused && (!stored || retryAfterPause && retryable(err)) {
		return stepRunsAgain, 0
	}
	return stepFails, 0
}

// nonRetryableTypes are the activity error types the steps' retry policies never retry
// (activityCtx, planOptions): credits run out, or a fault no attempt can fix.
var nonRetryableTypes = []string{activities.ErrCreditsExhausted, activities.ErrPermanent}

// retryable reports whether Temporal retries an activity that failed with err by the steps'
// retry policy (activityCtx): any error but a non-retryable application error or one of
// nonRetryableTypes.
func retryable(err error) bool {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return !app.NonRetryable() && !slices.Contains(nonRetryableTypes, app.Type())
	}
	return true
}

// creditsExhausted reports whether an activity stopped because a daily credit allowance ran
// out, and how long until it returns.
func creditsExhausted(err error) (time.Duration, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrCreditsExhausted {
		return 0, false
	}
	var wait time.Duration
	if appErr.HasDetails() {
		_ = appErr.Details(&wait) // no wait given: an hour
	}
	if wait <= 0 {
		wait = time.Hour
	}
	return wait, true
}

// creditsAPI names the API whose daily credits ran out, from the activity error's details (the
// wait, then the API: activities.apiError); "Zoho" when the error does not say (an error of a
// worker from before it did).
func creditsAPI(err error) string {
	var appErr *temporal.ApplicationError
	var wait time.Duration
	var api string
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&wait, &api) == nil && api != "" {
		return api
	}
	return "Zoho"
}

// pauseForCredits pauses the sync until the daily credits of api return, wait from now, and
// waits.
func (s *syncImpl) pauseForCredits(ctx workflow.Context, wait time.Duration, api string) {
	s.beginCreditsPause(ctx, wait, api)
	s.waitForCredits(ctx)
}

// beginCreditsPause pauses the sync until the daily credits of api return, wait from now (a
// later return found while other steps end moves it later; the reason names each API that ran
// out).
func (s *syncImpl) beginCreditsPause(ctx workflow.Context, wait time.Duration, api string) {
	if until := workflow.Now(ctx).Add(wait); until.After(s.creditsUntil) {
		s.creditsUntil = until
	}
	switch {
	case s.creditsAPI == "" || s.creditsAPI == "Zoho":
		s.creditsAPI = api
	case api != "Zoho" && !strings.Contains(s.creditsAPI, api):
		s.creditsAPI += " and " + api
	}
	s.creditsReason = s.creditsAPI + " daily API credits exhausted; resuming at " + s.creditsUntil.UTC().Format(time.RFC3339)
	workflow.GetLogger(ctx).Warn("pausing until the daily API credits return", "integration", s.st.IntegrationID, "until", s.creditsUntil)
	s.st.Paused = true
	s.st.PausedReason = s.creditsReason
	s.upsertSearchAttributes(ctx)
}

// waitForCredits waits until the credits return or a resume signal, and ends the credits
// pause; a pause signal during the wait replaced the reason, and that pause lasts until resume.
func (s *syncImpl) waitForCredits(ctx workflow.Context) {
	_, _ = workflow.AwaitWithTimeout(ctx, s.creditsUntil.Sub(workflow.Now(ctx)), func() bool { return !s.st.Paused }) // cancellation ends the wait, and the next await returns it
	if s.st.Paused && s.st.PausedReason == s.creditsReason {
		s.st.Paused, s.st.PausedReason = false, ""
	}
	s.creditsUntil, s.creditsReason, s.creditsAPI = time.Time{}, "", ""
	s.upsertSearchAttributes(ctx)
}

// absorb folds a step's result into the state and makes its failures visible in the history.
func (s *syncImpl) absorb(ctx workflow.Context, x step, r activities.StepResult) {
	p := s.st.Progress[x.module]
	switch x.kind {
	case stepIndexDesk:
		p.Desk.Indexed = r.Indexed
	case stepIndexCRM:
		p.CRM.Indexed = r.Indexed
	}
	p.Linked += r.Linked + r.CreatedInCRM + r.CreatedInDesk
	s.addCounts(ctx, p, r)
}

// addCounts adds what a first-sync step or an incremental pass wrote and failed to the
// module's progress and the credits, and reports its failures.
func (s *syncImpl) addCounts(ctx workflow.Context, p *ModuleProgress, r activities.StepResult) {
	p.CRM.Added += r.CreatedInCRM
	p.Desk.Added += r.CreatedInDesk
	p.CRM.Updated += r.UpdatedInCRM
	p.Desk.Updated += r.UpdatedInDesk
	p.CRM.Failed += r.FailedToCRM
	p.Desk.Failed += r.FailedToDesk
	s.st.CRMCredits += r.CRMCredits
	s.st.DeskCredits += r.DeskCredits
	s.noteCredits(ctx, r)
	s.reportFailures(ctx, r.Failures)
	if len(r.Failures) == 0 && r.FailuresResolved > 0 {
		// Failures closed by records that synced: the failures query and the count follow.
		s.refreshFailureCount(ctx)
	}
}

// reportFailures records each failure as a failed activity carrying its code and message, so
// it shows in the workflow history in the Temporal UI, and keeps the newest in the state.
func (s *syncImpl) reportFailures(ctx workflow.Context, fs []store.Failure) {
	if len(fs) == 0 {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	futs := make([]workflow.Future, 0, len(fs))
	for _, f := range fs {
		futs = append(futs, workflow.ExecuteActivity(actx, (*activities.Activities).ReportFailure, f))
	}
	for _, f := range futs {
		_ = f.Get(ctx, nil) // fails by design: the failure is the record
	}
	merged := append(slices.Clone(fs), s.st.Failures...)
	seen := map[int64]bool{}
	kept := merged[:0]
	for _, f := range merged {
		if !seen[f.ID] {
			seen[f.ID] = true
			kept = append(kept, f)
		}
	}
	s.st.Failures = keptFailures(kept)
	s.refreshFailureCount(ctx)
}

func (s *syncImpl) refreshFailureCount(ctx workflow.Context) {
	var sum activities.FailureSummary
	err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).FailureSummary, s.st.IntegrationID).Get(ctx, &sum)
	if err != nil {
		workflow.GetLogger(ctx).Warn("failure count not refreshed; the failures query shows the failures this run reported",
			"integration", s.st.IntegrationID, "error", err)
		return
	}
	s.st.OpenFailures = sum.Open
	s.st.Failures = keptFailures(sum.Recent)
	for m, n := range sum.Links {
		if p := s.st.Progress[m]; p != nil {
			p.Links = n
		}
	}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		if p := s.st.Progress[m]; p != nil {
			p.CRM.Open = sum.ByDirection[m+"/"+activities.DeskToCRM]
			p.Desk.Open = sum.ByDirection[m+"/"+activities.CRMToDesk]
		}
	}
	s.upsertSearchAttributes(ctx)
}

// applyRetries turns a retry signal into marked failures; the steps then pick the records up.
func (s *syncImpl) applyRetries(ctx workflow.Context) error {
	if !s.st.RetryAll && len(s.st.RetryIDs) == 0 {
		return nil
	}
	in := activities.RetryInput{IntegrationID: s.st.IntegrationID}
	if !s.st.RetryAll {
		in.IDs = slices.Clone(s.st.RetryIDs)
	}
	seen := s.retrySignals
	var res activities.RetryResult
	if err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).MarkRetry, in).Get(ctx, &res); err != nil {
		return err
	}
	switch {
	case !s.lateRetry || s.retrySignals == seen:
		s.st.RetryAll, s.st.RetryIDs = false, nil
	case in.IDs != nil:
		// Signals came while the activity marked: what it marked goes, theirs wait for the
		// next round (a retry of everything among them stays one).
		s.st.RetryIDs = slices.DeleteFunc(s.st.RetryIDs, func(id int64) bool { _, found := slices.BinarySearch(in.IDs, id); return found })
	}
	// During the first sync, records of modules whose steps already ran wait for a pass too.
	if res.Marked > 0 && (s.st.InitialDone || s.stored) {
		s.st.SyncRequested = true
		s.st.RetryMarked = true
	}
	workflow.GetLogger(ctx).Info("failures marked for retry", "integration", s.st.IntegrationID, "marked", res.Marked)
	return nil
}

// finishInitial records the first sync in the history.
func (s *syncImpl) finishInitial(ctx workflow.Context) {
	now := workflow.Now(ctx)
	var runs []store.Run
	info := workflow.GetInfo(ctx)
	for _, m := range modules {
		p := s.st.Progress[m]
		start := s.st.InitialStart
		runs = append(runs,
			store.Run{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Kind: "initial", Module: m,
				Direction: activities.DeskToCRM, StartedAt: start, FinishedAt: &now, Added: p.CRM.Added, Updated: p.CRM.Updated, Failed: p.CRM.Failed},
			store.Run{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Kind: "initial", Module: m,
				Direction: activities.CRMToDesk, StartedAt: start, FinishedAt: &now, Added: p.Desk.Added, Updated: p.Desk.Updated, Failed: p.Desk.Failed})
	}
	if err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).RecordRuns,
		activities.RunsInput{IntegrationID: s.st.IntegrationID, Runs: runs}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("first sync not recorded in the run history", "integration", s.st.IntegrationID, "error", err)
	}
	lines := make([]RunSummary, 0, len(runs))
	for _, r := range runs {
		lines = append(lines, RunSummary{Time: now, Kind: r.Kind, Module: r.Module, Direction: r.Direction, Added: r.Added, Updated: r.Updated, Failed: r.Failed, Runs: 1})
	}
	s.addRuns(lines, now)
	s.st.InitialDone = true
	s.st.LastSync = now
	s.setPhase(ctx, PhaseIdle)
}
