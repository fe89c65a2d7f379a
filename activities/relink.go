package activities

import (
	"context"
	"slices"
	"time"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// RelinkInput asks to rebuild an integration's links from the counterpart ids both apps hold.
type RelinkInput struct {
	IntegrationID string `json:"integrationId"`
	Mode          string `json:"mode,omitempty"`
	// Apply writes the links found (and reconciles the pairs linked anew); without it the
	// report only says what would change.
	Apply bool `json:"apply,omitempty"`
}

// RelinkModule reports one module's rebuild.
type RelinkModule struct {
	Module string `json:"module"`
	// Found is how many pairs the apps' counterpart ids state; Known how many of them the
	// link table already holds; Added how many were (or would be) linked; Different how many
	// records the link table links otherwise than the apps say (left as they are).
	Found     int `json:"found"`
	Known     int `json:"known"`
	Added     int `json:"added"`
	Different int `json:"different"`
	// Conflicts are records whose counterpart id cannot be followed (missing record, several
	// records pointing at one), at most 100 shown.
	Conflicts      int                 `json:"conflicts"`
	ConflictSample []reconcile.Pointer `json:"conflictSample,omitempty"`
	// Deleted counts the pairs found (of Found) whose record on one side is deleted — in its
	// recycle bin or for good — linked with that mark, so that the sync restores or re-creates
	// it when the other record changes, as it would have with the link kept.
	Deleted int `json:"deleted,omitempty"`
}

// RelinkReport is the rebuild of every module.
type RelinkReport struct {
	Modules []RelinkModule `json:"modules"`
}

// Relink rebuilds the link table from the apps: every linked pair carries its counterpart's
// id on both sides (CRM Desk_ID, Desk cf_crm_id), so the links can be read back from Zoho if
// Postgres lost them (reconcile.PlanRelink). It scans both sides' records (their ids and
// counterpart ids only), links the pairs the table lacks and reconciles them as the first sync
// reconciles a match, and leaves links the table holds otherwise alone, reporting them. Pause
// the sync while it runs.
func (a *Activities) Relink(ctx context.Context, in RelinkInput) (RelinkReport, error) {
	var rep RelinkReport
	mode := orDefault(in.Mode, ModeTwoWay)
	for _, module := range []string{Accounts, Contacts} {
		m, _, err := a.resolve(ctx, in.IntegrationID, module, mode)
		if err != nil {
			return rep, err
		}
		deskPtrs, err := a.deskPointers(ctx, module)
		if err != nil {
			return rep, apiError("read Desk "+module, err)
		}
		crmPtrs, err := a.crmPointers(ctx, module)
		if err != nil {
			return rep, apiError("read CRM "+module, err)
		}
		gone, err := a.deletedRecords(ctx, module)
		if err != nil {
			return rep, err
		}
		plan := reconcile.PlanRelink(deskPtrs, crmPtrs, gone)
		mr := RelinkModule{Module: module, Found: len(plan.Pairs), Conflicts: len(plan.Conflicts)}
		for _, p := range plan.Pairs {
			if p.Link.DeskDeleted != "" || p.Link.CRMDeleted != "" {
				mr.Deleted++
			}
		}
		mr.ConflictSample = plan.Conflicts[:min(len(plan.Conflicts), 100)]
		o := newOutcome(ctx)
		w := a.newWriter(in.IntegrationID, m, mode, o)
		for start := 0; start < len(plan.Pairs); start += stepBatch {
			batch := plan.Pairs[start:min(start+stepBatch, len(plan.Pairs))]
			fresh, err := a.relinkBatch(ctx, w, batch, &mr)
			if err != nil {
				return rep, err
			}
			if in.Apply {
				if err := a.linkAndReconcile(ctx, w, fresh); err != nil {
					return rep, err
				}
			}
		}
		if _, err := a.flush(ctx, in.IntegrationID, o); err != nil {
			return rep, err
		}
		rep.Modules = append(rep.Modules, mr)
	}
	return rep, nil
}

// relinkBatch sorts a batch of stated pairs into those the link table holds, holds otherwise,
// and lacks (returned).
func (a *Activities) relinkBatch(ctx context.Context, w *writer, batch []reconcile.Pair, mr *RelinkModule) ([]reconcile.Pair, error) {
	deskIDs, crmIDs := pairIDs(batch)
	byDesk, err := a.Store.LinksOf(ctx, w.scope(mapping.Desk), deskIDs)
	if err != nil {
		return nil, err
	}
	byCRM, err := a.Store.LinksOf(ctx, w.scope(mapping.CRM), crmIDs)
	if err != nil {
		return nil, err
	}
	var fresh []reconcile.Pair
	for _, p := range batch {
		ld, okD := byDesk[p.Link.DeskID]
		_, okC := byCRM[p.Link.CRMID]
		switch {
		case okD && ld.CRMID == p.Link.CRMID:
			mr.Known++
		case okD || okC:
			mr.Different++
		default:
			mr.Added++
			fresh = append(fresh, p)
		}
	}
	return fresh, nil
}

// linkAndReconcile links pairs and reconciles them with their records' current values.
func (a *Activities) linkAndReconcile(ctx context.Context, w *writer, pairs []reconcile.Pair) error {
	if len(pairs) == 0 {
		return nil
	}
	deskIDs, crmIDs := pairIDs(pairs)
	if _, err := a.Store.LinkPairs(ctx, w.integrationID, w.module, deskIDs, crmIDs, w.o.counted(countLinked, 0)); err != nil {
		return err
	}
	// Pairs with a deleted record keep its mark, and are not reconciled: the sync restores or
	// re-creates that record when the live one changes.
	marks := map[mapping.Side][]store.Deletion{}
	for _, p := range pairs {
		if p.Link.DeskDeleted != "" {
			marks[mapping.Desk] = append(marks[mapping.Desk], store.Deletion{ID: p.Link.DeskID, Kind: p.Link.DeskDeleted})
		}
		if p.Link.CRMDeleted != "" {
			marks[mapping.CRM] = append(marks[mapping.CRM], store.Deletion{ID: p.Link.CRMID, Kind: p.Link.CRMDeleted})
		}
	}
	for s, ds := range marks {
		if _, err := a.Store.MarkDeleted(ctx, w.scope(s), ds); err != nil {
			return err
		}
	}
	pairs = slices.DeleteFunc(slices.Clone(pairs), func(p reconcile.Pair) bool { return p.Link.DeskDeleted != "" || p.Link.CRMDeleted != "" })
	deskIDs, crmIDs = pairIDs(pairs)
	deskRecs, err := w.readByID(ctx, mapping.Desk, deskIDs)
	if err != nil {
		return err
	}
	crmRecs, err := w.readByID(ctx, mapping.CRM, crmIDs)
	if err != nil {
		return err
	}
	var ready []reconcile.Pair
	var recs []reconcile.Record
	for _, p := range pairs {
		d, okD := deskRecs[p.Link.DeskID]
		c, okC := crmRecs[p.Link.CRMID]
		if okD && okC {
			ready = append(ready, reconcile.Pair{Desk: d, CRM: c})
			recs = append(recs, d, c)
		}
	}
	return w.reconcileNew(ctx, ready, recs)
}

// pairIDs returns the pairs' Desk and CRM ids, in the pairs' order.
func pairIDs(pairs []reconcile.Pair) (deskIDs, crmIDs []string) {
	deskIDs, crmIDs = make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		deskIDs[i], crmIDs[i] = p.Link.DeskID, p.Link.CRMID
	}
	return deskIDs, crmIDs
}

