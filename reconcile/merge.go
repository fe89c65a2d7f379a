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
	// Base is what each side held at the last sync; zero for the first
	// reconcile of a matched pair. A field missing from a side's base (for
	// example newly mapped) is reconciled like a first reconcile.
	Base Base
	// Desk and CRM are both records' current values. A field absent from
	// one side's values is taken as unchanged on that side.
	Desk, CRM mapping.Values
	// DeskModified and CRMModified are the records' modified times, used by
	// the newest policy (tie: CRM).
	DeskModified, CRMModified time.Time
	// Refs translates account references for writes to Desk (see
	// mapping.Carry); nil translates none.
	Refs mapping.Refs
	// DeskUnresolved are the fields (keys) whose Desk value is an account
	// reference with no CRM counterpart yet (Record.DeskRefs): absent from
	// Desk's values, yet changed on Desk. Such a field is decided as changed
	// there: when Desk wins it is held (nothing written, Desk's base kept, so
	// that the value counts as Desk's change once the account links); when
	// CRM wins, CRM's value is written to Desk.
	DeskUnresolved map[string]bool
}

// Conflict is a field whose two sides differ and were not both explained by
// a one-sided change: changed on both sides since the base, or differing on
// a first reconcile.
type Conflict struct {
	// Key is the field's FieldMap.Key().
	Key string
	// Winner is the side whose value was kept.
	Winner mapping.Side
	// Rule says why: "newest", RuleNewestTie, "crm-wins", "desk-wins", "one-way" or
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
	// Base is the new merge base, to store on the link once the patches
	// are written: what each side holds after the writes.
	Base Base
	// Conflicts lists the fields decided by a rule rather than by a
	// one-sided change, in mapping order.
	Conflicts []Conflict
	// NotCarried lists the values that won but could not be written to the
	// other side (see mapping.Carry), in mapping order. They are left out of
	// the patches; the base records that the sides differ.
	NotCarried []mapping.Problem
}

// Empty reports whether the merge writes nothing to either side.
func (r MergeResult) Empty() bool { return len(r.DeskPatch) == 0 && len(r.CRMPatch) == 0 }

