package activities

// The CRM writer: 100 records per call, the pipe full.

import (
	"context"
	"errors"
	"time"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
)

// createInCRM creates records in CRM, 100 per insert with the pipe full. Before each call the
// sources' pending links are written and the Desk id goes into the record (Desk_ID), so a
// retried attempt finds what a lost response created (recoverCreates) instead of creating it
// twice.
func (w *writer) createInCRM(ctx context.Context, todo []reconcile.Create) error {
	soft := softErrors{limit: softErrorLimit}
	g, gctx := w.a.crmPipe(ctx)
	for start := 0; start < len(todo) && !soft.exhausted(); start += crm.MaxWriteBatch {
		batch := todo[start:min(start+crm.MaxWriteBatch, len(todo))]
		g.Go(func() error {
			err := w.createCRMBatch(gctx, batch)
			if err != nil && gctx.Err() == nil && mustRetry(gctx, err) {
				soft.add(err) // the batch's pending links stay; the retried attempt recovers them
				return nil
			}
			return err
		})
	}
	return errors.Join(g.Wait(), soft.err())
}

// createCRMBatch creates up to 100 records in one insert call.
func (w *writer) createCRMBatch(ctx context.Context, batch []reconcile.Create) error {
	sc := w.scope(mapping.Desk)
	ids := make([]string, len(batch))
	recs := make([]crm.Record, len(batch))
	for i, c := range batch {
		ids[i] = c.Source.ID
		fields := mapping.ToCRM(w.m, c.Patch, nil)
		fields[crmDeskIDField] = c.Source.ID
		recs[i] = crm.Record{Fields: fields}
	}
	if err := w.a.Store.AddPendingLinks(ctx, sc, ids); err != nil {
		return err
	}
	results, err := retryAfter429(ctx, w.module, func() ([]crm.Result, error) { return w.a.CRM.Insert(ctx, crmModule(w.module), recs) })
	if err != nil {
		return err // pending links stay; the retried attempt recovers them
	}
	var done []store.Completion
	var dropped []string
	var ds dupes
	for i, res := range results {
		c := batch[i]
		switch {
		case res.OK():
			done = append(done, completion(c, res.ID, res.ModifiedTime))
			w.created(c, res.ID)
		case ds.add(c, res.Err):
			// A unique field holds the value already: linked to its holder below.
		case isTransient(res.Err):
			dropped = append(dropped, c.Source.ID) // tried again by the next attempt or pass
		default:
			w.refusedCreate(c, res.Err)
			dropped = append(dropped, c.Source.ID)
		}
	}
	if err := w.settleCreates(ctx, sc, done, dropped, w.o.counted(countCreatedCRM, len(done))); err != nil {
		return err
	}
	return w.linkDuplicates(ctx, mapping.CRM, &ds)
}

// updateCRM writes the CRM side of the updates, 100 records per call with the pipe full: the
// patch, and Desk_ID where the record does not hold its counterpart's id.
func (w *writer) updateCRM(ctx context.Context, ups []reconcile.Update, res *updateResults) error {
	var todo []reconcile.Update
	for _, u := range ups {
		if len(u.CRMPatch) > 0 || u.CRMCounterpart {
			todo = append(todo, u)
		}
	}
	g, gctx := w.a.crmPipe(ctx)
	for start := 0; start < len(todo); start += crm.MaxWriteBatch {
		batch := todo[start:min(start+crm.MaxWriteBatch, len(todo))]
		g.Go(func() error {
			recs := make([]crm.Record, len(batch))
			for i, u := range batch {
				fields := mapping.ToCRM(w.m, u.CRMPatch, nil)
				if u.CRMCounterpart {
					fields[crmDeskIDField] = u.DeskID
				}
				recs[i] = crm.Record{ID: u.CRMID, Fields: fields}
			}
			results, err := retryAfter429(gctx, w.module, func() ([]crm.Result, error) { return w.a.CRM.Update(gctx, crmModule(w.module), recs) })
			if err != nil {
				return err // updates are idempotent: the retried attempt writes them again
			}
			for i, r := range results {
				u := batch[i]
				switch {
				case r.OK():
					res.written(mapping.CRM, u.LinkID, r.ModifiedTime)
				case isTransient(r.Err):
					return r.Err
				case crmRecordGone(r.Err) && u.LinkID != 0:
					res.fail(u.LinkID)
					if err := w.recordGoneOnWrite(gctx, mapping.CRM, u); err != nil {
						return err
					}
				default:
					res.fail(u.LinkID)
					w.o.fail(w.refusal(mapping.CRM, u.DeskID, u.CRMID, r.Err))
				}
			}
			heartbeat(gctx, "crm updates")
			return nil
		})
	}
	return g.Wait()
}

// findCreatedInCRM looks up the CRM records whose Desk_ID holds one of sourceIDs, 100 ids per
// search.
func (w *writer) findCreatedInCRM(ctx context.Context, sourceIDs []string) (map[string]created, error) {
	found := map[string]created{}
	q := crm.SearchQuery{Criteria: crm.Cond(crmDeskIDField, "in", sourceIDs...), Fields: crmFieldsFor(w.m), PerPage: crm.MaxPerPage}
	_, err := retryAfter429(ctx, "find created", func() (struct{}, error) {
		return struct{}{}, w.a.CRM.Search(ctx, crmModule(w.module), q, func(p crm.Page) error {
			for _, r := range p.Records {
				found[stringOf(r.Fields[crmDeskIDField])] = created{r.ID, r.ModifiedTime}
			}
			return nil
		})
	})
	if err != nil {
		return nil, apiError("find CRM records created before a lost response", err)
	}
	return found, nil
}

// listCreatedInCRM lists the CRM records created since a time, newest first, 200 per call,
// and returns those whose Desk_ID is wanted.
func (w *writer) listCreatedInCRM(ctx context.Context, want map[string]bool, since time.Time) (map[string]created, error) {
	opts := crm.ListOptions{Fields: []string{crmDeskIDField, "Created_Time", "Modified_Time"}, SortBy: "Created_Time", SortOrder: "desc",
		PerPage: crm.MaxPerPage}
	found, err := retryAfter429(ctx, "find created", func() (map[string]created, error) {
		found := map[string]created{}
		err := w.a.CRM.List(ctx, crmModule(w.module), opts, func(p crm.Page) error {
			for _, r := range p.Records {
				if r.CreatedTime.Before(since) {
					return crm.ErrStop
				}
				if id := stringOf(r.Fields[crmDeskIDField]); want[id] {
					found[id] = created{r.ID, r.ModifiedTime}
				}
			}
			return nil
		})
		return found, err
	})
	if err != nil {
		return nil, apiError("find CRM records created before a lost response", err)
	}
	return found, nil
}
