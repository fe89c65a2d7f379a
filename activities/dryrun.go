package activities

import (
	"context"
	"slices"
	"time"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
)

// The dry-run plan of a first sync: the same read and plan rooms as the sync (index, key
// groups, reconcile.PlanMatch, lookups, reconcile.PlanUnlinked, reconcile.PlanReconcile), with
// the writer left out, so the plan and the sync cannot disagree. Nothing is written to Zoho;
// the index is kept in Postgres, where the sync reads it again.

// ModulePlan is what the first sync would do to one module. Counts only: the field-by-field
// sample, which quotes customer values, stays in Postgres (store.Plan).
type ModulePlan struct {
	Module string `json:"module"`
	// Indexed is how many records each side holds in the look-back.
	DeskIndexed int `json:"deskIndexed"`
	CRMIndexed  int `json:"crmIndexed"`
	// LinkedAlready counts pairs linked by an earlier sync; Matches the pairs the first sync
	// would link by key (found beyond the look-back included).
	LinkedAlready int `json:"linkedAlready"`
	Matches       int `json:"matches"`
	// CreateInCRM and CreateInDesk count the records that would be created on each side.
	CreateInCRM  int `json:"createInCrm"`
	CreateInDesk int `json:"createInDesk"`
	// UpdateInCRM and UpdateInDesk count the matched pairs whose records would be written.
	UpdateInCRM  int `json:"updateInCrm"`
	UpdateInDesk int `json:"updateInDesk"`
	// Failures counts the predicted failures by code (ambiguous matches, duplicates, values
	// too long, picklist values, mandatory fields, type mismatches).
	Failures map[string]int `json:"failures,omitempty"`
	// CRMCalls and DeskCalls are the API calls the writes and lookups would take (CRM 100
	// records per call, Desk one); Duration the time they would take at the configured
	// concurrency and the latency measured meanwhile.
	CRMCalls  int           `json:"crmCalls"`
	DeskCalls int           `json:"deskCalls"`
	Duration  time.Duration `json:"duration"`
}

// planSampleSize bounds the matched pairs whose field-by-field merge the plan keeps.
const planSampleSize = 20

// PlanFirstSync plans the first sync of one module over the index the index steps filled,
// without writing to Zoho or linking anything: matches, creates per side (after looking the
// keys up across the other side), the merge of matched pairs, predicted failures, and the API
// calls all that takes. The sample of merged pairs is stored with the plan (store.SavePlan).
func (a *Activities) PlanFirstSync(ctx context.Context, in StepInput) (ModulePlan, error) {
	m, err := a.stepMapping(ctx, in)
	if err != nil {
		return ModulePlan{}, err
	}
	ctx, meter := withMeter(ctx)
	p := ModulePlan{Module: in.Module, Failures: map[string]int{}}
	mode := modeOf(in.Mode)
	if p.DeskIndexed, err = a.Store.IndexCount(ctx, storeScope(in.IntegrationID, m.Module, mapping.Desk)); err != nil {
		return p, err
	}
	if p.CRMIndexed, err = a.Store.IndexCount(ctx, storeScope(in.IntegrationID, m.Module, mapping.CRM)); err != nil {
		return p, err
	}
	if p.LinkedAlready, err = a.Store.LinkCount(ctx, in.IntegrationID, in.Module); err != nil {
		return p, err
	}
	var sample []store.PlanSample
	if err := a.planMatches(ctx, in, m, mode, &p, &sample); err != nil {
		return p, err
	}
	for _, source := range []mapping.Side{mapping.Desk, mapping.CRM} {
		if err := a.planCreates(ctx, in, m, mode, source, &p, &sample); err != nil {
			return p, err
		}
	}
	if err := a.Store.SavePlanSample(ctx, in.IntegrationID, in.Module, sample); err != nil {
		return p, err
	}
	p.Duration, err = a.estimate(ctx, meter, p.CRMCalls, p.DeskCalls)
	return p, err
}

// estimate is how long the calls take on the APIs side by side, at each API's concurrency
// and the latency the meter measured (one cheap read measures an API not called yet).
func (a *Activities) estimate(ctx context.Context, meter creditMeter, crmCalls, deskCalls int) (time.Duration, error) {
	crmLat, deskLat := meter.latency()
	if crmLat == 0 {
		if _, err := a.CRM.Fields(ctx, "Contacts"); err != nil {
			return 0, apiError("measure CRM latency", err)
		}
	}
	if deskLat == 0 {
		if _, err := a.Desk.Fields(ctx, Contacts); err != nil {
			return 0, apiError("measure Desk latency", err)
		}
	}
	crmLat, deskLat = meter.latency()
	return max(EstimateDuration(crmCalls, a.CRM.Limiter().Max(), crmLat), EstimateDuration(deskCalls, a.Desk.Limiter().Max(), deskLat)), nil
}

