package activities

import (
	"testing"

	"deskcrm/mapping"
	"deskcrm/reconcile"
)

// A chunk planned while the one before it is written is planned again when it may depend on
// those writes: when it has unlinked records, or shares a record or a pair with it.
func TestAChunkDependsOnThePreviousOneOnlyThroughSharedPairsOrMatching(t *testing.T) {
	crm := func(id string) reconcile.Record { return reconcile.Record{Side: mapping.CRM, ID: id} }
	desk := func(id string) reconcile.Record { return reconcile.Record{Side: mapping.Desk, ID: id} }
	link := func(crmID, deskID string) reconcile.Link {
		return reconcile.Link{CRMID: crmID, DeskID: deskID, Linked: true}
	}
	chunk := func(recs []reconcile.Record, links ...reconcile.Link) reconcile.ChangesInput {
		in := reconcile.ChangesInput{Changed: recs, Links: map[reconcile.SideID]reconcile.Link{}}
		for _, l := range links {
			in.Links[reconcile.SideID{Side: mapping.CRM, ID: l.CRMID}] = l
			in.Links[reconcile.SideID{Side: mapping.Desk, ID: l.DeskID}] = l
		}
		return in
	}
	prev := chunk([]reconcile.Record{crm("c1"), crm("c2")}, link("c1", "d1"), link("c2", "d2"))
	cases := []struct {
		name string
		c    reconcile.ChangesInput
		want bool
	}{
		{"other linked pairs", chunk([]reconcile.Record{crm("c3"), desk("d4")}, link("c3", "d3"), link("c4", "d4")), false},
		{"the same record again", chunk([]reconcile.Record{crm("c2")}, link("c2", "d2")), true},
		{"the counterpart of a record before", chunk([]reconcile.Record{desk("d1")}, link("c1", "d1")), true},
		{"an unlinked record", chunk([]reconcile.Record{crm("c3"), crm("c9")}, link("c3", "d3")), true},
		{"a pending link", chunk([]reconcile.Record{crm("c5")}, reconcile.Link{CRMID: "c5", DeskID: "d5"}), true},
	}
	for _, c := range cases {
		if got := dependsOn(c.c, prev); got != c.want {
			t.Errorf("%s: dependsOn = %v, want %v", c.name, got, c.want)
		}
	}
	// A deletion counts as a change of its pair.
	del := reconcile.ChangesInput{Deleted: []reconcile.Deletion{{Side: mapping.Desk, ID: "d3"}},
		Links: map[reconcile.SideID]reconcile.Link{{Side: mapping.Desk, ID: "d3"}: link("c3", "d3")}}
	if !dependsOn(chunk([]reconcile.Record{crm("c3")}, link("c3", "d3")), del) {
		t.Error("a chunk changing a pair whose record the previous chunk deleted does not depend on it")
	}
}
