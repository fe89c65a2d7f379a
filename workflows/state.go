package workflows

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"deskcrm/activities"
	"deskcrm/store"
)

// Bounds of what the state keeps, so that the continue-as-new input stays far below
// Temporal's payload limits however long the sync runs (see TestStateAtEveryBoundFits).
const (
	// keptRuns bounds the run lines the workflow keeps of its own passes.
	keptRuns = 50
	// maxKeptFailure bounds the open failures kept for the failures query.
	maxKeptFailure = 100
	// maxKeptMessage bounds a kept failure's message, in bytes (Postgres and the failed
	// ReportFailure activity keep the whole message).
	maxKeptMessage = 300
	// maxRetryIDs bounds the failure ids a retry waits with; more ids retry every failure.
	maxRetryIDs = 1000
)

// SideCounts counts what the sync did to one side of one module.
type SideCounts struct {
	Indexed int `json:"indexed"`
	Added   int `json:"added"`   // records created on this side
	Updated int `json:"updated"` // records updated on this side
	// Failed counts failed writes to this side: a record is counted again at each pass it
	// fails in (the history's per-run figures are differences of it).
	Failed int `json:"failed"`
	// Open counts the records failing to reach this side now: their open entries in the
	// failure log as of its last look (refreshFailureCount); a retry that succeeds lowers it.
	Open int `json:"open"`
}

// ModuleProgress counts what the sync did to one module, per side.
type ModuleProgress struct {
	// Linked counts the pairs this sync linked (matched or created); Links the linked pairs
	// in Postgres as of the last look at the failure log (refreshFailureCount), earlier
	// syncs' of the same integration included — after a delete and a new start, Linked
	// begins at 0 while the links are all there.
	Linked int        `json:"linked"`
	Links  int        `json:"links,omitempty"`
	Desk   SideCounts `json:"desk"`
	CRM    SideCounts `json:"crm"`
}

// RunSummary is one line of the sync history: one run of one module in one direction, or
// (DayTotal) the sum of a UTC day's runs of one kind, module and direction.
type RunSummary struct {
	// Time is when the run started; for a day's total, 00:00 UTC of that day.
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"` // initial, incremental or retry
	Module    string    `json:"module"`
	Direction string    `json:"direction"` // source → destination: desk-to-crm or crm-to-desk
	Added     int       `json:"added"`
	Updated   int       `json:"updated"`
	Failed    int       `json:"failed"`
	// Runs is how many runs the line sums (1 for one run; 0 in lines kept by older versions).
	Runs int `json:"runs,omitempty"`
	// DayTotal marks a line that sums a day's runs.
	DayTotal bool `json:"dayTotal,omitempty"`
}

// State is everything the workflow knows; it is the continue-as-new input's state and is not
// shown as such (the status query answers a Status). Every list in it is bounded. Old runs'
// states decode into it: fields since removed are ignored, and the JSON names never change.
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
	// Runs are the newest run lines of the workflow's own runs and passes, newest first, at
	// most keptRuns.
	Runs []RunSummary `json:"runs,omitempty"`
	// History is the seven-day view last read from Postgres (HistoryRead, zero: never), and
	// RunsSinceRead how many of Runs came after it.
	History       []RunSummary `json:"history,omitempty"`
	HistoryRead   time.Time    `json:"historyRead,omitzero"`
	RunsSinceRead int          `json:"runsSinceRead,omitempty"`
	// Failures are the newest open failures (at most maxKeptFailure, messages cut to
	// maxKeptMessage bytes); OpenFailures counts them all.
	Failures     []store.Failure `json:"failures,omitempty"`
	OpenFailures int             `json:"openFailures"`
	// RetryIDs and RetryAll are a retry asked for and not yet marked in Postgres.
	RetryIDs      []int64 `json:"retryIds,omitempty"`
	RetryAll      bool    `json:"retryAll,omitempty"`
	SyncRequested bool    `json:"syncRequested,omitempty"`
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
	// Done names the first sync's steps done, in runs with overlapVersion (Step then counts
	// them; runs before it counted in Step the steps done in order).
	Done []string `json:"done,omitempty"`
	// Measured is what the first sync's steps measured, by step name, for the estimate.
	Measured map[string]StepMeasure `json:"measured,omitempty"`
	// Credits is the newest view of the day's credits the activities reported.
	Credits CreditsView `json:"credits,omitzero"`
	// Hinted lists the sides and modules ("side/module") changes signals named that no pass
	// has read since, sorted (hintedPassVersion; at most four).
	Hinted []string `json:"hinted,omitempty"`
	// LastFullPass is when the last pass of both modules and sides began (hintedPassVersion).
	LastFullPass time.Time `json:"lastFullPass,omitzero"`
}

// StepMeasure is what one first-sync step measured: how long its attempts ran, the credits
// its successful attempt spent, and (match) the pairs it linked.
type StepMeasure struct {
	Ran         time.Duration `json:"ran"`
	CRMCredits  int           `json:"crmCredits,omitempty"`
	DeskCredits int           `json:"deskCredits,omitempty"`
	Linked      int           `json:"linked,omitempty"`
}

