// Package workflows holds deskcrm's Temporal workflows: deterministic orchestration, state,
// signals and queries. Every call to Zoho or Postgres is an activity from package activities.
package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
)

// Names of the workflow's handlers, as typed in the Temporal UI or the starter.
const (
	WorkflowName   = "SyncWorkflow"
	SignalPause    = "pause"
	SignalResume   = "resume"
	SignalRetry    = "retry"
	SignalChanges  = "changes"
	SignalSyncNow  = "sync-now"
	QueryStatus    = "status"
	QueryHistory   = "history"
	QueryFailures  = "failures"
	historyKeep    = 7 * 24 * time.Hour
	maxKeptFailure = 100
)

// WorkflowID is the id of the one sync workflow of an integration.
func WorkflowID(integrationID string) string { return "deskcrm-sync-" + integrationID }

// SyncInput is what starts a sync. Every field has a default, so `{}` is a valid input and a
// person can type `{"integrationId":"default","mode":"two-way"}` into the UI's start form.
type SyncInput struct {
	// IntegrationID names the integration (default "default").
	IntegrationID string `json:"integrationId,omitempty"`
	// Mode is "two-way" (default), "one-way-crm-to-desk", or "legacy-import": an integration
	// still on the legacy one-way scheduled import (CRM → Desk on the poll timer, no webhooks)
	// until the switch-to-sync update moves it to two-way sync.
	Mode string `json:"mode,omitempty"`
	// LookbackDays limits the first sync to records created in this many days (default 365).
	LookbackDays int `json:"lookbackDays,omitempty"`
	// PollInterval is how often an incremental pass runs without webhooks (default "1m").
	PollInterval string `json:"pollInterval,omitempty"`
	// State carries the workflow's state over continue-as-new; people leave it out.
	State *State `json:"state,omitempty"`
}

var integrationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// withDefaults fills the defaults and refuses values that cannot work, naming each.
func (in SyncInput) withDefaults() (SyncInput, error) {
	if in.IntegrationID == "" {
		in.IntegrationID = "default"
	}
	if in.Mode == "" {
		in.Mode = activities.ModeTwoWay
	}
	if in.LookbackDays == 0 {
		in.LookbackDays = 365
	}
	if in.PollInterval == "" {
		in.PollInterval = "1m"
	}
	var problems []error
	if !integrationIDPattern.MatchString(in.IntegrationID) {
		problems = append(problems, fmt.Errorf("integrationId %q must be 1-64 letters, digits, '.', '_' or '-'", in.IntegrationID))
	}
	if in.Mode != activities.ModeTwoWay && in.Mode != activities.ModeOneWayToDesk && in.Mode != ModeLegacyImport {
		problems = append(problems, fmt.Errorf("mode %q must be %q, %q or %q", in.Mode, activities.ModeTwoWay, activities.ModeOneWayToDesk, ModeLegacyImport))
	}
	if in.LookbackDays < 1 || in.LookbackDays > 3650 {
		problems = append(problems, fmt.Errorf("lookbackDays %d must be between 1 and 3650", in.LookbackDays))
	}
	if d, err := time.ParseDuration(in.PollInterval); err != nil || d < time.Second {
		problems = append(problems, fmt.Errorf("pollInterval %q must be a duration of at least 1s, such as \"30s\" or \"5m\"", in.PollInterval))
	}
	if len(problems) > 0 {
		return in, temporal.NewNonRetryableApplicationError("invalid input: "+errors.Join(problems...).Error(), "InvalidInput", nil)
	}
	return in, nil
}

// Phases of a sync, as shown by the status query and the DeskcrmState search attribute.
const (
	PhasePreflight = "preflight"
	PhaseInitial   = "initial-sync"
	PhaseIdle      = "idle"
	PhaseBlocked   = "blocked"
)

// Side counters of one module.
type Side struct {
	Indexed int `json:"indexed"`
	Added   int `json:"added"`   // records created on this side
	Updated int `json:"updated"` // records updated on this side
	Failed  int `json:"failed"`  // records that failed to reach this side
}

// ModuleProgress counts what the sync did to one module, per side.
type ModuleProgress struct {
	Linked int  `json:"linked"`
	Desk   Side `json:"desk"`
	CRM    Side `json:"crm"`
}

