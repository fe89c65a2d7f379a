package reconcile

import (
	"sort"

	"deskcrm/mapping"
)

// CodeAmbiguousMatch is the failure code of a record that shares its
// matching key with more than one record.
const CodeAmbiguousMatch mapping.Code = "AMBIGUOUS_MATCH"

// MatchAction is what the initial sync does with one unlinked record.
type MatchAction string

// Match actions.
const (
	// MatchLink links the Desk record and the CRM record of a key that has
	// exactly one record on each side; their values are then merged with
	// no base.
	MatchLink MatchAction = "link"
	// MatchCreateInCRM creates the Desk record in CRM.
	MatchCreateInCRM MatchAction = "create-in-crm"
	// MatchCreateInDesk creates the CRM record in Desk.
	MatchCreateInDesk MatchAction = "create-in-desk"
	// MatchAmbiguous leaves the record alone and logs AMBIGUOUS_MATCH.
	MatchAmbiguous MatchAction = "ambiguous"
	// MatchSkip leaves a Desk-only record alone in one-way mode.
	MatchSkip MatchAction = "skip"
)

// Candidate is one unlinked record taking part in the initial sync.
type Candidate struct {
	// ID is the record id on its side.
	ID string
	// Key is its matching key (MatchKey, DeskMatchKey or CRMMatchKey);
	// "" for a record with no key.
	Key string
}

// MatchOutcome is the decision for one record, or for a linked pair.
type MatchOutcome struct {
	// Action is what to do.
	Action MatchAction
	// Key is the matching key concerned ("" for keyless records).
	Key string
	// DeskID is the Desk record concerned ("" when none).
	DeskID string
	// CRMID is the CRM record concerned ("" when none).
	CRMID string
	// Code is CodeAmbiguousMatch for MatchAmbiguous, "" otherwise.
	Code mapping.Code
	// DeskCount and CRMCount are how many records share the key on each
	// side (for the failure message).
	DeskCount, CRMCount int
}

// MatchGroup decides for the records that share one non-empty key:
//
//   - one on each side: link them;
//   - none on one side: create each record of the other side there (in
//     one-way mode, Desk-only records are skipped);
//   - more than one on either side while the other side has any: do not
//     guess; every record involved is AMBIGUOUS_MATCH.
//
// Outcomes are ordered Desk records first, then CRM records, each in input
// order.
func MatchGroup(mode mapping.Mode, key string, deskIDs, crmIDs []string) []MatchOutcome {
	nd, nc := len(deskIDs), len(crmIDs)
	var out []MatchOutcome
	switch {
	case nd == 1 && nc == 1:
		return []MatchOutcome{{Action: MatchLink, Key: key, DeskID: deskIDs[0], CRMID: crmIDs[0], DeskCount: 1, CRMCount: 1}}
	case nc == 0:
		act := MatchCreateInCRM
		if mode == mapping.OneWay {
			act = MatchSkip
		}
		for _, id := range deskIDs {
			out = append(out, MatchOutcome{Action: act, Key: key, DeskID: id, DeskCount: nd})
		}
	case nd == 0:
		for _, id := range crmIDs {
			out = append(out, MatchOutcome{Action: MatchCreateInDesk, Key: key, CRMID: id, CRMCount: nc})
		}
	default:
		for _, id := range deskIDs {
			out = append(out, MatchOutcome{Action: MatchAmbiguous, Key: key, DeskID: id, Code: CodeAmbiguousMatch, DeskCount: nd, CRMCount: nc})
		}
		for _, id := range crmIDs {
			out = append(out, MatchOutcome{Action: MatchAmbiguous, Key: key, CRMID: id, Code: CodeAmbiguousMatch, DeskCount: nd, CRMCount: nc})
		}
	}
	return out
}

// Match decides the initial sync of all unlinked records of one module.
// Records with a key are grouped by it and decided by MatchGroup; records
// without a key (contacts with no email, accounts with a blank name) are
// never matched and are created on the other side (Desk-only ones are
// skipped in one-way mode). Outcomes are ordered by key, keyless records
// last, so the result is deterministic.
func Match(mode mapping.Mode, desk, crm []Candidate) []MatchOutcome {
	type group struct{ desk, crm []string }
	groups := map[string]*group{}
	get := func(k string) *group {
		g, ok := groups[k]
		if !ok {
			g = &group{}
			groups[k] = g
		}
		return g
	}
	var keylessDesk, keylessCRM []string
	for _, c := range desk {
		if c.Key == "" {
			keylessDesk = append(keylessDesk, c.ID)
			continue
		}
		g := get(c.Key)
		g.desk = append(g.desk, c.ID)
	}
	for _, c := range crm {
		if c.Key == "" {
			keylessCRM = append(keylessCRM, c.ID)
			continue
		}
		g := get(c.Key)
		g.crm = append(g.crm, c.ID)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []MatchOutcome
	for _, k := range keys {
		out = append(out, MatchGroup(mode, k, groups[k].desk, groups[k].crm)...)
	}
	for _, id := range keylessDesk {
		act := MatchCreateInCRM
		if mode == mapping.OneWay {
			act = MatchSkip
		}
		out = append(out, MatchOutcome{Action: act, DeskID: id})
	}
	for _, id := range keylessCRM {
		out = append(out, MatchOutcome{Action: MatchCreateInDesk, CRMID: id})
	}
	return out
}
