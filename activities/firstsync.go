package activities

import (
	"context"
	"slices"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// The first sync's steps after indexing. Each reads a batch from the index in Postgres (and
// what it needs from Zoho), plans it with a pure function of package reconcile, and hands the
// plan to the writer; each resumes from what Postgres holds, so a retried or resumed step
// carries on where the last attempt stopped.

// stepBatch is how many index rows or pairs a step plans at a time.
const stepBatch = 1000

// runStep is the frame of every first-sync step after indexing: the mapping, fresh planner
// statistics, a credit meter, the writer; body works the batches; the failures are recorded
// whatever happens.
func (a *Activities) runStep(ctx context.Context, in StepInput, body func(context.Context, *writer) error) (StepResult, error) {
	m, err := a.stepMapping(ctx, in)
	if err != nil {
		return StepResult{}, err
	}
	ctx, meter := withMeter(ctx)
	o := newOutcome(ctx)
	err = body(ctx, a.newWriter(in.IntegrationID, m, in.Mode, o))
	o.res.CRMCredits, o.res.DeskCredits = meter.used()
	res, ferr := a.flush(ctx, in.IntegrationID, o)
	if err == nil {
		err = ferr
	}
	return res, err
}

// stepMapping resolves the module's mapping for a step that plans from the index, and
// refreshes the planner's statistics (the index steps just filled the tables).
func (a *Activities) stepMapping(ctx context.Context, in StepInput) (mapping.Mapping, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return m, err
	}
	return m, a.Store.Analyze(ctx)
}

// Match links the indexed records whose match key (email for contacts, account name for
// accounts) names exactly one unlinked record on each side, and logs AMBIGUOUS_MATCH for
// records whose key several unlinked records share and CRM_ID_ALREADY_MAPPED for duplicates
// of a linked record: reconcile.PlanMatch over the index, key group by key group.
func (a *Activities) Match(ctx context.Context, in StepInput) (StepResult, error) {
	return a.runStep(ctx, in, func(ctx context.Context, w *writer) error {
		var after string
		lastHeartbeat(ctx, &after)
		for {
			// Links grows from nothing under this step: its statistics follow it (see
			// store.RefreshStatistics). The create and reconcile steps keep the statistics
			// Analyze took when they started: refreshed as they went, or taken only when a
			// table had grown, Postgres planned Unlinked and UnreconciledPairs at 2 to 20
			// times their cost (100k runs of bench-scale with -pg-statements).
			if err := a.Store.RefreshStatistics(ctx); err != nil {
				return err
			}
			groups, err := a.keyGroups(ctx, in, after)
			if err != nil || len(groups) == 0 {
				return err
			}
			pl := reconcile.PlanMatch(w.m.Module, groups)
			if pl.Failures, err = a.newFailures(ctx, w, pl.Failures); err != nil {
				return err
			}
			if err := w.apply(ctx, pl, nil); err != nil {
				return err
			}
			after = groups[len(groups)-1].Key
			heartbeat(ctx, after)
		}
	})
}