// RunSummary is one line of the sync history.
type RunSummary struct {
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	Module    string    `json:"module"`
	Direction string    `json:"direction"` // source → destination: desk-to-crm or crm-to-desk
	Added     int       `json:"added"`
	Updated   int       `json:"updated"`
	Failed    int       `json:"failed"`
}

// State is everything the workflow knows; it survives continue-as-new.
type State struct {
	IntegrationID string                        `json:"integrationId"`
	Mode          string                        `json:"mode"`
	Phase         string                        `json:"phase"`
	Step          int                           `json:"step"`
	InitialDone   bool                          `json:"initialDone"`
	InitialStart  time.Time                     `json:"initialStart"`
	Paused        bool                          `json:"paused"`
	PausedReason  string                        `json:"pausedReason,omitempty"`
	WaitingFor    string                        `json:"waitingFor,omitempty"`
	Problems      []activities.PreflightProblem `json:"problems,omitempty"`
	Progress      map[string]*ModuleProgress    `json:"progress"`
	CRMCredits    int                           `json:"crmCreditsUsed"`
	DeskCredits   int                           `json:"deskCreditsUsed"`
	LastSync      time.Time                     `json:"lastSync,omitempty"`
	Runs          []RunSummary                  `json:"runs,omitempty"`
	Failures      []store.Failure               `json:"failures,omitempty"`
	OpenFailures  int                           `json:"openFailures"`
	RetryIDs      []int64                       `json:"retryIds,omitempty"`
	RetryAll      bool                          `json:"retryAll,omitempty"`
	SyncRequested bool                          `json:"syncRequested,omitempty"`
	// Cursors are the incremental sync's positions, keyed "module/side" (copied from the
	// passes; Postgres holds the authoritative checkpoint).
	Cursors map[string]activities.Cursor `json:"cursors,omitempty"`
	// Pending holds the ids reported by changes signals and not yet passed to a pass, keyed
	// "side/module", deduplicated and bounded (PendingOverflow: some were dropped; the pass
	// reads every change from the cursors anyway).
	Pending         map[string][]string `json:"pending,omitempty"`
	PendingOverflow bool                `json:"pendingOverflow,omitempty"`
	// ChangesSignals counts the changes signals received; Passes the incremental passes run.
	ChangesSignals int `json:"changesSignals,omitempty"`
	Passes         int `json:"passes,omitempty"`
	// RetryMarked: failures were marked for retry; the next pass also runs the first sync's
	// create and reconcile steps, which pick those records up.
	RetryMarked bool `json:"retryMarked,omitempty"`
	// CatchUp: the mode became two-way; the next pass runs the first sync's create steps (Desk
	// records never sent to CRM) and reads Desk changes again from DeskRewind.
	CatchUp    bool      `json:"catchUp,omitempty"`
	DeskRewind time.Time `json:"deskRewind,omitzero"`
	// OneWaySince is when the integration last entered one-way (or legacy) mode.
	OneWaySince time.Time `json:"oneWaySince,omitzero"`
	// SwitchedToSync is set once a legacy import was switched to sync (it cannot be reverted).
	SwitchedToSync bool `json:"switchedToSync,omitempty"`
}

// Status is the answer to the status query.
type Status struct {
	State
	Steps       []string `json:"steps"`
	CurrentStep string   `json:"currentStep,omitempty"`
}

// RetrySignal asks for failed records to be tried again; no ids means all.
type RetrySignal struct {
	IDs []int64 `json:"ids,omitempty"`
}

// step is one unit of the initial sync: one activity over one module.
type step struct {
	Name     string
	Module   string
	Activity any // a method of *activities.Activities
}

// initialSteps lists the first sync, accounts before contacts.
func initialSteps(mode string) []step {
	mode = activityMode(mode)
	var a *activities.Activities
	var steps []step
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		steps = append(steps,
			step{"index-desk-" + m, m, a.IndexDesk},
			step{"index-crm-" + m, m, a.IndexCRM},
			step{"match-" + m, m, a.Match},
		)
		if mode == activities.ModeTwoWay {
			steps = append(steps, step{"create-in-crm-" + m, m, a.CreateInCRM})
		}
		steps = append(steps,
			step{"create-in-desk-" + m, m, a.CreateInDesk},
			step{"reconcile-" + m, m, a.ReconcilePairs},
		)
	}
	return steps
}

