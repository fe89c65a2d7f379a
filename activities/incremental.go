package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
)

// CursorOverlap is how far before its cursor each read of changes starts, so that records
// modified in the same second as the last one processed (CRM times have whole seconds and
// If-Modified-Since is exclusive) and small clock differences are never missed. Records read
// twice are skipped by the echo guard.
const CursorOverlap = 5 * time.Second

// OtherSideChanges is how many changes of the side a hinted pass was not started for it reads
// (IncrementalInput.Sides): five Desk search pages, three CRM list pages.
const OtherSideChanges = 500

// MaxChangesPerPass bounds the changes one pass reads from each side of a module, so that a
// huge bulk update is worked off in several passes of bounded memory (IncrementalResult.More).
const MaxChangesPerPass = 20000

// maxFetchIDs bounds the hinted and retried records one pass reads by id.
const maxFetchIDs = 1000

// IncrementalPass brings one module's changes since the cursors to the other side, in three
// rooms:
//
//   - read: CRM's changed records (Modified_Time ascending, If-Modified-Since the cursor minus
//     the overlap) and deleted records, Desk's changed records (search windowed on
//     modifiedTime) and recycle bin, the records webhooks reported, the links of all of them,
//     the counterparts the decisions need, the account links and the match candidates;
//   - plan: reconcile.PlanChanges, a pure function;
//   - write: the writer (CRM 100 records per call, Desk one per call, both pipes full).
//
// The pass's failures and history line are recorded, then the cursors are committed: a pass
// that stops anywhere before is read again from the same cursors. Deletions are recorded on
// the links and never propagated; a record changed after its counterpart was deleted brings it
// back (restored from Desk's recycle bin, else created again).
func (a *Activities) IncrementalPass(ctx context.Context, in IncrementalInput) (IncrementalResult, error) {
	m, _, version, err := a.resolveVersion(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return IncrementalResult{}, err
	}
	ctx, meter := withMeter(ctx)
	p := &reader{a: a, in: in, m: m, version: version, changed: map[reconcile.SideID]reconcile.Record{}, seen: map[reconcile.SideID]bool{}}
	if p.crmCur, err = p.cursor(ctx, mapping.CRM); err != nil {
		return IncrementalResult{}, err
	}
	if p.deskCur, err = p.cursor(ctx, mapping.Desk); err != nil {
		return IncrementalResult{}, err
	}
	if !in.DeskFrom.IsZero() && in.DeskFrom.Before(p.deskCur.Position) {
		p.deskCur.Position = in.DeskFrom.UTC()
	}
	if err := a.readAgainIfRemapped(ctx, p); err != nil {
		return IncrementalResult{}, err
	}
	o := newOutcome(ctx)
	w := a.newWriter(in.IntegrationID, m, in.Mode, o)
	err = a.runPass(ctx, p, w)
	res := IncrementalResult{More: p.more, Read: p.read, Deleted: w.deleted, Restored: w.restored, Recreated: w.recreated}
	sr, ferr := a.flush(ctx, in.IntegrationID, o)
	if err == nil {
		err = ferr
	}
	res.StepResult = sr
	res.Echoes, res.Skipped, res.Matched, res.Conflicts = o.echoes, o.skipped, o.matched, o.conflicts
	res.CRMCredits, res.DeskCredits = meter.used()
	if err != nil {
		return res, err
	}
	if err := a.recordIncrementalRuns(ctx, in, o.key, res); err != nil {
		return res, err
	}
	p.crmCur, p.deskCur = truncateCursor(p.crmCur), truncateCursor(p.deskCur)
	for s, c := range map[mapping.Side]Cursor{mapping.CRM: p.crmCur, mapping.Desk: p.deskCur} {
		if err := a.Store.SaveCursor(ctx, p.scope(s), store.Cursor{Position: c.Position, Deleted: c.Deleted, MappingVersion: p.version}); err != nil {
			return res, err
		}
	}
	res.CRMCursor, res.DeskCursor = p.crmCur, p.deskCur
	a.Logger.Debug("incremental pass", zap.String("integration", in.IntegrationID), zap.String("module", in.Module),
		zap.Int("read", res.Read), zap.Int("echoes", res.Echoes), zap.Int("conflicts", res.Conflicts), zap.Int("createdInCRM", sr.CreatedInCRM),
		zap.Int("createdInDesk", sr.CreatedInDesk), zap.Int("updatedInCRM", sr.UpdatedInCRM), zap.Int("updatedInDesk", sr.UpdatedInDesk),
		zap.Int("failed", sr.FailedToCRM+sr.FailedToDesk), zap.Int("deleted", res.Deleted),
		zap.Time("crmCursor", p.crmCur.Position), zap.Time("deskCursor", p.deskCur.Position))
	return res, nil
}