// planMatches plans the match step and the reconcile of the pairs it would link.
func (a *Activities) planMatches(ctx context.Context, in StepInput, m mapping.Mapping, mode mapping.Mode, p *ModulePlan, sample *[]store.PlanSample) error {
	var after string
	for {
		groups, err := a.keyGroups(ctx, in, after)
		if err != nil || len(groups) == 0 {
			return err
		}
		after = groups[len(groups)-1].Key
		pl := reconcile.PlanMatch(m.Module, groups)
		p.Matches += pl.Matched
		countFailures(p, pl.Failures)
		var pairs []reconcile.Pair
		for _, u := range pl.Updates {
			pairs = append(pairs, reconcile.Pair{Link: reconcile.Link{DeskID: u.DeskID, CRMID: u.CRMID, Linked: true}})
		}
		if err := a.planReconcile(ctx, in, m, mode, pairs, p, sample); err != nil {
			return err
		}
		heartbeat(ctx, after)
	}
}

// planReconcile plans the first reconcile of pairs (their records read from the index).
func (a *Activities) planReconcile(ctx context.Context, in StepInput, m mapping.Mapping, mode mapping.Mode, pairs []reconcile.Pair, p *ModulePlan, sample *[]store.PlanSample) error {
	if len(pairs) == 0 {
		return nil
	}
	var deskIDs, crmIDs []string
	for _, x := range pairs {
		deskIDs, crmIDs = append(deskIDs, x.Link.DeskID), append(crmIDs, x.Link.CRMID)
	}
	deskRows, err := a.Store.IndexRows(ctx, storeScope(in.IntegrationID, m.Module, mapping.Desk), deskIDs)
	if err != nil {
		return err
	}
	crmRows, err := a.Store.IndexRows(ctx, storeScope(in.IntegrationID, m.Module, mapping.CRM), crmIDs)
	if err != nil {
		return err
	}
	var recs []reconcile.Record
	for i := range pairs {
		pairs[i].Desk = recordOf(mapping.Desk, deskRows[pairs[i].Link.DeskID])
		pairs[i].CRM = recordOf(mapping.CRM, crmRows[pairs[i].Link.CRMID])
	}
	if err := a.resolvePairRefs(ctx, in.IntegrationID, pairs); err != nil {
		return err
	}
	for i := range pairs {
		recs = append(recs, pairs[i].Desk, pairs[i].CRM)
	}
	refs, err := a.refsFor(ctx, in.IntegrationID, m, recs)
	if err != nil {
		return err
	}
	pl := reconcile.PlanReconcile(reconcile.ReconcileInput{Mapping: m, Mode: mode, Refs: refs, Pairs: pairs})
	countFailures(p, pl.Failures)
	crmWrites := 0
	for i, u := range pl.Updates {
		if len(u.CRMPatch) > 0 {
			p.UpdateInCRM++
		}
		if len(u.DeskPatch) > 0 {
			p.UpdateInDesk++
		}
		if len(u.CRMPatch) > 0 || u.CRMCounterpart {
			crmWrites++
		}
		if len(u.DeskPatch) > 0 || u.DeskCounterpart {
			p.DeskCalls++
		}
		if (len(u.CRMPatch) > 0 || len(u.DeskPatch) > 0) && len(*sample) < planSampleSize {
			*sample = append(*sample, sampleOf(m, pairs[i], u))
		}
	}
	p.CRMCalls += callsOf(crmWrites)
	return nil
}