// SyncWorkflow is the long-lived workflow of one integration: the first sync, then
// incremental passes, until the integration is deleted.
func SyncWorkflow(ctx workflow.Context, input SyncInput) error {
	in, err := input.withDefaults()
	if err != nil {
		return err
	}
	s := newSync(in)
	if err := s.setup(ctx); err != nil {
		return err
	}
	return s.run(ctx)
}

type sync struct {
	in    SyncInput
	st    *State
	steps []step
	poll  time.Duration
	sigs  signals
}

// signals are the workflow's signal channels.
type signals struct {
	pause, resume, retry, syncNow, changes workflow.ReceiveChannel
}

func newSync(in SyncInput) *sync {
	st := in.State
	if st == nil {
		st = &State{IntegrationID: in.IntegrationID, Mode: in.Mode, Phase: PhasePreflight, Progress: map[string]*ModuleProgress{}}
	}
	if st.Progress == nil {
		st.Progress = map[string]*ModuleProgress{}
	}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		if st.Progress[m] == nil {
			st.Progress[m] = &ModuleProgress{}
		}
	}
	poll, _ := time.ParseDuration(in.PollInterval)
	return &sync{in: in, st: st, steps: initialSteps(st.Mode), poll: poll}
}

// setup registers queries and signal handling.
func (s *sync) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		st := Status{State: *s.st}
		for _, x := range s.steps {
			st.Steps = append(st.Steps, x.Name)
		}
		if !s.st.InitialDone && s.st.Step < len(s.steps) {
			st.CurrentStep = s.steps[s.st.Step].Name
		}
		st.Runs, st.Failures = nil, nil
		if st.Paused {
			st.WaitingFor = "resume signal"
		}
		return st, nil
	}, workflow.QueryHandlerOptions{Description: "Phase, mode, paused, progress per module and side, credits used, what the sync waits for"}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryHistory, func() ([]RunSummary, error) {
		return s.st.Runs, nil
	}, workflow.QueryHandlerOptions{Description: "Sync runs of the last seven days: time, source → destination, module, added, updated, failed"}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryFailures, func() ([]store.Failure, error) {
		return s.st.Failures, nil
	}, workflow.QueryHandlerOptions{Description: "Open failures (newest 100): time, module, direction, both ids, code, message, attempts"}); err != nil {
		return err
	}

	s.sigs = signals{
		pause:   workflow.GetSignalChannelWithOptions(ctx, SignalPause, workflow.SignalChannelOptions{Description: "Pause the sync: no API calls until resume"}),
		resume:  workflow.GetSignalChannelWithOptions(ctx, SignalResume, workflow.SignalChannelOptions{Description: "Resume a paused sync where it stopped"}),
		retry:   workflow.GetSignalChannelWithOptions(ctx, SignalRetry, workflow.SignalChannelOptions{Description: `Retry failed records: {"ids":[1,2]} or {} for all`}),
		syncNow: workflow.GetSignalChannelWithOptions(ctx, SignalSyncNow, workflow.SignalChannelOptions{Description: "Run an incremental pass now"}),
		changes: workflow.GetSignalChannelWithOptions(ctx, SignalChanges, workflow.SignalChannelOptions{
			Description: `Changes reported by webhooks: {"source":"crm"|"desk","module":"contacts"|"accounts","ids":["..."],"operation":"insert"|"update"|"delete"}`}),
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			for _, c := range s.sigs.all() {
				sel.AddReceive(c, func(c workflow.ReceiveChannel, _ bool) { s.receive(ctx, c) })
			}
			sel.Select(ctx)
		}
	})
	return s.setupUpdates(ctx)
}

