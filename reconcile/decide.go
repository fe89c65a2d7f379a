package reconcile

import (
	"sort"
	"time"

	"deskcrm/mapping"
)

// ChangeKind is what happened to a record on its side.
type ChangeKind string

// Change kinds.
const (
	Created ChangeKind = "created"
	Updated ChangeKind = "updated"
	Deleted ChangeKind = "deleted"
)

// LinkState is the state of a changed record's link, seen from the side
// where the change happened.
type LinkState string

// Link states.
const (
	// LinkNone: the record has no link (never synced).
	LinkNone LinkState = "none"
	// Linked: linked to a live counterpart.
	Linked LinkState = "linked"
	// LinkOtherTrashed: the counterpart was deleted and is in its side's
	// recycle bin.
	LinkOtherTrashed LinkState = "other-trashed"
	// LinkOtherPurged: the counterpart was deleted permanently.
	LinkOtherPurged LinkState = "other-purged"
	// LinkSelfDeleted: the link records this side's record as deleted; a
	// change from it means it was restored.
	LinkSelfDeleted LinkState = "self-deleted"
)

// Deletion marks, spelled as the links table's desk_deleted / crm_deleted.
const (
	// DeletedTrash: the record is in its side's recycle bin.
	DeletedTrash = "trash"
	// DeletedPermanent: the record is gone for good.
	DeletedPermanent = "permanent"
)

// LinkStateFor derives the LinkState of a change seen on side source from a
// link row: whether a link exists and each side's deletion mark ("",
// DeletedTrash or DeletedPermanent). A deleted counterpart takes precedence
// over the source's own mark: a change from the source proves it is alive,
// and restoring or re-creating the counterpart clears both marks.
func LinkStateFor(source mapping.Side, linked bool, deskDeleted, crmDeleted string) LinkState {
	if !linked {
		return LinkNone
	}
	self, other := deskDeleted, crmDeleted
	if source == mapping.CRM {
		self, other = crmDeleted, deskDeleted
	}
	switch {
	case other == DeletedPermanent:
		return LinkOtherPurged
	case other != "":
		return LinkOtherTrashed
	case self != "":
		return LinkSelfDeleted
	}
	return Linked
}

// Action is the outcome of Decide.
type Action string

// Actions.
const (
	// ActionSkipEcho: the change's mapped values equal the last-synced base;
	// it is our own write coming back. Nothing to do.
	ActionSkipEcho Action = "skip-echo"
	// ActionUpdate: write DeskPatch and/or CRMPatch, then store Base.
	ActionUpdate Action = "update"
	// ActionRestore: restore the counterpart on Target from its recycle bin,
	// write Target's patch, clear the link's deletion marks, store Base.
	ActionRestore Action = "restore"
	// ActionRecreate: the counterpart was deleted permanently: create a new
	// record on Target with Target's patch, re-point the link at it, clear
	// the deletion marks, store Base.
	ActionRecreate Action = "recreate"
	// ActionMarkDeleted: record on the link that Target's record was deleted
	// (Deleted says how). Deletes never propagate.
	ActionMarkDeleted Action = "mark-deleted"
	// ActionSkip: a Desk change in one-way mode; Desk changes are not sent.
	ActionSkip Action = "skip"
	// ActionIgnore: nothing to write (store Base if it is non-nil).
	ActionIgnore Action = "ignore"
)

// DecideInput is one change seen on one side.
type DecideInput struct {
	// Mapping is the module's mapping (directions and policies).
	Mapping mapping.Mapping
	// Mode is the integration's sync type ("" = two-way).
	Mode mapping.Mode
	// Source is the side where the change was seen.
	Source mapping.Side
	// Change is what happened.
	Change ChangeKind
	// Permanent is set for a deletion that skipped the recycle bin.
	Permanent bool
	// Link is the state of the record's link (see LinkStateFor). With
	// LinkNone and Other set, the caller has matched a counterpart by key
	// (see Match) and is about to link the pair: the two are merged with no
	// base.
	Link LinkState
	// Base is what each side held at the last sync; zero when none.
	Base Base
	// Values are the changed record's current values (nil for a deletion).
	Values mapping.Values
	// Modified is the changed record's modified time.
	Modified time.Time
	// Other is the counterpart's current values when known, else nil: an
	// unknown counterpart is taken to still hold Base.
	Other mapping.Values
	// OtherModified is the counterpart's modified time when known.
	OtherModified time.Time
	// Refs translates account references for writes to Desk (see
	// mapping.Carry); nil translates none.
	Refs mapping.Refs
	// DeskUnresolved are the fields whose Desk value is an account reference
	// with no CRM counterpart yet (see MergeInput.DeskUnresolved).
	DeskUnresolved map[string]bool
}

