package reconcile

import (
	"fmt"

	"deskcrm/mapping"
)

// Failure codes of matching.
const (
	// CodeAmbiguousMatch: several records share the match key; the sync does not guess.
	CodeAmbiguousMatch = "AMBIGUOUS_MATCH"
	// CodeAlreadyMapped: the records of the other side with this key are all linked already;
	// this record is a duplicate of one of them (the seed's "CRM ID is already mapped with
	// another support entity").
	CodeAlreadyMapped = "CRM_ID_ALREADY_MAPPED"
)

// Candidate is a record that carries a match key, on either side.
type Candidate struct {
	Side mapping.Side
	ID   string
	// Linked is set when the record is linked already (or a create of it is under way).
	Linked bool
	// Record holds its values when known (read into the index, or found by a lookup), for
	// the first reconcile of a pair it joins.
	Record *Record
}

// MatchAction is what to do with one unlinked record.
type MatchAction string

// Match actions.
const (
	// MatchCreate: no record of the other side carries its key (or it has none): create it
	// there.
	MatchCreate MatchAction = "create"
	// MatchLink: exactly one unlinked record of the other side carries its key, and no other
	// unlinked record of its own side does: link the two.
	MatchLink MatchAction = "link"
	// MatchAmbiguous: several unlinked records share the key on either side: do not guess,
	// log AMBIGUOUS_MATCH.
	MatchAmbiguous MatchAction = "ambiguous"
	// MatchAlreadyMapped: the other side's records with this key are all linked already:
	// this record is a duplicate, log CRM_ID_ALREADY_MAPPED.
	MatchAlreadyMapped MatchAction = "already-mapped"
	// MatchDuplicateOfPeer: no record of the other side carries the key, but another record
	// of its own side does and is synced (linked) or is synced first (the lowest id of those
	// unlinked): this one is its duplicate, log CRM_ID_ALREADY_MAPPED naming it (With).
	MatchDuplicateOfPeer MatchAction = "duplicate-of-peer"
)

// MatchResult is the decision of Match for one record.
type MatchResult struct {
	Action MatchAction
	// With is the record to link to (MatchLink).
	With Candidate
	// Others counts the unlinked records of the other side with the key; Peers those of the
	// record's own side, itself included.
	Others, Peers int
}

// Match is the sync's one matching rule, used by the first sync and by incremental passes
// alike. It decides for the unlinked record id of side s with match key key, given every
// record known to carry that key on either side (the record itself may be among them; ids
// are compared per side):
//
//   - no key: create it on the other side;
//   - no record of the other side carries the key, and no other record of its own side
//     carries it linked or with a lower id: create it there;
//   - no record of the other side carries it, but such a record of its own side does: a
//     duplicate of that record (CRM_ID_ALREADY_MAPPED) — one customer is created once, as
//     an incremental pass already refused the second record of an email whose first was
//     synced (the first sync created both: a trial);
//   - every record of the other side with the key is linked: a duplicate
//     (CRM_ID_ALREADY_MAPPED);
//   - more than one unlinked record on the other side, or on its own side: ambiguous
//     (AMBIGUOUS_MATCH);
//   - otherwise: link it to the one unlinked record of the other side.
//
// Keys are compared as given: build them with MatchKey, DeskMatchKey or CRMMatchKey.
func Match(s mapping.Side, id, key string, candidates []Candidate) MatchResult {
	if key == "" {
		return MatchResult{Action: MatchCreate, Peers: 1}
	}
	var others []Candidate
	anyOther := false
	peers := 1
	var first *Candidate // the peer this record duplicates: linked, else the lowest id
	for _, c := range candidates {
		switch {
		case c.Side == s && c.ID == id:
		case c.Side == s:
			if !c.Linked {
				peers++
			}
			switch {
			case first != nil && first.Linked:
			case c.Linked || compareIDs(c.ID, id) < 0 && (first == nil || compareIDs(c.ID, first.ID) < 0):
				first = &c
			}
		default:
			anyOther = true
			if !c.Linked {
				others = append(others, c)
			}
		}
	}
	res := MatchResult{Others: len(others), Peers: peers}
	switch {
	case !anyOther && first != nil:
		res.Action, res.With = MatchDuplicateOfPeer, *first
	case !anyOther:
		res.Action = MatchCreate
	case len(others) == 0:
		res.Action = MatchAlreadyMapped
	case len(others) > 1 || peers > 1:
		res.Action = MatchAmbiguous
	default:
		res.Action, res.With = MatchLink, others[0]
	}
	return res
}

// matchFailure is the failure-log entry of an unmatched record (MatchAmbiguous or
// MatchAlreadyMapped), in the direction of its side.
func matchFailure(module mapping.Module, s mapping.Side, id string, res MatchResult) Failure {
	what := "email"
	if module == mapping.Accounts {
		what = "account name"
	}
	f := Failure{To: s.Other()}
	if s == mapping.Desk {
		f.DeskID = id
	} else {
		f.CRMID = id
	}
	if res.Action == MatchDuplicateOfPeer {
		f.Code = CodeAlreadyMapped
		f.Message = fmt.Sprintf("CRM ID is already mapped with another support entity: %s record %s has the same %s and is synced (or is synced first); this one is its duplicate and was not synced (merge it into %s or change its %s, then retry)",
			s.Label(), res.With.ID, what, res.With.ID, what)
		return f
	}
	if res.Action == MatchAlreadyMapped {
		f.Code = CodeAlreadyMapped
		f.Message = fmt.Sprintf("CRM ID is already mapped with another support entity: every %s record with the same %s is already linked to a %s record; this one is a duplicate and was not synced (merge it or change its %s, then retry)",
			s.Other().Label(), what, s.Label(), what)
		return f
	}
	f.Code = CodeAmbiguousMatch
	f.Message = fmt.Sprintf("%d record(s) in %s and %d in %s share this %s; not matched to avoid a guess — make the %s unique, then retry",
		res.Others, s.Other().Label(), res.Peers, s.Label(), what, what)
	return f
}