func (s *sync) run(ctx workflow.Context) error {
	s.upsertSearchAttributes(ctx)
	if !s.st.InitialDone {
		if s.st.InitialStart.IsZero() {
			s.st.InitialStart = workflow.Now(ctx)
			if activityMode(s.st.Mode) != activities.ModeTwoWay {
				s.st.OneWaySince = s.st.InitialStart
			}
		}
		if err := s.preflight(ctx); err != nil {
			return err
		}
		for s.st.Step < len(s.steps) {
			if err := s.runStep(ctx, s.steps[s.st.Step]); err != nil {
				return err
			}
			s.st.Step++
			if s.shouldContinueAsNew(ctx) {
				return s.continueAsNew(ctx)
			}
		}
		s.finishInitial(ctx)
	}
	return s.idle(ctx)
}

// preflight checks the mapping against both sides' metadata; problems block the sync until
// the admin fixes them and signals resume.
func (s *sync) preflight(ctx workflow.Context) error {
	for {
		// Wait before leaving the blocked phase, so that the status shows it while blocked.
		if err := s.awaitUnpaused(ctx); err != nil {
			return err
		}
		s.setPhase(ctx, PhasePreflight)
		var res activities.PreflightResult
		err := workflow.ExecuteActivity(s.activityCtx(ctx, 2*time.Minute), (*activities.Activities).Preflight,
			activities.PreflightInput{IntegrationID: s.st.IntegrationID, Mode: activityMode(s.st.Mode), LookbackDays: s.in.LookbackDays}).Get(ctx, &res)
		if err != nil {
			return err
		}
		s.st.Problems = res.Problems
		if len(res.Problems) == 0 {
			if err := s.recordLegacyMode(ctx); err != nil {
				return err
			}
			s.setPhase(ctx, PhaseInitial)
			return nil
		}
		s.setPhase(ctx, PhaseBlocked)
		s.st.Paused = true
		s.st.PausedReason = fmt.Sprintf("the field mapping has %d problem(s): fix them (starter preflight shows them) and resume", len(res.Problems))
		s.upsertSearchAttributes(ctx)
	}
}

// runStep runs one initial-sync activity, cancelling it when the sync is paused and running
// it again on resume (every step is idempotent and resumes from what Postgres holds).
func (s *sync) runStep(ctx workflow.Context, x step) error {
	for {
		if err := s.awaitUnpaused(ctx); err != nil {
			return err
		}
		if err := s.applyRetries(ctx); err != nil {
			return err
		}
		in := activities.StepInput{IntegrationID: s.st.IntegrationID, Module: x.Module, Mode: activityMode(s.st.Mode),
			Lookback: time.Duration(s.in.LookbackDays) * 24 * time.Hour, Now: s.st.InitialStart}
		var res activities.StepResult
		again, err := s.executePausable(ctx, x.Name, x.Activity, in, &res)
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
// over), or the daily credits ran out and their reset was waited for.
func (s *sync) executePausable(ctx workflow.Context, name string, activity, in, out any) (again bool, err error) {
	s.st.WaitingFor = name
	actCtx, cancel := workflow.WithCancel(ctx)
	fut := workflow.ExecuteActivity(s.activityCtx(actCtx, 0), activity, in)
	_ = workflow.Await(ctx, func() bool { return fut.IsReady() || s.st.Paused })
	if !fut.IsReady() {
		cancel()
	}
	err = fut.Get(ctx, out)
	cancel()
	s.st.WaitingFor = ""
	if err == nil {
		return false, nil
	}
	var canceled *temporal.CanceledError
	if s.st.Paused && errors.As(err, &canceled) {
		return true, nil
	}
	if pauseFor, ok := creditsExhausted(err); ok {
		s.pauseForCredits(ctx, pauseFor)
		return true, nil
	}
	if s.st.Paused {
		return true, nil
	}
	return false, fmt.Errorf("%s: %w", name, err)
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
		_ = appErr.Details(&wait)
	}
	if wait <= 0 {
		wait = time.Hour
	}
	return wait, true
}

func (s *sync) pauseForCredits(ctx workflow.Context, wait time.Duration) {
	until := workflow.Now(ctx).Add(wait)
	reason := "Zoho daily API credits exhausted; resuming at " + until.UTC().Format(time.RFC3339)
	s.st.Paused = true
	s.st.PausedReason = reason
	s.upsertSearchAttributes(ctx)
	_, _ = workflow.AwaitWithTimeout(ctx, wait, func() bool { return !s.st.Paused })
	// A pause signal during the wait replaced the reason: that pause lasts until resume.
	if s.st.Paused && s.st.PausedReason == reason {
		s.st.Paused, s.st.PausedReason = false, ""
	}
	s.upsertSearchAttributes(ctx)
}

// absorb folds a step's result into the state and makes its failures visible in the history.
func (s *sync) absorb(ctx workflow.Context, x step, r activities.StepResult) {
	p := s.st.Progress[x.Module]
	if x.Name == "index-desk-"+x.Module {
		p.Desk.Indexed = r.Indexed
	}
	if x.Name == "index-crm-"+x.Module {
		p.CRM.Indexed = r.Indexed
	}
	p.Linked += r.Linked + r.CreatedInCRM + r.CreatedInDesk
	s.addCounts(ctx, p, r)
}

// addCounts adds what a first-sync step or an incremental pass wrote and failed to the
// module's progress and the credits, and reports its failures.
func (s *sync) addCounts(ctx workflow.Context, p *ModuleProgress, r activities.StepResult) {
	p.CRM.Added += r.CreatedInCRM
	p.Desk.Added += r.CreatedInDesk
	p.CRM.Updated += r.UpdatedInCRM
	p.Desk.Updated += r.UpdatedInDesk
	p.CRM.Failed += r.FailedToCRM
	p.Desk.Failed += r.FailedToDesk
	s.st.CRMCredits += r.CRMCredits
	s.st.DeskCredits += r.DeskCredits
	s.reportFailures(ctx, r.Failures)
}

// reportFailures records each failure as a failed activity carrying its code and message, so
// it shows in the workflow history in the Temporal UI, and keeps the newest in the state.
func (s *sync) reportFailures(ctx workflow.Context, fs []store.Failure) {
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
	if len(kept) > maxKeptFailure {
		kept = kept[:maxKeptFailure]
	}
	s.st.Failures = kept
	s.refreshFailureCount(ctx)
}

func (s *sync) refreshFailureCount(ctx workflow.Context) {
	var sum activities.FailureSummary
	err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).FailureSummary, s.st.IntegrationID).Get(ctx, &sum)
	if err == nil {
		s.st.OpenFailures = sum.Open
		s.st.Failures = sum.Recent
		s.upsertSearchAttributes(ctx)
	}
}

