package activities

import (
	"context"
	"fmt"
	"sync"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho"
)

// dupe is a create the target refused because one of its unique fields already holds the
// value (CRM DUPLICATE_DATA, Desk's duplicate account name).
type dupe struct {
	c reconcile.Create
	d zoho.Duplicate
}

// dupes collects the refused creates of one write, safely across goroutines.
type dupes struct {
	mu   sync.Mutex
	list []dupe
}

// add records err as a duplicate refusal of c, and reports whether it was one.
func (ds *dupes) add(c reconcile.Create, err error) bool {
	d, ok := zoho.DuplicateDetails(err)
	if !ok {
		return false
	}
	ds.mu.Lock()
	ds.list = append(ds.list, dupe{c: c, d: d})
	ds.mu.Unlock()
	return true
}

// linkDuplicates links each refused create to the record that holds the value, when that is
// one record and not linked yet, and reconciles the pair as the first sync reconciles a match
// (both records are kept, nothing is created twice). Otherwise it logs DUPLICATE_DATA naming
// the field and the records that hold the value, and releases the pending link.
func (w *writer) linkDuplicates(ctx context.Context, target mapping.Side, ds *dupes) error {
	if len(ds.list) == 0 {
		return nil
	}
	source := target.Other()
	var linkable []dupe
	var released []string
	for _, x := range ds.list {
		if x.d.ExistingID == "" && !x.d.MoreRecords {
			id, n, err := w.findHolder(ctx, target, x)
			if err != nil {
				return err
			}
			if n > 1 {
				x.d.MoreRecords = true
			}
			x.d.ExistingID = id
		}
		if x.d.ExistingID == "" || x.d.MoreRecords {
			w.o.fail(w.duplicateFailure(target, x, ""))
			released = append(released, x.c.Source.ID)
			continue
		}
		linkable = append(linkable, x)
	}
	ids := make([]string, len(linkable))
	for i, x := range linkable {
		ids[i] = x.d.ExistingID
	}
	links, err := w.a.Store.LinksOf(ctx, w.scope(target), ids)
	if err != nil {
		return err
	}
	existing, err := w.readByID(ctx, target, ids)
	if err != nil {
		return err
	}
	var done []store.Completion
	var pairs []reconcile.Pair
	var recs []reconcile.Record
	for _, x := range linkable {
		rec, found := existing[x.d.ExistingID]
		if l, linked := links[x.d.ExistingID]; linked || !found {
			w.o.fail(w.duplicateFailure(target, x, linkOf(l).IDOf(source)))
			released = append(released, x.c.Source.ID)
			continue
		}
		// Linked with no base: the pair is reconciled below, like a match.
		done = append(done, store.Completion{SourceID: x.c.Source.ID, TargetID: rec.ID, SourceModified: x.c.Source.Modified,
			TargetModified: rec.Modified})
		p := reconcile.Pair{Desk: x.c.Source, CRM: rec}
		if source == mapping.CRM {
			p.Desk, p.CRM = rec, x.c.Source
		}
		pairs = append(pairs, p)
		recs = append(recs, p.Desk, p.CRM)
	}
	if err := w.settleCreates(ctx, w.scope(source), done, released, w.o.counted(countLinked, len(done))); err != nil {
		return err
	}
	return w.reconcileNew(ctx, pairs, recs)
}

// reconcileNew reconciles pairs just linked (PlanReconcile), writing both sides.
func (w *writer) reconcileNew(ctx context.Context, pairs []reconcile.Pair, recs []reconcile.Record) error {
	if len(pairs) == 0 {
		return nil
	}
	deskIDs := make([]string, len(pairs))
	for i, p := range pairs {
		deskIDs[i] = p.Desk.ID
	}
	links, err := w.a.Store.LinksOf(ctx, w.scope(mapping.Desk), deskIDs)
	if err != nil {
		return err
	}
	for i := range pairs {
		pairs[i].Link = linkOf(links[pairs[i].Desk.ID])
	}
	refs, err := w.a.refsFor(ctx, w.integrationID, w.m, recs)
	if err != nil {
		return err
	}
	mode := mapping.TwoWay
	if w.oneWay {
		mode = mapping.OneWay
	}
	pl := reconcile.PlanReconcile(reconcile.ReconcileInput{Mapping: w.m, Mode: mode, Refs: refs, Pairs: pairs})
	res := newUpdateResults()
	if err := sideBySide(ctx, func(ctx context.Context) error { return w.updateCRM(ctx, pl.Updates, res) },
		func(ctx context.Context) error { return w.updateDesk(ctx, pl.Updates, res) }); err != nil {
		return err
	}
	w.o.failPlanned(w.module, pl.Failures)
	return w.settleUpdates(ctx, pl.Updates, res)
}

// findHolder finds the record of side target holding a refused create's match value when the
// API did not name it (Desk): it returns its id when exactly one record of the other side's
// key holds it, and how many do.
func (w *writer) findHolder(ctx context.Context, target mapping.Side, x dupe) (string, int, error) {
	if x.d.Field != mapping.MatchField(w.m.Module).FieldOf(target) {
		return "", 0, nil
	}
	found, err := w.a.lookup(ctx, w.integrationID, w.m, target, []string{matchValue(w.m, x.c.Source)})
	if err != nil {
		return "", 0, err
	}
	var ids []string
	for _, c := range found {
		if c.Record.Key == x.c.Source.Key {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 1 {
		return ids[0], 1, nil
	}
	return "", len(ids), nil
}

// duplicateFailure says which field refused the create and which record holds the value (and
// what it is linked to), and what to do.
func (w *writer) duplicateFailure(target mapping.Side, x dupe, linkedTo string) store.Failure {
	source := target.Other()
	field := x.d.Field
	if f, ok := fieldNamed(w.m, target, field); ok {
		field = f.FieldName(target)
	}
	f := store.Failure{Module: w.module, Direction: directionTo(target), Code: "DUPLICATE_DATA"}
	if source == mapping.Desk {
		f.DeskID = x.c.Source.ID
	} else {
		f.CRMID = x.c.Source.ID
	}
	holder := "another record"
	switch {
	case x.d.MoreRecords:
		holder = "several records"
	case x.d.ExistingID != "":
		holder = target.Label() + " record " + x.d.ExistingID
	}
	f.Message = fmt.Sprintf("%s %s must be unique and %s already holds this value", target.Label(), field, holder)
	if linkedTo != "" {
		f.Message += fmt.Sprintf(", linked to %s record %s", source.Label(), linkedTo)
	}
	f.Message += fmt.Sprintf(": this %s record was not created there. Merge the duplicates or change the value in %s, then retry", source.Label(), source.Label())
	return f
}

// fieldNamed returns the mapped field whose field on side s is name.
func fieldNamed(m mapping.Mapping, s mapping.Side, name string) (mapping.FieldMap, bool) {
	for _, f := range m.Fields {
		if f.FieldOf(s) == name {
			return f, true
		}
	}
	return mapping.FieldMap{}, false
}

// readByID reads records of side s by id (see recordsByID), keyed by id; records not found
// are absent.
func (w *writer) readByID(ctx context.Context, s mapping.Side, ids []string) (map[string]reconcile.Record, error) {
	recs, err := w.a.recordsByID(ctx, w.integrationID, w.m, s, ids)
	if err != nil {
		return nil, apiError("read "+s.Label()+" records", err)
	}
	out := make(map[string]reconcile.Record, len(recs))
	for _, r := range recs {
		out[r.ID] = r
	}
	return out, nil
}
