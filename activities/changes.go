package activities

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// reader is the read room of one module's incremental pass: what changed and was deleted on
// each side since the cursors, kept in the index for later matches.
type reader struct {
	a       *Activities
	in      IncrementalInput
	m       mapping.Mapping
	crmCur  Cursor
	deskCur Cursor
	// version is the mapping version m was read at; cursorVersions the one each side's stored
	// cursor was saved with (-1: unknown or none), for readAgainIfRemapped.
	version        int64
	cursorVersions map[mapping.Side]int64
	// changed holds the changes read and not planned yet (CRM's stream in chunks and leave
	// none here); seen every record read, planned or not.
	changed map[reconcile.SideID]reconcile.Record
	seen    map[reconcile.SideID]bool
	deleted []reconcile.Deletion
	// more is set when a side had more changes than MaxChangesPerPass.
	more bool
	read int
	mu   sync.Mutex // changed, seen, read and retry, while the reads run beside the planning
	// retry holds, per side, the linked records whose failures the admin asked to retry, read
	// from Postgres once per pass (retrying).
	retry map[mapping.Side]map[string]bool
	// peers holds, per side, the records whose match failure a record leaving its key may have
	// resolved (index), read again by readExtra.
	peers map[mapping.Side][]string
}

func (p *reader) scope(s mapping.Side) store.Scope {
	return storeScope(p.in.IntegrationID, p.m.Module, s)
}

func (p *reader) twoWay() bool { return p.in.Mode != ModeOneWayToDesk }

// reads reports whether the pass reads side s's changes: CRM's always, Desk's in two-way mode.
// A pass that a webhook of one side started reads the other side's changes too (the first
// OtherSideChanges of them): planned without them, a field changed on both sides since the
// last pass was written over on the other side with this side's value, whichever was newer,
// and the other side's pass then read its own record holding that value as an echo — its edit
// lost without a trace.
func (p *reader) reads(s mapping.Side) bool {
	return s != mapping.Desk || p.twoWay()
}

// maxChanges is how many changes of side s the pass reads: MaxChangesPerPass of a side it was
// started for (every side of a full pass), OtherSideChanges of the other (IncrementalInput.Sides).
func (p *reader) maxChanges(s mapping.Side) int {
	if len(p.in.Sides) == 0 || slices.Contains(p.in.Sides, string(s)) {
		return MaxChangesPerPass
	}
	return OtherSideChanges
}

// cursor reads a side's cursor from Postgres, or starts it at the first sync's start.
func (p *reader) cursor(ctx context.Context, s mapping.Side) (Cursor, error) {
	c, ok, err := p.a.Store.Cursor(ctx, p.scope(s))
	if err != nil {
		return Cursor{}, err
	}
	if p.cursorVersions == nil {
		p.cursorVersions = map[mapping.Side]int64{}
	}
	p.cursorVersions[s] = -1
	if !ok {
		return Cursor{Position: p.in.Since.UTC(), Deleted: p.in.Since.UTC()}, nil
	}
	p.cursorVersions[s] = c.MappingVersion
	if c.Deleted.IsZero() {
		c.Deleted = c.Position
	}
	return Cursor{Position: c.Position, Deleted: c.Deleted}, nil
}

