package reconcile

import (
	"time"

	"deskcrm/mapping"
)

// Record is one record of one side as the sync reads it, converted to canonical values.
type Record struct {
	// Side is where the record lives.
	Side mapping.Side
	// ID is its id on that side.
	ID string
	// Created and Modified are its creation and last modification times.
	Created, Modified time.Time
	// Values are its mapped values (see mapping.Values: absent = unknown, nil = empty).
	Values mapping.Values
	// Key is its match key (MatchKey): "" when it has none.
	Key string
	// Counterpart is the id its counterpart-id field holds (CRM Desk_ID, Desk cf_crm_id), "" when
	// empty or unknown.
	Counterpart string
	// Problems are the values that could not be read into their mapped type (left out of
	// Values), to be logged as TYPE_MISMATCH failures.
	Problems []mapping.Problem
	// DeskRefs holds, per mapped field key, the Desk account a Desk record's reference names
	// when that account had no CRM counterpart when the record was read: the value is absent
	// from Values until it is translated (the reader does, once the account is linked).
	DeskRefs map[string]string
}

// Link is a link between a Desk and a CRM record as the plans see it.
type Link struct {
	ID     int64
	DeskID string
	CRMID  string
	// Linked is false for a pending link: a create of the record is under way.
	Linked bool
	// Base is the pair's merge base; BaseHash its stored hash.
	Base     Base
	BaseHash string
	// DeskModified and CRMModified are the records' modified times at the last sync.
	DeskModified, CRMModified time.Time
	// DeskDeleted and CRMDeleted are the deletion marks ("", DeletedTrash, DeletedPermanent).
	DeskDeleted, CRMDeleted string
}

// IDOf returns the link's record id on side s.
func (l Link) IDOf(s mapping.Side) string {
	if s == mapping.Desk {
		return l.DeskID
	}
	return l.CRMID
}

// Failure is a record that could not be synced for a reason retrying cannot fix, with the
// code and message shown in the failure log. Messages name fields and ids, never values.
type Failure struct {
	// To is the side the record was to be written to (its direction is From → To).
	To     mapping.Side
	DeskID string
	CRMID  string
	Code   string
	// Message says what went wrong and what to change.
	Message string
}

// Create creates a record on Target from a record of the other side.
type Create struct {
	Target mapping.Side
	// Source is the record created from.
	Source Record
	// Patch is what the create writes (CreateResult.Patch); Base the new link's merge base.
	Patch mapping.Values
	Base  Base
	// Relink is the link to point at the new record (its counterpart was deleted for good and
	// is created again); 0 for a record never linked.
	Relink int64
	// Replaces is the id of the record gone for good that the create stands in for (with
	// Relink; "" for a new record).
	Replaces string
	// Failures are the values the create leaves out (see mapping.Carry), to log once the
	// record exists (with its new id).
	Failures []Failure
}

// Update writes a linked pair: a patch per side (either may be empty), then stores its new
// base.
type Update struct {
	// LinkID is the pair's link; 0 for a pair this plan links (Match set).
	LinkID int64
	DeskID string
	CRMID  string
	// Match is set for a pair linked by this plan: the writer links it first.
	Match bool
	// DeskPatch and CRMPatch are the canonical values to write.
	DeskPatch, CRMPatch mapping.Values
	// Counterparts: also write each side's counterpart-id field (the pair's ids), because a side
	// does not hold its counterpart's id yet.
	DeskCounterpart, CRMCounterpart bool
	// Base is the merge base to store once written; zero keeps the stored one.
	Base Base
	// Held is the stored base of a pair whose update writes only counterpart ids (Base zero):
	// once written, its records are in sync but for the values the base holds apart, and
	// their failures close as a written pair's do (a failed Desk_ID write stayed open after
	// the write went through: a trial).
	Held Base
	// Conflicts are the fields a rule decided between two values (see Merge): changed on both
	// sides since the last sync, or (Conflict.FirstSync) holding different values when the
	// field was first synced for the pair — a field newly mapped, or a pair just matched —,
	// whose value on one side the rule replaced.
	Conflicts []Conflict
	// DeskModified and CRMModified are the records' modified times to store with the base.
	DeskModified, CRMModified time.Time
	// Restore is set when the Desk record is in the recycle bin: restore it first (Desk only;
	// CRM has no restore in its API).
	Restore bool
	// Source is the side whose change this is (its earlier failures close once written); ""
	// for both (a first reconcile).
	Source mapping.Side
	// Recreate is the create to fall back on when the record to restore or to write turns out
	// to be gone for good (the change re-creates it, as an update after a delete does).
	Recreate *Create
	// ClearDeletion is the side whose deletion mark to clear once written ("" = none).
	ClearDeletion mapping.Side
}

