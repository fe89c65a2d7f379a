package activities

import (
	"context"
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

// completion links a source record to the record created from it. The base is what the
// create wrote, so that fields not flowing to the target do not look cleared there later.
func completion(m mapping.Mapping, target mapping.Side, r store.IndexRow, targetID string, targetModified time.Time) store.Completion {
	base := reconcile.CreateValues(m, mapping.Values(r.Values), target)
	return store.Completion{SourceID: r.RecordID, TargetID: targetID, Base: base, BaseHash: mapping.Hash(base),
		SourceModified: r.ModifiedTime, TargetModified: targetModified}
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
	ids := make([]string, len(rows))
	recs := make([]crm.Record, len(rows))
	for i, r := range rows {
		ids[i] = r.RecordID
		fields := mapping.ToCRM(m, mapping.Values(r.Values), nil)
		fields[crmDeskIDField] = r.RecordID
		recs[i] = crm.Record{Fields: fields}
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
		done = append(done, completion(m, mapping.CRM, r, res.ID, res.ModifiedTime))
	}
	if err := a.settleCreates(ctx, sc, done, dropped); err != nil {
		return err
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
			done = append(done, completion(m, mapping.CRM, row, r.ID, r.ModifiedTime))
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
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(pipe)
		for _, r := range rows {
			g.Go(func() error {
				created, err := a.createDeskRecord(gctx, sc.Module, m, r, refs)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					done = append(done, completion(m, mapping.Desk, r, created.ID, created.ModifiedTime))
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

// createDeskRecord creates one record, waiting out 429s as Desk asks.
func (a *Activities) createDeskRecord(ctx context.Context, module string, m mapping.Mapping, r store.IndexRow, refs mapping.Refs) (desk.Record, error) {
	fields, cf := mapping.ToDesk(m, mapping.Values(r.Values), refs)
	if cf == nil {
		cf = map[string]any{}
	}
	cf[deskCRMIDField] = r.RecordID
	for {
		created, err := a.Desk.Create(ctx, deskModule(module), desk.Record{Fields: fields, CF: cf})
		if err != nil && waitForRateLimit(ctx, err, r.RecordID) {
			continue
		}
		return created, err
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
			done = append(done, completion(m, mapping.Desk, row, found[0].ID, found[0].ModifiedTime))
		}
		if err := a.settleCreates(ctx, sc, done, missing); err != nil {
			return err
		}
		o.res.CreatedInDesk += len(done)
	}
}
