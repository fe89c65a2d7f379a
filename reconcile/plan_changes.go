package reconcile

import (
	"slices"
	"time"

	"deskcrm/mapping"
)

// SideID names one record of one side.
type SideID struct {
	Side mapping.Side
	ID   string
}

// Deletion is a record deleted on its side, as read from CRM's deleted-records list or
// Desk's recycle bin.
type Deletion struct {
	Side mapping.Side
	ID   string
	// Permanent is set when the record skipped the recycle bin or was purged from it.
	Permanent bool
}

// ChangesInput is what an incremental pass of one module read.
type ChangesInput struct {
	Mapping mapping.Mapping
	Mode    mapping.Mode
	// Refs translates account references to Desk (loaded for every CRM account the records
	// read name).
	Refs mapping.Refs
	// Changed holds the records read as changed on either side.
	Changed []Record
	// Deleted holds the deletions read on either side.
	Deleted []Deletion
	// Links holds the links of the changed and deleted records, keyed by their side and id.
	Links map[SideID]Link
	// Claimed holds the links of the records unlinked changed records name in their
	// counterpart-id field (see UnlinkedInput.Claimed).
	Claimed map[SideID]Link
	// Counterparts holds the current values of the counterparts CounterpartsNeeded asked for.
	Counterparts map[SideID]Record
	// Candidates lists, per match key of an unlinked changed record, every record known to
	// carry that key on either side (the index, and lookups of the other side).
	Candidates map[string][]Candidate
	// Retried holds the records read again because the admin asked to retry their failures:
	// one that needs no write is in sync (Plan.InSync).
	Retried map[SideID]bool
	// FailedAt holds, per record, when its open failure was last recorded: a change no newer
	// than that is the version that failed already, and is skipped until it changes again or
	// the admin retries it.
	FailedAt map[SideID]time.Time
}

// linkedChange is a change of a linked record, with its counterpart's when known.
type linkedChange struct {
	r     Record
	other *Record
	l     Link
}

// PlanChanges decides what an incremental pass writes, record by record:
//
//   - a deletion is recorded on its link (never propagated) and the record leaves the index;
//   - a version of a record that failed already is skipped;
//   - values that did not fit their mapped type are logged (TYPE_MISMATCH) and the record's
//     other fields still sync;
//   - a change of a linked record is decided by Decide against the pair's base (echo,
//     update, restore of a trashed counterpart, re-create of a purged one), together with
//     its counterpart's change when both sides changed;
//   - a change of an unlinked record is matched by Match against the candidates: linked and
//     merged with the one record of the other side carrying its key, created there when none
//     does, or logged as ambiguous or a duplicate.
//
// Records are taken in id order per side, CRM first, so the plan is deterministic.
func PlanChanges(in ChangesInput) Plan {
	var pl Plan
	marked := map[int64][]Mark{}
	for _, d := range in.Deleted {
		l, ok := in.Links[SideID{d.Side, d.ID}]
		state := LinkStateFor(d.Side, ok && l.Linked, l.DeskDeleted, l.CRMDeleted)
		dec := Decide(DecideInput{Mapping: in.Mapping, Mode: in.Mode, Source: d.Side, Change: Deleted, Permanent: d.Permanent, Link: state})
		if dec.Action == ActionMarkDeleted {
			pl.Marks = append(pl.Marks, Mark{Side: d.Side, ID: d.ID, Kind: dec.Deleted})
			marked[l.ID] = append(marked[l.ID], Mark{Side: d.Side, Kind: dec.Deleted})
		}
		pl.Unindex = append(pl.Unindex, Mark{Side: d.Side, ID: d.ID})
	}
	// The changes are decided against the links as they are once the deletions are recorded.
	links := make(map[SideID]Link, len(in.Links))
	for k, l := range in.Links {
		for _, m := range marked[l.ID] {
			if m.Side == mapping.Desk {
				l.DeskDeleted = m.Kind
			} else {
				l.CRMDeleted = m.Kind
			}
		}
		links[k] = l
	}
	in.Links = links
	changed := map[SideID]Record{}
	var crm, desk []Record
	for _, r := range in.Changed {
		if at, ok := in.FailedAt[SideID{r.Side, r.ID}]; ok && !r.Modified.After(at) {
			pl.Skipped++
			continue
		}
		changed[SideID{r.Side, r.ID}] = r
		if r.Side == mapping.CRM {
			crm = append(crm, r)
		} else {
			desk = append(desk, r)
		}
	}
	byID := func(a, b Record) int { return compareIDs(a.ID, b.ID) }
	slices.SortFunc(crm, byID)
	slices.SortFunc(desk, byID)

	consumed := map[string]bool{} // Desk ids decided together with their CRM counterpart
	var linked []linkedChange
	var unlinked []Record
	for _, r := range crm {
		l, ok := in.Links[SideID{mapping.CRM, r.ID}]
		if !ok || !l.Linked {
			unlinked = append(unlinked, r)
			continue
		}
		var other *Record
		if d, ok := changed[SideID{mapping.Desk, l.DeskID}]; ok && l.DeskDeleted == "" {
			other, consumed[l.DeskID] = &d, true
		}
		linked = append(linked, linkedChange{r, other, l})
	}
	for _, r := range desk {
		if consumed[r.ID] {
			continue
		}
		l, ok := in.Links[SideID{mapping.Desk, r.ID}]
		if !ok || !l.Linked {
			unlinked = append(unlinked, r)
			continue
		}
		linked = append(linked, linkedChange{r, nil, l})
	}
	for _, x := range linked {
		if x.other == nil {
			if o, ok := in.Counterparts[SideID{x.r.Side.Other(), x.l.IDOf(x.r.Side.Other())}]; ok {
				x.other = &o
			}
		}
		pl.readProblems(x.r)
		if x.other != nil {
			pl.readProblems(*x.other)
		}
		pl.Add(planLinked(in, x))
	}
	pl.Add(PlanUnlinked(UnlinkedInput{Mapping: in.Mapping, Mode: in.Mode, Refs: in.Refs, Records: unlinked,
		Candidates: in.Candidates, Changed: changed, Claimed: in.Claimed}))
	return pl
}

