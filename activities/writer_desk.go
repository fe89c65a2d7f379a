package activities

// The Desk writer: one record per call (Desk has no batch writes), the pipe full.

import (
	"context"
	"errors"
	"sync"
	"time"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/desk"
)

// createInDesk creates records in Desk one per call (Desk has no batch create) with the pipe
// full. Pending links are written 100 at a time ahead of the calls, and the outcomes are
// settled as they come, so the pipe never drains between batches.
func (w *writer) createInDesk(ctx context.Context, todo []reconcile.Create) error {
	sc := w.scope(mapping.CRM)
	st := newSettler(ctx, w, sc)
	var ds dupes
	soft := softErrors{limit: softErrorLimit}
	g, gctx := w.a.deskPipe(ctx)
	var err error
	for start := 0; start < len(todo) && err == nil && !soft.exhausted(); start += desk.MaxLimit {
		chunk := todo[start:min(start+desk.MaxLimit, len(todo))]
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.Source.ID
		}
		if err = w.a.Store.AddPendingLinks(gctx, sc, ids); err != nil {
			break
		}
		for i, c := range chunk {
			if soft.exhausted() {
				st.release(ids[i:]) // never sent: created by the next attempt
				break
			}
			g.Go(func() error {
				created, c, err := w.createDeskRecord(gctx, c)
				heartbeat(gctx, "desk creates")
				switch {
				case err == nil:
					st.done(completion(c, created.ID, created.ModifiedTime))
					w.created(c, created.ID)
				case gctx.Err() != nil:
					return err // cancelled: the pending link stays for the next attempt
				case mustRetry(gctx, err):
					soft.add(err) // the pending link stays; the retried attempt recovers it
				case ds.add(c, err):
					// Desk's unique account name holds the value already: linked below.
				default:
					w.refusedCreate(c, err)
					st.drop(c.Source.ID)
				}
				return nil
			})
		}
	}
	werr := errors.Join(err, g.Wait(), soft.err())
	// What succeeded is recorded even when a call failed transiently.
	_, serr := st.close()
	if werr != nil || serr != nil {
		return errors.Join(werr, serr) // the refused creates stay pending and are created again
	}
	return w.linkDuplicates(ctx, mapping.Desk, &ds)
}

// createDeskRecord creates one Desk record, waiting out 429s as Desk asks. A contact whose
// account Desk refuses because it is gone is created without it (see checkAccountGone); the
// create as made is returned.
func (w *writer) createDeskRecord(ctx context.Context, c reconcile.Create) (desk.Written, reconcile.Create, error) {
	if id, ok := w.deskAccountOf(c.Patch); ok && w.gone.has(id) {
		c = w.withoutAccount(c)
	}
	rec, err := w.postDesk(ctx, c)
	if accountRefRefused(err) {
		again, cerr := w.checkAccountGone(ctx, c.Patch)
		if cerr != nil {
			return rec, c, cerr
		}
		if again {
			c = w.withoutAccount(c)
			rec, err = w.postDesk(ctx, c)
		}
	}
	return rec, c, err
}

// postDesk sends one create to Desk.
func (w *writer) postDesk(ctx context.Context, c reconcile.Create) (desk.Written, error) {
	fields, cf := mapping.ToDesk(w.m, c.Patch, w.refs)
	if cf == nil {
		cf = map[string]any{}
	}
	cf[deskCRMIDField] = c.Source.ID
	return retryAfter429(ctx, c.Source.ID, func() (desk.Written, error) {
		return w.a.Desk.Write(ctx, w.module, "", desk.Record{Fields: fields, CF: cf})
	})
}

// settler settles Desk creates as they finish, 100 at a time, so that what was created is
// recorded even while other calls are still under way (or failed). The batches are written
// by a goroutine of their own, one after the other: the call that fills a batch hands it over
// and goes on, so the pipe to Desk does not stop while Postgres commits a batch (it stopped
// for every one, and a batch's transaction grows slower with the org). At most
// settleQueue batches wait; then Postgres sets the pace.
type settler struct {
	w         *writer
	sc        store.Scope
	ctx       context.Context // not cancelled with the calls: outcomes are recorded anyway
	mu        sync.Mutex
	completed []store.Completion
	released  []string
	batches   chan settleBatch
	finished  chan struct{}
	settled   int   // written by run; read once finished is closed
	err       error // the same
}

