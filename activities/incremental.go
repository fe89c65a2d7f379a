package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// CursorOverlap is how far before its cursor each read of changes starts, so that records
// modified in the same second as the last one processed (CRM times have whole seconds and
// If-Modified-Since is exclusive) and small clock differences are never missed. Records read
// twice are skipped by the echo guard.
const CursorOverlap = 5 * time.Second

// MaxChangesPerPass bounds the changes one pass reads from each side of a module, so that a
// huge bulk update is worked off in several passes of bounded memory (IncrementalResult.More).
const MaxChangesPerPass = 20000

// maxFetchIDs bounds the hinted and retried records one pass reads by id.
const maxFetchIDs = 1000

// Sides, as the store and the hints name them.
const (
	SideCRM  = "crm"
	SideDesk = "desk"
)

// Cursor is a side's position in the incremental sync: the newest modified time and the
// newest deletion time processed, UTC.
type Cursor struct {
	Position time.Time `json:"position"`
	Deleted  time.Time `json:"deleted,omitzero"`
}

// IncrementalInput names one module's incremental pass.
type IncrementalInput struct {
	IntegrationID string `json:"integrationId"`
	Module        string `json:"module"`
	// Mode is ModeTwoWay or ModeOneWayToDesk: one-way passes do not read Desk changes.
	Mode string `json:"mode"`
	// Since is where a side's cursor starts when Postgres holds none: the first sync's start.
	Since time.Time `json:"since"`
	// DeskFrom, when set and older than Desk's cursor, rewinds it: after a switch to two-way
	// sync, the Desk changes one-way mode did not send are read again.
	DeskFrom time.Time `json:"deskFrom,omitzero"`
	// Hints are ids that webhooks reported changed, per side (SideCRM, SideDesk). Ids that the
	// read of changes does not return (a lagging search index) are read one by one.
	Hints map[string][]string `json:"hints,omitempty"`
}

// IncrementalResult reports what one module's pass did. The embedded counts are for this
// pass only; CRMCursor and DeskCursor are the cursors committed at its end.
type IncrementalResult struct {
	StepResult
	CRMCursor  Cursor `json:"crmCursor"`
	DeskCursor Cursor `json:"deskCursor"`
	// More is set when a side had more changes than MaxChangesPerPass: run another pass.
	More bool `json:"more,omitempty"`
	// Read counts the changed records read (both sides), Echoes those skipped by the echo
	// guard, Deleted the deletions recorded on links, Restored and Recreated the
	// counterparts brought back by update-after-delete, Matched the new records linked by key.
	// Echoes also counts Desk changes skipped in one-way mode.
	Read      int `json:"read,omitempty"`
	Echoes    int `json:"echoes,omitempty"`
	Deleted   int `json:"deleted,omitempty"`
	Restored  int `json:"restored,omitempty"`
	Recreated int `json:"recreated,omitempty"`
	Matched   int `json:"matched,omitempty"`
	// Skipped counts changes of records whose same version already failed.
	Skipped int `json:"skipped,omitempty"`
}

// Did reports whether the pass wrote or failed anything worth a history line.
func (r IncrementalResult) Did() bool {
	s := r.StepResult
	return s.CreatedInCRM+s.CreatedInDesk+s.UpdatedInCRM+s.UpdatedInDesk+s.FailedToCRM+s.FailedToDesk > 0
}

// change is one changed record read from one side, converted to canonical values.
type change struct {
	side     mapping.Side
	id       string
	created  time.Time
	modified time.Time
	values   mapping.Values
	key      string
}

func (c change) indexRow() store.IndexRow {
	return store.IndexRow{RecordID: c.id, MatchKey: c.key, CreatedTime: c.created, ModifiedTime: c.modified, Values: c.values}
}

// pass is the state of one module's incremental pass.
type pass struct {
	a        *Activities
	in       IncrementalInput
	m        mapping.Mapping
	deskSc   store.Scope
	crmSc    store.Scope
	o        *outcome
	res      IncrementalResult
	crmCur   Cursor
	deskCur  Cursor
	crmRead  map[string]change
	deskRead map[string]change
	// refs translates the account references the decisions may write to Desk.
	refs mapping.Refs
}

// IncrementalPass brings one module's changes since the cursors to the other side: it reads
// CRM's changed records (Modified_Time ascending, If-Modified-Since the cursor minus the
// overlap) and deleted records, and Desk's changed records (search windowed on modifiedTime)
// and recycle bin; decides per record with reconcile.Decide against its link; writes CRM 100
// records per call and Desk one per call with the pipes full; and commits the cursors to
// Postgres only after every write is done. Deletions are recorded on the links and never
// propagated; a record changed after its counterpart was deleted brings it back (restored from
// Desk's recycle bin, else created again). Per-record failures go to the failure log.
func (a *Activities) IncrementalPass(ctx context.Context, in IncrementalInput) (IncrementalResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return IncrementalResult{}, err
	}
	p := &pass{a: a, in: in, m: m, o: &outcome{},
		deskSc:  store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: SideDesk},
		crmSc:   store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: SideCRM},
		crmRead: map[string]change{}, deskRead: map[string]change{}}
	beforeCRM, beforeDesk := a.CRM.Credits().Used, a.Desk.Credits().Used
	if p.crmCur, err = p.cursor(ctx, p.crmSc); err != nil {
		return p.res, err
	}
	if p.deskCur, err = p.cursor(ctx, p.deskSc); err != nil {
		return p.res, err
	}
	if !in.DeskFrom.IsZero() && in.DeskFrom.Before(p.deskCur.Position) {
		p.deskCur.Position = in.DeskFrom.UTC()
	}
	if err := p.run(ctx); err != nil {
		if _, ferr := a.flush(ctx, in.IntegrationID, p.o); ferr != nil {
			return p.res, ferr
		}
		return p.res, err
	}
	// Postgres keeps microseconds: return what is stored.
	for _, c := range []*Cursor{&p.crmCur, &p.deskCur} {
		c.Position, c.Deleted = c.Position.Truncate(time.Microsecond), c.Deleted.Truncate(time.Microsecond)
	}
	for _, x := range []struct {
		sc  store.Scope
		cur Cursor
	}{{p.crmSc, p.crmCur}, {p.deskSc, p.deskCur}} {
		if err := a.Store.SaveCursor(ctx, x.sc, store.Cursor{Position: x.cur.Position, Deleted: x.cur.Deleted}); err != nil {
			return p.res, err
		}
	}
	p.res.CRMCursor, p.res.DeskCursor = p.crmCur, p.deskCur
	sr, err := a.flush(ctx, in.IntegrationID, p.o)
	p.res.StepResult = sr
	p.res.CRMCredits = int(a.CRM.Credits().Used - beforeCRM)
	p.res.DeskCredits = int(a.Desk.Credits().Used - beforeDesk)
	a.Logger.Debug("incremental pass", zap.String("integration", in.IntegrationID), zap.String("module", in.Module),
		zap.Int("read", p.res.Read), zap.Int("echoes", p.res.Echoes), zap.Int("createdInCRM", sr.CreatedInCRM),
		zap.Int("createdInDesk", sr.CreatedInDesk), zap.Int("updatedInCRM", sr.UpdatedInCRM), zap.Int("updatedInDesk", sr.UpdatedInDesk),
		zap.Int("failed", sr.FailedToCRM+sr.FailedToDesk), zap.Int("deleted", p.res.Deleted),
		zap.Time("crmCursor", p.crmCur.Position), zap.Time("deskCursor", p.deskCur.Position))
	if err != nil {
		return p.res, err
	}
	return p.res, a.recordIncrementalRuns(ctx, in, p.res)
}

