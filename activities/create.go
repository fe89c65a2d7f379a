package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// outcome collects what a create or update pass did, safely across goroutines.
type outcome struct {
	mu       sync.Mutex
	res      StepResult
	failures []store.Failure
	synced   []string // source ids whose earlier failures are now resolved
}

func (o *outcome) fail(f store.Failure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if f.Direction == DeskToCRM {
		o.res.FailedToCRM++
	} else {
		o.res.FailedToDesk++
	}
	o.failures = append(o.failures, f)
}

// flush records the failures in the log and puts the newest few in the result.
func (a *Activities) flush(ctx context.Context, integrationID string, o *outcome) (StepResult, error) {
	recorded, err := a.Store.RecordFailures(ctx, integrationID, o.failures)
	if err != nil {
		return o.res, err
	}
	if len(recorded) > MaxReportedFailures {
		recorded = recorded[:MaxReportedFailures]
	}
	o.res.Failures = recorded
	return o.res, nil
}

// failureOf turns a per-record Zoho error into a failure-log entry.
func failureOf(module, direction, deskID, crmID string, err error) store.Failure {
	return store.Failure{Module: module, Direction: direction, DeskID: deskID, CRMID: crmID,
		Code: zoho.FailureCode(err), Message: err.Error()}
}

// completion links a source record to the record created from it. The base is what each side
// holds after the create (reconcile.Create), so that fields not flowing to the target, and
// values that could not be carried there, never look cleared on the target later.
func completion(m mapping.Mapping, target mapping.Side, r store.IndexRow, refs mapping.Refs, targetID string, targetModified time.Time) store.Completion {
	base := reconcile.Create(m, mapping.Values(r.Values), target, refs).Base
	shared, bd, bc := base.Split()
	return store.Completion{SourceID: r.RecordID, TargetID: targetID, Base: shared, BaseDesk: bd, BaseCRM: bc, BaseHash: base.Hash(),
		SourceModified: r.ModifiedTime, TargetModified: targetModified}
}

// notCarriedFailures turns the values a write left out because they could not be carried (see
// mapping.Carry) into failure-log entries of the record; an account reference with no
// counterpart yet is not a failure of the record.
func notCarriedFailures(module, deskID, crmID string, problems []mapping.Problem) []store.Failure {
	var out []store.Failure
	for _, p := range problems {
		dir := CRMToDesk
		if p.To == mapping.CRM {
			dir = DeskToCRM
		}
		out = append(out, valueFailures(module, dir, deskID, crmID, []mapping.Problem{p})...)
	}
	return out
}

// settleCreates records the outcome of create calls: the created records' links complete
// (and their earlier failures close), the pending links of records that failed for good go.
func (a *Activities) settleCreates(ctx context.Context, sc store.Scope, done []store.Completion, dropped []string) error {
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
	return a.Store.ResolveRecordFailures(ctx, sc.IntegrationID, sc.Module, sc.Side, synced)
}

// eachUnlinked hands fn the indexed records of a scope that have no counterpart yet,
// createBatch at a time, heartbeating the position after each batch.
func (a *Activities) eachUnlinked(ctx context.Context, sc store.Scope, fn func([]store.IndexRow) error) error {
	after := ""
	for {
		rows, err := a.Store.Unlinked(ctx, sc, after, createBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].RecordID
		if err := fn(rows); err != nil {
			return err
		}
		heartbeat(ctx, after)
	}
}

// createBatch is how many source rows a create pass reads from Postgres at a time.
const createBatch = 1000

// CreateInCRM creates in CRM, 100 per call with the concurrency pipe full, every indexed
// Desk record that has no counterpart. A pending link is written before each call and the
// Desk id is stored in the CRM record, so a retried attempt finds what a lost response
// created instead of creating it twice.
func (a *Activities) CreateInCRM(ctx context.Context, in StepInput) (StepResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return StepResult{}, err
	}
	sc := store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: "desk"}
	if err := a.Store.Analyze(ctx); err != nil {
		return StepResult{}, err
	}
	before := a.CRM.Credits().Used
	o := &outcome{}
	if err := a.recoverCRMCreates(ctx, sc, m, o); err != nil {
		return o.res, err
	}
	pipe := max(1, a.CRM.Limiter().Max())
	err = a.eachUnlinked(ctx, sc, func(rows []store.IndexRow) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(pipe)
		for start := 0; start < len(rows); start += crm.MaxWriteBatch {
			batch := rows[start:min(start+crm.MaxWriteBatch, len(rows))]
			g.Go(func() error { return a.createCRMBatch(gctx, sc, m, batch, o) })
		}
		return g.Wait()
	})
	if err != nil {
		if _, ferr := a.flush(ctx, in.IntegrationID, o); ferr != nil {
			return o.res, ferr
		}
		return o.res, apiError("create in CRM", err)
	}
	o.res.CRMCredits = int(a.CRM.Credits().Used - before)
	return a.flush(ctx, in.IntegrationID, o)
}