// IDOf returns the pair's record id on side s.
func (u Update) IDOf(s mapping.Side) string {
	if s == mapping.Desk {
		return u.DeskID
	}
	return u.CRMID
}

// Writes reports whether the update writes anything to Zoho.
func (u Update) Writes() bool {
	return len(u.DeskPatch) > 0 || len(u.CRMPatch) > 0 || u.DeskCounterpart || u.CRMCounterpart || u.Restore
}

// Mark records on a link that one of its records was deleted (deletes never propagate).
type Mark struct {
	Side mapping.Side
	ID   string
	// Kind is DeletedTrash or DeletedPermanent.
	Kind string
}

// Clear removes a link's deletion mark of Side without writing anything: the record came back
// on its own.
type Clear struct {
	LinkID int64
	Side   mapping.Side
}

// Plan is what one sync step decided: every write to either side, the links and marks to
// record, and the failures to log. The writer carries it out; nothing in it has happened yet.
type Plan struct {
	Creates  []Create
	Updates  []Update
	Marks    []Mark
	Clears   []Clear
	Failures []Failure
	// Unindex lists deleted records to drop from the index, so they are never matched again.
	Unindex []Mark
	// InSync lists records retried by the admin (ChangesInput.Retried) that need no write:
	// what failed no longer does (its field unmapped, the value fixed on the other side), so
	// their failures close. Without this a retry planned nothing and the failure stayed open.
	InSync []SideID
	// Counts of what needs no write.
	Echoes, Skipped, Matched int
}

// Add appends another plan's entries to p.
func (p *Plan) Add(o Plan) {
	p.Creates = append(p.Creates, o.Creates...)
	p.Updates = append(p.Updates, o.Updates...)
	p.Marks = append(p.Marks, o.Marks...)
	p.Clears = append(p.Clears, o.Clears...)
	p.Failures = append(p.Failures, o.Failures...)
	p.Unindex = append(p.Unindex, o.Unindex...)
	p.InSync = append(p.InSync, o.InSync...)
	p.Echoes += o.Echoes
	p.Skipped += o.Skipped
	p.Matched += o.Matched
}

// notCarried adds the failures of values that could not be carried.
func (p *Plan) notCarried(deskID, crmID string, problems []mapping.Problem) {
	p.Failures = append(p.Failures, notCarriedFailures(deskID, crmID, problems)...)
}

// notCarriedFailures are the failures of values that could not be carried (account
// references with no counterpart yet are not failures: the record syncs without them).
func notCarriedFailures(deskID, crmID string, problems []mapping.Problem) []Failure {
	var out []Failure
	for _, pr := range problems {
		if pr.Code == mapping.CodeUnresolvedReference {
			continue
		}
		out = append(out, Failure{To: pr.To, DeskID: deskID, CRMID: crmID, Code: string(pr.Code), Message: pr.Message})
	}
	return out
}

// readProblems adds the failures of values of r that did not fit their mapped type.
func (p *Plan) readProblems(r Record) {
	deskID, crmID := ids(r)
	for _, pr := range r.Problems {
		if pr.Code == mapping.CodeUnresolvedReference {
			continue
		}
		p.Failures = append(p.Failures, Failure{To: r.Side.Other(), DeskID: deskID, CRMID: crmID, Code: string(pr.Code), Message: pr.Message})
	}
}

// ids returns r's id in the Desk or CRM position.
func ids(r Record) (deskID, crmID string) {
	if r.Side == mapping.Desk {
		return r.ID, ""
	}
	return "", r.ID
}