// cursor reads a side's cursor from Postgres, or starts it at the first sync's start.
func (p *pass) cursor(ctx context.Context, sc store.Scope) (Cursor, error) {
	c, ok, err := p.a.Store.Cursor(ctx, sc)
	if err != nil {
		return Cursor{}, err
	}
	if !ok {
		return Cursor{Position: p.in.Since.UTC(), Deleted: p.in.Since.UTC()}, nil
	}
	if c.Deleted.IsZero() {
		c.Deleted = c.Position
	}
	return Cursor{Position: c.Position, Deleted: c.Deleted}, nil
}

func (p *pass) twoWay() bool { return p.in.Mode != ModeOneWayToDesk }

func (p *pass) run(ctx context.Context) error {
	a := p.a
	// Creates an earlier attempt left pending are settled first, so nothing is created twice.
	if p.twoWay() {
		if err := a.recoverCRMCreates(ctx, p.deskSc, p.m, p.o); err != nil {
			return err
		}
	}
	if err := a.recoverDeskCreates(ctx, p.crmSc, p.m, p.o); err != nil {
		return err
	}
	// Deletions are read before modifications: a modification made after the deletion
	// read is then newer than anything the deletion cursor passed.
	if err := p.readCRMDeleted(ctx); err != nil {
		return apiError("read CRM deleted "+p.in.Module, err)
	}
	if err := p.readDeskDeleted(ctx); err != nil {
		return apiError("read Desk recycle bin", err)
	}
	if err := p.readCRM(ctx); err != nil {
		return apiError("read CRM changes of "+p.in.Module, err)
	}
	if p.twoWay() {
		if err := p.readDesk(ctx); err != nil {
			return apiError("read Desk changes of "+p.in.Module, err)
		}
	}
	if err := p.readExtra(ctx); err != nil {
		return err
	}
	heartbeat(ctx, "decide")
	return p.apply(ctx)
}

