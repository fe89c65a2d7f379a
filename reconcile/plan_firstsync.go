package reconcile

import (
	"fmt"

	"deskcrm/mapping"
)

// UnlinkedInput is a batch of records with no link, to match or create on the other side.
type UnlinkedInput struct {
	Mapping mapping.Mapping
	Mode    mapping.Mode
	Refs    mapping.Refs
	// Records are the unlinked records, in the order to decide them.
	Records []Record
	// Candidates lists, per match key, every record known to carry it on either side: the
	// index, and what lookups of the other side found (the look-back decides what is
	// exported, not what exists). Candidates of the other side need their Record to be
	// linked.
	Candidates map[string][]Candidate
	// Changed holds the records changed in the same pass (their current values win over a
	// candidate's older ones), keyed by side and id; may be nil.
	Changed map[SideID]Record
	// Claimed holds the links of the records that Records name in their counterpart-id
	// field (CRM Desk_ID, Desk cf_crm_id), keyed by that record's side and id; may be nil.
	Claimed map[SideID]Link
}

// PlanUnlinked decides, with Match, each record that has no link: linked to the one record
// of the other side that carries its match key (the pair is then merged with no base, and
// both get their counterpart's id), created on the other side when no record there carries
// it, or logged as ambiguous (AMBIGUOUS_MATCH) or a duplicate (CRM_ID_ALREADY_MAPPED). In
// one-way mode Desk records are neither created in CRM nor matched. A record matched as a
// candidate of an earlier one in the batch is not decided again.
func PlanUnlinked(in UnlinkedInput) Plan {
	var pl Plan
	taken := map[SideID]bool{}
	for _, r := range in.Records {
		if taken[SideID{r.Side, r.ID}] {
			continue
		}
		if in.Mode == mapping.OneWay && r.Side == mapping.Desk {
			pl.Echoes++ // Desk records are not sent in one-way mode
			continue
		}
		if f, ok := copyOfLinked(in.Mapping.Module, r, in.Claimed); ok {
			pl.Failures = append(pl.Failures, f)
			continue
		}
		pl.readProblems(r)
		res := Match(r.Side, r.ID, r.Key, in.Candidates[r.Key])
		switch res.Action {
		case MatchCreate:
			pl.addCreate(createFrom(in.Mapping, r, r.Side.Other(), in.Refs, nil))
		case MatchAmbiguous, MatchAlreadyMapped, MatchDuplicateOfPeer:
			pl.Failures = append(pl.Failures, matchFailure(in.Mapping.Module, r.Side, r.ID, res))
		case MatchLink:
			other, ok := in.Changed[SideID{res.With.Side, res.With.ID}]
			if !ok && res.With.Record != nil {
				other, ok = *res.With.Record, true
			}
			if !ok {
				// Nothing known of the candidate's values: link now, reconcile when it is read.
				other = Record{Side: res.With.Side, ID: res.With.ID}
			}
			taken[SideID{other.Side, other.ID}] = true
			pl.Matched++
			pl.Add(planMatched(in.Mapping, in.Mode, in.Refs, r, other, ok))
		}
	}
	return pl
}

// copyOfLinked reports an unlinked record whose counterpart-id field names a record already
// linked to another one: a copy of that pair's record (a create whose answer was lost and
// that landed after the sync created the record again, or a record copied by hand), which
// must not be created on the other side as a new record (CRM_ID_ALREADY_MAPPED).
func copyOfLinked(module mapping.Module, r Record, claimed map[SideID]Link) (Failure, bool) {
	if r.Counterpart == "" {
		return Failure{}, false
	}
	l, ok := claimed[SideID{r.Side.Other(), r.Counterpart}]
	if !ok || !l.Linked || l.IDOf(r.Side) == r.ID {
		return Failure{}, false
	}
	f := Failure{To: r.Side.Other(), Code: CodeAlreadyMapped}
	if r.Side == mapping.Desk {
		f.DeskID = r.ID
	} else {
		f.CRMID = r.ID
	}
	field := "cf_crm_id"
	if r.Side == mapping.CRM {
		field = "Desk_ID"
	}
	f.Message = fmt.Sprintf("%s ID is already mapped with another entity: this %s record of %s holds %s %s, the %s record linked to %s record %s, so it is a copy and was not synced (merge it into %s or delete it, then retry)",
		r.Side.Other().Label(), r.Side.Label(), module, field, r.Counterpart, r.Side.Other().Label(), r.Side.Label(),
		l.IDOf(r.Side), l.IDOf(r.Side))
	return f, true
}

