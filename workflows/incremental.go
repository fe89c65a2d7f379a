package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// Names of the workflow's updates and of the legacy mode.
const (
	// UpdateSetMode switches between two-way and one-way CRM → Desk sync.
	UpdateSetMode = "set-mode"
	// UpdateSwitchToSync moves a legacy one-way scheduled import to two-way sync, once.
	UpdateSwitchToSync = "switch-to-sync"
	// ModeLegacyImport is an integration still on the legacy one-way scheduled import: it runs
	// as one-way CRM → Desk passes on the poll timer, with no webhooks.
	ModeLegacyImport = "legacy-import"
	// MaxPendingIDs bounds the ids kept per side and module between passes.
	MaxPendingIDs = 1000
	// incrementalVersion marks runs whose passes use the IncrementalPass activity.
	incrementalVersion = "incremental-pass"
)

// ChangesSignal is the payload of the changes signal, sent by the webhook receiver when CRM
// or Desk reports changed records. The ids are hints: a pass reads every change since the
// cursors anyway, and reads reported ids its read of changes missed.
type ChangesSignal struct {
	// Source is "crm" or "desk".
	Source string `json:"source"`
	// Module is "contacts" or "accounts".
	Module string `json:"module"`
	// IDs are the changed records' ids on the source side.
	IDs []string `json:"ids,omitempty"`
	// Operation is "insert", "update" or "delete".
	Operation string `json:"operation,omitempty"`
}

// SetModeRequest is the argument of the set-mode update.
type SetModeRequest struct {
	Mode string `json:"mode"`
}

// ModeResult answers set-mode and switch-to-sync.
type ModeResult struct {
	Mode     string `json:"mode"`
	Previous string `json:"previous"`
}

// activityMode is the mode activities work in: a legacy import is one-way CRM → Desk.
func activityMode(mode string) string {
	if mode == ModeLegacyImport {
		return activities.ModeOneWayToDesk
	}
	return mode
}

func (g signals) all() []workflow.ReceiveChannel {
	return []workflow.ReceiveChannel{g.pause, g.resume, g.retry, g.syncNow, g.changes}
}

// receive takes one signal from c into the state.
func (s *sync) receive(ctx workflow.Context, c workflow.ReceiveChannel) {
	switch c {
	case s.sigs.pause:
		c.Receive(ctx, nil)
		s.st.Paused, s.st.PausedReason = true, "paused by request"
	case s.sigs.resume:
		c.Receive(ctx, nil)
		s.st.Paused, s.st.PausedReason = false, ""
	case s.sigs.retry:
		var r RetrySignal
		c.Receive(ctx, &r)
		if len(r.IDs) == 0 {
			s.st.RetryAll = true
		}
		s.st.RetryIDs = append(s.st.RetryIDs, r.IDs...)
	case s.sigs.syncNow:
		c.Receive(ctx, nil)
		s.st.SyncRequested = true
	case s.sigs.changes:
		var ch ChangesSignal
		c.Receive(ctx, &ch)
		s.addChanges(ch)
	}
}

// drainSignals takes in every signal delivered but not yet received.
func (s *sync) drainSignals(ctx workflow.Context) {
	for _, c := range s.sigs.all() {
		if c == nil {
			continue
		}
		for c.Len() > 0 {
			s.receive(ctx, c)
		}
	}
}

// addChanges records a changes signal: it requests a pass (coalesced with any other
// request) and keeps the ids, deduplicated and bounded.
func (s *sync) addChanges(ch ChangesSignal) {
	s.st.ChangesSignals++
	s.st.SyncRequested = true
	s.st.Pending = addPending(s.st.Pending, ch, &s.st.PendingOverflow)
}

// addPending merges a signal's ids into pending, keyed "source/module", keeping each list
// sorted and unique and at most MaxPendingIDs long (overflow is set when ids were dropped).
// Deletions carry no ids worth reading: the pass reads the recycle bins.
func addPending(pending map[string][]string, ch ChangesSignal, overflow *bool) map[string][]string {
	if ch.Operation == "delete" || len(ch.IDs) == 0 {
		return pending
	}
	if (ch.Source != activities.SideCRM && ch.Source != activities.SideDesk) ||
		(ch.Module != activities.Contacts && ch.Module != activities.Accounts) {
		return pending // a malformed hint still triggers the pass, which reads every change
	}
	if pending == nil {
		pending = map[string][]string{}
	}
	key := ch.Source + "/" + ch.Module
	list := pending[key]
	for _, id := range ch.IDs {
		i, found := slices.BinarySearch(list, id)
		if found || id == "" {
			continue
		}
		if len(list) >= MaxPendingIDs {
			*overflow = true
			continue
		}
		list = slices.Insert(list, i, id)
	}
	pending[key] = list
	return pending
}