// CreditsView is the day's credits as the activities last reported them: what the servers
// said is left (0: not said) and the configured daily allowances (0: unknown), and when.
type CreditsView struct {
	CRMLeft   int64     `json:"crmLeft,omitempty"`
	DeskLeft  int64     `json:"deskLeft,omitempty"`
	CRMDaily  int64     `json:"crmDaily,omitempty"`
	DeskDaily int64     `json:"deskDaily,omitempty"`
	At        time.Time `json:"at,omitzero"`
	// CRMReserve and DeskReserve are the credits of each day left to the org's other
	// integrations, as configured; with ReserveReported false no activity has said yet, and
	// creditReservePercent is assumed.
	CRMReserve      int64 `json:"crmReserve,omitempty"`
	DeskReserve     int64 `json:"deskReserve,omitempty"`
	ReserveReported bool  `json:"reserveReported,omitempty"`
}

// newState returns the state a run starts from: the carried one, made whole and cut to the
// bounds (a state carried by an older version may hold seven days of runs), or a new one.
func newState(in SyncInput) *State {
	st := in.State
	if st == nil {
		st = &State{IntegrationID: in.IntegrationID, Mode: in.Mode, Phase: PhasePreflight}
	}
	if st.Progress == nil {
		st.Progress = map[string]*ModuleProgress{}
	}
	for _, m := range modules {
		if st.Progress[m] == nil {
			st.Progress[m] = &ModuleProgress{}
		}
	}
	if len(st.Runs) > keptRuns {
		st.Runs = st.Runs[:keptRuns]
	}
	st.Failures = keptFailures(st.Failures)
	return st
}

// modules are the synced modules in the order every step takes them (contacts point at accounts).
var modules = []string{activities.Accounts, activities.Contacts}

// Status is the answer to the status query: what a person or the starter wants to see. It is
// its own type, so that the state's fields can change without changing the query's JSON.
type Status struct {
	IntegrationID string   `json:"integrationId"`
	Mode          string   `json:"mode"`
	Phase         string   `json:"phase"`
	Step          int      `json:"step"`
	Steps         []string `json:"steps"`
	// RunningSteps are the steps under way: in flight, or, while the first sync is paused or
	// waits for credits, those that run when it goes on. CurrentStep is the first of them.
	RunningSteps  []string                      `json:"runningSteps,omitempty"`
	CurrentStep   string                        `json:"currentStep,omitempty"`
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
	OpenFailures  int                           `json:"openFailures"`
	RetryIDs      []int64                       `json:"retryIds,omitempty"`
	RetryAll      bool                          `json:"retryAll,omitempty"`
	SyncRequested bool                          `json:"syncRequested,omitempty"`
	// Cursors are the incremental sync's positions, keyed "module/side".
	Cursors map[string]activities.Cursor `json:"cursors,omitempty"`
	// Pending are the changed ids waiting for the next pass, keyed "side/module".
	Pending         map[string][]string `json:"pending,omitempty"`
	PendingOverflow bool                `json:"pendingOverflow,omitempty"`
	ChangesSignals  int                 `json:"changesSignals,omitempty"`
	Passes          int                 `json:"passes,omitempty"`
	// RetryMarked and CatchUp: the next pass also runs the first sync's create and reconcile
	// steps (failures marked for retry; a switch to two-way).
	RetryMarked    bool      `json:"retryMarked,omitempty"`
	CatchUp        bool      `json:"catchUp,omitempty"`
	DeskRewind     time.Time `json:"deskRewind,omitzero"`
	OneWaySince    time.Time `json:"oneWaySince,omitzero"`
	SwitchedToSync bool      `json:"switchedToSync,omitempty"`
	// Hinted are the sides and modules webhooks reported changes of, waiting for their pass.
	Hinted []string `json:"hinted,omitempty"`
	// Estimate is when the first sync should end, daily credit resets included, and what that
	// is based on; only while the first sync runs.
	Estimate *Estimate `json:"estimate,omitempty"`
}

