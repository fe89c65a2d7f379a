package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
	"deskcrm/store"
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
)

// RetrySignal asks for failed records to be tried again; no ids means all.
type RetrySignal struct {
	IDs []int64 `json:"ids,omitempty"`
}

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
	// CatchUpSince is set when the change goes back to two-way: the next pass sends to CRM
	// the Desk records and changes made since then, which one-way mode held back.
	CatchUpSince time.Time `json:"catchUpSince,omitzero"`
}

// signals are the workflow's signal channels.
type signals struct {
	pause, resume, retry, syncNow, changes workflow.ReceiveChannel
}

func (g signals) all() []workflow.ReceiveChannel {
	return []workflow.ReceiveChannel{g.pause, g.resume, g.retry, g.syncNow, g.changes}
}

// setup reads the run's version and registers the queries, signals and updates.
func (s *syncImpl) setup(ctx workflow.Context) error {
	s.stored = workflow.GetVersion(ctx, storedStateVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	s.overlap = workflow.GetVersion(ctx, overlapVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	s.hinted = workflow.GetVersion(ctx, hintedPassVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	s.pausedRetry = workflow.GetVersion(ctx, pausedRetryVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	s.follow = workflow.GetVersion(ctx, followVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	s.lateRetry = workflow.GetVersion(ctx, lateRetryVersion, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		return s.status(workflow.Now(ctx)), nil
	}, workflow.QueryHandlerOptions{Description: "Phase, mode, paused, progress per module and side, the steps running, credits used and " +
		"an estimate of the first sync's end (daily credit resets included), what the sync waits for"}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryHistory, func() ([]RunSummary, error) {
		return s.history(), nil
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

// receive takes one signal from c into the state.
func (s *syncImpl) receive(ctx workflow.Context, c workflow.ReceiveChannel) {
	switch c {
	case s.sigs.pause:
		c.Receive(ctx, nil)
		s.st.Paused, s.st.PausedReason = true, PausedByRequest
	case s.sigs.resume:
		c.Receive(ctx, nil)
		s.st.Paused, s.st.PausedReason = false, ""
	case s.sigs.retry:
		var r RetrySignal
		c.Receive(ctx, &r)
		s.addRetry(ctx, r)
	case s.sigs.syncNow:
		c.Receive(ctx, nil)
		s.st.SyncRequested = true
	case s.sigs.changes:
		var ch ChangesSignal
		c.Receive(ctx, &ch)
		s.addChanges(ch)
	}
}

// addRetry records a retry signal: no ids means every open failure. Ids are kept sorted and
// unique; beyond maxRetryIDs of them, every open failure is retried.
func (s *syncImpl) addRetry(ctx workflow.Context, r RetrySignal) {
	s.retrySignals++
	if len(r.IDs) == 0 {
		s.st.RetryAll = true
	}
	s.st.RetryIDs = append(s.st.RetryIDs, r.IDs...)
	if !s.stored {
		return
	}
	slices.Sort(s.st.RetryIDs)
	s.st.RetryIDs = slices.Compact(s.st.RetryIDs)
	if len(s.st.RetryIDs) > maxRetryIDs {
		workflow.GetLogger(ctx).Info("retry of more failure ids than kept: retrying every open failure",
			"integration", s.st.IntegrationID, "ids", len(s.st.RetryIDs))
		s.st.RetryAll = true
	}
	if s.st.RetryAll {
		s.st.RetryIDs = nil
	}
}

// drainSignals takes in every signal delivered but not yet received.
func (s *syncImpl) drainSignals(ctx workflow.Context) {
	for _, c := range s.sigs.all() {
		if c == nil {
			continue
		}
		for c.Len() > 0 {
			s.receive(ctx, c)
		}
	}
}

// addChanges records a changes signal: it keeps the ids, deduplicated and bounded, and
// requests a pass of the hinted module and side (hintedPassVersion; before it, and for a
// malformed hint, a full pass), coalesced with any other request.
func (s *syncImpl) addChanges(ch ChangesSignal) {
	s.st.ChangesSignals++
	s.st.Pending = addPending(s.st.Pending, ch, &s.st.PendingOverflow)
	if s.hinted && validHint(ch) {
		if ch.Module == activities.Contacts {
			// The contacts may point at accounts of their side that changed too and whose
			// hint has not come yet: that side's accounts go first (a read that finds nothing
			// most times), so that the references are carried at once, not when the contact
			// next changes.
			s.addHinted(activities.Accounts, []string{ch.Source})
		}
		s.addHinted(ch.Module, []string{ch.Source})
		return
	}
	s.st.SyncRequested = true
}

// validHint reports whether a changes signal names a known side and module.
func validHint(ch ChangesSignal) bool {
	return (ch.Source == activities.SideCRM || ch.Source == activities.SideDesk) &&
		(ch.Module == activities.Contacts || ch.Module == activities.Accounts)
}

// addHinted requests a hinted pass of module's sides.
func (s *syncImpl) addHinted(module string, sides []string) {
	for _, side := range sides {
		key := side + "/" + module
		if i, found := slices.BinarySearch(s.st.Hinted, key); !found {
			s.st.Hinted = slices.Insert(s.st.Hinted, i, key)
		}
	}
}

// passSides returns the sides one module's pass is for, and whether it runs at all: a full
// pass both (nil), a hinted pass the sides hinted until the module's turn (CRM first). The
// module's hints are taken either way: the pass reads them. (A hinted pass reads the other
// side's first changes too: IncrementalInput.Sides.)
func (s *syncImpl) passSides(module string, p pass) ([]string, bool) {
	var sides []string
	for _, side := range []string{activities.SideCRM, activities.SideDesk} {
		key := side + "/" + module
		if i, found := slices.BinarySearch(s.st.Hinted, key); found {
			sides = append(sides, side)
			s.st.Hinted = slices.Delete(s.st.Hinted, i, i+1)
		}
	}
	if p.full {
		return nil, true
	}
	return sides, len(sides) > 0
}

// addPending merges a signal's ids into pending, keyed "source/module", keeping each list
// sorted and unique and at most MaxPendingIDs long (overflow is set when ids were dropped).
// Deletions carry no ids worth reading: the pass reads the recycle bins.
func addPending(pending map[string][]string, ch ChangesSignal, overflow *bool) map[string][]string {
	if ch.Operation == "delete" || len(ch.IDs) == 0 {
		return pending
	}
	if !validHint(ch) {
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

// takeHints removes and returns the pending ids of one module, per side, of the given sides
// (nil: both).
func (s *syncImpl) takeHints(module string, sides []string) map[string][]string {
	var out map[string][]string
	for _, side := range []string{activities.SideCRM, activities.SideDesk} {
		if sides != nil && !slices.Contains(sides, side) {
			continue
		}
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
func (s *syncImpl) setupUpdates(ctx workflow.Context) error {
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

// changeMode stores the new mode in Postgres, then applies it from the next pass (a pass
// under way finishes in the mode it began in). Going to two-way catches up: Desk records and
// changes one-way mode did not send are sent.
func (s *syncImpl) changeMode(ctx workflow.Context, mode string) (ModeResult, error) {
	prev := s.st.Mode
	res := ModeResult{Mode: mode, Previous: prev}
	if mode == prev {
		return res, nil
	}
	var err error
	if s.stored {
		err = s.recordMode(ctx, mode)
	} else {
		err = workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).SetMode,
			activities.ModeInput{IntegrationID: s.st.IntegrationID, Mode: mode}).Get(ctx, nil)
	}
	if err != nil {
		return ModeResult{}, fmt.Errorf("store the mode: %w", err)
	}
	workflow.GetLogger(ctx).Info("sync mode changed", "integration", s.st.IntegrationID, "from", prev, "to", mode)
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
		res.CatchUpSince = s.st.DeskRewind
	}
	if activityMode(mode) != activities.ModeTwoWay {
		s.st.OneWaySince = now
	}
	s.upsertSearchAttributes(ctx)
	return res, nil
}

// recordMode copies the mode and the look-back to Postgres: the workflow holds the mode, and
// Postgres a copy written at every run's start and every mode change.
func (s *syncImpl) recordMode(ctx workflow.Context, mode string) error {
	return workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).RecordMode,
		activities.RecordModeInput{IntegrationID: s.st.IntegrationID, Mode: mode, LookbackDays: s.in.LookbackDays}).Get(ctx, nil)
}

// recordLegacyMode stores a legacy integration's mode once its mapping passed the preflight,
// in runs that began before storedStateVersion (later runs record the mode at their start).
func (s *syncImpl) recordLegacyMode(ctx workflow.Context) error {
	if s.stored || s.st.Mode != ModeLegacyImport || s.st.Step > 0 {
		return nil
	}
	return workflow.ExecuteActivity(s.activityCtx(ctx, 30*time.Second), (*activities.Activities).SetMode,
		activities.ModeInput{IntegrationID: s.st.IntegrationID, Mode: s.st.Mode}).Get(ctx, nil)
}

// PausedByRequest is Status.PausedReason of a sync paused by the pause signal (not by credits
// or the mapping).
const PausedByRequest = "paused by request"
