package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// writer carries out plans against both Zoho APIs and Postgres: it is the only code that
// writes records to Zoho. CRM takes 100 records per call and Desk one; each API's calls run
// with its concurrency pipe full, and the two APIs' work runs side by side so that neither
// waits for the other. Creates follow the pending-link protocol (a link is written before
// the call, the counterpart's id travels in the record, a retried attempt finds what a lost
// response created); a pair's new base is stored only once its writes are done.
type writer struct {
	a             *Activities
	integrationID string
	module        string
	m             mapping.Mapping
	o             *outcome
	// refs translates the account references written to Desk (those the plan was made with).
	refs mapping.Refs
	// oneWay: nothing is written to CRM but creates (which one-way plans never hold).
	oneWay bool
	// Counts of what the incremental result reports besides StepResult.
	restored, recreated, deleted int
	// echo is what the sources of creates must be told: their counterparts' new ids.
	echo counterparts
	// gone are the Desk accounts found deleted for good while writing; later the records to
	// create again because they were.
	gone  goneAccounts
	later laterCreates
	// planned are the records the plan being applied logs a failure for (both ids of each):
	// their open failures stay open for failPlanned to update in place (same id, one more
	// attempt), instead of being closed as synced and opened again under a new id.
	planned map[reconcile.SideID]bool
}

// newWriter returns a writer of one module of an integration in a mode.
func (a *Activities) newWriter(integrationID string, m mapping.Mapping, mode string, o *outcome) *writer {
	return &writer{a: a, integrationID: integrationID, module: string(m.Module), m: m, o: o, refs: mapping.NewMapRefs(nil),
		oneWay: mode == ModeOneWayToDesk, gone: goneAccounts{ids: map[string]bool{}, reported: map[string]bool{}}}
}

// scope returns the store scope of side s.
func (w *writer) scope(s mapping.Side) store.Scope { return storeScope(w.integrationID, w.m.Module, s) }

// apply carries out a plan made with refs: deletion marks, then links of matched pairs,
// restores, then creates and updates (CRM's and Desk's side by side), then the pairs' new
// bases, and last the plan's failures. An error means the attempt must be retried; what
// was committed stays committed and the retry plans again from there.
func (w *writer) apply(ctx context.Context, pl reconcile.Plan, refs mapping.Refs) error {
	if refs != nil {
		w.refs = refs
	}
	w.planned = plannedFailures(pl.Failures)
	if err := w.recordMarks(ctx, pl); err != nil {
		return err
	}
	ups, err := w.linkMatched(ctx, pl.Updates)
	if err != nil {
		return err
	}
	w.o.count(&w.o.matched, pl.Matched)
	creates := pl.Creates
	ups, recreates, err := w.restore(ctx, ups)
	if err != nil {
		return err
	}
	creates = append(creates, recreates...)
	if creates, err = w.holdDuplicateRecreates(ctx, creates); err != nil {
		return err
	}
	if err := w.prepareRecreates(ctx, creates); err != nil {
		return err
	}
	res := newUpdateResults()
	werr := sideBySide(ctx, func(ctx context.Context) error {
		if err := w.createIn(ctx, mapping.CRM, creates); err != nil {
			return err
		}
		return w.updateCRM(ctx, ups, res)
	}, func(ctx context.Context) error {
		if err := w.createIn(ctx, mapping.Desk, creates); err != nil {
			return err
		}
		return w.updateDesk(ctx, ups, res)
	})
	// Records found gone while writing are created again from the change that met them.
	if werr == nil {
		werr = w.recreateGone(ctx)
	}
	// The sources of the records created get their counterpart's id (also after a failed
	// call: what was created stays created).
	if err := w.writeCounterparts(ctx); err != nil {
		werr = errors.Join(werr, err)
	}
	if werr != nil {
		// The pairs written whole are settled, so that the retried attempt does not write
		// them again; the rest are planned again from what Zoho holds then.
		if err := w.settleUpdates(ctx, res.complete(ups), res); err != nil {
			werr = errors.Join(werr, err)
		}
		return apiError("write "+w.module, werr)
	}
	if err := w.settleUpdates(ctx, ups, res); err != nil {
		return err
	}
	// Retried records that needed no write are in sync: their failures close (but for those
	// this plan fails again).
	inSync := map[mapping.Side][]string{}
	for _, x := range pl.InSync {
		inSync[x.Side] = append(inSync[x.Side], x.ID)
	}
	for _, s := range []mapping.Side{mapping.Desk, mapping.CRM} {
		if err := w.resolveSynced(ctx, s, inSync[s]); err != nil {
			return err
		}
	}
	w.o.failPlanned(w.module, pl.Failures)
	return nil
}