// newFailures drops the failures of records that have an open failure already, not marked
// for retry: Match runs again in retry passes (and retried attempts), and would log every
// ambiguous record once more, counting it failed again, when the admin retried another one.
// The create and reconcile steps leave such records out when they read the index
// (store.Unlinked, store.UnreconciledPairs); a changed record is the incremental pass's.
func (a *Activities) newFailures(ctx context.Context, w *writer, fs []reconcile.Failure) ([]reconcile.Failure, error) {
	ids := map[mapping.Side][]string{}
	for _, f := range fs {
		s, id := failedRecord(f)
		ids[s] = append(ids[s], id)
	}
	open := map[reconcile.SideID]bool{}
	for s, list := range ids {
		failed, err := a.Store.FailedSince(ctx, w.scope(s), list)
		if err != nil {
			return nil, err
		}
		for id := range failed {
			open[reconcile.SideID{Side: s, ID: id}] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if s, id := failedRecord(f); !open[reconcile.SideID{Side: s, ID: id}] {
			out = append(out, f)
		}
	}
	return out, nil
}

// failedRecord is the record a failure is logged for: its source, the side it was not
// written from.
func failedRecord(f reconcile.Failure) (mapping.Side, string) {
	if f.To == mapping.CRM {
		return mapping.Desk, f.DeskID
	}
	return mapping.CRM, f.CRMID
}

// keyGroups returns the next key groups after key after (stepBatch records at most): every
// match key both sides carry, with its records and whether each is linked.
func (a *Activities) keyGroups(ctx context.Context, in StepInput, after string) ([]reconcile.KeyGroup, error) {
	members, err := a.Store.KeyGroups(ctx, in.IntegrationID, in.Module, after, stepBatch)
	if err != nil {
		return nil, err
	}
	var groups []reconcile.KeyGroup
	for _, x := range members {
		if len(groups) == 0 || groups[len(groups)-1].Key != x.Key {
			groups = append(groups, reconcile.KeyGroup{Key: x.Key})
		}
		g := &groups[len(groups)-1]
		g.Candidates = append(g.Candidates, reconcile.Candidate{Side: mapping.Side(x.Side), ID: x.ID, Linked: x.Linked})
	}
	return groups, nil
}

// CreateInCRM creates in CRM, 100 per call with the concurrency pipe full, every indexed
// Desk record that has no counterpart. A pending link is written before each call and the
// Desk id is stored in the CRM record, so a retried attempt finds what a lost response
// created instead of creating it twice.
func (a *Activities) CreateInCRM(ctx context.Context, in StepInput) (StepResult, error) {
	return a.runStep(ctx, in, func(ctx context.Context, w *writer) error { return a.createUnlinked(ctx, in, w, mapping.Desk) })
}

// CreateInDesk creates in Desk, one per call (Desk has no batch create) with the concurrency
// pipe full, every indexed CRM record that has no counterpart, with the same pending-link
// protocol as CreateInCRM (the CRM id goes into Desk's cf_crm_id).
func (a *Activities) CreateInDesk(ctx context.Context, in StepInput) (StepResult, error) {
	return a.runStep(ctx, in, func(ctx context.Context, w *writer) error { return a.createUnlinked(ctx, in, w, mapping.CRM) })
}

// createUnlinked creates on the other side the unlinked indexed records of side source, a
// batch at a time: reconcile.PlanUnlinked decides, the writer creates.
func (a *Activities) createUnlinked(ctx context.Context, in StepInput, w *writer, source mapping.Side) error {
	if err := w.recoverCreates(ctx, source); err != nil {
		return err
	}
	after := ""
	for {
		rows, err := a.Store.Unlinked(ctx, w.scope(source), after, stepBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].RecordID
		recs := make([]reconcile.Record, len(rows))
		for i, row := range rows {
			recs[i] = recordOf(source, row)
		}
		if err := a.resolveRefs(ctx, in.IntegrationID, recs); err != nil {
			return err
		}
		cands, err := a.matchCandidates(ctx, in.IntegrationID, w.m, recs)
		if err != nil {
			return err
		}
		all := slices.Clone(recs)
		for _, cs := range cands {
			for _, c := range cs {
				if c.Record != nil {
					all = append(all, *c.Record)
				}
			}
		}
		refs, err := a.refsFor(ctx, in.IntegrationID, w.m, all)
		if err != nil {
			return err
		}
		claimed, err := a.claimedLinks(ctx, in.IntegrationID, w.m, recs)
		if err != nil {
			return err
		}
		pl := reconcile.PlanUnlinked(reconcile.UnlinkedInput{Mapping: w.m, Mode: modeOf(in.Mode), Refs: refs, Records: recs,
			Candidates: cands, Claimed: claimed})
		if err := w.apply(ctx, pl, refs); err != nil {
			return err
		}
		heartbeat(ctx, after)
	}
}

// ReconcilePairs brings each matched pair that was never reconciled to one set of values
// (reconcile.PlanReconcile: per field the newer side wins in two-way mode, CRM wins in
// one-way mode and nothing is written to CRM) and gives each side its counterpart's id; a
// value written over a different one goes to the conflict log.
func (a *Activities) ReconcilePairs(ctx context.Context, in StepInput) (StepResult, error) {
	return a.runStep(ctx, in, func(ctx context.Context, w *writer) error {
		var after int64
		for {
			stored, err := a.Store.UnreconciledPairs(ctx, in.IntegrationID, in.Module, after, stepBatch)
			if err != nil || len(stored) == 0 {
				return err
			}
			after = stored[len(stored)-1].LinkID
			pairs, recs := pairsOf(stored)
			if err := a.resolvePairRefs(ctx, in.IntegrationID, pairs); err != nil {
				return err
			}
			refs, err := a.refsFor(ctx, in.IntegrationID, w.m, recs)
			if err != nil {
				return err
			}
			pl := reconcile.PlanReconcile(reconcile.ReconcileInput{Mapping: w.m, Mode: modeOf(in.Mode), Refs: refs, Pairs: pairs})
			// Before the writes, as the incremental pass does: a retry decides the same.
			if err := a.reportConflicts(ctx, in.IntegrationID, in.Module, pl.Updates, w.o); err != nil {
				return err
			}
			if err := w.apply(ctx, pl, refs); err != nil {
				return err
			}
			heartbeat(ctx, after)
		}
	})
}

// pairsOf is the engine's form of stored pairs, and their records.
func pairsOf(stored []store.Pair) ([]reconcile.Pair, []reconcile.Record) {
	pairs := make([]reconcile.Pair, len(stored))
	recs := make([]reconcile.Record, 0, 2*len(stored))
	for i, p := range stored {
		pairs[i] = reconcile.Pair{Link: reconcile.Link{ID: p.LinkID, DeskID: p.DeskID, CRMID: p.CRMID, Linked: true},
			Desk: recordOf(mapping.Desk, p.Desk), CRM: recordOf(mapping.CRM, p.CRM)}
		recs = append(recs, pairs[i].Desk, pairs[i].CRM)
	}
	return pairs, recs
}

// resolvePairRefs translates the late account references of the pairs' Desk records.
func (a *Activities) resolvePairRefs(ctx context.Context, integrationID string, pairs []reconcile.Pair) error {
	desk := make([]reconcile.Record, len(pairs))
	for i, p := range pairs {
		desk[i] = p.Desk
	}
	if err := a.resolveRefs(ctx, integrationID, desk); err != nil {
		return err
	}
	for i := range pairs {
		pairs[i].Desk = desk[i]
	}
	return nil
}
