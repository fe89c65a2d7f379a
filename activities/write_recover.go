package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// recoverBatch is how many pending links recoverCreates settles at a time (one CRM search).
const recoverBatch = 100

// recoverCreates settles the pending links an attempt that did not finish left on side
// source: records found on the other side by their counterpart-id field are linked, the
// others are released to be created again — once creates still in flight would have landed
// (waitForLanding). Their bases are computed from the index.
func (w *writer) recoverCreates(ctx context.Context, source mapping.Side) error {
	sc := w.scope(source)
	if err := w.loadDue(ctx, source); err != nil {
		return err
	}
	for {
		ids, since, err := w.a.Store.PendingLinks(ctx, sc, recoverBatch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return w.writeCounterparts(ctx)
		}
		found, err := w.findCreated(ctx, source.Other(), ids, since)
		if err != nil {
			return err
		}
		if len(found) < len(ids) && waitForLanding(ctx) {
			if ctx.Err() != nil {
				return ctx.Err() // the pending links stay for the next attempt
			}
			// Creates the ended attempt sent may land still: look again once they would have.
			if found, err = w.findCreated(ctx, source.Other(), ids, since); err != nil {
				return err
			}
		}
		rows, err := w.a.Store.IndexRows(ctx, sc, ids)
		if err != nil {
			return err
		}
		var recs []reconcile.Record
		for _, row := range rows {
			recs = append(recs, recordOf(source, row))
		}
		if err := w.a.resolveRefs(ctx, w.integrationID, recs); err != nil {
			return err
		}
		resolved := map[string]reconcile.Record{}
		for _, r := range recs {
			resolved[r.ID] = r
		}
		refs, err := w.a.refsFor(ctx, w.integrationID, w.m, recs)
		if err != nil {
			return err
		}
		var done []store.Completion
		var missing []string
		for _, id := range ids {
			f, ok := found[id]
			_, indexed := rows[id]
			if !ok || !indexed {
				missing = append(missing, id)
				continue
			}
			r := resolved[id]
			cp := reconcile.CreatePatch(w.m, r.Values, source.Other(), refs)
			c := reconcile.Create{Target: source.Other(), Source: r, Patch: cp.Patch, Base: cp.Base}
			done = append(done, completion(c, f.id, f.modified))
			w.echo.add(c, f.id)
		}
		name := countCreatedCRM
		if source == mapping.CRM {
			name = countCreatedDesk
		}
		if err := w.settleCreates(ctx, sc, done, missing, w.o.counted(name, len(done))); err != nil {
			return err
		}
	}
}

// landingWindow is how long after an attempt ended a create it sent may still land: the
// attempt gave up on the answer (cancelled by a pause, its worker killed, timed out) while the
// request was under way or queued at Zoho, which completes it anyway. Released before it
// lands, the record would be created twice.
const landingWindow = 30 * time.Second

// waitForLanding waits, when ctx is the first attempt of an activity that started less than
// landingWindow ago, until that much time has passed since it started, and reports whether it
// waited (the wait ends early when ctx does). Pending links a first attempt finds were left by
// another activity, cancelled (a pause) with its requests under way. A later attempt does not
// wait: the attempt before it either returned its error once its calls had ended (a create's
// transient error cancels no other call, see softErrors) or its worker died a heartbeat
// timeout ago.
func waitForLanding(ctx context.Context) bool {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt > 1 {
		return false
	}
	wait := time.Until(activity.GetInfo(ctx).StartedTime.Add(landingWindow))
	if wait <= 0 {
		return false
	}
	heartbeat(ctx, "waiting for creates in flight to land")
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return true
}

// searchLag is how long a new record may be missing from Zoho's search ("newly created
// records may take some time to be indexed"). Records created more recently are looked for
// with the list API, which reaches them at once; older ones by search.
const searchLag = 10 * time.Minute

// clockMargin allows for the clocks of Postgres and Zoho differing when the list of recent
// records is cut at the time a link became pending.
const clockMargin = 2 * time.Minute

// findCreated looks up, on side target, the records whose counterpart-id field holds one of
// sourceIDs, whose creates may have happened since (the oldest pending time; zero: unknown).
// A search could miss a record created moments ago, and the record would be created twice:
// recent creates are found in the list of the records created since instead.
func (w *writer) findCreated(ctx context.Context, target mapping.Side, sourceIDs []string, since time.Time) (map[string]created, error) {
	if !since.IsZero() && time.Since(since) < searchLag {
		return w.listCreatedSince(ctx, target, sourceIDs, since.Add(-clockMargin))
	}
	if target == mapping.CRM {
		return w.findCreatedInCRM(ctx, sourceIDs)
	}
	return w.findCreatedInDesk(ctx, sourceIDs)
}

// listCreatedSince reads the records of side target created since a time, newest first, and
// returns those whose counterpart-id field holds one of sourceIDs.
func (w *writer) listCreatedSince(ctx context.Context, target mapping.Side, sourceIDs []string, since time.Time) (map[string]created, error) {
	want := map[string]bool{}
	for _, id := range sourceIDs {
		want[id] = true
	}
	if target == mapping.CRM {
		return w.listCreatedInCRM(ctx, want, since)
	}
	return w.listCreatedInDesk(ctx, want, since)
}