// recordMarks records deletions on the links, drops deleted records from the index and
// clears the marks of records that came back.
func (w *writer) recordMarks(ctx context.Context, pl reconcile.Plan) error {
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		var marks []store.Deletion
		for _, m := range pl.Marks {
			if m.Side == s {
				marks = append(marks, store.Deletion{ID: m.ID, Kind: m.Kind})
			}
		}
		n, err := w.a.Store.MarkDeleted(ctx, w.scope(s), marks)
		if err != nil {
			return err
		}
		w.deleted += n
		var gone []string
		for _, m := range pl.Unindex {
			if m.Side == s {
				gone = append(gone, m.ID)
			}
		}
		if err := w.a.Store.DeleteIndexRows(ctx, w.scope(s), gone); err != nil {
			return err
		}
		var clears []int64
		for _, c := range pl.Clears {
			if c.Side == s {
				clears = append(clears, c.LinkID)
			}
		}
		if err := w.a.Store.ClearDeletion(ctx, string(s), clears); err != nil {
			return err
		}
	}
	return nil
}

// linkMatched links the pairs the plan matched and returns the updates with their link ids;
// a pair of which either record got linked meanwhile (by another pass) is left to that link.
func (w *writer) linkMatched(ctx context.Context, ups []reconcile.Update) ([]reconcile.Update, error) {
	var deskIDs, crmIDs []string
	for _, u := range ups {
		if u.Match {
			deskIDs, crmIDs = append(deskIDs, u.DeskID), append(crmIDs, u.CRMID)
		}
	}
	if len(deskIDs) == 0 {
		return ups, nil
	}
	ids, err := w.a.Store.LinkPairs(ctx, w.integrationID, w.module, deskIDs, crmIDs, w.o.counted(countLinked, 0))
	if err != nil {
		return nil, err
	}
	out := ups[:0:0]
	for _, u := range ups {
		if u.Match {
			id, ok := ids[u.DeskID]
			if !ok {
				continue
			}
			u.LinkID = id
		}
		out = append(out, u)
	}
	return out, nil
}

// holdDuplicateRecreates drops the re-creates whose customer a linked record of the target side
// already stands for (reconcile.HoldDuplicateRecreates: the gone counterpart was merged into
// it) and logs each as a failure that names that record. It reads the index for the keys of
// re-creates only, so a pass without one costs nothing.
func (w *writer) holdDuplicateRecreates(ctx context.Context, creates []reconcile.Create) ([]reconcile.Create, error) {
	var recs []reconcile.Record
	for _, c := range creates {
		if c.Relink != 0 && c.Source.Key != "" {
			recs = append(recs, c.Source)
		}
	}
	if len(recs) == 0 {
		return creates, nil
	}
	cands, err := w.a.candidates(ctx, w.integrationID, w.m, recs)
	if err != nil {
		return nil, err
	}
	keep, held := reconcile.HoldDuplicateRecreates(w.m.Module, creates, cands)
	w.o.failPlanned(w.module, held)
	return keep, nil
}

// prepareRecreates points the links of records created again (their counterpart is gone for
// good) at the create: they become pending links of their source record.
func (w *writer) prepareRecreates(ctx context.Context, creates []reconcile.Create) error {
	for _, target := range []mapping.Side{mapping.CRM, mapping.Desk} {
		var ids []int64
		for _, c := range creates {
			if c.Relink != 0 && c.Target == target {
				ids = append(ids, c.Relink)
			}
		}
		if err := w.a.Store.PrepareRecreate(ctx, string(target), ids); err != nil {
			return err
		}
		w.recreated += len(ids)
	}
	return nil
}