// Decision says what to do with one change.
type Decision struct {
	// Action is what to do.
	Action Action
	// Target is the side written by create, restore and recreate, and the
	// side whose deletion is recorded by mark-deleted; for update, the side
	// opposite the change (patches may still go to both sides).
	Target mapping.Side
	// DeskPatch and CRMPatch are canonical values to write (only fields that
	// change); convert with mapping.ToDesk / mapping.ToCRM.
	DeskPatch, CRMPatch mapping.Values
	// Base is the new merge base to store once the writes are committed;
	// zero leaves the stored base as it is.
	Base Base
	// Conflicts lists fields decided by a rule (see Merge).
	Conflicts []Conflict
	// NotCarried lists values that could not be written to the other side
	// (see mapping.Carry); they are left out of the patches.
	NotCarried []mapping.Problem
	// Deleted is DeletedTrash or DeletedPermanent for mark-deleted.
	Deleted string
	// ClearDeletion is set when the change comes from a record the link
	// marks as deleted: it was restored, so clear that mark.
	ClearDeletion bool
	// Reason explains the decision in a few words (no field values).
	Reason string
}

// Decide decides what to do with one change seen on one side:
//
//   - a deletion is recorded on the link (mark-deleted) and never
//     propagated; a deletion of an unlinked record is ignored;
//   - in one-way mode, a Desk create or update is skipped;
//   - unlinked record matched by the caller (Other set, see Match): merge
//     the pair with no base (an unmatched one is PlanUnlinked's to create);
//   - linked record whose mapped values equal the base: skip-echo;
//   - linked record: 3-way merge with the counterpart (Other, or the base
//     when Other is unknown) and update;
//   - counterpart in the recycle bin: restore it, then write every field
//     flowing there;
//   - counterpart permanently deleted: re-create it.
func Decide(in DecideInput) Decision {
	target := in.Source.Other()
	if in.Change == Deleted {
		return decideDelete(in)
	}
	if in.Mode == mapping.OneWay && in.Source == mapping.Desk {
		return Decision{Action: ActionSkip, Target: target, Reason: "one-way sync: Desk changes are not sent to CRM"}
	}
	if (in.Link == LinkOtherTrashed || in.Link == LinkOtherPurged) && !in.Base.IsZero() && isEcho(in.Mapping, in.Values, in.Base.Of(in.Source)) {
		// Read again unchanged (the overlap of a cursor, our own write coming back): not a
		// change, so it brings nothing back.
		return Decision{Action: ActionSkipEcho, Target: target, Reason: "mapped values equal the last-synced values"}
	}
	switch in.Link {
	case LinkNone:
		if in.Other != nil {
			d := mergeDecision(in, Base{}, in.Other)
			d.Reason = "matched by key: first reconcile of the pair"
			return d
		}
		// Whether to create it or link it is Match's to decide (PlanUnlinked).
		return Decision{Action: ActionIgnore, Target: target, Reason: "no link and no matched counterpart: see Match"}
	case LinkOtherTrashed:
		// The restored record holds what it held when deleted: write every
		// field flowing there that can be carried.
		base := in.Base.Clone()
		patch := mapping.Values{}
		var notCarried []mapping.Problem
		for k, v := range mapping.FlowingTo(in.Mapping, in.Values, target) {
			base.set(in.Source, k, v)
			f, _ := in.Mapping.Field(k)
			v = mapping.Fit(f, v, target)
			if p := mapping.Carry(in.Mapping.Module, f, v, target, in.Refs); p != nil {
				notCarried = append(notCarried, *p)
				continue
			}
			patch[k] = v
			base.set(target, k, v)
		}
		d := Decision{Action: ActionRestore, Target: target, Base: base, ClearDeletion: true, NotCarried: sortProblems(in.Mapping, notCarried),
			Reason: "counterpart is in the recycle bin: restore it and update"}
		setPatch(&d, target, patch)
		return d
	case LinkOtherPurged:
		d := createDecision(in, ActionRecreate, "counterpart was deleted permanently: re-create it")
		d.ClearDeletion = true
		return d
	}
	// Linked or LinkSelfDeleted.
	clear := in.Link == LinkSelfDeleted
	if !in.Base.IsZero() && isEcho(in.Mapping, in.Values, in.Base.Of(in.Source)) {
		return Decision{Action: ActionSkipEcho, Target: target, ClearDeletion: clear, Reason: "mapped values equal the last-synced values"}
	}
	if in.Base.IsZero() && in.Other == nil {
		// Linked but never reconciled and the counterpart unknown: push
		// everything that flows there and can be carried.
		d := createDecision(in, ActionUpdate, "linked with no base: write every field flowing to the other side")
		d.ClearDeletion = clear
		if len(d.DeskPatch) == 0 && len(d.CRMPatch) == 0 {
			d.Action = ActionIgnore
		}
		return d
	}
	other := in.Other
	if other == nil {
		other = in.Base.Of(target) // unknown counterpart: taken to still hold its base
	}
	d := mergeDecision(in, in.Base, other)
	d.ClearDeletion = clear
	return d
}