// deletedRecords reads which records of a module are deleted on each side: those in Desk's
// recycle bin, and those CRM lists as deleted (in its recycle bin, or for good), marked
// reconcile.DeletedTrash or DeletedPermanent.
func (a *Activities) deletedRecords(ctx context.Context, module string) (map[reconcile.SideID]string, error) {
	gone := map[reconcile.SideID]string{}
	err := a.Desk.RecycleBin(ctx, desk.RecycleBinOptions{Module: module}, func(items []desk.TrashItem) error {
		for _, it := range items {
			gone[reconcile.SideID{Side: mapping.Desk, ID: it.ID}] = reconcile.DeletedTrash
		}
		heartbeat(ctx, "relink desk recycle bin")
		return nil
	})
	if err != nil {
		return nil, apiError("read Desk's recycle bin of "+module, err)
	}
	err = a.CRM.Deleted(ctx, crmModule(module), crm.DeletedOptions{}, func(recs []crm.DeletedRecord) error {
		for _, r := range recs {
			kind := reconcile.DeletedTrash
			if r.Type == "permanent" {
				kind = reconcile.DeletedPermanent
			}
			gone[reconcile.SideID{Side: mapping.CRM, ID: r.ID}] = kind
		}
		heartbeat(ctx, "relink crm deleted")
		return nil
	})
	if err != nil {
		return nil, apiError("read CRM's deleted "+module, err)
	}
	return gone, nil
}

// deskPointers reads every Desk record of a module: its id and cf_crm_id.
func (a *Activities) deskPointers(ctx context.Context, module string) ([]reconcile.Pointer, error) {
	var out []reconcile.Pointer
	q := desk.ScanQuery{Field: desk.CreatedTime, From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, err := retryAfter429(ctx, "relink", func() (struct{}, error) {
		out = out[:0]
		return struct{}{}, a.Desk.Scan(ctx, module, q, func(p desk.Page) error {
			for _, r := range p.Records {
				out = append(out, reconcile.Pointer{Side: mapping.Desk, ID: r.ID, Counterpart: r.CFString(deskCRMIDField)})
			}
			heartbeat(ctx, "relink desk")
			return nil
		})
	})
	return out, err
}

// crmPointers reads every CRM record of a module: its id and Desk_ID, 200 per call.
func (a *Activities) crmPointers(ctx context.Context, module string) ([]reconcile.Pointer, error) {
	var out []reconcile.Pointer
	opts := crm.ListOptions{Fields: []string{crmDeskIDField}, SortBy: "id", PerPage: crm.MaxPerPage}
	_, err := retryAfter429(ctx, "relink", func() (struct{}, error) {
		return struct{}{}, a.CRM.List(ctx, crmModule(module), opts, func(p crm.Page) error {
			for _, r := range p.Records {
				out = append(out, reconcile.Pointer{Side: mapping.CRM, ID: r.ID, Counterpart: stringOf(r.Fields[crmDeskIDField])})
			}
			opts.Start = p.Next // a retry after a 429 goes on from here
			heartbeat(ctx, "relink crm")
			return nil
		})
	})
	return out, err
}
