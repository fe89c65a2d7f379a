package reconcile

import (
	"time"

	"deskcrm/mapping"
)

// MergeInput is a linked pair to reconcile.
type MergeInput struct {
	// Mapping gives each field's direction and policy; only its fields take
	// part.
	Mapping mapping.Mapping
	// Mode is the integration's sync type ("" = two-way).
	Mode mapping.Mode
	// Base is the last-synced values of the pair; nil for the first
	// reconcile of a matched pair. A field missing from a non-nil Base (for
	// example newly mapped) is reconciled like a first reconcile.
	Base mapping.Values
	// Desk and CRM are both records' current values. A field absent from
	// one side's values is taken as unchanged on that side.
	Desk, CRM mapping.Values
	// DeskModified and CRMModified are the records' modified times, used by
	// the newest policy (tie: CRM).
	DeskModified, CRMModified time.Time
}

// Conflict is a field whose two sides differ and were not both explained by
// a one-sided change: changed on both sides since the base, or differing on
// a first reconcile.
type Conflict struct {
	// Key is the field's FieldMap.Key().
	Key string
	// Winner is the side whose value was kept.
	Winner mapping.Side
	// Rule says why: "newest", "crm-wins", "desk-wins", "one-way" or
	// "direction" (the field flows one way only).
	Rule string
	// FirstSync is set when there was no base for the field.
	FirstSync bool
}

// MergeResult is what to write after a merge.
type MergeResult struct {
	// DeskPatch holds the canonical values to write to Desk (only fields
	// that change); convert with mapping.ToDesk.
	DeskPatch mapping.Values
	// CRMPatch holds the canonical values to write to CRM; always empty in
	// one-way mode. Convert with mapping.ToCRM.
	CRMPatch mapping.Values
	// Base is the new last-synced values, to store on the link once the
	// patches are written.
	Base mapping.Values
	// Conflicts lists the fields decided by a rule rather than by a
	// one-sided change, in mapping order.
	Conflicts []Conflict
}

// Empty reports whether the merge writes nothing to either side.
func (r MergeResult) Empty() bool { return len(r.DeskPatch) == 0 && len(r.CRMPatch) == 0 }

// Merge reconciles a linked pair field by field, as a 3-way merge against
// the base:
//
//   - equal on both sides: nothing to write;
//   - changed on one side only: that side's value wins;
//   - changed on both sides to different values: the field's policy decides
//     (newest = the record modified last, tie → CRM; crm-wins; desk-wins);
//   - no base for the field (first reconcile of a matched pair): an empty
//     value never erases a filled one; otherwise the field's policy decides
//     as above (newest by default) in two-way mode, CRM wins in one-way
//     mode;
//   - one-way mode: CRM wins every conflict and nothing is written to CRM;
//     a change made only in Desk stays in Desk.
//
// A field absent from one side's values counts as unchanged there (equal
// to the base); with no base either, it is left alone and left out of the
// new base.
//
// A field whose Direction does not flow into the losing side is never
// written there: a field mapped crm-to-desk only takes CRM's value, and a
// Desk-only change to it stays in Desk (the base keeps the last synced
// value). The new base holds, per field, the value both sides now share,
// or the previous base where they still differ for that reason.
func Merge(in MergeInput) MergeResult {
	res := MergeResult{DeskPatch: mapping.Values{}, CRMPatch: mapping.Values{}, Base: mapping.Values{}}
	oneWay := in.Mode == mapping.OneWay
	for _, f := range in.Mapping.Fields {
		k := f.Key()
		b, hasBase := in.Base[k]
		d, dok := in.Desk[k]
		c, cok := in.CRM[k]
		if !dok {
			d, dok = b, hasBase
		}
		if !cok {
			c, cok = b, hasBase
		}
		toDesk := f.ToDesk()
		toCRM := f.ToCRM() && !oneWay
		if !toDesk && !toCRM {
			// Inert in this mode (desk-to-crm field in one-way mode).
			if hasBase {
				res.Base[k] = b
			}
			continue
		}
		if !dok || !cok {
			// Unknown on one side and no base to stand in for it: the
			// field cannot be compared, so it is left alone.
			continue
		}
		if mapping.ValueEqual(d, c) {
			res.Base[k] = c
			continue
		}
		winner, rule, conflict := decideField(f, hasBase, b, d, c, in, oneWay, toDesk, toCRM)
		if conflict {
			res.Conflicts = append(res.Conflicts, Conflict{Key: k, Winner: winner, Rule: rule, FirstSync: !hasBase})
		}
		switch {
		case winner == mapping.CRM && toDesk:
			res.DeskPatch[k] = c
			res.Base[k] = c
		case winner == mapping.Desk && toCRM:
			res.CRMPatch[k] = d
			res.Base[k] = d
		case hasBase:
			// The winner's value cannot flow to the other side: the sides
			// stay different and the base keeps what was last synced.
			res.Base[k] = b
		}
	}
	return res
}

// decideField picks the side whose value a differing field takes, and
// whether that was a conflict decided by a rule.
func decideField(f mapping.FieldMap, hasBase bool, b, d, c any, in MergeInput, oneWay, toDesk, toCRM bool) (winner mapping.Side, rule string, conflict bool) {
	if hasBase {
		dChanged := !mapping.ValueEqual(d, b)
		cChanged := !mapping.ValueEqual(c, b)
		switch {
		case dChanged && !cChanged:
			return mapping.Desk, "", false
		case cChanged && !dChanged:
			return mapping.CRM, "", false
		}
	}
	if !hasBase {
		// First reconcile: an empty value never erases a filled one.
		switch {
		case mapping.ValueEqual(d, nil):
			return mapping.CRM, "", false
		case mapping.ValueEqual(c, nil):
			return mapping.Desk, "", false
		}
	}
	// Changed on both sides, or no base: a rule decides.
	switch {
	case oneWay:
		return mapping.CRM, "one-way", true
	case toDesk && !toCRM:
		return mapping.CRM, "direction", true
	case toCRM && !toDesk:
		return mapping.Desk, "direction", true
	}
	switch f.EffectivePolicy() {
	case mapping.CRMWins:
		return mapping.CRM, string(mapping.CRMWins), true
	case mapping.DeskWins:
		return mapping.Desk, string(mapping.DeskWins), true
	}
	if in.DeskModified.After(in.CRMModified) {
		return mapping.Desk, string(mapping.Newest), true
	}
	return mapping.CRM, string(mapping.Newest), true
}