// Merge reconciles a linked pair field by field, as a 3-way merge against
// each side's base:
//
//   - equal on both sides: nothing to write;
//   - changed on one side only: that side's value wins;
//   - changed on both sides to different values: the field's policy decides
//     (newest = the record modified last, tie → CRM; crm-wins; desk-wins);
//   - changed on neither side, yet different: a value the sync could not
//     carry before. Nothing is written, except that, for a field flowing
//     both ways in two-way mode, an empty side is filled with the other's
//     value once it can be carried (say the account got linked since);
//   - a side clearing a value the other side never held does not clear the
//     other side: that would erase data the clearing side never had;
//   - no base for the field (first reconcile of a matched pair): an empty
//     value never erases a filled one; otherwise the field's policy decides
//     as above (newest by default) in two-way mode, CRM wins in one-way
//     mode;
//   - one-way mode: CRM wins every conflict and nothing is written to CRM;
//     a change made only in Desk stays in Desk.
//
// A field absent from one side's values counts as unchanged there (equal
// to that side's base); with no base either, it is left alone.
//
// A winning value is written to the other side only when the field flows
// there and mapping.Carry accepts it. Otherwise the sides stay different
// and the new base records what each holds, so that the side without the
// value is never read as having cleared it.
func Merge(in MergeInput) MergeResult {
	res := MergeResult{DeskPatch: mapping.Values{}, CRMPatch: mapping.Values{}, Base: Base{Desk: mapping.Values{}, CRM: mapping.Values{}}}
	oneWay := in.Mode == mapping.OneWay
	for _, f := range in.Mapping.Fields {
		k := f.Key()
		bd, hasBD := in.Base.Desk[k]
		bc, hasBC := in.Base.CRM[k]
		keep := func() {
			if hasBD {
				res.Base.Desk[k] = bd
			}
			if hasBC {
				res.Base.CRM[k] = bc
			}
		}
		d, dok := in.Desk[k]
		c, cok := in.CRM[k]
		unresolved := in.DeskUnresolved[k]
		if unresolved {
			d, dok = unresolvedRef, true
		} else if !dok {
			d, dok = bd, hasBD
		}
		if !cok {
			c, cok = bc, hasBC
		}
		toDesk := f.ToDesk()
		toCRM := f.ToCRM() && !oneWay
		if !toDesk && !toCRM {
			keep() // inert in this mode (a desk-to-crm field in one-way mode)
			continue
		}
		if !dok || !cok {
			keep() // unknown on one side with no base to stand in: left alone
			continue
		}
		if mapping.FieldEqual(f, d, c) {
			res.Base.setBoth(k, c)
			continue
		}
		winner, rule, conflict := decideField(f, fieldState{hasBD: hasBD, hasBC: hasBC, bd: bd, bc: bc, d: d, c: c}, in, oneWay, toDesk, toCRM)
		if conflict {
			res.Conflicts = append(res.Conflicts, Conflict{Key: k, Winner: winner, Rule: rule, FirstSync: !hasBD || !hasBC})
		}
		if unresolved {
			if winner == mapping.CRM && toDesk {
				res.carry(in, f, mapping.Desk, c, bd, true)
			} else {
				// Desk's new account cannot be carried yet: held, CRM's value as CRM's base.
				if hasBD {
					res.Base.Desk[k] = bd
				}
				res.Base.CRM[k] = c
			}
			continue
		}
		switch {
		case winner == mapping.CRM && toDesk:
			res.carry(in, f, mapping.Desk, c, d, rule != ruleFill)
		case winner == mapping.Desk && toCRM:
			res.carry(in, f, mapping.CRM, d, c, rule != ruleFill)
		default:
			// The winning value cannot flow to the other side (its
			// direction or the mode), or nothing changed: the base keeps
			// what was last synced, so a change held back here still
			// flows if the direction or mode changes later.
			keep()
			if winner == "" {
				res.stillNotCarried(in, f, d, c, toDesk, toCRM)
			}
		}
	}
	return res
}

// carry writes v to side to when it can be carried there; otherwise the
// sides stay different (to keeps current) and, when report is set, the
// reason is listed in NotCarried.
func (r *MergeResult) carry(in MergeInput, f mapping.FieldMap, to mapping.Side, v, current any, report bool) {
	k := f.Key()
	v = mapping.Fit(f, v, to)
	if p := mapping.Carry(in.Mapping.Module, f, v, to, in.Refs); p != nil {
		if report {
			r.NotCarried = append(r.NotCarried, *p)
		}
		r.Base.set(to, k, current)
		r.Base.set(to.Other(), k, v)
		return
	}
	if to == mapping.Desk {
		r.DeskPatch[k] = v
	} else {
		r.CRMPatch[k] = v
	}
	r.Base.setBoth(k, v)
}

// stillNotCarried reports again the values of a field whose sides differ because a value
// could not be carried and still cannot, so its failure stays open until the value changes.
func (r *MergeResult) stillNotCarried(in MergeInput, f mapping.FieldMap, d, c any, toDesk, toCRM bool) {
	if toCRM && !isEmpty(d) {
		if p := mapping.Carry(in.Mapping.Module, f, d, mapping.CRM, in.Refs); p != nil {
			r.NotCarried = append(r.NotCarried, *p)
		}
	}
	if toDesk && !isEmpty(c) {
		if p := mapping.Carry(in.Mapping.Module, f, c, mapping.Desk, in.Refs); p != nil {
			r.NotCarried = append(r.NotCarried, *p)
		}
	}
}

// fieldState is one field of a pair: each side's base (when known) and
// current value.
type fieldState struct {
	hasBD, hasBC bool
	bd, bc, d, c any
}

// ruleFill marks the filling of an empty side with a value carried late.
const ruleFill = "fill"

// ruleKeepFilled names a conflict in which one side cleared a value and the
// other set one that the clearing side never held: the value is kept.
const ruleKeepFilled = "a clear never erases a value its side never held"