// planCreates plans the create step of side source's unlinked records: the lookups of their
// keys across the other side, then PlanUnlinked.
func (a *Activities) planCreates(ctx context.Context, in StepInput, m mapping.Mapping, mode mapping.Mode, source mapping.Side, p *ModulePlan, sample *[]store.PlanSample) error {
	if mode == mapping.OneWay && source == mapping.Desk {
		return nil // Desk records are not sent in one-way mode
	}
	after := ""
	for {
		rows, err := a.Store.Unlinked(ctx, storeScope(in.IntegrationID, m.Module, source), after, stepBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].RecordID
		recs := make([]reconcile.Record, len(rows))
		keyed := 0
		for i, row := range rows {
			recs[i] = recordOf(source, row)
			if recs[i].Key != "" {
				keyed++
			}
		}
		if err := a.resolveRefs(ctx, in.IntegrationID, recs); err != nil {
			return err
		}
		lookups := callsOf(keyed) // one lookup call per 100 keys on the other side
		if source == mapping.Desk {
			p.CRMCalls += lookups
		} else {
			p.DeskCalls += lookups
		}
		cands, err := a.matchCandidates(ctx, in.IntegrationID, m, recs)
		if err != nil {
			return err
		}
		all := slices.Clone(recs)
		for _, cs := range cands {
			for _, c := range cs {
				if c.Record != nil {
					all = append(all, *c.Record)
				}
			}
		}
		refs, err := a.refsFor(ctx, in.IntegrationID, m, all)
		if err != nil {
			return err
		}
		claimed, err := a.claimedLinks(ctx, in.IntegrationID, m, recs)
		if err != nil {
			return err
		}
		pl := reconcile.PlanUnlinked(reconcile.UnlinkedInput{Mapping: m, Mode: mode, Refs: refs, Records: recs,
			Candidates: cands, Claimed: claimed})
		countFailures(p, pl.Failures)
		p.Matches += pl.Matched
		for _, c := range pl.Creates {
			countFailures(p, c.Failures)
		}
		n := len(pl.Creates)
		if source == mapping.Desk {
			p.CreateInCRM += n
			p.CRMCalls += callsOf(n)
			p.DeskCalls += n // each Desk source gets the new record's id
		} else {
			p.CreateInDesk += n
			p.DeskCalls += n
			if mode != mapping.OneWay {
				p.CRMCalls += callsOf(n) // the CRM sources get the new records' ids, 100 per call
			}
		}
		// Pairs found by a lookup are linked and merged as matches are; both sides get their
		// counterpart's id.
		byID := map[reconcile.SideID]reconcile.Record{}
		for _, r := range all {
			byID[reconcile.SideID{Side: r.Side, ID: r.ID}] = r
		}
		for _, u := range pl.Updates {
			if (len(u.CRMPatch) > 0 || len(u.DeskPatch) > 0) && len(*sample) < planSampleSize {
				pair := reconcile.Pair{Desk: byID[reconcile.SideID{Side: mapping.Desk, ID: u.DeskID}],
					CRM: byID[reconcile.SideID{Side: mapping.CRM, ID: u.CRMID}]}
				*sample = append(*sample, sampleOf(m, pair, u))
			}
			if len(u.CRMPatch) > 0 {
				p.UpdateInCRM++
			}
			if len(u.DeskPatch) > 0 {
				p.UpdateInDesk++
			}
			p.DeskCalls++
		}
		if mode != mapping.OneWay {
			p.CRMCalls += callsOf(len(pl.Updates))
		}
		heartbeat(ctx, after)
	}
}

// countFailures adds predicted failures to the plan, by code.
func countFailures(p *ModulePlan, fs []reconcile.Failure) {
	for _, f := range fs {
		p.Failures[f.Code]++
	}
}

// callsOf is how many CRM calls n records take, 100 per call.
func callsOf(n int) int { return (n + 99) / 100 }

// sampleOf is the field-by-field merge of one pair, for the plan's sample.
func sampleOf(m mapping.Mapping, p reconcile.Pair, u reconcile.Update) store.PlanSample {
	s := store.PlanSample{DeskID: p.Desk.ID, CRMID: p.CRM.ID}
	for _, f := range m.Fields {
		k := f.Key()
		dv, toDesk := u.DeskPatch[k]
		cv, toCRM := u.CRMPatch[k]
		if !toDesk && !toCRM {
			continue
		}
		fc := store.PlanField{Desk: f.Desk, CRM: f.CRM, DeskValue: p.Desk.Values[k], CRMValue: p.CRM.Values[k]}
		if toDesk {
			fc.Winner, fc.NewValue = "crm", dv
		} else {
			fc.Winner, fc.NewValue = "desk", cv
		}
		s.Fields = append(s.Fields, fc)
	}
	return s
}

// PlanInput names the integration a dry-run plan is for.
type PlanInput struct {
	IntegrationID string    `json:"integrationId"`
	Mode          string    `json:"mode"`
	LookbackDays  int       `json:"lookbackDays"`
	Started       time.Time `json:"started"`
}

// PlanReport is a dry-run plan of a first sync: per module what it would do, the mapping's
// problems, and the calls, credits and time it would take.
type PlanReport struct {
	IntegrationID string             `json:"integrationId"`
	Mode          string             `json:"mode"`
	LookbackDays  int                `json:"lookbackDays"`
	Started       time.Time          `json:"started"`
	Finished      time.Time          `json:"finished"`
	Problems      []PreflightProblem `json:"problems,omitempty"`
	Modules       []ModulePlan       `json:"modules"`
	// IndexCRMCredits and IndexDeskCredits are what indexing cost (the plan spent them).
	IndexCRMCredits  int `json:"indexCrmCredits"`
	IndexDeskCredits int `json:"indexDeskCredits"`
	// CRMCalls and DeskCalls are the calls the sync's writes and lookups would take;
	// Duration the time they take (the modules one after the other).
	CRMCalls  int           `json:"crmCalls"`
	DeskCalls int           `json:"deskCalls"`
	Duration  time.Duration `json:"duration"`
}

// SavePlan stores a plan report (the latest per integration is what the console and
// `starter plan` show).
func (a *Activities) SavePlan(ctx context.Context, r PlanReport) error {
	return a.Store.SavePlan(ctx, r.IntegrationID, r)
}

// EstimateDuration is the time calls take on an API at its concurrency and a call's latency.
func EstimateDuration(calls, concurrency int, latency time.Duration) time.Duration {
	return time.Duration(float64(calls) / float64(max(1, concurrency)) * float64(latency))
}
