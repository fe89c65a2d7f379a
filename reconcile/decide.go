package reconcile

import (
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
	// ActionCreate: create the record on Target with Target's patch (fields
	// flowing there), link it, store Base.
	ActionCreate Action = "create"
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
	// Base is the link's last-synced values; nil when none.
	Base mapping.Values
	// Values are the changed record's current values (nil for a deletion).
	Values mapping.Values
	// Modified is the changed record's modified time.
	Modified time.Time
	// Other is the counterpart's current values when known, else nil: an
	// unknown counterpart is taken to still hold Base.
	Other mapping.Values
	// OtherModified is the counterpart's modified time when known.
	OtherModified time.Time
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
	// Base is the new last-synced values to store once the writes are
	// committed; nil leaves the stored base as it is.
	Base mapping.Values
	// Conflicts lists fields decided by a rule (see Merge).
	Conflicts []Conflict
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
//   - unlinked record: create it on the other side, or, when the caller
//     matched a counterpart (Other set), merge the pair with no base;
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
	switch in.Link {
	case LinkNone:
		if in.Other != nil {
			d := mergeDecision(in, nil, in.Other)
			d.Reason = "matched by key: first reconcile of the pair"
			return d
		}
		return Decision{Action: ActionCreate, Target: target, Reason: "no link: create on the other side",
			DeskPatch: createPatch(in, mapping.Desk), CRMPatch: createPatch(in, mapping.CRM), Base: createBase(in)}
	case LinkOtherTrashed:
		patch := mapping.FlowingTo(in.Mapping, in.Values, target)
		base := in.Base.Clone()
		if base == nil {
			base = mapping.Values{}
		}
		for k, v := range patch {
			base[k] = v
		}
		d := Decision{Action: ActionRestore, Target: target, Base: base, ClearDeletion: true,
			Reason: "counterpart is in the recycle bin: restore it and update"}
		setPatch(&d, target, patch)
		return d
	case LinkOtherPurged:
		return Decision{Action: ActionRecreate, Target: target, ClearDeletion: true,
			Reason:    "counterpart was deleted permanently: re-create it",
			DeskPatch: createPatch(in, mapping.Desk), CRMPatch: createPatch(in, mapping.CRM), Base: createBase(in)}
	}
	// Linked or LinkSelfDeleted.
	clear := in.Link == LinkSelfDeleted
	if in.Base != nil && isEcho(in.Mapping, in.Values, in.Base) {
		return Decision{Action: ActionSkipEcho, Target: target, ClearDeletion: clear, Reason: "mapped values equal the last-synced values"}
	}
	if in.Base == nil && in.Other == nil {
		// Linked but never reconciled and the counterpart unknown: push
		// everything that flows there.
		patch := mapping.FlowingTo(in.Mapping, in.Values, target)
		d := Decision{Action: ActionUpdate, Target: target, Base: patch, ClearDeletion: clear,
			Reason: "linked with no base: write every field flowing to the other side"}
		setPatch(&d, target, patch)
		if len(patch) == 0 {
			d.Action = ActionIgnore
		}
		return d
	}
	other := in.Other
	if other == nil {
		other = in.Base
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
		if !mapping.ValueEqual(x, base[f.Key()]) {
			return false
		}
	}
	return true
}

func mergeDecision(in DecideInput, base, other mapping.Values) Decision {
	mi := MergeInput{Mapping: in.Mapping, Mode: in.Mode, Base: base}
	if in.Source == mapping.Desk {
		mi.Desk, mi.CRM = in.Values, other
		mi.DeskModified, mi.CRMModified = in.Modified, in.OtherModified
	} else {
		mi.Desk, mi.CRM = other, in.Values
		mi.DeskModified, mi.CRMModified = in.OtherModified, in.Modified
	}
	r := Merge(mi)
	d := Decision{Action: ActionUpdate, Target: in.Source.Other(), DeskPatch: r.DeskPatch, CRMPatch: r.CRMPatch,
		Base: r.Base, Conflicts: r.Conflicts, Reason: "changed: merged with the counterpart"}
	if r.Empty() {
		d.Action = ActionIgnore
		d.Reason = "nothing to write: the sides agree on every field that can flow"
	}
	return d
}

// createPatch returns the values a create on side s writes, or nil when s
// is the side the change came from.
func createPatch(in DecideInput, s mapping.Side) mapping.Values {
	if s == in.Source {
		return nil
	}
	return CreateValues(in.Mapping, in.Values, s)
}

// createBase is the base after a create: the values the new record holds.
func createBase(in DecideInput) mapping.Values {
	return CreateValues(in.Mapping, in.Values, in.Source.Other())
}

// CreateValues returns what creating a record on side target writes: the
// non-empty values of v whose fields flow to target. It is also the base to
// store on the new link: fields that do not flow there stay out of it, so a
// later merge treats them as never synced instead of as cleared by the
// target (which would erase the source's value).
func CreateValues(m mapping.Mapping, v mapping.Values, target mapping.Side) mapping.Values {
	out := mapping.Values{}
	for k, x := range mapping.FlowingTo(m, v, target) {
		if mapping.ValueEqual(x, nil) {
			continue
		}
		out[k] = x
	}
	return out
}

func setPatch(d *Decision, s mapping.Side, patch mapping.Values) {
	if s == mapping.Desk {
		d.DeskPatch = patch
	} else {
		d.CRMPatch = patch
	}
}