func decideDelete(in DecideInput) Decision {
	kind := DeletedTrash
	if in.Permanent {
		kind = DeletedPermanent
	}
	switch in.Link {
	case LinkNone:
		return Decision{Action: ActionIgnore, Target: in.Source, Reason: "deleted record was never synced"}
	case LinkSelfDeleted:
		if !in.Permanent {
			return Decision{Action: ActionIgnore, Target: in.Source, Reason: "deletion already recorded"}
		}
	}
	return Decision{Action: ActionMarkDeleted, Target: in.Source, Deleted: kind, Reason: "deletes do not propagate: record it on the link"}
}

// isEcho reports whether every mapped value present in v equals the base.
func isEcho(m mapping.Mapping, v, base mapping.Values) bool {
	for _, f := range m.Fields {
		x, ok := v[f.Key()]
		if !ok {
			continue
		}
		if !mapping.FieldEqual(f, x, base[f.Key()]) {
			return false
		}
	}
	return true
}

func mergeDecision(in DecideInput, base Base, other mapping.Values) Decision {
	mi := MergeInput{Mapping: in.Mapping, Mode: in.Mode, Base: base, Refs: in.Refs, DeskUnresolved: in.DeskUnresolved}
	if in.Source == mapping.Desk {
		mi.Desk, mi.CRM = in.Values, other
		mi.DeskModified, mi.CRMModified = in.Modified, in.OtherModified
	} else {
		mi.Desk, mi.CRM = other, in.Values
		mi.DeskModified, mi.CRMModified = in.OtherModified, in.Modified
	}
	r := Merge(mi)
	d := Decision{Action: ActionUpdate, Target: in.Source.Other(), DeskPatch: r.DeskPatch, CRMPatch: r.CRMPatch,
		Base: r.Base, Conflicts: r.Conflicts, NotCarried: r.NotCarried, Reason: "changed: merged with the counterpart"}
	if r.Empty() {
		d.Action = ActionIgnore
		d.Reason = "nothing to write: the sides agree on every field that can flow"
	}
	return d
}

// createDecision writes the changed record's values to the other side (a
// create, a re-create, or the first update of a pair with no base).
func createDecision(in DecideInput, action Action, reason string) Decision {
	target := in.Source.Other()
	c := CreatePatch(in.Mapping, in.Values, target, in.Refs)
	d := Decision{Action: action, Target: target, Base: c.Base, NotCarried: c.NotCarried, Reason: reason}
	setPatch(&d, target, c.Patch)
	return d
}

// CreateResult is what creating a record on the other side writes.
type CreateResult struct {
	// Patch holds the values the create writes: the non-empty values of
	// fields flowing to the target that mapping.Carry accepts.
	Patch mapping.Values
	// Base is the new link's merge base: the source holds every known
	// value, the target what the create wrote and nothing for fields it
	// did not write.
	Base Base
	// NotCarried lists the values left out because they could not be
	// carried (see mapping.Carry), in mapping order.
	NotCarried []mapping.Problem
	// Blocked is set when one of those values is of a field the target
	// requires (mapping.Limits.Mandatory): the create must not be tried,
	// since the target would refuse it or hold a record without it.
	Blocked bool
}

// CreatePatch returns what creating a record on side target from the source
// values v writes. Fields that do not flow to the target stay unknown on the
// target side of the base, so a later merge treats them as never synced;
// values that could not be carried are recorded as held by the source only,
// so that their absence on the target never reads as a clear of the source.
func CreatePatch(m mapping.Mapping, v mapping.Values, target mapping.Side, refs mapping.Refs) CreateResult {
	source := target.Other()
	res := CreateResult{Patch: mapping.Values{}, Base: Base{Desk: mapping.Values{}, CRM: mapping.Values{}}}
	for _, f := range m.Fields {
		k := f.Key()
		x, ok := v[k]
		if !ok {
			continue
		}
		res.Base.set(source, k, x)
		if !f.FlowsTo(target) {
			continue
		}
		if mapping.ValueEqual(x, nil) {
			res.Base.set(target, k, nil)
			continue
		}
		x = mapping.Fit(f, x, target)
		if p := mapping.Carry(m.Module, f, x, target, refs); p != nil {
			res.NotCarried = append(res.NotCarried, *p)
			res.Base.set(target, k, nil)
			res.Blocked = res.Blocked || f.LimitsOf(target).Mandatory
			continue
		}
		res.Patch[k] = x
		res.Base.set(target, k, x)
	}
	return res
}

// sortProblems orders problems by the mapping's field order.
func sortProblems(m mapping.Mapping, ps []mapping.Problem) []mapping.Problem {
	pos := map[string]int{}
	for i, f := range m.Fields {
		pos[f.Key()] = i
	}
	sort.SliceStable(ps, func(i, j int) bool {
		return pos[ps[i].Desk+"="+ps[i].CRM] < pos[ps[j].Desk+"="+ps[j].CRM]
	})
	return ps
}

func setPatch(d *Decision, s mapping.Side, patch mapping.Values) {
	if s == mapping.Desk {
		d.DeskPatch = patch
	} else {
		d.CRMPatch = patch
	}
}