// takeHints removes and returns the pending ids of one module, per side.
func (s *sync) takeHints(module string) map[string][]string {
	var out map[string][]string
	for _, side := range []string{activities.SideCRM, activities.SideDesk} {
		key := side + "/" + module
		if ids := s.st.Pending[key]; len(ids) > 0 {
			if out == nil {
				out = map[string][]string{}
			}
			out[side] = ids
		}
		delete(s.st.Pending, key)
	}
	return out
}

// setupUpdates registers set-mode and switch-to-sync.
func (s *sync) setupUpdates(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSetMode,
		func(ctx workflow.Context, req SetModeRequest) (ModeResult, error) {
			return s.changeMode(ctx, req.Mode)
		},
		workflow.UpdateHandlerOptions{
			Validator:   func(req SetModeRequest) error { return validateSetMode(s.st, req) },
			Description: `Change the sync type: {"mode":"two-way"} or {"mode":"one-way-crm-to-desk"}`,
		}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateSwitchToSync,
		func(ctx workflow.Context) (ModeResult, error) {
			res, err := s.changeMode(ctx, activities.ModeTwoWay)
			if err == nil {
				s.st.SwitchedToSync = true
			}
			return res, err
		},
		workflow.UpdateHandlerOptions{
			Validator:   func() error { return validateSwitchToSync(s.st) },
			Description: "Switch a legacy one-way scheduled import to two-way sync, once (it cannot be reverted)",
		})
}

// validateSetMode accepts a switch between the two sync modes; it refuses unknown modes,
// the legacy mode, legacy integrations (they use switch-to-sync) and a first sync under way.
func validateSetMode(st *State, req SetModeRequest) error {
	switch req.Mode {
	case activities.ModeTwoWay, activities.ModeOneWayToDesk:
	case ModeLegacyImport:
		return fmt.Errorf("mode %q cannot be set: the switch from the legacy import to sync cannot be reverted", req.Mode)
	default:
		return fmt.Errorf("mode %q is not a sync mode: use %q or %q", req.Mode, activities.ModeTwoWay, activities.ModeOneWayToDesk)
	}
	if st.Mode == ModeLegacyImport {
		return fmt.Errorf("this integration is a legacy one-way import: use the %s update to move it to sync", UpdateSwitchToSync)
	}
	if !st.InitialDone {
		return errors.New("the first sync is still running: change the mode once it is done (the status query shows its progress)")
	}
	return nil
}

// validateSwitchToSync accepts the switch only for a legacy import whose first import is done.
func validateSwitchToSync(st *State) error {
	if st.SwitchedToSync {
		return errors.New("this integration was already switched from the legacy import to sync; the switch cannot be reverted")
	}
	if st.Mode != ModeLegacyImport {
		return fmt.Errorf("this integration is not a legacy import (mode %q): use %s to change its sync type", st.Mode, UpdateSetMode)
	}
	if !st.InitialDone {
		return errors.New("the first import is still running: switch to sync once it is done")
	}
	return nil
}

// changeMode stores the new mode in Postgres, then applies it from the next pass. Going to
// two-way catches up: Desk records and changes one-way mode did not send are sent.
func (s *sync) changeMode(ctx workflow.Context, mode string) (ModeResult, error) {
	prev := s.st.Mode
	res := ModeResult{Mode: mode, Previous: prev}
	if mode == prev {
		return res, nil
	}
	err := workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).SetMode,
		activities.ModeInput{IntegrationID: s.st.IntegrationID, Mode: mode}).Get(ctx, nil)
	if err != nil {
		return ModeResult{}, fmt.Errorf("store the mode: %w", err)
	}
	s.st.Mode = mode
	s.steps = initialSteps(mode)
	now := workflow.Now(ctx)
	if activityMode(mode) == activities.ModeTwoWay && activityMode(prev) != activities.ModeTwoWay {
		s.st.CatchUp = true
		s.st.DeskRewind = s.st.OneWaySince
		if s.st.DeskRewind.IsZero() {
			s.st.DeskRewind = s.st.InitialStart
		}
		s.st.SyncRequested = true
	}
	if activityMode(mode) != activities.ModeTwoWay {
		s.st.OneWaySince = now
	}
	s.upsertSearchAttributes(ctx)
	return res, nil
}