// readDeletions reads the deletions on both sides, side by side, before any modification (a
// modification made after the deletion read is then newer than anything the deletion cursor
// passed).
func (p *reader) readDeletions(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	var crmDels, deskDels []reconcile.Deletion
	g.Go(func() error {
		var err error
		if crmDels, err = p.readCRMDeleted(gctx); err != nil {
			return apiError("read CRM deleted "+p.in.Module, err)
		}
		return nil
	})
	g.Go(func() error {
		var err error
		if deskDels, err = p.readDeskDeleted(gctx); err != nil {
			return apiError("read Desk recycle bin", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	p.deleted = append(append(p.deleted, crmDels...), deskDels...)
	return nil
}

// readCRMDeleted reads CRM's deleted records since the deletion cursor.
func (p *reader) readCRMDeleted(ctx context.Context) ([]reconcile.Deletion, error) {
	since := p.crmCur.Deleted.Add(-CursorOverlap)
	newest := p.crmCur.Deleted
	dels, err := retryAfter429(ctx, "crm deleted", func() ([]reconcile.Deletion, error) {
		var dels []reconcile.Deletion
		err := p.a.CRM.Deleted(ctx, crmModule(p.in.Module), crm.DeletedOptions{ModifiedSince: since}, func(recs []crm.DeletedRecord) error {
			for _, r := range recs {
				dels = append(dels, reconcile.Deletion{Side: mapping.CRM, ID: r.ID, Permanent: r.Type == "permanent"})
				if r.DeletedTime.After(newest) {
					newest = r.DeletedTime.UTC()
				}
			}
			heartbeat(ctx, "crm deleted")
			return nil
		})
		return dels, err
	})
	if err != nil {
		return nil, err
	}
	p.crmCur.Deleted = newest
	return dels, nil
}

// readDeskDeleted reads the module's Desk recycle-bin entries since the deletion cursor.
func (p *reader) readDeskDeleted(ctx context.Context) ([]reconcile.Deletion, error) {
	since := p.deskCur.Deleted.Add(-CursorOverlap)
	newest := p.deskCur.Deleted
	dels, err := retryAfter429(ctx, "desk recycle bin", func() ([]reconcile.Deletion, error) {
		var dels []reconcile.Deletion
		err := p.a.Desk.RecycleBin(ctx, desk.RecycleBinOptions{Module: p.in.Module, SortBy: "-deletedTime"}, func(items []desk.TrashItem) error {
			for _, it := range items {
				if it.DeletedTime.Before(since) {
					return desk.ErrStop
				}
				dels = append(dels, reconcile.Deletion{Side: mapping.Desk, ID: it.ID})
				if it.DeletedTime.After(newest) {
					newest = it.DeletedTime.UTC()
				}
			}
			heartbeat(ctx, "desk recycle bin")
			return nil
		})
		return dels, err
	})
	if err != nil {
		return nil, err
	}
	p.deskCur.Deleted = newest
	return dels, nil
}

// readCRM reads CRM's changed records since the cursor, oldest first, 200 per call, and
// hands each page to emit (the records are indexed, not kept).
func (p *reader) readCRM(ctx context.Context, emit func([]reconcile.Record) error) error {
	opts := crm.ListOptions{Fields: crmFieldsFor(p.m), SortBy: "Modified_Time", SortOrder: "asc", PerPage: crm.MaxPerPage,
		ModifiedSince: p.crmCur.Position.Add(-CursorOverlap)}
	newest := p.crmCur.Position
	n := 0
	_, err := retryAfter429(ctx, "crm changes", func() (struct{}, error) {
		return struct{}{}, p.a.CRM.List(ctx, crmModule(p.in.Module), opts, func(pg crm.Page) error {
			recs := make([]reconcile.Record, len(pg.Records))
			for i, r := range pg.Records {
				recs[i] = crmRecord(p.m, r)
				if r.ModifiedTime.After(newest) {
					newest = r.ModifiedTime.UTC()
				}
			}
			if err := p.index(ctx, mapping.CRM, recs); err != nil {
				return err
			}
			if err := emit(recs); err != nil {
				return err
			}
			opts.Start = pg.Next // a retry after a 429 goes on from here
			n += len(recs)
			heartbeat(ctx, "crm changes")
			if n >= p.maxChanges(mapping.CRM) && pg.More {
				p.setMore(mapping.CRM)
				return crm.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		return apiError("read CRM changes of "+p.in.Module, err)
	}
	p.crmCur.Position = newest
	return nil
}

// readDesk reads Desk's changed records since the cursor, oldest first.
func (p *reader) readDesk(ctx context.Context) error {
	q := desk.ScanQuery{Field: desk.ModifiedTime, From: p.deskCur.Position.Add(-CursorOverlap)}
	newest := p.deskCur.Position
	n := 0
	_, err := retryAfter429(ctx, "desk changes", func() (struct{}, error) {
		if from := newest.Add(-CursorOverlap); from.After(q.From) {
			q.From = from // a retry after a 429 goes on from here
		}
		return struct{}{}, p.a.Desk.Scan(ctx, p.in.Module, q, func(pg desk.Page) error {
			recs, err := p.a.deskRecords(ctx, p.in.IntegrationID, p.m, pg.Records)
			if err != nil {
				return err
			}
			for _, r := range pg.Records {
				if r.ModifiedTime.After(newest) {
					newest = r.ModifiedTime.UTC()
				}
			}
			if err := p.add(ctx, mapping.Desk, recs); err != nil {
				return err
			}
			n += len(recs)
			heartbeat(ctx, "desk changes")
			if n >= p.maxChanges(mapping.Desk) {
				p.setMore(mapping.Desk)
				return desk.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	p.deskCur.Position = newest
	return nil
}

// setMore records that side s had more changes than the pass reads, when it is a side the pass
// was started for: the other side's rest is read by its own pass, which its webhooks start
// (both sides' reads run at once).
func (p *reader) setMore(s mapping.Side) {
	if p.maxChanges(s) != MaxChangesPerPass {
		return
	}
	p.mu.Lock()
	p.more = true
	p.mu.Unlock()
}

// add takes records read on side s as changes to plan and keeps them in the index.
func (p *reader) add(ctx context.Context, s mapping.Side, recs []reconcile.Record) error {
	p.mu.Lock()
	for _, r := range recs {
		p.changed[reconcile.SideID{Side: s, ID: r.ID}] = r
	}
	p.mu.Unlock()
	return p.index(ctx, s, recs)
}

// index keeps records read on side s in the index and counts them as read. The records whose
// match failure a record leaving its key may have resolved (store.RetryPeersOfKeysLeft: marked for retry, as a Retry would) are read
// again by readExtra, so that they are matched again in this pass: renaming one of two CRM
// accounts of the same name linked the renamed one, and the other pair waited for a Retry (a
// trial).
func (p *reader) index(ctx context.Context, s mapping.Side, recs []reconcile.Record) error {
	p.mu.Lock()
	rows := make([]store.IndexRow, len(recs))
	for i, r := range recs {
		p.seen[reconcile.SideID{Side: s, ID: r.ID}] = true
		rows[i] = indexRow(r)
	}
	p.read += len(recs)
	p.mu.Unlock()
	peers, err := p.a.Store.RetryPeersOfKeysLeft(ctx, p.scope(s), rows)
	if err != nil {
		return err
	}
	if len(peers) > 0 {
		p.mu.Lock()
		if p.peers == nil {
			p.peers = map[mapping.Side][]string{}
		}
		for side, ids := range peers {
			p.peers[mapping.Side(side)] = append(p.peers[mapping.Side(side)], ids...)
		}
		p.mu.Unlock()
	}
	return p.a.Store.UpsertIndex(ctx, p.scope(s), rows)
}

// takeCounterpartChanges removes from the changes not planned yet, and returns, the changes
// of the counterparts of recs (records of side s) and, for those not linked, of the records
// of the other side carrying their match key: a pair changed on both sides, or matched by
// key, is planned with both changes, as in one plan of everything.
func (p *reader) takeCounterpartChanges(ctx context.Context, s mapping.Side, recs []reconcile.Record) ([]reconcile.Record, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	links, err := p.a.Store.LinksOf(ctx, p.scope(s), ids)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []reconcile.Record
	take := func(id reconcile.SideID) {
		if r, ok := p.changed[id]; ok {
			out = append(out, r)
			delete(p.changed, id)
		}
	}
	for _, l := range links {
		take(reconcile.SideID{Side: s.Other(), ID: linkOf(l).IDOf(s.Other())})
	}
	keys := map[string]bool{}
	for _, r := range recs {
		if _, linked := links[r.ID]; !linked && r.Key != "" {
			keys[r.Key] = true
		}
	}
	if len(keys) > 0 {
		for id, r := range p.changed {
			if id.Side == s.Other() && keys[r.Key] {
				take(id)
			}
		}
	}
	return out, nil
}

// takeChanges removes and returns the changes not planned yet.
func (p *reader) takeChanges() []reconcile.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]reconcile.Record, 0, len(p.changed))
	for _, r := range p.changed {
		out = append(out, r)
	}
	clear(p.changed)
	return out
}

// retrying returns the linked records of side s whose failures the admin asked to retry
// (store.RetryingRecords, at most maxFetchIDs), and the records whose account reference can
// be carried now that could not before (store.AccountFollowers, DeskAccountFollowers), read
// once per pass: readExtra reads them again and the planning bases them for the retry
// (retryUncarried).
func (p *reader) retrying(ctx context.Context, s mapping.Side) (map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ids, ok := p.retry[s]; ok {
		return ids, nil
	}
	list, err := p.a.Store.RetryingRecords(ctx, p.scope(s), maxFetchIDs)
	if err != nil {
		return nil, err
	}
	for _, f := range p.m.Fields {
		if f.Type != mapping.TypeLookup || len(list) >= maxFetchIDs {
			continue
		}
		var more []string
		switch {
		case s == mapping.CRM && f.ToDesk():
			more, err = p.a.Store.AccountFollowers(ctx, p.scope(s), f.Key(), maxFetchIDs-len(list))
		case s == mapping.Desk && f.ToCRM():
			more, err = p.a.Store.DeskAccountFollowers(ctx, p.scope(s), f.Key(), maxFetchIDs-len(list))
		}
		if err != nil {
			return nil, err
		}
		list = append(list, more...)
	}
	ids := make(map[string]bool, len(list))
	for _, id := range list {
		ids[id] = true
	}
	if p.retry == nil {
		p.retry = map[mapping.Side]map[string]bool{}
	}
	p.retry[s] = ids
	return ids, nil
}

// readExtra reads by id the records webhooks reported that the reads of changes did not
// return (a lagging search index), the linked records whose failures the admin asked to
// retry, and the records whose match failure a record leaving its key may have resolved (on
// either side, also in a pass that reads one side's changes: the key was left on the other).
// They do not move the cursors.
func (p *reader) readExtra(ctx context.Context) error {
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		p.mu.Lock()
		ids := slices.Clone(p.peers[s])
		p.mu.Unlock()
		if p.reads(s) {
			retrying, err := p.retrying(ctx, s)
			if err != nil {
				return err
			}
			ids = append(append(slices.Clone(p.in.Hints[string(s)]), slices.Sorted(maps.Keys(retrying))...), ids...)
		}
		recs, err := p.byID(ctx, s, p.unread(s, ids))
		if err != nil {
			return apiError("read reported "+s.Label()+" records", err)
		}
		if err := p.add(ctx, s, recs); err != nil {
			return err
		}
	}
	return nil
}

// unread returns the distinct ids of side s not read yet, at most maxFetchIDs, sorted.
func (p *reader) unread(s mapping.Side, ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if p.seen[reconcile.SideID{Side: s, ID: id}] || seen[id] || id == "" {
			continue
		}
		seen[id] = true
		out = append(out, id)
		if len(out) == maxFetchIDs {
			break
		}
	}
	slices.Sort(out)
	return out
}

// byID reads records of side s by id (see recordsByID).
func (p *reader) byID(ctx context.Context, s mapping.Side, ids []string) ([]reconcile.Record, error) {
	return p.a.recordsByID(ctx, p.in.IntegrationID, p.m, s, ids)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// truncateCursor returns c as Postgres stores it (microseconds).
func truncateCursor(c Cursor) Cursor {
	return Cursor{Position: c.Position.Truncate(time.Microsecond), Deleted: c.Deleted.Truncate(time.Microsecond)}
}
