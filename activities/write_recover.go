package activities

import (
	"context"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// recoverBatch is how many pending links recoverCreates settles at a time (one CRM search).
const recoverBatch = 100

// recoverCreates settles the pending links an attempt that did not finish left on side
// source: records found on the other side by their counterpart-id field are linked, the
// others are released to be created again. Their bases are computed from the index.
func (w *writer) recoverCreates(ctx context.Context, source mapping.Side) error {
	sc := w.scope(source)
	for {
		ids, err := w.a.Store.PendingLinks(ctx, sc, recoverBatch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return w.writeCounterparts(ctx)
		}
		found, err := w.findCreated(ctx, source.Other(), ids)
		if err != nil {
			return err
		}
		rows, err := w.a.Store.IndexRows(ctx, sc, ids)
		if err != nil {
			return err
		}
		var recs []reconcile.Record
		for _, row := range rows {
			recs = append(recs, recordOf(source, row))
		}
		refs, err := w.a.refsFor(ctx, w.integrationID, w.m, recs)
		if err != nil {
			return err
		}
		var done []store.Completion
		var missing []string
		for _, id := range ids {
			f, ok := found[id]
			row, indexed := rows[id]
			if !ok || !indexed {
				missing = append(missing, id)
				continue
			}
			r := recordOf(source, row)
			cp := reconcile.CreatePatch(w.m, r.Values, source.Other(), refs)
			c := reconcile.Create{Target: source.Other(), Source: r, Patch: cp.Patch, Base: cp.Base}
			done = append(done, completion(c, f.id, f.modified))
			w.echo.add(c, f.id)
		}
		if err := w.settleCreates(ctx, sc, done, missing); err != nil {
			return err
		}
		if source == mapping.Desk {
			w.o.count(&w.o.res.CreatedInCRM, len(done))
		} else {
			w.o.count(&w.o.res.CreatedInDesk, len(done))
		}
	}
}

// findCreated looks up, on side target, the records whose counterpart-id field holds one of
// sourceIDs.
func (w *writer) findCreated(ctx context.Context, target mapping.Side, sourceIDs []string) (map[string]created, error) {
	if target == mapping.CRM {
		return w.findCreatedInCRM(ctx, sourceIDs)
	}
	return w.findCreatedInDesk(ctx, sourceIDs)
}