// settleQueue is how many full batches may wait for Postgres.
const settleQueue = 4

// settleBatch is one batch of outcomes: records created, and pending links to let go.
type settleBatch struct {
	completed []store.Completion
	released  []string
}

func newSettler(ctx context.Context, w *writer, sc store.Scope) *settler {
	s := &settler{w: w, sc: sc, ctx: context.WithoutCancel(ctx),
		batches: make(chan settleBatch, settleQueue), finished: make(chan struct{})}
	go s.run()
	return s
}

// run writes the batches in order; after a failure it writes no more (what is left stays
// pending, and the retried attempt recovers it).
func (s *settler) run() {
	defer close(s.finished)
	for b := range s.batches {
		if s.err != nil {
			continue
		}
		if err := s.w.settleCreates(s.ctx, s.sc, b.completed, b.released, s.w.o.counted(countCreatedDesk, len(b.completed))); err != nil {
			s.err = err
			continue
		}
		s.settled += len(b.completed)
	}
}

// done records a created record.
func (s *settler) done(c store.Completion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completed = append(s.completed, c)
	s.handOverFull()
}

// drop records a record whose create failed for good: its pending link goes.
func (s *settler) drop(id string) { s.release([]string{id}) }

// release lets the pending links of ids go (their creates failed for good, or were never sent).
func (s *settler) release(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = append(s.released, ids...)
	s.handOverFull()
}

// handOverFull hands a full batch to run. Callers hold mu.
func (s *settler) handOverFull() {
	if len(s.completed)+len(s.released) >= desk.MaxLimit {
		s.handOver()
	}
}

// handOver hands what is collected to run. Callers hold mu.
func (s *settler) handOver() {
	s.batches <- settleBatch{completed: s.completed, released: s.released}
	s.completed, s.released = nil, nil
}

// close settles what is left, waits for every batch to be written and returns how many
// records were created.
func (s *settler) close() (int, error) {
	s.mu.Lock()
	if len(s.completed)+len(s.released) > 0 {
		s.handOver()
	}
	close(s.batches)
	s.mu.Unlock()
	<-s.finished
	return s.settled, s.err
}

// updateDesk writes the Desk side of the updates, one PATCH per record with the pipe full:
// the patch, and cf_crm_id where the record does not hold its counterpart's id.
func (w *writer) updateDesk(ctx context.Context, ups []reconcile.Update, res *updateResults) error {
	g, gctx := w.a.deskPipe(ctx)
	for _, u := range ups {
		if len(u.DeskPatch) == 0 && !u.DeskCounterpart {
			continue
		}
		g.Go(func() error {
			if id, ok := w.deskAccountOf(u.DeskPatch); ok && w.gone.has(id) {
				u = w.dropAccount(u)
			}
			rec, err := w.patchDesk(gctx, u)
			if accountRefRefused(err) {
				again, cerr := w.checkAccountGone(gctx, u.DeskPatch)
				if cerr != nil {
					return cerr
				}
				if again {
					u = w.dropAccount(u)
					rec, err = w.patchDesk(gctx, u)
				}
			}
			switch {
			case err == nil:
				res.written(mapping.Desk, u.LinkID, rec.ModifiedTime)
				heartbeat(gctx, "desk updates")
			case mustRetry(gctx, err):
				return err
			case recordGone(err) && u.LinkID != 0:
				res.fail(u.LinkID)
				return w.recordGoneOnWrite(gctx, mapping.Desk, u)
			default:
				res.fail(u.LinkID)
				w.o.fail(w.refusal(mapping.Desk, u.DeskID, u.CRMID, err))
			}
			return nil
		})
	}
	return g.Wait()
}