// createCRMBatch creates up to 100 records in one insert call.
func (a *Activities) createCRMBatch(ctx context.Context, sc store.Scope, m mapping.Mapping, rows []store.IndexRow, o *outcome) error {
	// A record a required value of which cannot be carried is not sent: it is logged.
	var blocked []store.Failure
	kept := rows[:0:0]
	var notCarried [][]mapping.Problem
	var recs []crm.Record
	for _, r := range rows {
		c := reconcile.Create(m, mapping.Values(r.Values), mapping.CRM, nil)
		if c.Blocked {
			blocked = append(blocked, notCarriedFailures(sc.Module, r.RecordID, "", c.NotCarried)...)
			continue
		}
		fields := mapping.ToCRM(m, c.Patch, nil)
		fields[crmDeskIDField] = r.RecordID
		recs = append(recs, crm.Record{Fields: fields})
		notCarried = append(notCarried, c.NotCarried)
		kept = append(kept, r)
	}
	for _, f := range blocked {
		o.fail(f)
	}
	rows = kept
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RecordID
	}
	if err := a.Store.AddPendingLinks(ctx, sc, ids); err != nil {
		return err
	}
	var results []crm.Result
	var err error
	for {
		results, err = a.CRM.Insert(ctx, crmModule(sc.Module), recs)
		if err != nil && !zoho.IsAmbiguousWrite(err) && waitForRateLimit(ctx, err, sc.Module) {
			continue
		}
		break
	}
	if err != nil {
		return err // pending links stay; the retried attempt recovers them
	}
	var done []store.Completion
	var dropped []string
	var carryFailures []store.Failure
	for i, res := range results {
		r := rows[i]
		if !res.OK() {
			if zoho.IsTransient(res.Err) {
				dropped = append(dropped, r.RecordID) // tried again by the next attempt or pass
				continue
			}
			o.fail(failureOf(sc.Module, DeskToCRM, r.RecordID, "", res.Err))
			dropped = append(dropped, r.RecordID)
			continue
		}
		done = append(done, completion(m, mapping.CRM, r, nil, res.ID, res.ModifiedTime))
		carryFailures = append(carryFailures, notCarriedFailures(sc.Module, r.RecordID, res.ID, notCarried[i])...)
	}
	if err := a.settleCreates(ctx, sc, done, dropped); err != nil {
		return err
	}
	// After the settle step, which closes the created records' earlier failures.
	for _, f := range carryFailures {
		o.fail(f)
	}
	o.mu.Lock()
	o.res.CreatedInCRM += len(done)
	o.mu.Unlock()
	return nil
}

// recoverCRMCreates settles pending links left by an attempt that did not finish: records
// found in CRM by their Desk id are linked, the others are released to be created again.
func (a *Activities) recoverCRMCreates(ctx context.Context, sc store.Scope, m mapping.Mapping, o *outcome) error {
	for {
		ids, err := a.Store.PendingLinks(ctx, sc, crm.MaxWriteBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		found := map[string]crm.Record{}
		q := crm.SearchQuery{Criteria: crm.Cond(crmDeskIDField, "in", ids...), Fields: crmFieldsFor(m), PerPage: crm.MaxPerPage}
		err = a.CRM.Search(ctx, crmModule(sc.Module), q, func(p crm.Page) error {
			for _, r := range p.Records {
				found[stringOf(r.Fields[crmDeskIDField])] = r
			}
			return nil
		})
		if err != nil {
			return apiError("find CRM records created before a lost response", err)
		}
		rows, err := a.Store.IndexRows(ctx, sc, ids)
		if err != nil {
			return err
		}
		var done []store.Completion
		var missing []string
		for _, id := range ids {
			r, ok := found[id]
			row, indexed := rows[id]
			if !ok || !indexed {
				missing = append(missing, id)
				continue
			}
			done = append(done, completion(m, mapping.CRM, row, nil, r.ID, r.ModifiedTime))
		}
		if err := a.settleCreates(ctx, sc, done, missing); err != nil {
			return err
		}
		o.res.CreatedInCRM += len(done)
	}
}

// CreateInDesk creates in Desk, one per call (Desk has no batch create) with the concurrency
// pipe full, every indexed CRM record that has no counterpart, with the same pending-link
// protocol as CreateInCRM (the CRM id goes into Desk's cf_crm_id).
func (a *Activities) CreateInDesk(ctx context.Context, in StepInput) (StepResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return StepResult{}, err
	}
	sc := store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: "crm"}
	if err := a.Store.Analyze(ctx); err != nil {
		return StepResult{}, err
	}
	before := a.Desk.Credits().Used
	o := &outcome{}
	if err := a.recoverDeskCreates(ctx, sc, m, o); err != nil {
		return o.res, err
	}
	pipe := max(1, a.Desk.Limiter().Max())
	err = a.eachUnlinked(ctx, sc, func(rows []store.IndexRow) error {
		refs, err := a.refsForRows(ctx, sc.IntegrationID, m, rows)
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
		var carryFailures []store.Failure
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(pipe)
		for _, r := range rows {
			g.Go(func() error {
				created, notCarried, err := a.createDeskRecord(gctx, sc.Module, m, r, refs)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					done = append(done, completion(m, mapping.Desk, r, refs, created.ID, created.ModifiedTime))
					carryFailures = append(carryFailures, notCarriedFailures(sc.Module, created.ID, r.RecordID, notCarried)...)
				case errors.Is(err, errNotCarried):
					carryFailures = append(carryFailures, notCarriedFailures(sc.Module, "", r.RecordID, notCarried)...)
					dropped = append(dropped, r.RecordID)
				case mustRetry(gctx, err):
					return err // the pending link stays; the retried attempt recovers it
				default:
					o.fail(failureOf(sc.Module, CRMToDesk, "", r.RecordID, err))
					dropped = append(dropped, r.RecordID)
				}
				return nil
			})
		}
		werr := g.Wait()
		// Record what succeeded even when one call failed transiently.
		if err := a.settleCreates(ctx, sc, done, dropped); err != nil {
			return err
		}
		for _, f := range carryFailures {
			o.fail(f)
		}
		o.res.CreatedInDesk += len(done)
		return werr
	})
	if err != nil {
		if _, ferr := a.flush(ctx, in.IntegrationID, o); ferr != nil {
			return o.res, ferr
		}
		return o.res, apiError("create in Desk", err)
	}
	o.res.DeskCredits = int(a.Desk.Credits().Used - before)
	return a.flush(ctx, in.IntegrationID, o)
}

