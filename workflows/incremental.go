package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// activityMode is the mode activities work in: a legacy import is one-way CRM → Desk.
func activityMode(mode string) string {
	if mode == ModeLegacyImport {
		return activities.ModeOneWayToDesk
	}
	return mode
}

// pass is what one incremental pass works with, taken from the state when it begins. In runs
// with storedStateVersion the pass also takes the requests it serves out of the state, so
// that a retry or mode change arriving while it runs is left for the next pass.
type pass struct {
	start      time.Time
	mode       string
	steps      []step
	retry      bool      // failures were marked for retry
	catchUp    bool      // the mode became two-way
	deskRewind time.Time // with catchUp: where Desk changes are read again from
	// full: the pass reads both sides of both modules; else (hintedPassVersion) only the
	// modules and sides changes signals hinted.
	full bool
}

func (s *syncImpl) beginPass(ctx workflow.Context, full bool) pass {
	p := pass{start: workflow.Now(ctx), mode: s.st.Mode, steps: s.steps, retry: s.st.RetryMarked,
		catchUp: s.st.CatchUp, deskRewind: s.st.DeskRewind, full: full || !s.hinted}
	if s.stored {
		s.st.RetryMarked, s.st.CatchUp, s.st.DeskRewind = false, false, time.Time{}
		s.st.PendingOverflow = false
	}
	if s.hinted && p.full {
		s.st.LastFullPass = p.start
	}
	return p
}

// incrementalPass brings the changes since the cursors to the other side, accounts before
// contacts (contacts point at accounts), one IncrementalPass activity per module: of both
// sides of both modules when full, else of the modules and sides changes signals hinted.
// Failures marked for retry, and a switch to two-way, also re-run the first sync's create and
// reconcile steps, which pick those records up (overlapping, in runs with overlapVersion).
// Runs started before incremental passes existed keep re-running only those steps.
func (s *syncImpl) incrementalPass(ctx workflow.Context, full bool) error {
	v := workflow.GetVersion(ctx, incrementalVersion, workflow.DefaultVersion, 1)
	p := s.beginPass(ctx, full)
	log := workflow.GetLogger(ctx)
	before := s.progressSnapshot()
	var lines []RunSummary
	if v == workflow.DefaultVersion || p.retry || p.catchUp {
		log.Info("pass runs the first sync's create and reconcile steps again", "integration", s.st.IntegrationID,
			"retry", p.retry, "catchUp", p.catchUp)
		if err := s.rerunSteps(ctx, p); err != nil {
			return err
		}
		if !s.stored {
			s.st.RetryMarked = false
		} else {
			kind := "incremental"
			if p.retry {
				kind = "retry"
			}
			stepLines := s.linesSince(before, kind, p.start)
			s.recordRuns(ctx, stepLines, p.start)
			lines = append(lines, stepLines...)
			before = s.progressSnapshot()
		}
	}
	if v != workflow.DefaultVersion {
		more := false
		for _, m := range modules {
			sides, ok := s.passSides(m, p)
			if !ok {
				continue
			}
			res, err := s.runIncremental(ctx, m, p, sides)
			if err != nil {
				return err
			}
			if res.More && !p.full {
				s.addHinted(m, sides) // the rest of the hinted sides' changes: another hinted pass
			} else {
				more = more || res.More
			}
			if s.follow && !p.full && m == activities.Accounts && res.Matched+res.CreatedInCRM+res.CreatedInDesk > 0 {
				// Accounts linked now: contacts whose account could not be carried can be (the
				// contacts pass reads them, AccountFollowers), this pass rather than the next full one.
				s.addHinted(activities.Contacts, sides)
			}
		}
		if !s.stored {
			s.st.CatchUp, s.st.DeskRewind = false, time.Time{}
			s.st.PendingOverflow = false
		}
		s.st.Passes++
		if more {
			s.st.SyncRequested = true
		}
	}
	// The IncrementalPass activity records its own lines in Postgres.
	lines = append(lines, s.linesSince(before, "incremental", p.start)...)
	s.addRuns(lines, p.start)
	s.st.LastSync = p.start
	s.upsertSearchAttributes(ctx)
	if s.stored && len(lines) > 0 {
		s.refreshHistory(ctx)
	}
	return nil
}

// rerunSteps runs the first sync's create and reconcile steps again, overlapping in runs with
// overlapVersion, one at a time before.
func (s *syncImpl) rerunSteps(ctx workflow.Context, p pass) error {
	if s.overlap {
		done := map[string]bool{}
		for _, x := range p.steps {
			if x.indexes() {
				done[x.name()] = true
			}
		}
		return s.runOverlapping(ctx, p.steps, done, p.mode, false)
	}
	for _, x := range p.steps {
		if x.indexes() {
			continue
		}
		if err := s.runStep(ctx, x, p.mode); err != nil {
			return err
		}
	}
	return nil
}

// runIncremental runs one module's IncrementalPass for the hinted sides (nil: a full pass; the
// pass reads the other side's first changes too, IncrementalInput.Sides), cancelling it when
// the sync is paused and running it again on resume (a pass commits its cursors only at its
// end, so a cancelled pass is simply read again).
func (s *syncImpl) runIncremental(ctx workflow.Context, module string, p pass, sides []string) (activities.IncrementalResult, error) {
	hints := s.takeHints(module, sides)
	name := "incremental-" + module
	for {
		if err := s.awaitUnpaused(ctx); err != nil {
			return activities.IncrementalResult{}, err
		}
		in := activities.IncrementalInput{IntegrationID: s.st.IntegrationID, Module: module, Mode: activityMode(p.mode),
			Since: s.st.InitialStart, Hints: hints, Sides: sides}
		if p.catchUp {
			in.DeskFrom = p.deskRewind
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
func (s *syncImpl) absorbIncremental(ctx workflow.Context, module string, r activities.IncrementalResult) {
	if s.st.Cursors == nil {
		s.st.Cursors = map[string]activities.Cursor{}
	}
	s.st.Cursors[module+"/"+activities.SideCRM] = r.CRMCursor
	s.st.Cursors[module+"/"+activities.SideDesk] = r.DeskCursor
	p := s.st.Progress[module]
	p.Linked += r.CreatedInCRM + r.CreatedInDesk + r.Matched - r.Recreated
	s.addCounts(ctx, p, r.StepResult)
}