// planMatched links r with other, the one record of the other side with its key, and merges
// the two with no base when other's values are known; a field the two held with different
// values is a conflict when the kept value is written over the other (as in PlanReconcile).
func planMatched(m mapping.Mapping, mode mapping.Mode, refs mapping.Refs, r, other Record, known bool) Plan {
	var pl Plan
	desk, crm := r, other
	if r.Side == mapping.CRM {
		desk, crm = other, r
	}
	u := Update{Match: true, DeskID: desk.ID, CRMID: crm.ID, Source: r.Side, DeskModified: desk.Modified, CRMModified: crm.Modified}
	setCounterpart(&u, mapping.Desk, mode)
	setCounterpart(&u, mapping.CRM, mode)
	if known {
		d := Decide(DecideInput{Mapping: m, Mode: mode, Source: r.Side, Change: Updated, Link: LinkNone,
			Values: r.Values, Modified: r.Modified, Other: other.Values, OtherModified: other.Modified, Refs: refs})
		pl.notCarried(desk.ID, crm.ID, d.NotCarried)
		u.DeskPatch, u.CRMPatch, u.Base = d.DeskPatch, d.CRMPatch, d.Base
		u.Conflicts = setAside(d.Conflicts, d.DeskPatch, d.CRMPatch)
		pl.readProblems(other)
	}
	pl.Updates = append(pl.Updates, u)
	return pl
}

// KeyGroup is every indexed record of one module that carries one match key, on both sides.
type KeyGroup struct {
	Key        string
	Candidates []Candidate
}

// PlanMatch is the first sync's match step over the index: for each key group, every
// unlinked record is decided by Match against the group. Pairs to link become Updates with
// Match set and nothing to write (the reconcile step merges them); ambiguous records and
// duplicates become failures. Records of a group with nothing on the other side are left to
// the create steps.
func PlanMatch(module mapping.Module, groups []KeyGroup) Plan {
	var pl Plan
	for _, g := range groups {
		taken := map[SideID]bool{}
		for _, c := range g.Candidates {
			if c.Linked || taken[SideID{c.Side, c.ID}] {
				continue
			}
			res := Match(c.Side, c.ID, g.Key, g.Candidates)
			switch res.Action {
			case MatchLink:
				taken[SideID{res.With.Side, res.With.ID}] = true
				u := Update{Match: true, DeskID: c.ID, CRMID: res.With.ID}
				if c.Side == mapping.CRM {
					u.DeskID, u.CRMID = res.With.ID, c.ID
				}
				pl.Updates = append(pl.Updates, u)
				pl.Matched++
			case MatchAmbiguous, MatchAlreadyMapped, MatchDuplicateOfPeer:
				pl.Failures = append(pl.Failures, matchFailure(module, c.Side, c.ID, res))
			}
		}
	}
	return pl
}

// Pair is a linked pair with both records, for its first reconcile.
type Pair struct {
	Link Link
	Desk Record
	CRM  Record
}

// ReconcileInput is a batch of linked pairs never reconciled (matched by the first sync).
type ReconcileInput struct {
	Mapping mapping.Mapping
	Mode    mapping.Mode
	Refs    mapping.Refs
	Pairs   []Pair
}

// PlanReconcile merges each pair with no base (see Merge: an empty value never erases a
// filled one, the field's policy decides the rest, CRM wins in one-way mode), writes each
// side's counterpart id where it is missing, and stores the pair's first base. A field the two
// records held with different values is a conflict (Update.Conflicts, FirstSync) when the kept
// value is written over the other: the conflict log is the admin's trace of what the first
// sync replaced.
func PlanReconcile(in ReconcileInput) Plan {
	var pl Plan
	for _, p := range in.Pairs {
		pl.readProblems(p.Desk)
		pl.readProblems(p.CRM)
		r := Merge(MergeInput{Mapping: in.Mapping, Mode: in.Mode, Desk: p.Desk.Values, CRM: p.CRM.Values,
			DeskModified: p.Desk.Modified, CRMModified: p.CRM.Modified, Refs: in.Refs})
		pl.notCarried(p.Link.DeskID, p.Link.CRMID, r.NotCarried)
		u := Update{LinkID: p.Link.ID, DeskID: p.Link.DeskID, CRMID: p.Link.CRMID, DeskPatch: r.DeskPatch, CRMPatch: r.CRMPatch,
			Base: r.Base, DeskModified: p.Desk.Modified, CRMModified: p.CRM.Modified, Conflicts: setAside(r.Conflicts, r.DeskPatch, r.CRMPatch)}
		if p.Desk.Counterpart != p.Link.CRMID {
			setCounterpart(&u, mapping.Desk, in.Mode)
		}
		if p.CRM.Counterpart != p.Link.DeskID {
			setCounterpart(&u, mapping.CRM, in.Mode)
		}
		pl.Updates = append(pl.Updates, u)
	}
	return pl
}