// applyRetries turns a retry signal into marked failures; the steps then pick the records up.
func (s *sync) applyRetries(ctx workflow.Context) error {
	if !s.st.RetryAll && len(s.st.RetryIDs) == 0 {
		return nil
	}
	in := activities.RetryInput{IntegrationID: s.st.IntegrationID}
	if !s.st.RetryAll {
		in.IDs = s.st.RetryIDs
	}
	var res activities.RetryResult
	if err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).MarkRetry, in).Get(ctx, &res); err != nil {
		return err
	}
	s.st.RetryAll, s.st.RetryIDs = false, nil
	if res.Marked > 0 && s.st.InitialDone {
		s.st.SyncRequested = true
		s.st.RetryMarked = true
	}
	return nil
}

// finishInitial records the first sync in the history.
func (s *sync) finishInitial(ctx workflow.Context) {
	now := workflow.Now(ctx)
	var runs []store.Run
	info := workflow.GetInfo(ctx)
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		p := s.st.Progress[m]
		start := s.st.InitialStart
		runs = append(runs,
			store.Run{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Kind: "initial", Module: m,
				Direction: activities.DeskToCRM, StartedAt: start, FinishedAt: &now, Added: p.CRM.Added, Updated: p.CRM.Updated, Failed: p.CRM.Failed},
			store.Run{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Kind: "initial", Module: m,
				Direction: activities.CRMToDesk, StartedAt: start, FinishedAt: &now, Added: p.Desk.Added, Updated: p.Desk.Updated, Failed: p.Desk.Failed})
	}
	_ = workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).RecordRuns,
		activities.RunsInput{IntegrationID: s.st.IntegrationID, Runs: runs}).Get(ctx, nil)
	for _, r := range runs {
		s.addRun(RunSummary{Time: now, Kind: r.Kind, Module: r.Module, Direction: r.Direction, Added: r.Added, Updated: r.Updated, Failed: r.Failed}, now)
	}
	s.st.InitialDone = true
	s.st.LastSync = now
	s.setPhase(ctx, PhaseIdle)
}