// compareIDs orders ids numerically when they are digits of different lengths (Zoho ids),
// else as strings.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CounterpartsNeeded lists the counterparts an incremental pass must read before it plans:
// those of linked records whose change sets a field that flows to the other side and that the
// other side's base does not hold (the create that made the pair left it empty, or the field
// was mapped since), so the base cannot stand in for the counterpart's value.
func CounterpartsNeeded(m mapping.Mapping, changed []Record, links map[SideID]Link) []SideID {
	seen := map[SideID]bool{}
	for _, r := range changed {
		seen[SideID{r.Side, r.ID}] = true
	}
	var out []SideID
	for _, r := range changed {
		l, ok := links[SideID{r.Side, r.ID}]
		if !ok || !l.Linked || l.DeskDeleted != "" || l.CRMDeleted != "" {
			continue
		}
		other := SideID{r.Side.Other(), l.IDOf(r.Side.Other())}
		if seen[other] || !needsCounterpart(m, r, l.Base) {
			continue
		}
		seen[other] = true
		out = append(out, other)
	}
	slices.SortFunc(out, func(a, b SideID) int {
		if a.Side != b.Side {
			return compareIDs(string(a.Side), string(b.Side))
		}
		return compareIDs(a.ID, b.ID)
	})
	return out
}

func needsCounterpart(m mapping.Mapping, r Record, base Base) bool {
	if base.IsZero() {
		return false // Decide pushes every field with no base at all
	}
	other := base.Of(r.Side.Other())
	for _, f := range m.Fields {
		v, ok := r.Values[f.Key()]
		if !ok || !f.FlowsTo(r.Side.Other()) || isEmpty(v) {
			continue
		}
		if _, inBase := other[f.Key()]; !inBase {
			return true
		}
	}
	return false
}