// passChunk is how many CRM changes a pass plans and writes at a time while it reads on.
const passChunk = 1000

// plannedChunk is a chunk of changes with the plan made for it.
type plannedChunk struct {
	in reconcile.ChangesInput
	pl reconcile.Plan
}

// runPass settles the creates an earlier attempt left pending, then reads, plans and writes
// in a pipeline: the deletions of both sides first; then Desk's changes beside CRM's, which
// come passChunk at a time, read, planned (once Desk's are all read) and written by
// goroutines of their own, so that while one chunk is written the next is planned and the
// pages after it are read (each chunk with the Desk changes of its pairs, the deletions with
// the first); then the rest of Desk's changes and the records asked for by id. A bulk update
// of CRM is thus written while it is still being read, and the Desk pipe does not idle while
// a chunk is planned. A chunk planned ahead is planned again after
// the writes before it when it may depend on them (see dependsOn).
func (a *Activities) runPass(ctx context.Context, p *reader, w *writer) error {
	if p.twoWay() {
		if err := w.recoverCreates(ctx, mapping.Desk); err != nil {
			return err
		}
	}
	if err := w.recoverCreates(ctx, mapping.CRM); err != nil {
		return err
	}
	if err := p.readDeletions(ctx); err != nil {
		return err
	}
	deleted := p.deleted
	if err := w.resolveDeleted(ctx, deleted); err != nil {
		return err
	}
	plan := func(ctx context.Context, changed []reconcile.Record, deleted []reconcile.Deletion) (plannedChunk, error) {
		heartbeat(ctx, "plan")
		in, err := a.changesInput(ctx, p, changed, deleted)
		if err != nil {
			return plannedChunk{}, err
		}
		return plannedChunk{in: in, pl: reconcile.PlanChanges(in)}, nil
	}
	write := func(ctx context.Context, c plannedChunk) error {
		w.o.count(&w.o.echoes, c.pl.Echoes)
		w.o.count(&w.o.skipped, c.pl.Skipped)
		// Logged before the writes: a write that fails leaves the attempt to retry, which
		// decides the same conflicts again (recorded once per activity).
		if err := a.reportConflicts(ctx, p.in.IntegrationID, p.in.Module, c.pl.Updates, w.o); err != nil {
			return err
		}
		return w.apply(ctx, c.pl, c.in.Refs)
	}
	pages := make(chan []reconcile.Record, passChunk/crm.MaxPerPage)
	plans := make(chan plannedChunk, 1)
	g, gctx := errgroup.WithContext(ctx)
	// Desk's changes are read beside CRM's, and each chunk is planned once they all are, so
	// that a pair changed on both sides is planned with both changes whichever CRM chunk
	// brings the CRM one: a pass waits for the longer of the two reads, not for both in turn.
	deskRead := make(chan struct{}) // closed once Desk's changes are read, deskErr set first
	var deskErr error
	g.Go(func() error {
		if p.reads(mapping.Desk) {
			if err := p.readDesk(gctx); err != nil {
				deskErr = apiError("read Desk changes of "+p.in.Module, err)
			}
		}
		close(deskRead)
		return deskErr
	})
	g.Go(func() error {
		defer close(pages)
		return p.readCRM(gctx, func(recs []reconcile.Record) error {
			select {
			case pages <- recs:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	g.Go(func() error {
		defer close(plans)
		var chunk []reconcile.Record
		send := func() error {
			select {
			case <-deskRead:
				if deskErr != nil {
					return nil // the Desk read's error is the one to report
				}
			case <-gctx.Done():
				return gctx.Err()
			}
			both, err := p.takeCounterpartChanges(gctx, mapping.CRM, chunk)
			chunk = append(chunk, both...)
			if err != nil || (len(chunk) == 0 && len(deleted) == 0) {
				chunk = nil
				return err
			}
			c, err := plan(gctx, chunk, deleted)
			chunk, deleted = nil, nil // deletions are recorded on the links by the first plan
			if err != nil {
				return err
			}
			select {
			case plans <- c:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		for recs := range pages {
			if chunk = append(chunk, recs...); len(chunk) >= passChunk {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if gctx.Err() != nil {
			return nil // the reader failed: its error is the one to report
		}
		return send()
	})
	g.Go(func() error {
		var prev *plannedChunk
		for c := range plans {
			if prev != nil && dependsOn(c.in, prev.in) {
				var err error
				if c, err = plan(gctx, c.in.Changed, c.in.Deleted); err != nil {
					return err
				}
			}
			if err := write(gctx, c); err != nil {
				return err
			}
			prev = &c
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if err := p.readExtra(ctx); err != nil {
		return err
	}
	if changed := p.takeChanges(); len(changed) > 0 || len(deleted) > 0 {
		c, err := plan(ctx, changed, deleted)
		if err != nil {
			return err
		}
		return write(ctx, c)
	}
	return nil
}

// dependsOn reports whether a chunk planned while prev was being written may have been
// planned differently after prev's writes, so that it must be planned again: when it has
// records that are not linked (their matching reads the index and the links of the whole
// module, which prev's writes change), or when the two share a record or a pair. A chunk of
// changes of linked pairs of its own — a bulk update — depends on nothing before it.
func dependsOn(c, prev reconcile.ChangesInput) bool {
	ids, unlinked := recordsAndPairs(c)
	if unlinked {
		return true
	}
	before, _ := recordsAndPairs(prev)
	for id := range ids {
		if before[id] {
			return true
		}
	}
	return false
}

// recordsAndPairs returns the records a chunk changes or deletes with their linked counterparts, and
// whether any of its records is not linked.
func recordsAndPairs(in reconcile.ChangesInput) (map[reconcile.SideID]bool, bool) {
	out := make(map[reconcile.SideID]bool, 2*(len(in.Changed)+len(in.Deleted)))
	unlinked := false
	add := func(id reconcile.SideID) {
		out[id] = true
		if l, ok := in.Links[id]; ok && l.Linked {
			out[reconcile.SideID{Side: id.Side.Other(), ID: l.IDOf(id.Side.Other())}] = true
		} else {
			unlinked = true
		}
	}
	for _, r := range in.Changed {
		add(reconcile.SideID{Side: r.Side, ID: r.ID})
	}
	for _, d := range in.Deleted {
		add(reconcile.SideID{Side: d.Side, ID: d.ID})
	}
	return out, unlinked
}

// changesInput gathers what PlanChanges decides from: the records changed and deleted, their
// links, the counterparts and account links the decisions need, the match candidates of
// unlinked records, and the versions that already failed.
func (a *Activities) changesInput(ctx context.Context, p *reader, changed []reconcile.Record, deleted []reconcile.Deletion) (reconcile.ChangesInput, error) {
	in := reconcile.ChangesInput{Mapping: p.m, Mode: modeOf(p.in.Mode), Deleted: deleted, Changed: changed,
		Links: map[reconcile.SideID]reconcile.Link{}, Counterparts: map[reconcile.SideID]reconcile.Record{},
		FailedAt: map[reconcile.SideID]time.Time{}}
	ids := map[mapping.Side][]string{}
	for _, r := range changed {
		ids[r.Side] = append(ids[r.Side], r.ID)
	}
	for _, d := range deleted {
		ids[d.Side] = append(ids[d.Side], d.ID)
	}
	var bases []reconcile.Base
	retried := map[reconcile.SideID]bool{}
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		links, err := a.Store.LinksOf(ctx, p.scope(s), ids[s])
		if err != nil {
			return in, err
		}
		retrying, err := p.retrying(ctx, s)
		if err != nil {
			return in, err
		}
		for id := range links {
			if retrying[id] {
				retried[reconcile.SideID{Side: s, ID: id}] = true
			}
		}
		for id, l := range links {
			in.Links[reconcile.SideID{Side: s, ID: id}] = linkOf(l)
			bases = append(bases, in.Links[reconcile.SideID{Side: s, ID: id}].Base)
		}
		failed, err := a.Store.FailedSince(ctx, p.scope(s), ids[s])
		if err != nil {
			return in, err
		}
		for id, at := range failed {
			in.FailedAt[reconcile.SideID{Side: s, ID: id}] = at
		}
	}
	in.Retried = retried
	// A pair is planned from the link of whichever of its records was read (both, when both
	// changed): each copy is based for the retried record.
	for k, l := range in.Links {
		for _, s := range []mapping.Side{mapping.Desk, mapping.CRM} {
			if retried[reconcile.SideID{Side: s, ID: l.IDOf(s)}] {
				l.Base = retryUncarried(p.m, l.Base, s)
			}
		}
		in.Links[k] = l
	}
	need := reconcile.CounterpartsNeeded(p.m, in.Changed, in.Links)
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		var want []string
		for _, x := range need {
			if x.Side == s {
				want = append(want, x.ID)
			}
		}
		recs, err := p.byID(ctx, s, want)
		if err != nil {
			return in, apiError("read "+s.Label()+" counterparts", err)
		}
		for _, r := range recs {
			in.Counterparts[reconcile.SideID{Side: s, ID: r.ID}] = r
		}
	}
	var unlinked []reconcile.Record
	for _, r := range in.Changed {
		if r.Side == mapping.Desk && !p.twoWay() {
			continue // not sent in one-way mode: nothing to match
		}
		if l, ok := in.Links[reconcile.SideID{Side: r.Side, ID: r.ID}]; !ok || !l.Linked {
			unlinked = append(unlinked, r)
		}
	}
	var err error
	if in.Candidates, err = a.matchCandidates(ctx, p.in.IntegrationID, p.m, unlinked); err != nil {
		return in, err
	}
	if in.Claimed, err = a.claimedLinks(ctx, p.in.IntegrationID, p.m, unlinked); err != nil {
		return in, err
	}
	all := append([]reconcile.Record(nil), in.Changed...)
	for _, r := range in.Counterparts {
		all = append(all, r)
	}
	for _, cs := range in.Candidates {
		for _, c := range cs {
			if c.Record != nil {
				all = append(all, *c.Record)
			}
		}
	}
	in.Refs, err = a.refsFor(ctx, p.in.IntegrationID, p.m, all, bases...)
	return in, err
}

// candidates returns, per match key of the records, every indexed record of either side
// carrying it.
func (a *Activities) candidates(ctx context.Context, integrationID string, m mapping.Mapping, recs []reconcile.Record) (map[string][]reconcile.Candidate, error) {
	var keys []string
	for _, r := range recs {
		if r.Key != "" {
			keys = append(keys, r.Key)
		}
	}
	found, err := a.Store.Candidates(ctx, integrationID, string(m.Module), keys)
	if err != nil {
		return nil, err
	}
	out := map[string][]reconcile.Candidate{}
	recs = make([]reconcile.Record, len(found))
	for i, c := range found {
		recs[i] = recordOf(mapping.Side(c.Side), c.Row)
	}
	if err := a.resolveRefs(ctx, integrationID, recs); err != nil {
		return nil, err
	}
	for i, c := range found {
		r := recs[i]
		out[r.Key] = append(out[r.Key], reconcile.Candidate{Side: r.Side, ID: r.ID, Linked: c.Linked, Record: &r})
	}
	return out, nil
}

// recordIncrementalRuns appends the pass to the run history, one line per direction that
// did something, under the pass's activity key (a retried attempt replaces its lines). It is
// called before the cursors are committed: a pass whose cursors were not saved is read again,
// and its lines are then recorded again, not lost.
func (a *Activities) recordIncrementalRuns(ctx context.Context, in IncrementalInput, key string, r IncrementalResult) error {
	if !r.Did() {
		return nil
	}
	var wfID, runID string
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		wfID, runID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	}
	now := time.Now().UTC()
	for _, run := range []store.Run{
		{Direction: DeskToCRM, Added: r.CreatedInCRM, Updated: r.UpdatedInCRM, Failed: r.FailedToCRM},
		{Direction: CRMToDesk, Added: r.CreatedInDesk, Updated: r.UpdatedInDesk, Failed: r.FailedToDesk},
	} {
		if run.Added+run.Updated+run.Failed == 0 {
			continue
		}
		run.WorkflowID, run.RunID, run.Kind, run.Module, run.StartedAt, run.FinishedAt, run.Key = wfID, runID, "incremental", in.Module, now, &now, key
		if _, err := a.Store.RecordRun(ctx, in.IntegrationID, run); err != nil {
			return err
		}
	}
	return nil
}

// readAgainIfRemapped rewinds to the start of the look-back the cursor of each side whose
// reads were planned with another mapping than the one this pass plans with (p.version: an
// import or the console's save since), so that this pass and the ones after it read every
// record of the look-back again and plan it with the new mapping: a field newly mapped is
// carried, and a value it cannot carry flagged, without waiting for each record to change.
// Records whose mapped values did not change are echoes (no write). A cursor saved before the
// version was kept is not rewound. The cursors are saved with p.version.
func (a *Activities) readAgainIfRemapped(ctx context.Context, p *reader) error {
	var lookback time.Duration
	for s, c := range map[mapping.Side]*Cursor{mapping.CRM: &p.crmCur, mapping.Desk: &p.deskCur} {
		if v := p.cursorVersions[s]; v < 0 || v == p.version {
			continue
		}
		if lookback == 0 {
			integ, err := a.Store.Integration(ctx, p.in.IntegrationID)
			if err != nil {
				return err
			}
			lookback = integ.Lookback
		}
		if from := p.in.Since.Add(-lookback).UTC(); from.Before(c.Position) {
			c.Position = from
		}
		a.Logger.Info("mapping changed since the last pass: reading the look-back again", zap.String("integration", p.in.IntegrationID),
			zap.String("module", p.in.Module), zap.String("side", string(s)), zap.Int64("from", p.cursorVersions[s]), zap.Int64("to", p.version))
	}
	return nil
}

// retryUncarried returns the base a retried record of side from is planned against: its
// values that flow to the other side but were not carried there (a value too long, a picklist
// value the other side lacks) are based on what the other side holds, so they count as
// changes and are written again — carried now if the cause was fixed (a field widened, a
// mapping changed), logged again under the same failure if not. Without this a retry of a
// value that did not change since it failed planned nothing, and the failure stayed "retry
// asked" for good.
func retryUncarried(m mapping.Mapping, b reconcile.Base, from mapping.Side) reconcile.Base {
	own, other := b.Desk, b.CRM
	if from == mapping.CRM {
		own, other = b.CRM, b.Desk
	}
	for k, v := range own {
		f, ok := m.Field(k)
		if !ok || (from == mapping.Desk && !f.ToCRM()) || (from == mapping.CRM && !f.ToDesk()) {
			continue
		}
		if o := other[k]; !mapping.ValueEqual(v, o) {
			own[k] = o
		}
	}
	return b
}

// reportConflicts counts the pairs of ups with a field a rule decided between two values
// (changed on both sides since the last sync, or first synced with different values: a field
// newly mapped, or a pair just matched whose records differed), records them in the conflict
// log (store.RecordConflicts: the console's history page and `starter conflicts`), so that an
// admin can see which value a rule set aside, and logs them (ids, fields, the side kept and the
// rule; never the values, which are customer data): each pair when a batch holds a few, one
// line with their number when it holds more (a first sync's batch of matched pairs).
func (a *Activities) reportConflicts(ctx context.Context, integrationID, module string, ups []reconcile.Update, o *outcome) error {
	const logEach = 20
	var log []store.Conflict
	for _, u := range ups {
		if len(u.Conflicts) == 0 {
			continue
		}
		o.count(&o.conflicts, 1)
		c := store.Conflict{Module: module, DeskID: u.DeskID, CRMID: u.CRMID, Fields: make([]store.ConflictField, len(u.Conflicts))}
		for i, x := range u.Conflicts {
			c.Fields[i] = store.ConflictField{Field: x.Key, Kept: string(x.Winner), Rule: x.Rule, FirstSync: x.FirstSync}
		}
		log = append(log, c)
	}
	if len(log) > logEach {
		a.Logger.Info("fields held two values: one kept, by rule (see the conflict log)", zap.String("integration", integrationID),
			zap.String("module", module), zap.Int("pairs", len(log)))
	} else {
		for _, c := range log {
			fields := make([]string, len(c.Fields))
			for i, f := range c.Fields {
				fields[i] = f.Words() // as the console and starter conflicts say it
			}
			a.Logger.Info("field held two values: one kept, by rule", zap.String("integration", integrationID),
				zap.String("module", module), zap.String("deskId", c.DeskID), zap.String("crmId", c.CRMID), zap.Strings("fields", fields))
		}
	}
	return a.Store.RecordConflicts(ctx, integrationID, o.key, log)
}