// createIn creates the plan's records on side target (see createCRMBatch and createInDesk).
func (w *writer) createIn(ctx context.Context, target mapping.Side, creates []reconcile.Create) error {
	var todo []reconcile.Create
	for _, c := range creates {
		if c.Target == target {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if target == mapping.CRM {
		return w.createInCRM(ctx, todo)
	}
	return w.createInDesk(ctx, todo)
}

// completion links a created record to its source, with the base the plan computed.
func completion(c reconcile.Create, targetID string, targetModified time.Time) store.Completion {
	shared, bd, bc := c.Base.Split()
	return store.Completion{SourceID: c.Source.ID, TargetID: targetID, Base: shared, BaseDesk: bd, BaseCRM: bc, BaseHash: c.Base.Hash(),
		SourceModified: c.Source.Modified, TargetModified: targetModified}
}

// settleCreates records the outcome of create calls: the created records' links complete
// (and their earlier failures close), the pending links of records that failed go.
func (w *writer) settleCreates(ctx context.Context, sc store.Scope, done []store.Completion, dropped []string, counts ...store.Count) error {
	if err := w.a.Store.CompleteLinks(ctx, sc, done, counts...); err != nil {
		return err
	}
	if err := w.a.Store.DropPendingLinks(ctx, sc, dropped); err != nil {
		return err
	}
	synced := make([]string, len(done))
	for i, d := range done {
		synced[i] = d.SourceID
	}
	return w.resolveSynced(ctx, mapping.Side(sc.Side), synced)
}

// holdsUncarried reports whether a side's part of a stored base (the values where that side
// differs from the other or alone holds one, reconcile.Base.Split) has a value of a field that
// flows from that side to the other: one the sync could not carry. An account reference
// (lookup) does not count: one whose account has no counterpart yet is not a failure (the
// record syncs without it, reconcile.notCarriedFailures), so it kept a failure open that named
// only problems already fixed, and Retry could not close it.
func (w *writer) holdsUncarried(sideBase mapping.Values, from mapping.Side) bool {
	if from == mapping.Desk && w.oneWay {
		return false // nothing flows from Desk: its own values are not owed to CRM
	}
	for k := range sideBase {
		f, ok := w.m.Field(k)
		if !ok || f.Type == mapping.TypeLookup {
			continue
		}
		if (from == mapping.Desk && f.ToCRM()) || (from == mapping.CRM && f.ToDesk()) {
			return true
		}
	}
	return false
}

// plannedFailures are the records failures name, by side and id.
func plannedFailures(fs []reconcile.Failure) map[reconcile.SideID]bool {
	out := make(map[reconcile.SideID]bool, 2*len(fs))
	for _, f := range fs {
		if f.DeskID != "" {
			out[reconcile.SideID{Side: mapping.Desk, ID: f.DeskID}] = true
		}
		if f.CRMID != "" {
			out[reconcile.SideID{Side: mapping.CRM, ID: f.CRMID}] = true
		}
	}
	return out
}

// resolveSynced closes the open failures of records of side s that are now in sync, but for
// those the plan being applied fails again (w.planned).
func (w *writer) resolveSynced(ctx context.Context, s mapping.Side, ids []string) error {
	keep := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !w.planned[reconcile.SideID{Side: s, ID: id}] {
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	n, err := w.a.Store.ResolveRecordFailures(ctx, w.integrationID, w.module, string(s), keep)
	w.o.count(&w.o.res.FailuresResolved, n)
	return err
}

// resolveDeleted closes the open failures of the records the pass read as deleted (a create
// Desk refused, then the CRM record deleted: its failure stayed open and Retry did nothing).
func (w *writer) resolveDeleted(ctx context.Context, dels []reconcile.Deletion) error {
	ids := map[mapping.Side][]string{}
	for _, d := range dels {
		ids[d.Side] = append(ids[d.Side], d.ID)
	}
	for _, s := range []mapping.Side{mapping.Desk, mapping.CRM} {
		n, err := w.a.Store.ResolveFailuresOfDeleted(ctx, w.integrationID, w.module, string(s), ids[s])
		if err != nil {
			return err
		}
		w.o.count(&w.o.res.FailuresResolved, n)
	}
	return nil
}

// created is a record found by its counterpart-id field.
type created struct {
	id       string
	modified time.Time
}

// created records what a create made: the failures of the values it left out (now with the
// new record's id), and the source's counterpart id to write.
func (w *writer) created(c reconcile.Create, targetID string) {
	for _, f := range c.Failures {
		if c.Target == mapping.CRM {
			f.CRMID = targetID
		} else {
			f.DeskID = targetID
		}
		w.o.failPlanned(w.module, []reconcile.Failure{f})
	}
	w.echo.add(c, targetID)
}

// refusedCreate records Zoho's refusal of a create with the values the create left out
// (c.Failures): store.RecordFailures makes them one entry naming each. Before, the values left
// out were logged only with a create that succeeded, so a record refused for a missing last
// name named its picklist value only after the name was fixed.
func (w *writer) refusedCreate(c reconcile.Create, err error) {
	deskID, crmID := c.Source.ID, ""
	if c.Target == mapping.Desk {
		deskID, crmID = "", c.Source.ID
	}
	w.o.fail(w.refusal(c.Target, deskID, crmID, err))
	w.o.failPlanned(w.module, c.Failures)
}

// counterparts collects, per side, the records to give their counterpart's id.
type counterparts struct {
	mu   sync.Mutex
	desk []reconcile.Update // Desk sources of creates in CRM
	crm  []reconcile.Update // CRM sources of creates in Desk
}

func (cp *counterparts) add(c reconcile.Create, targetID string) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if c.Target == mapping.CRM {
		cp.desk = append(cp.desk, reconcile.Update{DeskID: c.Source.ID, CRMID: targetID, DeskCounterpart: true})
	} else {
		cp.crm = append(cp.crm, reconcile.Update{DeskID: targetID, CRMID: c.Source.ID, CRMCounterpart: true})
	}
}

// writeCounterparts gives the sources of the records created their counterpart's id (CRM 100
// per call, Desk one per call, side by side), so that every linked pair carries both ids. A
// source that refuses the write is logged; its link holds all the same.
func (w *writer) writeCounterparts(ctx context.Context) error {
	w.echo.mu.Lock()
	deskUps, crmUps := w.echo.desk, w.echo.crm
	w.echo.desk, w.echo.crm = nil, nil
	w.echo.mu.Unlock()
	if w.oneWay {
		// Nothing is written to CRM in one-way mode: the CRM sources stay without Desk_ID.
		var ids []string
		for _, u := range crmUps {
			ids = append(ids, u.CRMID)
		}
		if err := w.a.Store.ClearCounterpartsDue(ctx, w.scope(mapping.CRM), ids); err != nil {
			return err
		}
		crmUps = nil
	}
	// Each write gets its own key, so the results say which records got their id.
	for i := range deskUps {
		deskUps[i].LinkID = int64(i + 1)
	}
	for i := range crmUps {
		crmUps[i].LinkID = int64(len(deskUps) + i + 1)
	}
	res := newUpdateResults()
	werr := sideBySide(ctx, func(ctx context.Context) error { return w.updateCRM(ctx, crmUps, res) },
		func(ctx context.Context) error { return w.updateDesk(ctx, deskUps, res) })
	var deskDone, crmDone []string
	for _, u := range deskUps {
		if _, ok := res.deskMod[u.LinkID]; ok && !res.failed[u.LinkID] {
			deskDone = append(deskDone, u.DeskID)
		}
	}
	for _, u := range crmUps {
		if _, ok := res.crmMod[u.LinkID]; ok && !res.failed[u.LinkID] {
			crmDone = append(crmDone, u.CRMID)
		}
	}
	if err := w.a.Store.ClearCounterpartsDue(ctx, w.scope(mapping.Desk), deskDone); err != nil {
		return err
	}
	if err := w.a.Store.ClearCounterpartsDue(ctx, w.scope(mapping.CRM), crmDone); err != nil {
		return err
	}
	return werr
}

// loadDue queues the counterpart ids an earlier attempt left due on side source's records.
func (w *writer) loadDue(ctx context.Context, source mapping.Side) error {
	pairs, err := w.a.Store.DueCounterparts(ctx, w.scope(source), 10*recoverBatch)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		c := reconcile.Create{Target: source.Other(), Source: reconcile.Record{Side: source, ID: p[0]}}
		target := p[1]
		if source == mapping.CRM {
			c.Source.ID, target = p[1], p[0]
		}
		w.echo.add(c, target)
	}
	return nil
}

// updateResults collects, per link, what the two APIs answered to an update.
type updateResults struct {
	mu      sync.Mutex
	failed  map[int64]bool
	deskMod map[int64]time.Time
	crmMod  map[int64]time.Time
}

func newUpdateResults() *updateResults {
	return &updateResults{failed: map[int64]bool{}, deskMod: map[int64]time.Time{}, crmMod: map[int64]time.Time{}}
}

func (r *updateResults) fail(linkID int64) {
	r.mu.Lock()
	r.failed[linkID] = true
	r.mu.Unlock()
}

func (r *updateResults) written(s mapping.Side, linkID int64, modified time.Time) {
	if modified.IsZero() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s == mapping.Desk {
		r.deskMod[linkID] = modified
	} else {
		r.crmMod[linkID] = modified
	}
}

// complete returns the updates every write of which succeeded: each side with a patch or a
// counterpart id to write has its new modified time, and none failed.
func (r *updateResults) complete(ups []reconcile.Update) []reconcile.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []reconcile.Update
	for _, u := range ups {
		_, deskDone := r.deskMod[u.LinkID]
		_, crmDone := r.crmMod[u.LinkID]
		if r.failed[u.LinkID] || u.LinkID == 0 ||
			((len(u.DeskPatch) > 0 || u.DeskCounterpart) && !deskDone) ||
			((len(u.CRMPatch) > 0 || u.CRMCounterpart) && !crmDone) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// settleUpdates stores the new bases of the pairs written without failure, clears the
// deletion marks of records brought back, and closes the failures of the records synced.
func (w *writer) settleUpdates(ctx context.Context, ups []reconcile.Update, res *updateResults) error {
	var bases []store.BaseUpdate
	clears := map[mapping.Side][]int64{}
	synced := map[mapping.Side][]string{}
	updatedCRM, updatedDesk := 0, 0
	// inSync closes the failures of a pair's records but for a side holding a value of its
	// own the other side could not take (its part of the base): its failure stays open until
	// the value is carried. So the failures of a pair just matched close on both sides
	// (AMBIGUOUS_MATCH once the admin made the email unique), and a value too long for the
	// other side keeps its failure open through edits of other fields.
	inSync := func(u reconcile.Update, b reconcile.Base) {
		_, bd, bc := b.Split()
		if !w.holdsUncarried(bd, mapping.Desk) {
			synced[mapping.Desk] = append(synced[mapping.Desk], u.DeskID)
		}
		if !w.holdsUncarried(bc, mapping.CRM) {
			synced[mapping.CRM] = append(synced[mapping.CRM], u.CRMID)
		}
	}
	for _, u := range ups {
		if res.failed[u.LinkID] {
			continue
		}
		if u.Base.IsZero() {
			if (u.DeskCounterpart || u.CRMCounterpart) && !u.Held.IsZero() {
				inSync(u, u.Held) // only counterpart ids written: the pair agreed already
			}
			continue
		}
		if len(u.CRMPatch) > 0 {
			updatedCRM++
		}
		if len(u.DeskPatch) > 0 {
			updatedDesk++
		}
		deskMod, crmMod := u.DeskModified, u.CRMModified
		if t, ok := res.deskMod[u.LinkID]; ok {
			deskMod = t
		}
		if t, ok := res.crmMod[u.LinkID]; ok {
			crmMod = t
		}
		shared, bd, bc := u.Base.Split()
		bases = append(bases, store.BaseUpdate{LinkID: u.LinkID, Base: shared, BaseDesk: bd, BaseCRM: bc, BaseHash: u.Base.Hash(),
			DeskModified: deskMod, CRMModified: crmMod})
		if u.ClearDeletion != "" {
			clears[u.ClearDeletion] = append(clears[u.ClearDeletion], u.LinkID)
		}
		inSync(u, u.Base) // written whole, or found equal
	}
	if err := w.a.Store.SetBases(ctx, bases, w.o.counted(countUpdatedCRM, updatedCRM), w.o.counted(countUpdatedDesk, updatedDesk)); err != nil {
		return err
	}
	for _, s := range []mapping.Side{mapping.Desk, mapping.CRM} {
		if err := w.a.Store.ClearDeletion(ctx, string(s), clears[s]); err != nil {
			return err
		}
		if err := w.resolveSynced(ctx, s, synced[s]); err != nil {
			return err
		}
	}
	return nil
}