// patchDesk sends one update to Desk: the patch, and cf_crm_id when asked.
func (w *writer) patchDesk(ctx context.Context, u reconcile.Update) (desk.Written, error) {
	fields, cf := mapping.ToDesk(w.m, u.DeskPatch, w.refs)
	if u.DeskCounterpart {
		if cf == nil {
			cf = map[string]any{}
		}
		cf[deskCRMIDField] = u.CRMID
	}
	return retryAfter429(ctx, u.DeskID, func() (desk.Written, error) {
		return w.a.Desk.Write(ctx, w.module, u.DeskID, desk.Record{Fields: fields, CF: cf})
	})
}

// restore brings Desk records of the updates that ask for it back from the recycle bin, 100
// per call. Those no longer there are checked: restored by someone already (the update
// goes on), or deleted for good (the update turns into the re-create it carries).
func (w *writer) restore(ctx context.Context, ups []reconcile.Update) (kept []reconcile.Update, recreates []reconcile.Create, err error) {
	var todo []reconcile.Update
	for _, u := range ups {
		if u.Restore {
			todo = append(todo, u)
		} else {
			kept = append(kept, u)
		}
	}
	for start := 0; start < len(todo); start += desk.MaxLimit {
		batch := todo[start:min(start+desk.MaxLimit, len(todo))]
		ids := make([]string, len(batch))
		for i, u := range batch {
			ids[i] = u.DeskID
		}
		results, err := retryAfter429(ctx, "restore", func() ([]desk.RestoreResult, error) { return w.a.Desk.Restore(ctx, ids) })
		if err != nil && mustRetry(ctx, err) {
			return nil, nil, apiError("restore from the Desk recycle bin", err)
		}
		ok := map[string]bool{}
		for _, r := range results {
			ok[r.ID] = r.Success
		}
		for _, u := range batch {
			u.Restore = false
			if ok[u.DeskID] {
				u.ClearDeletion = mapping.Desk
				kept = append(kept, u)
				w.restored++
				continue
			}
			_, gerr := retryAfter429(ctx, u.DeskID, func() (desk.Record, error) { return w.a.Desk.Get(ctx, w.module, u.DeskID) })
			switch {
			case gerr == nil:
				u.ClearDeletion = mapping.Desk
				kept = append(kept, u)
			case !recordGone(gerr):
				return nil, nil, apiError("read a Desk record to restore", gerr)
			case u.Recreate != nil:
				recreates = append(recreates, *u.Recreate)
			}
		}
	}
	return kept, recreates, nil
}

// findCreatedInDesk looks up the Desk records whose cf_crm_id holds one of sourceIDs, one at
// a time.
func (w *writer) findCreatedInDesk(ctx context.Context, sourceIDs []string) (map[string]created, error) {
	found := map[string]created{}
	for _, id := range sourceIDs {
		recs, err := retryAfter429(ctx, id, func() ([]desk.Record, error) {
			return w.a.Desk.FindByCustomField(ctx, w.module, deskCRMIDField, id)
		})
		if err != nil {
			return nil, apiError("find Desk records created before a lost response", err)
		}
		if len(recs) > 0 {
			found[id] = created{recs[0].ID, recs[0].ModifiedTime}
		}
	}
	return found, nil
}

// listCreatedInDesk lists the Desk records created since a time, newest first, 100 per call,
// and returns those whose cf_crm_id is wanted.
func (w *writer) listCreatedInDesk(ctx context.Context, want map[string]bool, since time.Time) (map[string]created, error) {
	found, err := retryAfter429(ctx, "find created", func() (map[string]created, error) {
		found := map[string]created{}
		err := w.a.Desk.List(ctx, w.module, desk.ListOptions{SortBy: "-createdTime"}, func(p desk.Page) error {
			for _, r := range p.Records {
				if r.CreatedTime.Before(since) {
					return desk.ErrStop
				}
				if id := r.CFString(deskCRMIDField); want[id] {
					found[id] = created{r.ID, r.ModifiedTime}
				}
			}
			return nil
		})
		return found, err
	})
	if err != nil {
		return nil, apiError("find Desk records created before a lost response", err)
	}
	return found, nil
}
