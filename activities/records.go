package activities

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Custom fields holding the counterpart's id on each side (idempotent creates, links visible
// in both apps).
const (
	crmDeskIDField = mapping.CRMDeskIDField
	deskCRMIDField = mapping.DeskCRMIDField
)

// storeScope names a module's records of side s of an integration in the store.
func storeScope(integrationID string, module mapping.Module, s mapping.Side) store.Scope {
	return store.Scope{IntegrationID: integrationID, Module: string(module), Side: string(s)}
}

// crmFieldsFor lists the CRM fields to read for a mapping: the mapped ones, the system
// times, the match field and the counterpart id field (CRM returns only the fields asked for).
func crmFieldsFor(m mapping.Mapping) []string {
	seen := map[string]bool{crmDeskIDField: true, "Created_Time": true, "Modified_Time": true}
	out := []string{crmDeskIDField, "Created_Time", "Modified_Time"}
	for _, f := range append(m.Fields, mapping.MatchField(m.Module)) {
		if !seen[f.CRM] {
			seen[f.CRM] = true
			out = append(out, f.CRM)
		}
	}
	return out
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// crmRecord converts a CRM record into the engine's form. Mapped fields asked for and not
// returned are empty (CRM leaves empty fields out).
func crmRecord(m mapping.Mapping, r crm.Record) reconcile.Record {
	vals, problems := mapping.FromCRM(m, r.Fields, nil)
	for _, f := range m.Fields {
		if _, ok := r.Fields[f.CRM]; !ok {
			vals[f.Key()] = nil
		}
	}
	return reconcile.Record{Side: mapping.CRM, ID: r.ID, Created: r.CreatedTime, Modified: r.ModifiedTime, Values: vals,
		Key: reconcile.CRMMatchKey(m.Module, r.Fields), Counterpart: stringOf(r.Fields[crmDeskIDField]), Problems: problems}
}

// deskRecords converts Desk records into the engine's form; account references are
// translated to CRM ids through the accounts' links (unlinked ones stay unknown).
func (a *Activities) deskRecords(ctx context.Context, integrationID string, m mapping.Mapping, recs []desk.Record) ([]reconcile.Record, error) {
	var accountIDs []string
	if m.Module == mapping.Contacts {
		for _, r := range recs {
			if id := stringOf(r.Fields["accountId"]); id != "" {
				accountIDs = append(accountIDs, id)
			}
		}
	}
	refs, err := a.deskRefs(ctx, integrationID, accountIDs)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Record, 0, len(recs))
	for _, r := range recs {
		vals, problems := mapping.FromDesk(m, r.Fields, r.CF, refs)
		var raw map[string]string
		for _, f := range m.Fields {
			src := r.Fields
			if strings.HasPrefix(f.Desk, "cf_") {
				src = r.CF
			}
			if _, ok := src[f.Desk]; !ok {
				vals[f.Key()] = nil // not returned: empty
			}
			// An account not linked yet: kept as Desk's id, translated when it is (resolveRefs).
			if id := stringOf(src[f.Desk]); f.Type == mapping.TypeLookup && id != "" {
				if _, ok := vals[f.Key()]; !ok {
					if raw == nil {
						raw = map[string]string{}
					}
					raw[f.Key()] = id
				}
			}
		}
		out = append(out, reconcile.Record{Side: mapping.Desk, ID: r.ID, Created: r.CreatedTime, Modified: r.ModifiedTime,
			Values: vals, Key: reconcile.DeskMatchKey(m.Module, r.Fields), Counterpart: r.CFString(deskCRMIDField), Problems: problems,
			DeskRefs: raw})
	}
	return out, nil
}

