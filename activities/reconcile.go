package activities

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// ReconcilePairs brings each matched pair that was never reconciled to one set of values:
// per field the newer side wins in two-way mode, CRM wins in one-way mode (and nothing is
// written to CRM). CRM updates go 100 per call; Desk updates one per call, pipe full.
func (a *Activities) ReconcilePairs(ctx context.Context, in StepInput) (StepResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return StepResult{}, err
	}
	if err := a.Store.Analyze(ctx); err != nil {
		return StepResult{}, err
	}
	beforeCRM, beforeDesk := a.CRM.Credits().Used, a.Desk.Credits().Used
	o := &outcome{}
	var after int64
	for {
		pairs, err := a.Store.UnreconciledPairs(ctx, in.IntegrationID, in.Module, after, createBatch)
		if err != nil {
			return o.res, err
		}
		if len(pairs) == 0 {
			break
		}
		after = pairs[len(pairs)-1].LinkID
		if err := a.reconcileBatch(ctx, in, m, pairs, o); err != nil {
			if _, ferr := a.flush(ctx, in.IntegrationID, o); ferr != nil {
				return o.res, ferr
			}
			return o.res, apiError("reconcile "+in.Module, err)
		}
		heartbeat(ctx, after)
	}
	o.res.CRMCredits = int(a.CRM.Credits().Used - beforeCRM)
	o.res.DeskCredits = int(a.Desk.Credits().Used - beforeDesk)
	return a.flush(ctx, in.IntegrationID, o)
}

// pairWrite is what one pair needs written.
type pairWrite struct {
	pair   store.Pair
	merged reconcile.Base
	toCRM  mapping.Values
	toDesk mapping.Values
}

func (a *Activities) reconcileBatch(ctx context.Context, in StepInput, m mapping.Mapping, pairs []store.Pair, o *outcome) error {
	writes := make([]pairWrite, 0, len(pairs))
	var vals []mapping.Values
	for _, p := range pairs {
		vals = append(vals, mapping.Values(p.Desk.Values), mapping.Values(p.CRM.Values))
	}
	refs, err := a.crmRefs(ctx, in.IntegrationID, lookupIDs(m, vals...))
	if err != nil {
		return err
	}
	var carried []store.Failure
	for _, p := range pairs {
		res := reconcile.Merge(reconcile.MergeInput{
			Mapping: m, Mode: modeOf(in.Mode),
			Desk: mapping.Values(p.Desk.Values), CRM: mapping.Values(p.CRM.Values),
			DeskModified: p.DeskModified, CRMModified: p.CRMModified, Refs: refs,
		})
		writes = append(writes, pairWrite{pair: p, merged: res.Base, toCRM: res.CRMPatch, toDesk: res.DeskPatch})
		carried = append(carried, notCarriedFailures(in.Module, p.DeskID, p.CRMID, res.NotCarried)...)
	}

	var mu sync.Mutex
	var bases []store.BaseUpdate
	failed := map[int64]bool{}
	fail := func(w pairWrite, direction string, err error) {
		mu.Lock()
		defer mu.Unlock()
		failed[w.pair.LinkID] = true
		o.fail(failureOf(in.Module, direction, w.pair.DeskID, w.pair.CRMID, err))
	}

	// CRM: 100 updates per call.
	var crmWrites []pairWrite
	for _, w := range writes {
		if len(w.toCRM) > 0 && in.Mode != ModeOneWayToDesk {
			crmWrites = append(crmWrites, w)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, a.CRM.Limiter().Max()))
	for start := 0; start < len(crmWrites); start += crm.MaxWriteBatch {
		batch := crmWrites[start:min(start+crm.MaxWriteBatch, len(crmWrites))]
		g.Go(func() error {
			recs := make([]crm.Record, len(batch))
			for i, w := range batch {
				recs[i] = crm.Record{ID: w.pair.CRMID, Fields: mapping.ToCRM(m, w.toCRM, refs)}
			}
			var results []crm.Result
			var err error
			for {
				results, err = a.CRM.Update(gctx, crmModule(in.Module), recs)
				if err != nil && waitForRateLimit(gctx, err, in.Module) {
					continue
				}
				break
			}
			if err != nil {
				return err // updates are idempotent: the retried attempt writes them again
			}
			for i, r := range results {
				if !r.OK() {
					fail(batch[i], DeskToCRM, r.Err)
					continue
				}
				mu.Lock()
				o.res.UpdatedInCRM++
				mu.Unlock()
			}
			return nil
		})
	}
	// Desk: one PATCH per record.
	dg, dctx := errgroup.WithContext(ctx)
	dg.SetLimit(max(1, a.Desk.Limiter().Max()))
	for _, w := range writes {
		if len(w.toDesk) == 0 {
			continue
		}
		dg.Go(func() error {
			fields, cf := mapping.ToDesk(m, w.toDesk, refs)
			for {
				_, err := a.Desk.Update(dctx, deskModule(in.Module), w.pair.DeskID, desk.Record{Fields: fields, CF: cf})
				if err != nil && waitForRateLimit(dctx, err, w.pair.DeskID) {
					continue
				}
				if err != nil {
					if mustRetry(dctx, err) {
						return err
					}
					fail(w, CRMToDesk, err)
					return nil
				}
				mu.Lock()
				o.res.UpdatedInDesk++
				mu.Unlock()
				return nil
			}
		})
	}
	cerr, derr := g.Wait(), dg.Wait()
	for _, w := range writes {
		if failed[w.pair.LinkID] {
			continue
		}
		shared, bd, bc := w.merged.Split()
		bases = append(bases, store.BaseUpdate{LinkID: w.pair.LinkID, Base: shared, BaseDesk: bd, BaseCRM: bc, BaseHash: w.merged.Hash(),
			DeskModified: w.pair.DeskModified, CRMModified: w.pair.CRMModified})
	}
	if cerr != nil || derr != nil {
		// Nothing is marked reconciled: the retried attempt reconciles the whole batch again.
		if cerr != nil {
			return cerr
		}
		return derr
	}
	if err := a.Store.SetBases(ctx, bases); err != nil {
		return err
	}
	for _, f := range carried {
		o.fail(f)
	}
	return nil
}