// planLinked decides a change of a linked record; x.other is the counterpart's current
// record when known (changed in the same pass, or read).
func planLinked(in ChangesInput, x linkedChange) Plan {
	var pl Plan
	r, other, l := x.r, x.other, x.l
	di := DecideInput{Mapping: in.Mapping, Mode: in.Mode, Source: r.Side, Change: Updated,
		Link: LinkStateFor(r.Side, true, l.DeskDeleted, l.CRMDeleted), Base: l.Base,
		Values: r.Values, Modified: r.Modified, Refs: in.Refs}
	if other != nil {
		di.Other, di.OtherModified = other.Values, other.Modified
	}
	for _, x := range []*Record{&r, other} {
		if x != nil && x.Side == mapping.Desk && len(x.DeskRefs) > 0 {
			di.DeskUnresolved = make(map[string]bool, len(x.DeskRefs))
			for k := range x.DeskRefs {
				di.DeskUnresolved[k] = true
			}
		}
	}
	d := Decide(di)
	if d.Action == ActionSkipEcho && other != nil {
		// This side only echoes the base: the counterpart's change is the one to decide.
		prev := r
		r, other = *other, &prev
		di.Source, di.Values, di.Modified, di.Other, di.OtherModified = r.Side, r.Values, r.Modified, other.Values, other.Modified
		di.Link = LinkStateFor(r.Side, true, l.DeskDeleted, l.CRMDeleted)
		d = Decide(di)
	}
	pl.notCarried(l.DeskID, l.CRMID, d.NotCarried)
	u := Update{LinkID: l.ID, DeskID: l.DeskID, CRMID: l.CRMID, Source: r.Side, DeskPatch: d.DeskPatch, CRMPatch: d.CRMPatch,
		Base: d.Base, DeskModified: l.DeskModified, CRMModified: l.CRMModified, Conflicts: setAside(d.Conflicts, d.DeskPatch, d.CRMPatch)}
	setModified(&u, r)
	if other != nil {
		setModified(&u, *other)
	}
	// A side that does not hold its counterpart's id gets it (links made before ids were
	// written, or an id cleared by a person).
	for _, x := range []*Record{&r, other} {
		if x != nil && x.Counterpart != l.IDOf(x.Side.Other()) {
			setCounterpart(&u, x.Side, in.Mode)
		}
	}
	if d.ClearDeletion {
		u.ClearDeletion = r.Side
	}
	switch d.Action {
	case ActionSkipEcho, ActionSkip, ActionIgnore:
		if d.Action != ActionIgnore {
			pl.Echoes++
		}
		for _, x := range []*Record{&r, other} {
			if x != nil && in.Retried[SideID{Side: x.Side, ID: x.ID}] {
				pl.InSync = append(pl.InSync, SideID{Side: x.Side, ID: x.ID})
			}
		}
		if u.ClearDeletion != "" {
			pl.Clears = append(pl.Clears, Clear{LinkID: l.ID, Side: u.ClearDeletion})
			u.ClearDeletion = ""
		}
		u.DeskPatch, u.CRMPatch = nil, nil
		if d.Action == ActionIgnore && !d.Base.IsZero() && d.Base.Hash() != l.BaseHash {
			pl.Updates = append(pl.Updates, u) // the sides agree: store the base they now share
		} else if u.DeskCounterpart || u.CRMCounterpart {
			u.Base, u.Held = Base{}, l.Base
			pl.Updates = append(pl.Updates, u)
		}
	case ActionUpdate:
		if c := createFrom(in.Mapping, r, r.Side.Other(), in.Refs, &l); !c.blocked {
			u.Recreate = &c.Create
		}
		pl.Updates = append(pl.Updates, u)
	case ActionRestore:
		c := createFrom(in.Mapping, r, d.Target, in.Refs, &l)
		if d.Target == mapping.CRM {
			// CRM's API has no restore from the recycle bin: the record is created again.
			pl.addCreate(c)
			break
		}
		u.Restore, u.Recreate = true, &c.Create
		pl.Updates = append(pl.Updates, u)
	case ActionRecreate:
		pl.addCreate(createFrom(in.Mapping, r, d.Target, in.Refs, &l))
	}
	return pl
}

// setModified records r's modified time on the update.
func setModified(u *Update, r Record) {
	if r.Side == mapping.Desk {
		u.DeskModified = r.Modified
	} else {
		u.CRMModified = r.Modified
	}
}

// setCounterpart asks the update to write side s's counterpart-id field. In one-way mode
// nothing is written to CRM, its Desk_ID included.
func setCounterpart(u *Update, s mapping.Side, mode mapping.Mode) {
	if s == mapping.Desk {
		u.DeskCounterpart = true
	} else if mode != mapping.OneWay {
		u.CRMCounterpart = true
	}
}

// plannedCreate is a create with what could not be carried.
type plannedCreate struct {
	Create
	notCarried []mapping.Problem
	blocked    bool
}

// createFrom plans the create of r on target; l is the link to point at it when it stands in
// for a record gone for good (nil for a new record).
func createFrom(m mapping.Mapping, r Record, target mapping.Side, refs mapping.Refs, l *Link) plannedCreate {
	c := CreatePatch(m, r.Values, target, refs)
	pc := plannedCreate{Create: Create{Target: target, Source: r, Patch: c.Patch, Base: c.Base},
		notCarried: c.NotCarried, blocked: c.Blocked}
	if l != nil {
		pc.Relink, pc.Replaces = l.ID, l.IDOf(target)
	}
	return pc
}

// addCreate adds a create, or, when a value its target requires cannot be carried, only the
// failures that say so.
func (p *Plan) addCreate(c plannedCreate) {
	deskID, crmID := ids(c.Source)
	if c.blocked {
		p.notCarried(deskID, crmID, c.notCarried)
		return
	}
	c.Failures = notCarriedFailures(deskID, crmID, c.notCarried)
	p.Creates = append(p.Creates, c.Create)
}

// setAside keeps the conflicts that set an edit aside: every field changed on both sides
// since the last sync (one edit prevails, now or — a Desk move held until its account links —
// later), and a field first synced with different values only when the kept value is written
// over the other side's. A first-synced field whose kept value cannot be carried (an account
// with no counterpart, a value the other side refuses) or is held writes nothing: each side
// keeps its value, and logging it each time the pair was read filled the conflict log with
// decisions that changed nothing (a trial).
func setAside(cs []Conflict, deskPatch, crmPatch mapping.Values) []Conflict {
	var out []Conflict
	for _, c := range cs {
		patch := deskPatch
		if c.Winner == mapping.Desk {
			patch = crmPatch
		}
		if _, written := patch[c.Key]; written || !c.FirstSync {
			out = append(out, c)
		}
	}
	return out
}