// readCRMDeleted records CRM deletions since the deletion cursor on the links.
func (p *pass) readCRMDeleted(ctx context.Context) error {
	since := p.crmCur.Deleted.Add(-CursorOverlap)
	var dels []store.Deletion
	newest := p.crmCur.Deleted
	for {
		err := p.a.CRM.Deleted(ctx, crmModule(p.in.Module), crm.DeletedOptions{ModifiedSince: since}, func(recs []crm.DeletedRecord) error {
			for _, r := range recs {
				kind := reconcile.DeletedTrash
				if r.Type == "permanent" {
					kind = reconcile.DeletedPermanent
				}
				dels = append(dels, store.Deletion{ID: r.ID, Kind: kind})
				if r.DeletedTime.After(newest) {
					newest = r.DeletedTime.UTC()
				}
			}
			heartbeat(ctx, "crm deleted")
			return nil
		})
		if err != nil && waitForRateLimit(ctx, err, "crm deleted") {
			dels = dels[:0]
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if err := p.markDeleted(ctx, p.crmSc, mapping.CRM, dels); err != nil {
		return err
	}
	p.crmCur.Deleted = newest
	return nil
}

// readDeskDeleted records the module's Desk recycle-bin entries since the deletion cursor.
func (p *pass) readDeskDeleted(ctx context.Context) error {
	since := p.deskCur.Deleted.Add(-CursorOverlap)
	var dels []store.Deletion
	newest := p.deskCur.Deleted
	for {
		err := p.a.Desk.RecycleBin(ctx, desk.RecycleBinOptions{Module: deskModule(p.in.Module), SortBy: "-deletedTime"}, func(items []desk.TrashItem) error {
			for _, it := range items {
				if it.DeletedTime.Before(since) {
					return desk.ErrStop
				}
				dels = append(dels, store.Deletion{ID: it.ID, Kind: reconcile.DeletedTrash})
				if it.DeletedTime.After(newest) {
					newest = it.DeletedTime.UTC()
				}
			}
			heartbeat(ctx, "desk recycle bin")
			return nil
		})
		if err != nil && waitForRateLimit(ctx, err, "desk recycle bin") {
			dels = dels[:0]
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if err := p.markDeleted(ctx, p.deskSc, mapping.Desk, dels); err != nil {
		return err
	}
	p.deskCur.Deleted = newest
	return nil
}

// markDeleted decides each deletion with reconcile.Decide (deletes never propagate) and
// records those it marks; deleted records leave the index so they are never matched again.
func (p *pass) markDeleted(ctx context.Context, sc store.Scope, side mapping.Side, dels []store.Deletion) error {
	if len(dels) == 0 {
		return nil
	}
	ids := make([]string, len(dels))
	for i, d := range dels {
		ids[i] = d.ID
	}
	links, err := p.a.Store.LinksOf(ctx, sc, ids)
	if err != nil {
		return err
	}
	var marks []store.Deletion
	for _, d := range dels {
		l, ok := links[d.ID]
		state := reconcile.LinkStateFor(side, ok && l.State == "linked", l.DeskDeleted, l.CRMDeleted)
		dec := reconcile.Decide(reconcile.DecideInput{Mapping: p.m, Mode: modeOf(p.in.Mode), Source: side,
			Change: reconcile.Deleted, Permanent: d.Kind == reconcile.DeletedPermanent, Link: state})
		if dec.Action == reconcile.ActionMarkDeleted {
			marks = append(marks, store.Deletion{ID: d.ID, Kind: dec.Deleted})
		}
	}
	n, err := p.a.Store.MarkDeleted(ctx, sc, marks)
	if err != nil {
		return err
	}
	p.res.Deleted += n
	return p.a.Store.DeleteIndexRows(ctx, sc, ids)
}

// readCRM reads CRM's changed records since the cursor, oldest first.
func (p *pass) readCRM(ctx context.Context) error {
	opts := crm.ListOptions{Fields: crmFieldsFor(p.m), SortBy: "Modified_Time", SortOrder: "asc", PerPage: crm.MaxPerPage,
		ModifiedSince: p.crmCur.Position.Add(-CursorOverlap)}
	newest := p.crmCur.Position
	for {
		err := p.a.CRM.List(ctx, crmModule(p.in.Module), opts, func(pg crm.Page) error {
			if err := p.addCRM(ctx, pg.Records); err != nil {
				return err
			}
			for _, r := range pg.Records {
				if r.ModifiedTime.After(newest) {
					newest = r.ModifiedTime.UTC()
				}
			}
			opts.Start = pg.Next
			heartbeat(ctx, "crm changes")
			if len(p.crmRead) >= MaxChangesPerPass && pg.More {
				p.res.More = true
				return crm.ErrStop
			}
			return nil
		})
		if err != nil && waitForRateLimit(ctx, err, "crm changes") {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	p.crmCur.Position = newest
	return nil
}

// crmChanges converts CRM records into changes.
func (p *pass) crmChanges(recs []crm.Record) []change {
	mf := mapping.MatchField(p.m.Module)
	out := make([]change, 0, len(recs))
	for _, r := range recs {
		vals, _ := mapping.FromCRM(p.m, r.Fields, nil)
		for _, f := range p.m.Fields {
			if _, ok := r.Fields[f.CRM]; !ok {
				vals[f.Key()] = nil // asked for and not returned: empty
			}
		}
		out = append(out, change{side: mapping.CRM, id: r.ID, created: r.CreatedTime, modified: r.ModifiedTime, values: vals,
			key: matchKey(p.in.Module, stringOf(r.Fields[mf.CRM]))})
	}
	return out
}

// addCRM takes CRM records as changes and keeps them in the index.
func (p *pass) addCRM(ctx context.Context, recs []crm.Record) error {
	cs := p.crmChanges(recs)
	rows := make([]store.IndexRow, 0, len(cs))
	for _, c := range cs {
		p.crmRead[c.id] = c
		rows = append(rows, c.indexRow())
	}
	p.res.Read += len(recs)
	return p.a.Store.UpsertIndex(ctx, p.crmSc, rows)
}

// crmByID reads CRM records by id, 100 per call.
func (p *pass) crmByID(ctx context.Context, ids []string) ([]crm.Record, error) {
	var out []crm.Record
	for start := 0; start < len(ids); start += crm.MaxWriteBatch {
		opts := crm.ListOptions{Fields: crmFieldsFor(p.m), IDs: ids[start:min(start+crm.MaxWriteBatch, len(ids))], PerPage: crm.MaxPerPage}
		for {
			var recs []crm.Record
			err := p.a.CRM.List(ctx, crmModule(p.in.Module), opts, func(pg crm.Page) error {
				recs = append(recs, pg.Records...)
				return nil
			})
			if err != nil && waitForRateLimit(ctx, err, "crm by id") {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
			break
		}
	}
	return out, nil
}

// deskByID reads Desk records by id, one per call with the pipe full; records gone since
// are left out.
func (p *pass) deskByID(ctx context.Context, ids []string) ([]desk.Record, error) {
	var mu sync.Mutex
	var out []desk.Record
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, p.a.Desk.Limiter().Max()))
	for _, id := range ids {
		g.Go(func() error {
			for {
				r, err := p.a.Desk.Get(gctx, deskModule(p.in.Module), id)
				if err != nil && waitForRateLimit(gctx, err, id) {
					continue
				}
				if err != nil {
					if zoho.FailureCode(err) == "RECORD_NOT_FOUND" {
						return nil // deleted since: the recycle bin tells
					}
					return err
				}
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
				return nil
			}
		})
	}
	return out, g.Wait()
}

// readDesk reads Desk's changed records since the cursor, oldest first.
func (p *pass) readDesk(ctx context.Context) error {
	q := desk.ScanQuery{Field: desk.ModifiedTime, From: p.deskCur.Position.Add(-CursorOverlap)}
	newest := p.deskCur.Position
	for {
		err := p.a.Desk.Scan(ctx, deskModule(p.in.Module), q, func(pg desk.Page) error {
			if err := p.addDesk(ctx, pg.Records); err != nil {
				return err
			}
			for _, r := range pg.Records {
				if r.ModifiedTime.After(newest) {
					newest = r.ModifiedTime.UTC()
				}
			}
			heartbeat(ctx, "desk changes")
			if len(p.deskRead) >= MaxChangesPerPass {
				p.res.More = true
				return desk.ErrStop
			}
			return nil
		})
		if err != nil && waitForRateLimit(ctx, err, "desk changes") {
			q.From = newest.Add(-CursorOverlap)
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	p.deskCur.Position = newest
	return nil
}

// deskChanges converts Desk records into changes, account references through the links.
func (p *pass) deskChanges(ctx context.Context, recs []desk.Record) ([]change, error) {
	var accountIDs []string
	if p.in.Module == Contacts {
		for _, r := range recs {
			if id := stringOf(r.Fields["accountId"]); id != "" {
				accountIDs = append(accountIDs, id)
			}
		}
	}
	refs, err := p.a.deskRefs(ctx, p.in.IntegrationID, accountIDs)
	if err != nil {
		return nil, err
	}
	mf := mapping.MatchField(p.m.Module)
	out := make([]change, 0, len(recs))
	for _, r := range recs {
		vals, _ := mapping.FromDesk(p.m, r.Fields, r.CF, refs)
		for _, f := range p.m.Fields {
			src := r.Fields
			if strings.HasPrefix(f.Desk, "cf_") {
				src = r.CF
			}
			if _, ok := src[f.Desk]; !ok {
				vals[f.Key()] = nil // not returned: empty
			}
		}
		out = append(out, change{side: mapping.Desk, id: r.ID, created: r.CreatedTime, modified: r.ModifiedTime, values: vals,
			key: matchKey(p.in.Module, stringOf(r.Fields[mf.Desk]))})
	}
	return out, nil
}

// addDesk takes Desk records as changes and keeps them in the index.
func (p *pass) addDesk(ctx context.Context, recs []desk.Record) error {
	cs, err := p.deskChanges(ctx, recs)
	if err != nil {
		return err
	}
	rows := make([]store.IndexRow, 0, len(cs))
	for _, c := range cs {
		p.deskRead[c.id] = c
		rows = append(rows, c.indexRow())
	}
	p.res.Read += len(recs)
	return p.a.Store.UpsertIndex(ctx, p.deskSc, rows)
}

// readExtra reads by id the records webhooks reported that the reads of changes did not
// return, and the linked records whose failures the admin asked to retry. They do not move
// the cursors.
func (p *pass) readExtra(ctx context.Context) error {
	crmIDs := p.in.Hints[SideCRM]
	retryCRM, err := p.a.Store.RetryingRecords(ctx, p.crmSc, maxFetchIDs)
	if err != nil {
		return err
	}
	crmIDs = missing(append(slicesClone(crmIDs), retryCRM...), p.crmRead)
	var deskIDs []string
	if p.twoWay() {
		retryDesk, err := p.a.Store.RetryingRecords(ctx, p.deskSc, maxFetchIDs)
		if err != nil {
			return err
		}
		deskIDs = missing(append(slicesClone(p.in.Hints[SideDesk]), retryDesk...), p.deskRead)
	}
	crmRecs, err := p.crmByID(ctx, crmIDs)
	if err != nil {
		return apiError("read reported CRM records", err)
	}
	if err := p.addCRM(ctx, crmRecs); err != nil {
		return err
	}
	deskRecs, err := p.deskByID(ctx, deskIDs)
	if err != nil {
		return apiError("read reported Desk records", err)
	}
	if len(deskRecs) > 0 {
		return p.addDesk(ctx, deskRecs)
	}
	return nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// missing returns the distinct ids not in read, at most maxFetchIDs.
func missing(ids []string, read map[string]change) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if _, ok := read[id]; ok || seen[id] || id == "" {
			continue
		}
		seen[id] = true
		out = append(out, id)
		if len(out) == maxFetchIDs {
			break
		}
	}
	sort.Strings(out)
	return out
}

// update is one linked pair's writes and the base to store once they are done.
type update struct {
	linkID   int64
	deskID   string
	crmID    string
	source   mapping.Side
	deskMod  time.Time
	crmMod   time.Time
	toDesk   mapping.Values
	toCRM    mapping.Values
	base     reconcile.Base
	clear    string // side whose deletion mark to clear on success
	restored bool
}

// plan is what a pass decided, grouped by how it is written.
type plan struct {
	updates    []update
	createCRM  []store.IndexRow // Desk records to create in CRM
	createDesk []store.IndexRow // CRM records to create in Desk
	restore    []update         // counterparts to restore from Desk's recycle bin, then update
	recreate   map[string][]int64
	clears     map[string][]int64
}

// apply decides every change read and writes the result.
func (p *pass) apply(ctx context.Context) error {
	// The version of a record that already failed is not tried again on every re-read; a
	// newer change, or the admin's retry, tries it again.
	for _, x := range []struct {
		sc   store.Scope
		read map[string]change
	}{{p.crmSc, p.crmRead}, {p.deskSc, p.deskRead}} {
		failed, err := p.a.Store.FailedSince(ctx, x.sc, keysOf(x.read))
		if err != nil {
			return err
		}
		for id, at := range failed {
			if !x.read[id].modified.After(at) {
				delete(x.read, id)
				p.res.Skipped++
			}
		}
	}
	crmIDs, deskIDs := keysOf(p.crmRead), keysOf(p.deskRead)
	crmLinks, err := p.a.Store.LinksOf(ctx, p.crmSc, crmIDs)
	if err != nil {
		return err
	}
	deskLinks, err := p.a.Store.LinksOf(ctx, p.deskSc, deskIDs)
	if err != nil {
		return err
	}
	pl := &plan{recreate: map[string][]int64{}, clears: map[string][]int64{}}
	consumed := map[string]bool{} // desk ids decided together with their CRM counterpart
	var unlinkedCRM, unlinkedDesk []change
	var linked []linkedChange
	for _, id := range crmIDs {
		c := p.crmRead[id]
		l, ok := crmLinks[id]
		if !ok || l.State != "linked" {
			unlinkedCRM = append(unlinkedCRM, c)
			continue
		}
		var other *change
		if d, ok := p.deskRead[l.DeskID]; ok && l.DeskDeleted == "" {
			other, consumed[l.DeskID] = &d, true
		}
		linked = append(linked, linkedChange{c, other, l})
	}
	for _, id := range deskIDs {
		if consumed[id] {
			continue
		}
		c := p.deskRead[id]
		l, ok := deskLinks[id]
		if !ok || l.State != "linked" {
			unlinkedDesk = append(unlinkedDesk, c)
			continue
		}
		linked = append(linked, linkedChange{c, nil, l})
	}
	if err := p.fillCounterparts(ctx, linked); err != nil {
		return err
	}
	if err := p.loadRefs(ctx, linked); err != nil {
		return err
	}
	for _, x := range linked {
		p.decideLinked(x.c, x.other, x.l, pl)
	}
	if err := p.decideUnlinked(ctx, unlinkedCRM, unlinkedDesk, pl); err != nil {
		return err
	}
	return p.write(ctx, pl)
}

// linkedChange is a change of a linked record, with its counterpart's when known.
type linkedChange struct {
	c     change
	other *change
	l     store.Link
}

// needsCounterpart reports whether deciding c needs the counterpart's current values: c sets
// a field that flows to the other side and that the base does not hold (the create that made
// the pair left it empty, or the field was mapped since), so the base cannot stand in for the
// counterpart's value.
func needsCounterpart(m mapping.Mapping, c change, base reconcile.Base) bool {
	if base.IsZero() {
		return false // Decide pushes every field with no base at all
	}
	other := base.Of(c.side.Other())
	for _, f := range m.Fields {
		v, ok := c.values[f.Key()]
		if !ok || !f.FlowsTo(c.side.Other()) || mapping.ValueEqual(v, nil) {
			continue
		}
		if _, inBase := other[f.Key()]; !inBase {
			return true
		}
	}
	return false
}

// linkBase returns a link's merge base.
func linkBase(l store.Link) reconcile.Base {
	return reconcile.JoinBase(mapping.Values(l.Base), mapping.Values(l.BaseDesk), mapping.Values(l.BaseCRM))
}

// loadRefs loads the account links that the decisions need to write account references to
// Desk: every CRM account the changes, their counterparts and their bases name.
func (p *pass) loadRefs(ctx context.Context, linked []linkedChange) error {
	var vals []mapping.Values
	for _, read := range []map[string]change{p.crmRead, p.deskRead} {
		for _, c := range read {
			vals = append(vals, c.values)
		}
	}
	for _, x := range linked {
		b := linkBase(x.l)
		vals = append(vals, b.Desk, b.CRM)
		if x.other != nil {
			vals = append(vals, x.other.values)
		}
	}
	refs, err := p.a.crmRefs(ctx, p.in.IntegrationID, lookupIDs(p.m, vals...))
	p.refs = refs
	return err
}

// lookupIDs lists the non-empty account references (CRM ids) the values hold.
func lookupIDs(m mapping.Mapping, vals ...mapping.Values) []string {
	var ids []string
	for _, f := range m.Fields {
		if f.Type != mapping.TypeLookup {
			continue
		}
		for _, v := range vals {
			if id, ok := v[f.Key()].(string); ok && id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// carryFailures logs the values a decision could not carry to the other side.
func (p *pass) carryFailures(deskID, crmID string, problems []mapping.Problem) {
	for _, f := range notCarriedFailures(p.in.Module, deskID, crmID, problems) {
		p.o.fail(f)
	}
}

// fillCounterparts reads the counterparts the decisions need (see needsCounterpart): CRM
// records 100 per call, Desk records one per call with the pipe full.
func (p *pass) fillCounterparts(ctx context.Context, linked []linkedChange) error {
	var crmIDs, deskIDs []string
	for _, x := range linked {
		if x.other != nil || x.l.DeskDeleted != "" || x.l.CRMDeleted != "" || !needsCounterpart(p.m, x.c, linkBase(x.l)) {
			continue
		}
		if x.c.side == mapping.Desk {
			crmIDs = append(crmIDs, x.l.CRMID)
		} else {
			deskIDs = append(deskIDs, x.l.DeskID)
		}
	}
	crmRecs, err := p.crmByID(ctx, crmIDs)
	if err != nil {
		return apiError("read CRM counterparts", err)
	}
	deskRecs, err := p.deskByID(ctx, deskIDs)
	if err != nil {
		return apiError("read Desk counterparts", err)
	}
	got := map[string]change{}
	for _, c := range p.crmChanges(crmRecs) {
		got["crm/"+c.id] = c
	}
	dcs, err := p.deskChanges(ctx, deskRecs)
	if err != nil {
		return err
	}
	for _, c := range dcs {
		got["desk/"+c.id] = c
	}
	for i, x := range linked {
		key := "crm/" + x.l.CRMID
		if x.c.side == mapping.CRM {
			key = "desk/" + x.l.DeskID
		}
		if x.other == nil {
			if o, ok := got[key]; ok {
				linked[i].other = &o
			}
		}
	}
	return nil
}

func keysOf(m map[string]change) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decideLinked decides a change of a linked record; other is the counterpart's change when
// both changed in this pass.
func (p *pass) decideLinked(c change, other *change, l store.Link, pl *plan) {
	in := reconcile.DecideInput{Mapping: p.m, Mode: modeOf(p.in.Mode), Source: c.side, Change: reconcile.Updated,
		Link: reconcile.LinkStateFor(c.side, true, l.DeskDeleted, l.CRMDeleted), Base: linkBase(l),
		Values: c.values, Modified: c.modified, Refs: p.refs}
	if other != nil {
		in.Other, in.OtherModified = other.values, other.modified
	}
	d := reconcile.Decide(in)
	if d.Action == reconcile.ActionSkipEcho && other != nil {
		// This side only echoes the base: the counterpart's change is the one to decide.
		prev := c
		c, other = *other, &prev
		in.Source, in.Values, in.Modified, in.Other, in.OtherModified = c.side, c.values, c.modified, other.values, other.modified
		in.Link = reconcile.LinkStateFor(c.side, true, l.DeskDeleted, l.CRMDeleted)
		d = reconcile.Decide(in)
	}
	u := update{linkID: l.ID, deskID: l.DeskID, crmID: l.CRMID, source: c.side, toDesk: d.DeskPatch, toCRM: d.CRMPatch, base: d.Base}
	u.deskMod, u.crmMod = modifiedOf(l.DeskModified), modifiedOf(l.CRMModified)
	if c.side == mapping.Desk {
		u.deskMod = c.modified
	} else {
		u.crmMod = c.modified
	}
	if other != nil {
		if other.side == mapping.Desk {
			u.deskMod = other.modified
		} else {
			u.crmMod = other.modified
		}
	}
	if d.ClearDeletion {
		u.clear = string(c.side)
	}
	p.carryFailures(l.DeskID, l.CRMID, d.NotCarried)
	switch d.Action {
	case reconcile.ActionSkipEcho, reconcile.ActionSkip:
		p.res.Echoes++
		if u.clear != "" {
			pl.clears[u.clear] = append(pl.clears[u.clear], l.ID)
		}
	case reconcile.ActionIgnore:
		if u.clear != "" {
			pl.clears[u.clear] = append(pl.clears[u.clear], l.ID)
		}
		if !d.Base.IsZero() && d.Base.Hash() != l.BaseHash {
			pl.updates = append(pl.updates, update{linkID: l.ID, deskID: l.DeskID, crmID: l.CRMID, source: c.side,
				deskMod: u.deskMod, crmMod: u.crmMod, base: d.Base})
		}
	case reconcile.ActionUpdate:
		pl.updates = append(pl.updates, u)
	case reconcile.ActionRestore:
		if d.Target == mapping.Desk {
			u.restored = true
			pl.restore = append(pl.restore, u)
			break
		}
		// CRM's API has no restore from the recycle bin: the record is created again.
		p.planRecreate(c, l, d.Target, pl)
	case reconcile.ActionRecreate:
		p.planRecreate(c, l, d.Target, pl)
	}
}

func modifiedOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// planRecreate re-creates a deleted counterpart on target from the changed record.
func (p *pass) planRecreate(c change, l store.Link, target mapping.Side, pl *plan) {
	pl.recreate[string(target)] = append(pl.recreate[string(target)], l.ID)
	if target == mapping.CRM {
		pl.createCRM = append(pl.createCRM, c.indexRow())
	} else {
		pl.createDesk = append(pl.createDesk, c.indexRow())
	}
}

// decideUnlinked matches records with no link by key (email, account name) against the
// index of the other side: one unlinked candidate links the pair and merges it with no base;
// several are AMBIGUOUS_MATCH; a candidate linked already is CRM_ID_ALREADY_MAPPED; none
// creates the record on the other side.
func (p *pass) decideUnlinked(ctx context.Context, fromCRM, fromDesk []change, pl *plan) error {
	what := "email"
	if p.in.Module == Accounts {
		what = "account name"
	}
	var pairsD, pairsC []string
	type matched struct{ src, other change }
	var pairs []matched
	taken := map[string]bool{} // "side/id" of records matched in this pass
	for _, group := range []struct {
		changes []change
		otherSc store.Scope
	}{{fromDesk, p.crmSc}, {fromCRM, p.deskSc}} {
		var keys []string
		for _, c := range group.changes {
			if c.key != "" {
				keys = append(keys, c.key)
			}
		}
		cands, err := p.a.Store.Candidates(ctx, group.otherSc, keys)
		if err != nil {
			return err
		}
		// Unlinked records of the same side sharing a key make any match a guess.
		own, err := p.a.Store.Candidates(ctx, group.otherSc.Other(), keys)
		if err != nil {
			return err
		}
		peers := map[string]int{}
		for k, list := range own {
			for _, x := range list {
				if !x.Linked {
					peers[k]++
				}
			}
		}
		var otherIDs []string
		for _, c := range group.changes {
			for _, x := range cands[c.key] {
				otherIDs = append(otherIDs, x.RecordID)
			}
		}
		rows, err := p.a.Store.IndexRows(ctx, group.otherSc, otherIDs)
		if err != nil {
			return err
		}
		for _, c := range group.changes {
			if taken[string(c.side)+"/"+c.id] {
				continue // matched from the other side already
			}
			var list []store.Candidate // unlinked candidates; linked ones are taken
			for _, x := range cands[c.key] {
				if !x.Linked {
					list = append(list, x)
				}
			}
			dir, deskID, crmID := DeskToCRM, c.id, ""
			if c.side == mapping.CRM {
				dir, deskID, crmID = CRMToDesk, "", c.id
			}
			switch {
			case c.key == "" || len(cands[c.key]) == 0:
				if c.side == mapping.Desk {
					pl.createCRM = append(pl.createCRM, c.indexRow())
				} else {
					pl.createDesk = append(pl.createDesk, c.indexRow())
				}
			case len(list) > 1 || peers[c.key] > 1:
				p.o.fail(store.Failure{Module: p.in.Module, Direction: dir, DeskID: deskID, CRMID: crmID, Code: "AMBIGUOUS_MATCH",
					Message: fmt.Sprintf("%d record(s) on the other side and %d on this side share this %s; not matched to avoid a guess — make the %s unique, then retry", len(list), max(1, peers[c.key]), what, what)})
			case len(list) == 0:
				p.o.fail(store.Failure{Module: p.in.Module, Direction: dir, DeskID: deskID, CRMID: crmID, Code: "CRM_ID_ALREADY_MAPPED",
					Message: fmt.Sprintf("another record with the same %s is already linked to its counterpart; this one is a duplicate and was not synced", what)})
			default:
				row, ok := rows[list[0].RecordID]
				if !ok {
					continue
				}
				other := change{side: c.side.Other(), id: row.RecordID, modified: row.ModifiedTime, values: mapping.Values(row.Values)}
				if c.side == mapping.Desk {
					if oc, ok := p.crmRead[row.RecordID]; ok {
						other = oc
					}
					pairsD, pairsC = append(pairsD, c.id), append(pairsC, other.id)
				} else {
					if oc, ok := p.deskRead[row.RecordID]; ok {
						other = oc
					}
					pairsD, pairsC = append(pairsD, other.id), append(pairsC, c.id)
				}
				taken[string(other.side)+"/"+other.id] = true
				pairs = append(pairs, matched{c, other})
			}
		}
	}
	ids, err := p.a.Store.LinkPairs(ctx, p.in.IntegrationID, p.in.Module, pairsD, pairsC)
	if err != nil {
		return err
	}
	for _, x := range pairs {
		deskID, crmID := x.src.id, x.other.id
		if x.src.side == mapping.CRM {
			deskID, crmID = crmID, deskID
		}
		linkID, ok := ids[deskID]
		if !ok {
			continue // linked meanwhile by someone else: the next pass sees it as linked
		}
		p.res.Matched++
		d := reconcile.Decide(reconcile.DecideInput{Mapping: p.m, Mode: modeOf(p.in.Mode), Source: x.src.side, Change: reconcile.Updated,
			Link: reconcile.LinkNone, Values: x.src.values, Modified: x.src.modified, Other: x.other.values, OtherModified: x.other.modified,
			Refs: p.refs})
		p.carryFailures(deskID, crmID, d.NotCarried)
		u := update{linkID: linkID, deskID: deskID, crmID: crmID, source: x.src.side, toDesk: d.DeskPatch, toCRM: d.CRMPatch, base: d.Base}
		u.deskMod, u.crmMod = x.src.modified, x.other.modified
		if x.src.side == mapping.CRM {
			u.deskMod, u.crmMod = u.crmMod, u.deskMod
		}
		pl.updates = append(pl.updates, u)
	}
	return nil
}

// write carries out a plan: restores, re-creates, creates, then updates.
func (p *pass) write(ctx context.Context, pl *plan) error {
	a := p.a
	for side, ids := range pl.clears {
		if err := a.Store.ClearDeletion(ctx, side, ids); err != nil {
			return err
		}
	}
	if err := p.restoreInDesk(ctx, pl); err != nil {
		return err
	}
	for target, ids := range pl.recreate {
		if err := a.Store.PrepareRecreate(ctx, target, ids); err != nil {
			return err
		}
		p.res.Recreated += len(ids)
	}
	if len(pl.createCRM) > 0 && p.twoWay() {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, a.CRM.Limiter().Max()))
		for start := 0; start < len(pl.createCRM); start += crm.MaxWriteBatch {
			batch := pl.createCRM[start:min(start+crm.MaxWriteBatch, len(pl.createCRM))]
			g.Go(func() error { return a.createCRMBatch(gctx, p.deskSc, p.m, batch, p.o) })
		}
		if err := g.Wait(); err != nil {
			return apiError("create in CRM", err)
		}
	}
	if len(pl.createDesk) > 0 {
		if err := p.createInDesk(ctx, pl.createDesk); err != nil {
			return apiError("create in Desk", err)
		}
	}
	return p.applyUpdates(ctx, pl.updates)
}

// restoreInDesk brings deleted Desk counterparts back from the recycle bin and queues their
// update; those no longer there (deleted for good) are created again instead.
func (p *pass) restoreInDesk(ctx context.Context, pl *plan) error {
	for start := 0; start < len(pl.restore); start += desk.MaxLimit {
		batch := pl.restore[start:min(start+desk.MaxLimit, len(pl.restore))]
		ids := make([]string, len(batch))
		for i, u := range batch {
			ids[i] = u.deskID
		}
		var results []desk.RestoreResult
		var err error
		for {
			results, err = p.a.Desk.Restore(ctx, ids)
			if err != nil && waitForRateLimit(ctx, err, "restore") {
				continue
			}
			break
		}
		if err != nil && mustRetry(ctx, err) {
			return apiError("restore from the Desk recycle bin", err)
		}
		ok := map[string]bool{}
		for _, r := range results {
			ok[r.ID] = r.Success
		}
		for _, u := range batch {
			if ok[u.deskID] {
				u.clear = SideDesk
				pl.updates = append(pl.updates, u)
				p.res.Restored++
				continue
			}
			// Not in the recycle bin: restored by someone already, or deleted for good.
			if _, gerr := p.a.Desk.Get(ctx, deskModule(p.in.Module), u.deskID); gerr == nil {
				u.clear = SideDesk
				pl.updates = append(pl.updates, u)
				continue
			} else if zoho.FailureCode(gerr) != "RECORD_NOT_FOUND" {
				return apiError("read a Desk record to restore", gerr)
			}
			src, ok := p.crmRead[u.crmID]
			if !ok {
				continue
			}
			pl.recreate[SideDesk] = append(pl.recreate[SideDesk], u.linkID)
			pl.createDesk = append(pl.createDesk, src.indexRow())
		}
	}
	return nil
}

// createInDesk creates CRM records in Desk one per call with the pipe full, with the
// pending-link protocol of CreateInDesk.
func (p *pass) createInDesk(ctx context.Context, rows []store.IndexRow) error {
	a, sc := p.a, p.crmSc
	refs, err := a.refsForRows(ctx, sc.IntegrationID, p.m, rows)
	if err != nil {
		return err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RecordID
	}
	if err := a.Store.AddPendingLinks(ctx, sc, ids); err != nil {
		return err
	}
	var mu sync.Mutex
	var done []store.Completion
	var dropped []string
	var carried []store.Failure
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, a.Desk.Limiter().Max()))
	for _, r := range rows {
		g.Go(func() error {
			created, notCarried, err := a.createDeskRecord(gctx, sc.Module, p.m, r, refs)
			heartbeat(gctx, "desk creates")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				done = append(done, completion(p.m, mapping.Desk, r, refs, created.ID, created.ModifiedTime))
				carried = append(carried, notCarriedFailures(sc.Module, created.ID, r.RecordID, notCarried)...)
			case errors.Is(err, errNotCarried):
				carried = append(carried, notCarriedFailures(sc.Module, "", r.RecordID, notCarried)...)
				dropped = append(dropped, r.RecordID)
			case mustRetry(gctx, err):
				return err // the pending link stays; the retried attempt recovers it
			default:
				p.o.fail(failureOf(sc.Module, CRMToDesk, "", r.RecordID, err))
				dropped = append(dropped, r.RecordID)
			}
			return nil
		})
	}
	werr := g.Wait()
	if err := a.Store.CompleteLinks(ctx, sc, done); err != nil {
		return err
	}
	if err := a.Store.DropPendingLinks(ctx, sc, dropped); err != nil {
		return err
	}
	synced := make([]string, len(done))
	for i, d := range done {
		synced[i] = d.SourceID
	}
	if err := a.Store.ResolveRecordFailures(ctx, sc.IntegrationID, sc.Module, SideCRM, synced); err != nil {
		return err
	}
	for _, f := range carried {
		p.o.fail(f)
	}
	p.o.mu.Lock()
	p.o.res.CreatedInDesk += len(done)
	p.o.mu.Unlock()
	return werr
}

// applyUpdates writes the patches of linked pairs (CRM 100 per call, Desk one per call, both
// pipes full) and stores the new bases of the pairs written without failure.
func (p *pass) applyUpdates(ctx context.Context, ups []update) error {
	a, m, module := p.a, p.m, p.in.Module
	var accountIDs []string
	for _, u := range ups {
		for _, f := range m.Fields {
			if f.Type == mapping.TypeLookup {
				if id, ok := u.toDesk[f.Key()].(string); ok && id != "" {
					accountIDs = append(accountIDs, id)
				}
			}
		}
	}
	refs, err := a.crmRefs(ctx, p.in.IntegrationID, accountIDs)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	failed := map[int64]bool{}
	fail := func(u update, direction string, err error) {
		mu.Lock()
		defer mu.Unlock()
		failed[u.linkID] = true
		p.o.fail(failureOf(module, direction, u.deskID, u.crmID, err))
	}
	count := func(n *int) {
		p.o.mu.Lock()
		*n++
		p.o.mu.Unlock()
	}
	var toCRM []int
	for i, u := range ups {
		if len(u.toCRM) > 0 && p.twoWay() {
			toCRM = append(toCRM, i)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, a.CRM.Limiter().Max()))
	for start := 0; start < len(toCRM); start += crm.MaxWriteBatch {
		batch := toCRM[start:min(start+crm.MaxWriteBatch, len(toCRM))]
		g.Go(func() error {
			recs := make([]crm.Record, len(batch))
			for i, k := range batch {
				recs[i] = crm.Record{ID: ups[k].crmID, Fields: mapping.ToCRM(m, ups[k].toCRM, refs)}
			}
			var results []crm.Result
			var err error
			for {
				results, err = a.CRM.Update(gctx, crmModule(module), recs)
				if err != nil && waitForRateLimit(gctx, err, module) {
					continue
				}
				break
			}
			if err != nil {
				return err // updates are idempotent: the retried attempt writes them again
			}
			for i, r := range results {
				k := batch[i]
				if !r.OK() {
					fail(ups[k], DeskToCRM, r.Err)
					continue
				}
				if !r.ModifiedTime.IsZero() {
					mu.Lock()
					ups[k].crmMod = r.ModifiedTime
					mu.Unlock()
				}
				count(&p.o.res.UpdatedInCRM)
			}
			heartbeat(gctx, "crm updates")
			return nil
		})
	}
	dg, dctx := errgroup.WithContext(ctx)
	dg.SetLimit(max(1, a.Desk.Limiter().Max()))
	for i := range ups {
		if len(ups[i].toDesk) == 0 {
			continue
		}
		dg.Go(func() error {
			fields, cf := mapping.ToDesk(m, ups[i].toDesk, refs)
			for {
				rec, err := a.Desk.Update(dctx, deskModule(module), ups[i].deskID, desk.Record{Fields: fields, CF: cf})
				if err != nil && waitForRateLimit(dctx, err, ups[i].deskID) {
					continue
				}
				if err != nil {
					if mustRetry(dctx, err) {
						return err
					}
					fail(ups[i], CRMToDesk, err)
					return nil
				}
				mu.Lock()
				ups[i].deskMod = rec.ModifiedTime
				mu.Unlock()
				count(&p.o.res.UpdatedInDesk)
				heartbeat(dctx, "desk updates")
				return nil
			}
		})
	}
	cerr, derr := g.Wait(), dg.Wait()
	if err := errors.Join(cerr, derr); err != nil {
		return apiError("update "+module, err) // nothing committed: the retried attempt writes again
	}
	var bases []store.BaseUpdate
	var clearDesk, clearCRM []int64
	var syncedDesk, syncedCRM []string
	for _, u := range ups {
		if failed[u.linkID] || u.base.IsZero() {
			continue
		}
		shared, bd, bc := u.base.Split()
		bases = append(bases, store.BaseUpdate{LinkID: u.linkID, Base: shared, BaseDesk: bd, BaseCRM: bc, BaseHash: u.base.Hash(),
			DeskModified: u.deskMod, CRMModified: u.crmMod})
		switch u.clear {
		case SideDesk:
			clearDesk = append(clearDesk, u.linkID)
		case SideCRM:
			clearCRM = append(clearCRM, u.linkID)
		}
		if u.source == mapping.Desk {
			syncedDesk = append(syncedDesk, u.deskID)
		} else {
			syncedCRM = append(syncedCRM, u.crmID)
		}
	}
	if err := a.Store.SetBases(ctx, bases); err != nil {
		return err
	}
	if err := a.Store.ClearDeletion(ctx, SideDesk, clearDesk); err != nil {
		return err
	}
	if err := a.Store.ClearDeletion(ctx, SideCRM, clearCRM); err != nil {
		return err
	}
	if err := a.Store.ResolveRecordFailures(ctx, p.in.IntegrationID, module, SideDesk, syncedDesk); err != nil {
		return err
	}
	return a.Store.ResolveRecordFailures(ctx, p.in.IntegrationID, module, SideCRM, syncedCRM)
}

// recordIncrementalRuns appends the pass to the run history, one line per direction that
// did something.
func (a *Activities) recordIncrementalRuns(ctx context.Context, in IncrementalInput, r IncrementalResult) error {
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
		run.WorkflowID, run.RunID, run.Kind, run.Module, run.StartedAt, run.FinishedAt = wfID, runID, "incremental", in.Module, now, &now
		if _, err := a.Store.RecordRun(ctx, in.IntegrationID, run); err != nil {
			return err
		}
	}
	return nil
}

// ModeInput records an integration's sync mode.
type ModeInput struct {
	IntegrationID string `json:"integrationId"`
	Mode          string `json:"mode"`
}

// SetMode stores the integration's sync mode in Postgres (two-way, one-way-crm-to-desk or
// legacy-import).
func (a *Activities) SetMode(ctx context.Context, in ModeInput) error {
	if _, err := a.Store.EnsureIntegration(ctx, in.IntegrationID, in.Mode, 365*24*time.Hour); err != nil {
		return err
	}
	return a.Store.SetMode(ctx, in.IntegrationID, in.Mode)
}
