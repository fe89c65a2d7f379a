// Package workflows holds deskcrm's Temporal workflows: deterministic orchestration, state,
// signals and queries. Every call to Zoho or Postgres is an activity from package activities.
package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// Names of the workflow's handlers, as typed in the Temporal UI or the starter.
const (
	WorkflowName  = "SyncWorkflow"
	SignalPause   = "pause"
	SignalResume  = "resume"
	SignalRetry   = "retry"
	SignalChanges = "changes"
	SignalSyncNow = "sync-now"
	QueryStatus   = "status"
	QueryHistory  = "history"
	QueryFailures = "failures"
)

// The history view: the runs of the last HistoryKeep, the newest HistoryNewest one line each
// and the older ones summed per UTC day, kind, module and direction (store.RunHistory).
const (
	HistoryKeep   = 7 * 24 * time.Hour
	HistoryNewest = 50
)

// Change ids of workflow.GetVersion: each marks a change to the commands the workflow issues,
// so that runs started before it replay as they ran.
const (
	// pausedRetryVersion, read once when a run starts: a step that ends while paused with an
	// error Temporal would have retried runs again on resume (endOfStep), instead of failing
	// the sync.
	pausedRetryVersion = "paused-retryable-runs-again"
	// failureViewVersion: a sync's first run reads the open failures and the links already in
	// Postgres at its start (FailureSummary), so that status and the failures query show
	// them before the run reports failures of its own.
	failureViewVersion = "failure-view-at-start"
	// ensureWebhooksVersion: idle runs subscribe to webhooks (EnsureWebhooks).
	ensureWebhooksVersion = "ensure-webhooks"
	// incrementalVersion: passes use the IncrementalPass activity.
	incrementalVersion = "incremental-pass"
	// storedStateVersion, read once when a run starts: the run records its mode and look-back
	// in Postgres at its start and at each mode change (RecordMode, instead of SetMode after a
	// legacy preflight and at mode changes); reads the seven-day history view from Postgres
	// (RunHistory) on entering idle and after each pass that did something; records the first
	// sync's steps a pass runs again (RecordRuns); keeps a retry or a mode change that arrives
	// during a pass for the next pass; marks a retry during the first sync for a pass after it;
	// and fails a step that ends with an error while paused instead of running it again.
	storedStateVersion = "stored-state"
	// overlapVersion, read once when a run starts: the first sync's steps overlap as
	// waitsFor says (both indexes at once; a module's creates and reconcile at once; the
	// contacts indexed and matched while the accounts are written), and so do the create and
	// reconcile steps a retry or catch-up pass runs again (runOverlapping). Runs before it
	// take the steps one at a time.
	overlapVersion = "overlapping-steps"
	// hintedPassVersion, read once when a run starts: a changes signal runs a pass of the
	// hinted modules and sides (IncrementalInput.Sides: the other side's first changes are
	// read too), and a full pass of both runs at least every poll interval however often
	// webhooks hint. Runs before it ran a full pass on every changes signal.
	hintedPassVersion = "hinted-passes"
	// followVersion, read once when a run starts: a hinted accounts pass that linked accounts
	// (a rename fixed an ambiguous match, a create) is followed by a contacts pass of the same
	// sides, which carries the contacts' references to those accounts (their followers); they
	// waited for the next full pass.
	followVersion = "contacts-follow-linked-accounts"
	// lateRetryVersion, read once when a run starts: retry signals received while MarkRetry
	// marked earlier ones are kept for the next round; the marking cleared them all, so of
	// eight Retry clicks within a second four were never marked (a trial).
	lateRetryVersion = "retry-keeps-late-signals"
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

// ValidateSyncInput is the check SyncWorkflow makes of its input, for a caller to make before
// starting it: the input with its defaults filled, or the workflow's "invalid input" error
// naming every problem (an ApplicationError of type InvalidInput).
func ValidateSyncInput(in SyncInput) (SyncInput, error) { return in.withDefaults() }

// Phases of a sync, as shown by the status query and the DeskcrmState search attribute.
const (
	PhasePreflight = "preflight"
	PhaseInitial   = "initial-sync"
	PhaseIdle      = "idle"
	PhaseBlocked   = "blocked"
)

// SyncWorkflow is the long-lived workflow of one integration: the first sync, then
// incremental passes, until the integration is deleted.
func SyncWorkflow(ctx workflow.Context, input SyncInput) error {
	in, err := input.withDefaults()
	if err != nil {
		return err
	}
	s := newSyncImpl(in)
	if err := s.setup(ctx); err != nil {
		return err
	}
	return s.run(ctx)
}

// syncImpl is one run of an integration's sync workflow.
type syncImpl struct {
	in    SyncInput
	st    *State
	steps []step
	poll  time.Duration
	sigs  signals
	// stored: the run has the storedStateVersion changes (false when it began before them).
	stored bool
	// overlap, hinted, pausedRetry, follow and lateRetry: the run has the overlapVersion,
	// hintedPassVersion, pausedRetryVersion, followVersion and lateRetryVersion changes.
	overlap, hinted, pausedRetry, follow, lateRetry bool
	// retrySignals counts the retry signals received (addRetry), so that applyRetries tells
	// those received while it marked from those it marked.
	retrySignals int
	// running are the first-sync steps in flight (the status shows them); creditsUntil is when
	// the daily credits return while the sync waits for them (zero: not waiting), and
	// creditsReason the paused reason that wait gave.
	running       []runningStep
	creditsUntil  time.Time
	creditsReason string
	// creditsAPI names the API(s) whose credits ran out ("Zoho CRM", "Zoho CRM and Zoho Desk").
	creditsAPI string
	// pausable is the long activity executePausable waits for ("" for none): the status tells
	// a pause that still waits for it to stop from one that waits for the resume signal.
	pausable string
}

func newSyncImpl(in SyncInput) *syncImpl {
	st := newState(in)
	poll, _ := time.ParseDuration(in.PollInterval)
	return &syncImpl{in: in, st: st, steps: initialSteps(st.Mode), poll: poll}
}

func (s *syncImpl) run(ctx workflow.Context) error {
	s.upsertSearchAttributes(ctx)
	if s.stored {
		if err := s.recordMode(ctx, s.st.Mode); err != nil {
			return err
		}
	}
	if !s.st.InitialDone {
		if s.st.InitialStart.IsZero() {
			s.st.InitialStart = workflow.Now(ctx)
			if activityMode(s.st.Mode) != activities.ModeTwoWay {
				s.st.OneWaySince = s.st.InitialStart
			}
			if workflow.GetVersion(ctx, failureViewVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
				// A sync started again (after a delete, or a failed run) finds the failure log
				// and the links of the runs before it.
				s.refreshFailureCount(ctx)
			}
		}
		if err := s.preflight(ctx); err != nil {
			return err
		}
		if s.overlap {
			err := s.runOverlapping(ctx, s.steps, s.firstSyncDone(), s.st.Mode, true)
			if errors.Is(err, errContinueAsNew) {
				return s.continueAsNew(ctx)
			}
			if err != nil {
				return err
			}
		}
		for !s.overlap && s.st.Step < len(s.steps) {
			if err := s.runStep(ctx, s.steps[s.st.Step], s.st.Mode); err != nil {
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
func (s *syncImpl) preflight(ctx workflow.Context) error {
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

// idle waits for the next reason to sync: a signal, a retry, or the poll timer.
func (s *syncImpl) idle(ctx workflow.Context) error {
	s.ensureWebhooks(ctx)
	if s.stored {
		s.refreshHistory(ctx)
	}
	for {
		s.setPhase(ctx, PhaseIdle)
		s.st.WaitingFor = "changes, sync-now or the poll timer (" + s.poll.String() + ")"
		wait := s.poll
		if s.hinted {
			// Hinted passes leave the other sides for a full pass, which runs at least every
			// poll interval however often webhooks hint.
			if s.st.LastFullPass.IsZero() {
				s.st.LastFullPass = workflow.Now(ctx)
			}
			wait = s.st.LastFullPass.Add(s.poll).Sub(workflow.Now(ctx))
		}
		timedOut := wait <= 0
		if !timedOut {
			ok, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
				return !s.st.Paused && (s.st.SyncRequested || s.st.RetryAll || len(s.st.RetryIDs) > 0 || len(s.st.Hinted) > 0)
			})
			if err != nil {
				return err
			}
			timedOut = !ok
		}
		if err := s.awaitUnpaused(ctx); err != nil {
			return err
		}
		full := timedOut || s.st.SyncRequested || s.st.RetryAll || len(s.st.RetryIDs) > 0
		if err := s.applyRetries(ctx); err != nil {
			return err
		}
		s.st.SyncRequested = false
		if err := s.incrementalPass(ctx, full); err != nil {
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
func (s *syncImpl) ensureWebhooks(ctx workflow.Context) {
	if workflow.GetVersion(ctx, ensureWebhooksVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if s.st.Mode == ModeLegacyImport {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	if err := workflow.ExecuteActivity(actx, (*activities.Activities).EnsureWebhooks, s.st.IntegrationID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("webhook subscription failed; polling still finds every change",
			"integration", s.st.IntegrationID, "error", err)
	}
}

func (s *syncImpl) awaitUnpaused(ctx workflow.Context) error {
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

// stepHeartbeatTimeout is how long a long activity (a first-sync step, an incremental pass)
// may go without a heartbeat before Temporal gives it up and retries it on another worker:
// what a killed worker's work costs before it resumes elsewhere. The activities heartbeat
// after every page, API call and batch, and every second while they wait for a rate limit,
// well within it at Zoho's latencies; the SDK sends a heartbeat at most every 0.8 × this.
const stepHeartbeatTimeout = 10 * time.Second

// activityCtx sets the options of the sync's activities: long steps heartbeat, and retries
// are unlimited with backoff except for errors retrying cannot fix.
func (s *syncImpl) activityCtx(ctx workflow.Context, timeout time.Duration) workflow.Context {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: nonRetryableTypes,
		},
	}
	if timeout == 0 {
		opts.StartToCloseTimeout = 24 * time.Hour
		opts.HeartbeatTimeout = stepHeartbeatTimeout
		opts.WaitForCancellation = true
	}
	return workflow.WithActivityOptions(ctx, opts)
}

func (s *syncImpl) setPhase(ctx workflow.Context, phase string) {
	if s.st.Phase != phase {
		workflow.GetLogger(ctx).Info("sync phase", "integration", s.st.IntegrationID, "from", s.st.Phase, "to", phase, "mode", s.st.Mode)
		s.st.Phase = phase
		s.upsertSearchAttributes(ctx)
	}
}

func (s *syncImpl) upsertSearchAttributes(ctx workflow.Context) {
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
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated; the workflow list shows older values",
			"integration", s.st.IntegrationID, "error", err)
	}
}

// shouldContinueAsNew keeps each run's history well under Temporal's limits.
func (s *syncImpl) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > 2000
}

func (s *syncImpl) continueAsNew(ctx workflow.Context) error {
	// Let running update handlers finish and take in every signal already delivered: what
	// arrives after this run ends goes to the next one. (A cancellation during this short wait
	// does not stop the continue-as-new, as it never did: returning it here would change the
	// commands of runs that replay.)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	s.drainSignals(ctx)
	in := s.in
	in.State = s.st
	in.Mode = s.st.Mode
	workflow.GetLogger(ctx).Info("continuing as new", "integration", s.st.IntegrationID, "phase", s.st.Phase,
		"historyLength", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, SyncWorkflow, in)
}
