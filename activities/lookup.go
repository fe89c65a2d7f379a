package activities

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// lookupBatch is how many match values one lookup call asks for: CRM's criteria take up to
// 100 values after "in"; Desk's search takes comma-separated values, OR-ed.
const lookupBatch = 100

// matchCandidates returns, per match key of the records (all of side source, none linked),
// every record known to carry that key: the indexed records of both sides, and what a lookup
// of the other side's whole database finds for the keys the index has no candidate for
// there. The look-back decides which records are exported and imported, not which records
// exist: a record older than the look-back on the other side must be linked to, not
// duplicated.
func (a *Activities) matchCandidates(ctx context.Context, integrationID string, m mapping.Mapping, recs []reconcile.Record) (map[string][]reconcile.Candidate, error) {
	out, err := a.candidates(ctx, integrationID, m, recs)
	if err != nil {
		return nil, err
	}
	// Lookups, by side to search, of the values whose key no indexed record of that side has.
	values := map[mapping.Side][]string{}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Key == "" || seen[string(r.Side)+"/"+r.Key] {
			continue
		}
		seen[string(r.Side)+"/"+r.Key] = true
		other := r.Side.Other()
		if slices.ContainsFunc(out[r.Key], func(c reconcile.Candidate) bool { return c.Side == other }) {
			continue
		}
		values[other] = append(values[other], matchValue(m, r))
	}
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		if len(values[s]) == 0 {
			continue
		}
		hits, err := a.lookup(ctx, integrationID, m, s, values[s])
		if err != nil {
			return nil, err
		}
		for _, c := range hits {
			if !seen[string(s.Other())+"/"+c.Record.Key] {
				continue // found by a looser search: not this key
			}
			out[c.Record.Key] = append(out[c.Record.Key], c)
		}
	}
	return out, nil
}

// matchValue is the value a record is looked up by on the other side: its match field as
// written (the key is normalised and may not be what the other side stores).
func matchValue(m mapping.Mapping, r reconcile.Record) string {
	if s, ok := r.Values[mapping.MatchField(m.Module).Key()].(string); ok && s != "" {
		return s
	}
	return r.Key
}

// lookup finds the records of side s whose match field holds one of values (CRM: a criteria
// search with "in", 100 values a call; Desk: a search with comma-separated values, and one
// search per value that holds a comma), with whether each is linked.
func (a *Activities) lookup(ctx context.Context, integrationID string, m mapping.Mapping, s mapping.Side, values []string) ([]reconcile.Candidate, error) {
	var recs []reconcile.Record
	var err error
	if s == mapping.CRM {
		recs, err = a.lookupCRM(ctx, m, values)
	} else {
		recs, err = a.lookupDesk(ctx, integrationID, m, values)
	}
	if err != nil {
		return nil, apiError("look up "+s.Label()+" "+string(m.Module)+" by "+matchWhat(m.Module), err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	links, err := a.Store.LinksOf(ctx, storeScope(integrationID, m.Module, s), ids)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Candidate, len(recs))
	for i := range recs {
		_, linked := links[recs[i].ID]
		out[i] = reconcile.Candidate{Side: s, ID: recs[i].ID, Linked: linked, Record: &recs[i]}
	}
	return out, nil
}

func (a *Activities) lookupCRM(ctx context.Context, m mapping.Mapping, values []string) ([]reconcile.Record, error) {
	field := mapping.MatchField(m.Module).CRM
	var out []reconcile.Record
	for start := 0; start < len(values); start += lookupBatch {
		q := crm.SearchQuery{Criteria: crm.Cond(field, "in", values[start:min(start+lookupBatch, len(values))]...),
			Fields: crmFieldsFor(m), PerPage: crm.MaxPerPage}
		recs, err := retryAfter429(ctx, "lookup", func() ([]reconcile.Record, error) {
			var recs []reconcile.Record
			err := a.CRM.Search(ctx, crmModule(string(m.Module)), q, func(p crm.Page) error {
				for _, r := range p.Records {
					recs = append(recs, crmRecord(m, r))
				}
				return nil
			})
			return recs, err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func (a *Activities) lookupDesk(ctx context.Context, integrationID string, m mapping.Mapping, values []string) ([]reconcile.Record, error) {
	param := mapping.MatchField(m.Module).Desk
	var batches [][]string
	var plain []string
	for _, v := range values {
		if strings.Contains(v, ",") {
			batches = append(batches, []string{v}) // a comma would split it
			continue
		}
		plain = append(plain, v)
	}
	for start := 0; start < len(plain); start += lookupBatch {
		batches = append(batches, plain[start:min(start+lookupBatch, len(plain))])
	}
	var out []reconcile.Record
	for _, b := range batches {
		q := desk.SearchQuery{Params: url.Values{param: {strings.Join(b, ",")}}}
		recs, err := retryAfter429(ctx, "lookup", func() ([]desk.Record, error) {
			var recs []desk.Record
			err := a.Desk.Search(ctx, string(m.Module), q, func(p desk.Page) error {
				recs = append(recs, p.Records...)
				return nil
			})
			return recs, err
		})
		if err != nil {
			return nil, err
		}
		rs, err := a.deskRecords(ctx, integrationID, m, recs)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// matchWhat names a module's match field.
func matchWhat(m mapping.Module) string {
	if m == mapping.Accounts {
		return "account name"
	}
	return "email"
}

// claimedLinks returns the links of the records that recs name in their counterpart-id field
// (CRM Desk_ID, Desk cf_crm_id), keyed by that record's side and id (reconcile.UnlinkedInput's
// Claimed).
func (a *Activities) claimedLinks(ctx context.Context, integrationID string, m mapping.Mapping, recs []reconcile.Record) (map[reconcile.SideID]reconcile.Link, error) {
	ids := map[mapping.Side][]string{}
	for _, r := range recs {
		if r.Counterpart != "" {
			ids[r.Side.Other()] = append(ids[r.Side.Other()], r.Counterpart)
		}
	}
	out := map[reconcile.SideID]reconcile.Link{}
	for _, s := range []mapping.Side{mapping.CRM, mapping.Desk} {
		if len(ids[s]) == 0 {
			continue
		}
		links, err := a.Store.LinksOf(ctx, storeScope(integrationID, m.Module, s), ids[s])
		if err != nil {
			return nil, err
		}
		for id, l := range links {
			out[reconcile.SideID{Side: s, ID: id}] = linkOf(l)
		}
	}
	return out, nil
}
