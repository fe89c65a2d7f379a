package reconcile

import (
	"slices"

	"deskcrm/mapping"
)

// Pointer is a record and the counterpart id its counterpart-id field holds (CRM Desk_ID, Desk
// cf_crm_id): what the two apps say is linked.
type Pointer struct {
	Side        mapping.Side
	ID          string
	Counterpart string
}

// RelinkPlan is what the apps' counterpart ids say the link table holds.
type RelinkPlan struct {
	// Pairs are the links the apps agree on, or that one side states and the other does not
	// contradict (it holds no counterpart id), in Desk id order.
	Pairs []Pair
	// Conflicts are records whose counterpart id points at a record that is missing, or that
	// points elsewhere, or that several records point at: not linked, for a person to look at.
	Conflicts []Pointer
}

// PlanRelink rebuilds links from the counterpart ids both apps hold (every linked pair carries
// its counterpart's id on both sides): a pair is linked when each side points at the other, or
// when one side points at a record of the other side that points at nothing and that nothing
// else points at. A record pointing at one that is deleted (gone: its side and id, with
// DeletedTrash or DeletedPermanent) that nothing else points at is linked with that deletion
// mark, as the link table held it: the sync then restores or re-creates it when the live
// record changes, as DESIGN's deletes say. (Left out, the next edit of the live record created
// a second record beside the one in the recycle bin.) Anything else is a conflict, left
// unlinked. The Pairs' records carry only their ids; the caller fills their values.
func PlanRelink(desk, crm []Pointer, gone map[SideID]string) RelinkPlan {
	byDesk := map[string]Pointer{}
	byCRM := map[string]Pointer{}
	for _, p := range desk {
		byDesk[p.ID] = p
	}
	for _, p := range crm {
		byCRM[p.ID] = p
	}
	claims := map[SideID]int{} // how many records point at each record
	for _, p := range desk {
		if p.Counterpart != "" {
			claims[SideID{mapping.CRM, p.Counterpart}]++
		}
	}
	for _, p := range crm {
		if p.Counterpart != "" {
			claims[SideID{mapping.Desk, p.Counterpart}]++
		}
	}
	var plan RelinkPlan
	linked := map[SideID]bool{}
	agree := func(d, c Pointer) bool {
		if claims[SideID{mapping.CRM, c.ID}] > 1 || claims[SideID{mapping.Desk, d.ID}] > 1 {
			return false
		}
		return (d.Counterpart == c.ID || d.Counterpart == "") && (c.Counterpart == d.ID || c.Counterpart == "")
	}
	// deleted links p with the deleted record it points at, when nothing else claims either.
	deleted := func(p Pointer) bool {
		other := SideID{p.Side.Other(), p.Counterpart}
		kind := gone[other]
		if kind == "" || claims[other] != 1 || claims[SideID{p.Side, p.ID}] != 0 {
			return false
		}
		l := Link{DeskID: p.ID, CRMID: p.Counterpart, Linked: true, CRMDeleted: kind}
		if p.Side == mapping.CRM {
			l = Link{DeskID: p.Counterpart, CRMID: p.ID, Linked: true, DeskDeleted: kind}
		}
		plan.Pairs = append(plan.Pairs, Pair{Link: l})
		return true
	}
	for _, d := range desk {
		if d.Counterpart == "" {
			continue
		}
		c, ok := byCRM[d.Counterpart]
		if !ok && deleted(d) {
			continue
		}
		if !ok || !agree(d, c) {
			plan.Conflicts = append(plan.Conflicts, d)
			continue
		}
		plan.Pairs = append(plan.Pairs, Pair{Link: Link{DeskID: d.ID, CRMID: c.ID, Linked: true}})
		linked[SideID{mapping.Desk, d.ID}], linked[SideID{mapping.CRM, c.ID}] = true, true
	}
	for _, c := range crm {
		if c.Counterpart == "" || linked[SideID{mapping.CRM, c.ID}] {
			continue
		}
		d, ok := byDesk[c.Counterpart]
		if !ok && deleted(c) {
			continue
		}
		if !ok || !agree(d, c) {
			plan.Conflicts = append(plan.Conflicts, c)
			continue
		}
		plan.Pairs = append(plan.Pairs, Pair{Link: Link{DeskID: d.ID, CRMID: c.ID, Linked: true}})
	}
	slices.SortFunc(plan.Pairs, func(a, b Pair) int { return compareIDs(a.Link.DeskID, b.Link.DeskID) })
	return plan
}