// recordLegacyMode stores a legacy integration's mode once its mapping passed the preflight
// (the preflight registers the integration in its activity mode).
func (s *sync) recordLegacyMode(ctx workflow.Context) error {
	if s.st.Mode != ModeLegacyImport || s.st.Step > 0 {
		return nil
	}
	return workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).SetMode,
		activities.ModeInput{IntegrationID: s.st.IntegrationID, Mode: s.st.Mode}).Get(ctx, nil)
}

// incrementalPass brings the changes since the cursors to the other side, accounts before
// contacts (contacts point at accounts), one IncrementalPass activity per module. Failures
// marked for retry, and a switch to two-way, also re-run the first sync's create and
// reconcile steps, which pick those records up. Runs started before incremental passes
// existed keep re-running only those steps.
func (s *sync) incrementalPass(ctx workflow.Context) error {
	v := workflow.GetVersion(ctx, incrementalVersion, workflow.DefaultVersion, 1)
	now := workflow.Now(ctx)
	before := map[string]ModuleProgress{}
	for m, p := range s.st.Progress {
		before[m] = *p
	}
	if v == workflow.DefaultVersion || s.st.RetryMarked || s.st.CatchUp {
		for _, x := range s.steps {
			if x.Name == "index-desk-"+x.Module || x.Name == "index-crm-"+x.Module {
				continue
			}
			if err := s.runStep(ctx, x); err != nil {
				return err
			}
		}
		s.st.RetryMarked = false
	}
	if v != workflow.DefaultVersion {
		more := false
		for _, m := range []string{activities.Accounts, activities.Contacts} {
			res, err := s.runIncremental(ctx, m)
			if err != nil {
				return err
			}
			more = more || res.More
		}
		s.st.CatchUp, s.st.DeskRewind = false, time.Time{}
		s.st.PendingOverflow = false
		s.st.Passes++
		if more {
			s.st.SyncRequested = true
		}
	}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		p, b := s.st.Progress[m], before[m]
		if d := (RunSummary{Time: now, Kind: "incremental", Module: m, Direction: activities.DeskToCRM, Added: p.CRM.Added - b.CRM.Added,
			Updated: p.CRM.Updated - b.CRM.Updated, Failed: p.CRM.Failed - b.CRM.Failed}); d.Added+d.Updated+d.Failed > 0 {
			s.addRun(d, now)
		}
		if d := (RunSummary{Time: now, Kind: "incremental", Module: m, Direction: activities.CRMToDesk, Added: p.Desk.Added - b.Desk.Added,
			Updated: p.Desk.Updated - b.Desk.Updated, Failed: p.Desk.Failed - b.Desk.Failed}); d.Added+d.Updated+d.Failed > 0 {
			s.addRun(d, now)
		}
	}
	s.st.LastSync = now
	s.upsertSearchAttributes(ctx)
	return nil
}

// runIncremental runs one module's IncrementalPass, cancelling it when the sync is paused and
// running it again on resume (a pass commits its cursors only at its end, so a cancelled
// pass is simply read again).
func (s *sync) runIncremental(ctx workflow.Context, module string) (activities.IncrementalResult, error) {
	hints := s.takeHints(module)
	name := "incremental-" + module
	for {
		if err := s.awaitUnpaused(ctx); err != nil {
			return activities.IncrementalResult{}, err
		}
		in := activities.IncrementalInput{IntegrationID: s.st.IntegrationID, Module: module, Mode: activityMode(s.st.Mode),
			Since: s.st.InitialStart, Hints: hints}
		if s.st.CatchUp {
			in.DeskFrom = s.st.DeskRewind
		}
		var res activities.IncrementalResult
		again, err := s.executePausable(ctx, name, (*activities.Activities).IncrementalPass, in, &res)
		if err != nil {
			return res, err
		}
		if again {
			continue
		}
		s.absorbIncremental(ctx, module, res)
		return res, nil
	}
}

// absorbIncremental folds a pass's result into the state.
func (s *sync) absorbIncremental(ctx workflow.Context, module string, r activities.IncrementalResult) {
	if s.st.Cursors == nil {
		s.st.Cursors = map[string]activities.Cursor{}
	}
	s.st.Cursors[module+"/"+activities.SideCRM] = r.CRMCursor
	s.st.Cursors[module+"/"+activities.SideDesk] = r.DeskCursor
	p := s.st.Progress[module]
	p.Linked += r.CreatedInCRM + r.CreatedInDesk + r.Matched - r.Recreated
	s.addCounts(ctx, p, r.StepResult)
}