func (s *sync) addRun(r RunSummary, now time.Time) {
	s.st.Runs = append([]RunSummary{r}, s.st.Runs...)
	cut := now.Add(-historyKeep)
	s.st.Runs = slices.DeleteFunc(s.st.Runs, func(x RunSummary) bool { return x.Time.Before(cut) })
}

// idle waits for the next reason to sync: a signal, a retry, or the poll timer.
func (s *sync) idle(ctx workflow.Context) error {
	s.ensureWebhooks(ctx)
	for {
		s.setPhase(ctx, PhaseIdle)
		s.st.WaitingFor = "changes, sync-now or the poll timer (" + s.poll.String() + ")"
		_, err := workflow.AwaitWithTimeout(ctx, s.poll, func() bool {
			return !s.st.Paused && (s.st.SyncRequested || s.st.RetryAll || len(s.st.RetryIDs) > 0)
		})
		if err != nil {
			return err
		}
		if err := s.awaitUnpaused(ctx); err != nil {
			return err
		}
		if err := s.applyRetries(ctx); err != nil {
			return err
		}
		s.st.SyncRequested = false
		if err := s.incrementalPass(ctx); err != nil {
			return err
		}
		if s.shouldContinueAsNew(ctx) {
			return s.continueAsNew(ctx)
		}
	}
}

// ensureWebhooks subscribes the integration to CRM notifications and Desk webhooks once per
// run, so changes arrive within seconds instead of at the next poll. A legacy import has no
// webhooks. A failure is not fatal: polling still finds every change.
func (s *sync) ensureWebhooks(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "ensure-webhooks", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if s.st.Mode == ModeLegacyImport {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	_ = workflow.ExecuteActivity(actx, (*activities.Activities).EnsureWebhooks, s.st.IntegrationID).Get(ctx, nil)
}

func (s *sync) awaitUnpaused(ctx workflow.Context) error {
	if !s.st.Paused {
		return nil
	}
	s.upsertSearchAttributes(ctx)
	s.st.WaitingFor = "resume signal"
	err := workflow.Await(ctx, func() bool { return !s.st.Paused })
	s.st.WaitingFor = ""
	s.upsertSearchAttributes(ctx)
	return err
}

// activityCtx sets the options of the sync's activities: long steps heartbeat, and retries
// are unlimited with backoff except for errors retrying cannot fix.
func (s *sync) activityCtx(ctx workflow.Context, timeout time.Duration) workflow.Context {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrCreditsExhausted, activities.ErrPermanent},
		},
	}
	if timeout == 0 {
		opts.StartToCloseTimeout = 24 * time.Hour
		opts.HeartbeatTimeout = time.Minute
		opts.WaitForCancellation = true
	}
	return workflow.WithActivityOptions(ctx, opts)
}

func (s *sync) setPhase(ctx workflow.Context, phase string) {
	if s.st.Phase != phase {
		s.st.Phase = phase
		s.upsertSearchAttributes(ctx)
	}
}

func (s *sync) upsertSearchAttributes(ctx workflow.Context) {
	state := s.st.Phase
	if s.st.Paused {
		state = "paused"
	}
	updates := []temporal.SearchAttributeUpdate{
		StateKey.ValueSet(state),
		ModeKey.ValueSet(s.st.Mode),
		OpenFailuresKey.ValueSet(int64(s.st.OpenFailures)),
	}
	if !s.st.LastSync.IsZero() {
		updates = append(updates, LastSyncKey.ValueSet(s.st.LastSync))
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

// shouldContinueAsNew keeps each run's history well under Temporal's limits.
func (s *sync) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > 2000
}

func (s *sync) continueAsNew(ctx workflow.Context) error {
	// Let running update handlers finish and take in every signal already delivered: what
	// arrives after this run ends goes to the next one.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	s.drainSignals(ctx)
	in := s.in
	in.State = s.st
	in.Mode = s.st.Mode
	return workflow.NewContinueAsNewError(ctx, SyncWorkflow, in)
}