// unresolvedRef stands for a Desk account reference that has no CRM
// counterpart yet (MergeInput.DeskUnresolved): equal to no CRM id, never
// empty, never written (a NUL cannot be in an id).
const unresolvedRef = "\x00unresolved Desk account"

// decideField picks the side whose value a differing field takes, and
// whether that was a conflict decided by a rule. winner "" means nothing
// flows.
func decideField(f mapping.FieldMap, s fieldState, in MergeInput, oneWay, toDesk, toCRM bool) (winner mapping.Side, rule string, conflict bool) {
	winner, rule, conflict = pickWinner(f, s, in, oneWay, toDesk, toCRM)
	if winner == "" || rule == ruleFill {
		return winner, rule, conflict
	}
	// An empty value never erases a filled one that its side never held:
	// on a first reconcile, in a conflict, or where the sync could not
	// carry the value there. Clearing it would destroy data the clearing
	// side never had.
	w, l, bw, hasBW := s.d, s.c, s.bd, s.hasBD
	if winner == mapping.CRM {
		w, l, bw, hasBW = s.c, s.d, s.bc, s.hasBC
	}
	if isEmpty(w) && !isEmpty(l) && !(hasBW && mapping.FieldEqual(f, bw, l)) {
		if conflict {
			return winner.Other(), ruleKeepFilled, true // still a conflict: reported
		}
		// A clear on one side only, of a value the other side does not hold: the sides
		// differed because a value was not carried. When the other side's value could not
		// reach the clearing side, the clearing side never held it: it is kept. When it
		// could, it is the value the clearing side's own value (its base) failed to replace
		// there — a CRM picklist value Desk lacks, a Desk text too long for CRM — and the
		// clear, the newest word on the field, goes through: keeping it wrote that older
		// value back over the clear (a fresh user's trial).
		if mapping.Carry(in.Mapping.Module, f, mapping.Fit(f, l, winner), winner, in.Refs) != nil {
			return winner.Other(), "", false
		}
	}
	return winner, rule, conflict
}

func isEmpty(v any) bool { return mapping.ValueEqual(v, nil) }

// pickWinner applies the 3-way rules: a one-sided change wins; changes on
// both sides, or no base, go to a rule.
func pickWinner(f mapping.FieldMap, s fieldState, in MergeInput, oneWay, toDesk, toCRM bool) (winner mapping.Side, rule string, conflict bool) {
	if s.hasBD && s.hasBC {
		dChanged := !mapping.FieldEqual(f, s.d, s.bd)
		cChanged := !mapping.FieldEqual(f, s.c, s.bc)
		switch {
		case dChanged && !cChanged:
			return mapping.Desk, "", false
		case cChanged && !dChanged:
			return mapping.CRM, "", false
		case !dChanged && !cChanged:
			// The sides differ only because a value was not carried: fill
			// an empty side of a field flowing both ways once it can be.
			if toDesk && toCRM {
				switch {
				case isEmpty(s.d):
					return mapping.CRM, ruleFill, false
				case isEmpty(s.c):
					return mapping.Desk, ruleFill, false
				}
			}
			return "", "", false
		}
	} else {
		// First reconcile: an empty value never erases a filled one.
		switch {
		case isEmpty(s.d):
			return mapping.CRM, "", false
		case isEmpty(s.c):
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
	// Compared in whole seconds, the precision of CRM's Modified_Time: Desk's milliseconds made
	// a Desk edit win over a later CRM edit within the same second. Within one second the
	// sides tie, and CRM wins.
	desk, crm := in.DeskModified.Truncate(time.Second), in.CRMModified.Truncate(time.Second)
	switch {
	case desk.After(crm):
		return mapping.Desk, string(mapping.Newest), true
	case desk.Equal(crm):
		return mapping.CRM, RuleNewestTie, true
	}
	return mapping.CRM, string(mapping.Newest), true
}

// RuleNewestTie names a newest-rule conflict of two records modified within the same second,
// which CRM's whole-second Modified_Time cannot order: CRM's value is kept. (The log said CRM's
// was "the record modified last" when Desk's edit came later in that second: a trial.)
const RuleNewestTie = "newest-tie"