// status answers the status query; now is the workflow's time.
func (s *syncImpl) status(now time.Time) Status {
	st := s.st
	out := Status{IntegrationID: st.IntegrationID, Mode: st.Mode, Phase: st.Phase, Step: st.Step, InitialDone: st.InitialDone,
		InitialStart: st.InitialStart, Paused: st.Paused, PausedReason: st.PausedReason, WaitingFor: st.WaitingFor,
		Problems: st.Problems, Progress: st.Progress, CRMCredits: st.CRMCredits, DeskCredits: st.DeskCredits, LastSync: st.LastSync,
		OpenFailures: st.OpenFailures, RetryIDs: st.RetryIDs, RetryAll: st.RetryAll, SyncRequested: st.SyncRequested,
		Cursors: st.Cursors, Pending: st.Pending, PendingOverflow: st.PendingOverflow, ChangesSignals: st.ChangesSignals,
		Passes: st.Passes, RetryMarked: st.RetryMarked, CatchUp: st.CatchUp, DeskRewind: st.DeskRewind,
		OneWaySince: st.OneWaySince, SwitchedToSync: st.SwitchedToSync, Hinted: st.Hinted}
	for _, x := range s.steps {
		out.Steps = append(out.Steps, x.name())
	}
	if s.overlap {
		out.RunningSteps = s.nextSteps()
	} else if !st.InitialDone && st.Step < len(s.steps) {
		out.RunningSteps = []string{s.steps[st.Step].name()}
	}
	if len(out.RunningSteps) > 0 {
		out.CurrentStep = out.RunningSteps[0]
	}
	if !st.InitialDone && st.Phase != PhasePreflight && st.Phase != PhaseBlocked {
		e := estimate(s.estimateInput(now))
		out.Estimate = &e
	}
	if st.Paused {
		// A step the pause cancelled may still call Zoho until its next heartbeat tells it
		// to stop: until it has, the pause waits for it, not yet for the resume signal.
		wait, then := "resume signal", "the resume signal"
		if s.creditsReason != "" && st.PausedReason == s.creditsReason {
			// A credits pause ends by itself (a trial read "resuming at …" beside "waiting for
			// resume signal" as two answers).
			wait = "the daily API credits, at " + s.creditsUntil.UTC().Format(time.RFC3339) + ", or the resume signal"
			then = wait
		}
		out.WaitingFor = wait
		if stopping := s.stoppingSteps(); len(stopping) > 0 {
			out.WaitingFor = strings.Join(stopping, ", ") + " to stop, then " + then
		}
	}
	return out
}

// history answers the history query: the seven-day view read from Postgres, after the lines
// of the workflow's own passes since it was read (none unless the read failed); before the
// first read, the workflow's own lines.
func (s *syncImpl) history() []RunSummary {
	if s.st.HistoryRead.IsZero() {
		return s.st.Runs
	}
	newer := s.st.Runs[:min(s.st.RunsSinceRead, len(s.st.Runs))]
	return append(slices.Clone(newer), s.st.History...)
}

// addRuns puts run lines at the head of the workflow's own, keeping the newest keptRuns of
// the last seven days.
func (s *syncImpl) addRuns(lines []RunSummary, now time.Time) {
	for _, r := range lines {
		s.st.Runs = append([]RunSummary{r}, s.st.Runs...)
	}
	cut := now.Add(-HistoryKeep)
	s.st.Runs = slices.DeleteFunc(s.st.Runs, func(x RunSummary) bool { return x.Time.Before(cut) })
	if len(s.st.Runs) > keptRuns {
		s.st.Runs = s.st.Runs[:keptRuns]
	}
	s.st.RunsSinceRead += len(lines)
}

// keptFailures cuts a list of failures to what the state keeps: the first maxKeptFailure,
// messages at most maxKeptMessage bytes.
func keptFailures(fs []store.Failure) []store.Failure {
	if len(fs) > maxKeptFailure {
		fs = fs[:maxKeptFailure]
	}
	for i := range fs {
		fs[i].Message = cutMessage(fs[i].Message)
	}
	return fs
}

// cutMessage shortens a message to maxKeptMessage bytes, at a character boundary.
func cutMessage(m string) string {
	if len(m) <= maxKeptMessage {
		return m
	}
	const more = "…"
	cut := maxKeptMessage - len(more)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + more
}

// progressSnapshot copies the progress of every module.
func (s *syncImpl) progressSnapshot() map[string]ModuleProgress {
	out := make(map[string]ModuleProgress, len(modules))
	for _, m := range modules {
		out[m] = *s.st.Progress[m]
	}
	return out
}

// linesSince returns one run line per module and direction whose counts grew since before,
// accounts first, Desk → CRM before CRM → Desk.
func (s *syncImpl) linesSince(before map[string]ModuleProgress, kind string, at time.Time) []RunSummary {
	var out []RunSummary
	for _, m := range modules {
		p, b := s.st.Progress[m], before[m]
		for _, d := range []RunSummary{
			{Direction: activities.DeskToCRM, Added: p.CRM.Added - b.CRM.Added, Updated: p.CRM.Updated - b.CRM.Updated, Failed: p.CRM.Failed - b.CRM.Failed},
			{Direction: activities.CRMToDesk, Added: p.Desk.Added - b.Desk.Added, Updated: p.Desk.Updated - b.Desk.Updated, Failed: p.Desk.Failed - b.Desk.Failed},
		} {
			if d.Added+d.Updated+d.Failed > 0 {
				d.Time, d.Kind, d.Module, d.Runs = at, kind, m, 1
				out = append(out, d)
			}
		}
	}
	return out
}

// stoppingSteps are the activities still running while the sync is paused: a pass or step
// that executePausable waits for, or first-sync steps in flight.
func (s *syncImpl) stoppingSteps() []string {
	if s.pausable != "" {
		return []string{s.pausable}
	}
	out := make([]string, 0, len(s.running))
	for _, r := range s.running {
		out = append(out, r.name)
	}
	return out
}