// resolveRefs translates the account references of Desk records that were read before their
// account was linked, through the links made since (the contacts are indexed while the
// accounts' creates run). References still unlinked stay unknown.
func (a *Activities) resolveRefs(ctx context.Context, integrationID string, recs []reconcile.Record) error {
	var ids []string
	for _, r := range recs {
		for _, id := range r.DeskRefs {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	refs, err := a.deskRefs(ctx, integrationID, ids)
	if err != nil {
		return err
	}
	for i := range recs {
		for k, id := range recs[i].DeskRefs {
			if crmID, ok := refs.DeskAccountToCRM(id); ok {
				recs[i].Values[k] = crmID
				delete(recs[i].DeskRefs, k)
				recs[i].Problems = slices.DeleteFunc(recs[i].Problems, func(p mapping.Problem) bool {
					return p.Code == mapping.CodeUnresolvedReference && p.Desk+"="+p.CRM == k
				})
			}
		}
	}
	return nil
}

// indexRow is the index form of a record.
func indexRow(r reconcile.Record) store.IndexRow {
	row := store.IndexRow{RecordID: r.ID, MatchKey: r.Key, CreatedTime: r.Created, ModifiedTime: r.Modified, Values: r.Values,
		Counterpart: r.Counterpart, RawRefs: r.DeskRefs}
	if len(r.Problems) > 0 {
		row.Problems = r.Problems
	}
	return row
}

// recordOf is the engine's form of an indexed record.
func recordOf(side mapping.Side, row store.IndexRow) reconcile.Record {
	r := reconcile.Record{Side: side, ID: row.RecordID, Created: row.CreatedTime, Modified: row.ModifiedTime,
		Values: mapping.Values(row.Values), Key: row.MatchKey, Counterpart: row.Counterpart, DeskRefs: row.RawRefs}
	switch p := row.Problems.(type) {
	case json.RawMessage:
		_ = json.Unmarshal(p, &r.Problems) // written by indexRow: it decodes
	case []mapping.Problem:
		r.Problems = p
	}
	return r
}

// linkOf is the engine's form of a stored link.
func linkOf(l store.Link) reconcile.Link {
	out := reconcile.Link{ID: l.ID, DeskID: l.DeskID, CRMID: l.CRMID, Linked: l.State == "linked",
		Base:     reconcile.JoinBase(mapping.Values(l.Base), mapping.Values(l.BaseDesk), mapping.Values(l.BaseCRM)),
		BaseHash: l.BaseHash, DeskDeleted: l.DeskDeleted, CRMDeleted: l.CRMDeleted}
	if l.DeskModified != nil {
		out.DeskModified = *l.DeskModified
	}
	if l.CRMModified != nil {
		out.CRMModified = *l.CRMModified
	}
	return out
}

// deskRefs builds the account refs Desk contacts need, from the accounts' links.
func (a *Activities) deskRefs(ctx context.Context, integrationID string, deskAccountIDs []string) (*mapping.MapRefs, error) {
	return a.accountRefs(ctx, integrationID, mapping.Desk, deskAccountIDs)
}

// crmRefs builds the account refs needed to write CRM account references (canonical
// references are CRM ids) to Desk, from the accounts' links.
func (a *Activities) crmRefs(ctx context.Context, integrationID string, crmAccountIDs []string) (*mapping.MapRefs, error) {
	return a.accountRefs(ctx, integrationID, mapping.CRM, crmAccountIDs)
}

// accountRefs loads the links of the accounts with these ids on side s.
func (a *Activities) accountRefs(ctx context.Context, integrationID string, s mapping.Side, ids []string) (*mapping.MapRefs, error) {
	refs := mapping.NewMapRefs(nil)
	if len(ids) == 0 {
		return refs, nil
	}
	pairs, err := a.Store.CounterpartIDs(ctx, store.Scope{IntegrationID: integrationID, Module: Accounts, Side: string(s)}, ids)
	if err != nil {
		return nil, err
	}
	for id, other := range pairs {
		if s == mapping.Desk {
			refs.Add(id, other)
		} else {
			refs.Add(other, id)
		}
	}
	return refs, nil
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

// refsFor loads the refs for every account reference the records and bases name.
func (a *Activities) refsFor(ctx context.Context, integrationID string, m mapping.Mapping, recs []reconcile.Record, bases ...reconcile.Base) (*mapping.MapRefs, error) {
	var vals []mapping.Values
	for _, r := range recs {
		vals = append(vals, r.Values)
	}
	for _, b := range bases {
		vals = append(vals, b.Desk, b.CRM)
	}
	return a.crmRefs(ctx, integrationID, lookupIDs(m, vals...))
}

// recordsByID reads records of side s by id in the engine's form: CRM 100 per call, Desk one
// per call with the pipe full (sorted by id), each waiting out 429s. Records gone since are
// left out (the deletion reads tell).
func (a *Activities) recordsByID(ctx context.Context, integrationID string, m mapping.Mapping, s mapping.Side, ids []string) ([]reconcile.Record, error) {
	if s == mapping.CRM {
		var out []reconcile.Record
		for start := 0; start < len(ids); start += crm.MaxWriteBatch {
			opts := crm.ListOptions{Fields: crmFieldsFor(m), IDs: ids[start:min(start+crm.MaxWriteBatch, len(ids))], PerPage: crm.MaxPerPage}
			recs, err := retryAfter429(ctx, "crm by id", func() ([]crm.Record, error) {
				var recs []crm.Record
				err := a.CRM.List(ctx, crmModule(string(m.Module)), opts, func(pg crm.Page) error {
					recs = append(recs, pg.Records...)
					return nil
				})
				return recs, err
			})
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				out = append(out, crmRecord(m, r))
			}
		}
		return out, nil
	}
	var mu sync.Mutex
	var got []desk.Record
	g, gctx := a.deskPipe(ctx)
	for _, id := range ids {
		g.Go(func() error {
			r, err := retryAfter429(gctx, id, func() (desk.Record, error) { return a.Desk.Get(gctx, string(m.Module), id) })
			if recordGone(err) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b desk.Record) int { return compareStrings(a.ID, b.ID) })
	return a.deskRecords(ctx, integrationID, m, got)
}