// errNotCarried: a value a create needs (of a field the target requires) cannot be carried;
// the record was not sent, and the values say why.
var errNotCarried = errors.New("a required value cannot be carried")

// createDeskRecord creates one record from a CRM record's values, waiting out 429s as Desk
// asks. It returns the values it could not carry to Desk (left out of the create).
func (a *Activities) createDeskRecord(ctx context.Context, module string, m mapping.Mapping, r store.IndexRow, refs mapping.Refs) (desk.Record, []mapping.Problem, error) {
	c := reconcile.Create(m, mapping.Values(r.Values), mapping.Desk, refs)
	if c.Blocked {
		return desk.Record{}, c.NotCarried, errNotCarried
	}
	fields, cf := mapping.ToDesk(m, c.Patch, refs)
	if cf == nil {
		cf = map[string]any{}
	}
	cf[deskCRMIDField] = r.RecordID
	for {
		created, err := a.Desk.Create(ctx, deskModule(module), desk.Record{Fields: fields, CF: cf})
		if err != nil && waitForRateLimit(ctx, err, r.RecordID) {
			continue
		}
		return created, c.NotCarried, err
	}
}

// refsForRows loads the account links that CRM contacts' account references need in Desk.
func (a *Activities) refsForRows(ctx context.Context, integrationID string, m mapping.Mapping, rows []store.IndexRow) (*mapping.MapRefs, error) {
	if m.Module != mapping.Contacts {
		return mapping.NewMapRefs(nil), nil
	}
	var ids []string
	for _, r := range rows {
		for _, f := range m.Fields {
			if f.Type == mapping.TypeLookup {
				if id, ok := r.Values[f.Key()].(string); ok && id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	return a.crmRefs(ctx, integrationID, ids)
}

// recoverDeskCreates settles pending Desk creates by looking each record up by cf_crm_id.
func (a *Activities) recoverDeskCreates(ctx context.Context, sc store.Scope, m mapping.Mapping, o *outcome) error {
	for {
		ids, err := a.Store.PendingLinks(ctx, sc, 100)
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err := a.Store.IndexRows(ctx, sc, ids)
		if err != nil {
			return err
		}
		var done []store.Completion
		var missing []string
		for _, id := range ids {
			found, err := a.Desk.FindByCustomField(ctx, deskModule(sc.Module), deskCRMIDField, id)
			if err != nil {
				return apiError("find Desk records created before a lost response", err)
			}
			row, indexed := rows[id]
			if len(found) == 0 || !indexed {
				missing = append(missing, id)
				continue
			}
			refs, err := a.refsForRows(ctx, sc.IntegrationID, m, []store.IndexRow{row})
			if err != nil {
				return err
			}
			done = append(done, completion(m, mapping.Desk, row, refs, found[0].ID, found[0].ModifiedTime))
		}
		if err := a.settleCreates(ctx, sc, done, missing); err != nil {
			return err
		}
		o.res.CreatedInDesk += len(done)
	}
}
