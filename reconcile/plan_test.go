package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"deskcrm/mapping"
)

// The plans' table tests: every decision the incremental pass and the first sync's steps make,
// on records as the read room hands them over, with no database and no API.

var planBase = V{kName: "Doe", kTitle: "CEO", kPhone: "1", kMobile: "2", kCity: "Paris", kZip: "75001", kAcct: "C1"}

func withBase(changes V) V {
	out := planBase.Clone()
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func rec(side mapping.Side, id string, vals V, modified time.Time, counterpart string) Record {
	return Record{Side: side, ID: id, Values: vals, Modified: modified, Key: strings.ToLower(id) + "@x", Counterpart: counterpart}
}

// linked is the link of Desk d1 and CRM c1 with the shared base.
func linked() Link {
	return Link{ID: 7, DeskID: "d1", CRMID: "c1", Linked: true, Base: sb(planBase), BaseHash: sb(planBase).Hash(), DeskModified: t0, CRMModified: t0}
}

func linksOf(ls ...Link) map[SideID]Link {
	out := map[SideID]Link{}
	for _, l := range ls {
		if l.DeskID != "" {
			out[SideID{mapping.Desk, l.DeskID}] = l
		}
		if l.CRMID != "" {
			out[SideID{mapping.CRM, l.CRMID}] = l
		}
	}
	return out
}

// summary renders a plan's entries in a stable, readable form.
func summary(pl Plan) []string {
	var out []string
	for _, c := range pl.Creates {
		s := "create in " + string(c.Target) + " from " + c.Source.ID
		if c.Relink != 0 {
			s += " relinking"
		}
		out = append(out, s+" "+keys(c.Patch))
	}
	for _, u := range pl.Updates {
		s := "update " + u.DeskID + "/" + u.CRMID
		if u.Match {
			s += " match"
		}
		if u.Restore {
			s += " restore"
		}
		s += " desk" + keys(u.DeskPatch) + " crm" + keys(u.CRMPatch)
		if u.DeskCounterpart {
			s += " +cf_crm_id"
		}
		if u.CRMCounterpart {
			s += " +Desk_ID"
		}
		out = append(out, s)
	}
	for _, m := range pl.Marks {
		out = append(out, "mark "+string(m.Side)+" "+m.ID+" "+m.Kind)
	}
	for _, c := range pl.Clears {
		out = append(out, "clear "+string(c.Side))
	}
	for _, f := range pl.Failures {
		out = append(out, "fail "+f.Code+" "+f.DeskID+f.CRMID+" to "+string(f.To))
	}
	return out
}

func keys(v V) string {
	var ks []string
	for _, f := range testMapping().Fields {
		if x, ok := v[f.Key()]; ok {
			ks = append(ks, strings.SplitN(f.Key(), "=", 2)[0]+"="+toString(x))
		}
	}
	return "{" + strings.Join(ks, ",") + "}"
}

func toString(x any) string {
	if x == nil {
		return "nil"
	}
	s, _ := x.(string)
	return s
}

func TestPlanChanges(t *testing.T) {
	d1, c1 := "d1", "c1"
	tests := []struct {
		name string
		in   ChangesInput
		want []string
		// counts: echoes, skipped, matched
		echoes, skipped, matched int
	}{
		{
			name:   "our own writes read again are echoes",
			in:     ChangesInput{Changed: []Record{rec(mapping.Desk, d1, planBase, newer, c1), rec(mapping.CRM, c1, planBase, newer, d1)}, Links: linksOf(linked())},
			echoes: 1,
		},
		{
			name: "a Desk change reaches CRM",
			in:   ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "CTO"}), newer, c1)}, Links: linksOf(linked())},
			want: []string{"update d1/c1 desk{} crm{title=CTO}"},
		},
		{
			name: "a CRM change reaches Desk, and the side missing its counterpart id gets it",
			in:   ChangesInput{Changed: []Record{rec(mapping.CRM, c1, withBase(V{kPhone: "9"}), newer, "")}, Links: linksOf(linked())},
			want: []string{"update d1/c1 desk{phone=9} crm{} +Desk_ID"},
		},
		{
			name: "both sides changed different fields: one update writes both",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "CTO"}), newer, c1),
				rec(mapping.CRM, c1, withBase(V{kPhone: "9"}), older, d1)}, Links: linksOf(linked())},
			want: []string{"update d1/c1 desk{phone=9} crm{title=CTO}"},
		},
		{
			name: "an echo on one side lets the other side's change through",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "CTO"}), newer, c1),
				rec(mapping.CRM, c1, planBase, newer, d1)}, Links: linksOf(linked())},
			want: []string{"update d1/c1 desk{} crm{title=CTO}"},
		},
		{
			name:    "a version that failed already is skipped until it changes",
			in:      ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "CTO"}), older, c1)}, Links: linksOf(linked()), FailedAt: map[SideID]time.Time{{mapping.Desk, d1}: older}},
			skipped: 1,
		},
		{
			name: "a value that does not fit its type is logged; the other fields still sync",
			in: ChangesInput{Changed: []Record{{Side: mapping.Desk, ID: d1, Values: withBase(V{kTitle: "CTO"}), Modified: newer, Counterpart: c1,
				Problems: []mapping.Problem{{Code: mapping.CodeTypeMismatch, Desk: "mobile", CRM: "Mobile", Message: "Text value given for a phone field"}}}},
				Links: linksOf(linked())},
			want: []string{"update d1/c1 desk{} crm{title=CTO}", "fail TYPE_MISMATCH d1 to crm"},
		},
		{
			name: "deletes are recorded, never propagated, and leave the index",
			in:   ChangesInput{Deleted: []Deletion{{Side: mapping.Desk, ID: d1}, {Side: mapping.CRM, ID: "c9", Permanent: true}}, Links: linksOf(linked())},
			want: []string{"mark desk d1 trash"},
		},
		{
			name: "an update after the Desk counterpart was trashed restores it",
			in: ChangesInput{Changed: []Record{rec(mapping.CRM, c1, withBase(V{kTitle: "CFO"}), newer, d1)},
				Links: linksOf(Link{ID: 7, DeskID: d1, CRMID: c1, Linked: true, Base: sb(planBase), DeskDeleted: DeletedTrash})},
			want: []string{"update d1/c1 restore desk{lastName=Doe,title=CFO,phone=1,mobile=2,city=Paris,accountId=C1} crm{}"},
		},
		{
			name: "a deletion read in the same pass is seen by the change: the CRM record deleted for good is created again",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "Back"}), newer, c1)},
				Deleted: []Deletion{{Side: mapping.CRM, ID: c1, Permanent: true}}, Links: linksOf(linked())},
			want: []string{"create in crm from d1 relinking {lastName=Doe,title=Back,phone=1,mobile=2,zip=75001,accountId=C1}", "mark crm c1 permanent"},
		},
		{
			name: "CRM has no restore: a Desk change after a CRM trash re-creates it",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "Back"}), newer, c1)},
				Links: linksOf(Link{ID: 7, DeskID: d1, CRMID: c1, Linked: true, Base: sb(planBase), CRMDeleted: DeletedTrash})},
			want: []string{"create in crm from d1 relinking {lastName=Doe,title=Back,phone=1,mobile=2,zip=75001,accountId=C1}"},
		},
		{
			name: "a record changed on its own side after its deletion mark: restored there, mark cleared",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, d1, planBase, newer, c1)},
				Links: linksOf(Link{ID: 7, DeskID: d1, CRMID: c1, Linked: true, Base: sb(planBase), DeskDeleted: DeletedTrash})},
			want:   []string{"clear desk"},
			echoes: 1,
		},
		{
			name:   "one-way: a Desk change is not sent",
			in:     ChangesInput{Mode: mapping.OneWay, Changed: []Record{rec(mapping.Desk, d1, withBase(V{kTitle: "CTO"}), newer, c1)}, Links: linksOf(linked())},
			echoes: 1,
		},
		{
			name: "a new record nobody else has is created on the other side",
			in:   ChangesInput{Changed: []Record{rec(mapping.CRM, "c2", V{kName: "New", kZip: "1"}, newer, "")}},
			want: []string{"create in desk from c2 {lastName=New}"},
		},
		{
			name: "a new record matched by key is linked and merged, both sides get their counterpart's id",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, "d2", V{kName: "Doe", kTitle: "CTO", kPhone: nil}, newer, "")},
				Candidates: map[string][]Candidate{"d2@x": {{Side: mapping.CRM, ID: "c2", Record: &Record{Side: mapping.CRM, ID: "c2",
					Values: V{kName: "Doe", kTitle: nil, kPhone: "5"}, Modified: older}}}}},
			want:    []string{"update d2/c2 match desk{phone=5} crm{title=CTO} +cf_crm_id +Desk_ID"},
			matched: 1,
		},
		{
			name: "a new record whose key several records share is ambiguous",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, "d2", V{kName: "Doe"}, newer, "")},
				Candidates: map[string][]Candidate{"d2@x": {{Side: mapping.CRM, ID: "c2"}, {Side: mapping.CRM, ID: "c3"}}}},
			want: []string{"fail AMBIGUOUS_MATCH d2 to crm"},
		},
		{
			name: "a new record whose key only linked records carry is a duplicate",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, "d2", V{kName: "Doe"}, newer, "")},
				Candidates: map[string][]Candidate{"d2@x": {{Side: mapping.CRM, ID: "c2", Linked: true}}}},
			want: []string{"fail CRM_ID_ALREADY_MAPPED d2 to crm"},
		},
		{
			name: "a new record with a value too long for a field the target requires is not created",
			in: ChangesInput{Changed: []Record{rec(mapping.Desk, "d2", V{kName: strings.Repeat("x", 90)}, newer, "")},
				Mapping: limitedMapping()},
			want: []string{"fail VALUE_TOO_LONG d2 to crm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.Mapping.Fields == nil {
				tt.in.Mapping = testMapping()
			}
			tt.in.Refs = testRefs()
			pl := PlanChanges(tt.in)
			if got := summary(pl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if pl.Echoes != tt.echoes || pl.Skipped != tt.skipped || pl.Matched != tt.matched {
				t.Errorf("echoes %d skipped %d matched %d, want %d %d %d", pl.Echoes, pl.Skipped, pl.Matched, tt.echoes, tt.skipped, tt.matched)
			}
			if len(tt.in.Deleted) > 0 && len(pl.Unindex) != len(tt.in.Deleted) {
				t.Errorf("unindex %v, want every deleted record", pl.Unindex)
			}
		})
	}
}

// limitedMapping is testMapping with CRM's Last_Name required and 80 characters long.
func limitedMapping() mapping.Mapping {
	m := testMapping()
	m.Fields[0].CRMLimits = mapping.Limits{Label: "Last Name", Length: 80, Mandatory: true}
	return m
}

func TestPlanChangesCreatesCarryTheirFailuresToTheNewRecord(t *testing.T) {
	m := testMapping()
	m.Fields[5].CRMLimits = mapping.Limits{Length: 3} // zip
	pl := PlanChanges(ChangesInput{Mapping: m, Refs: testRefs(), Changed: []Record{rec(mapping.Desk, "d2", V{kName: "Doe", kZip: "75001"}, newer, "")}})
	if len(pl.Creates) != 1 || len(pl.Failures) != 0 {
		t.Fatalf("plan %v", summary(pl))
	}
	c := pl.Creates[0]
	if _, ok := c.Patch[kZip]; ok || len(c.Failures) != 1 || c.Failures[0].Code != "VALUE_TOO_LONG" {
		t.Fatalf("create %+v: the zip should be left out and its failure kept for the new record", c)
	}
	if !strings.Contains(c.Failures[0].Message, "at most 3") || strings.Contains(c.Failures[0].Message, "75001") {
		t.Errorf("message %q should give the limit and not the value", c.Failures[0].Message)
	}
}

func TestCounterpartsNeeded(t *testing.T) {
	l := linked()
	l.Base = Base{Desk: planBase, CRM: withBase(V{kMobile: nil})}
	delete(l.Base.CRM, kMobile) // CRM's mobile was never synced
	changed := []Record{rec(mapping.Desk, "d1", withBase(V{kMobile: "7"}), newer, "c1")}
	got := CounterpartsNeeded(testMapping(), changed, linksOf(l))
	if !reflect.DeepEqual(got, []SideID{{mapping.CRM, "c1"}}) {
		t.Errorf("needed %v, want CRM c1", got)
	}
	// Both changed: the counterpart is read already.
	changed = append(changed, rec(mapping.CRM, "c1", planBase, newer, "d1"))
	if got := CounterpartsNeeded(testMapping(), changed, linksOf(l)); len(got) != 0 {
		t.Errorf("needed %v, want none", got)
	}
}

func TestPlanReconcile(t *testing.T) {
	pairs := []Pair{
		// Identical, Desk knows its counterpart, CRM does not.
		{Link: Link{ID: 1, DeskID: "d1", CRMID: "c1", Linked: true}, Desk: rec(mapping.Desk, "d1", planBase, older, "c1"), CRM: rec(mapping.CRM, "c1", planBase, older, "")},
		// Different titles, Desk newer; CRM's account has no Desk counterpart.
		{Link: Link{ID: 2, DeskID: "d2", CRMID: "c2", Linked: true}, Desk: rec(mapping.Desk, "d2", V{kName: "Roe", kTitle: "CTO", kAcct: nil}, newer, "c2"),
			CRM: rec(mapping.CRM, "c2", V{kName: "Roe", kTitle: "CFO", kAcct: "C-old"}, older, "d2")},
	}
	pl := PlanReconcile(ReconcileInput{Mapping: testMapping(), Refs: testRefs(), Pairs: pairs})
	want := []string{"update d1/c1 desk{} crm{} +Desk_ID", "update d2/c2 desk{} crm{title=CTO}"}
	if got := summary(pl); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b := pl.Updates[1].Base
	if b.Desk[kAcct] != nil || b.CRM[kAcct] != "C-old" {
		t.Errorf("base %+v: the account not carried must stay apart", b)
	}
	// One-way: nothing to CRM, its counterpart id included.
	pl = PlanReconcile(ReconcileInput{Mapping: testMapping(), Mode: mapping.OneWay, Refs: testRefs(), Pairs: pairs[:1]})
	if got := summary(pl); !reflect.DeepEqual(got, []string{"update d1/c1 desk{} crm{}"}) {
		t.Errorf("one-way plan %v", got)
	}
}

func TestPlanUnlinkedOneWayLeavesDeskRecords(t *testing.T) {
	pl := PlanUnlinked(UnlinkedInput{Mapping: testMapping(), Mode: mapping.OneWay, Records: []Record{rec(mapping.Desk, "d1", planBase, newer, "")}})
	if len(summary(pl)) != 0 || pl.Echoes != 1 {
		t.Errorf("one-way plan %v", summary(pl))
	}
}

func TestPlanRelink(t *testing.T) {
	d := func(id, cp string) Pointer { return Pointer{Side: mapping.Desk, ID: id, Counterpart: cp} }
	c := func(id, cp string) Pointer { return Pointer{Side: mapping.CRM, ID: id, Counterpart: cp} }
	plan := PlanRelink(
		[]Pointer{d("d1", "c1"), d("d2", ""), d("d3", "c3"), d("d4", "c9"), d("d5", "c5"), d("d6", "c5"), d("d7", ""),
			d("e1", "x1"), d("e2", "x2"), d("e3", "x2")},
		[]Pointer{c("c1", "d1"), c("c2", "d2"), c("c3", ""), c("c5", "d5"), c("c7", "d8"), c("x3", "f3"), c("x4", "e1")},
		// Deleted: CRM x1 (recycle bin), x2 (for good); Desk f3 (recycle bin).
		map[SideID]string{{mapping.CRM, "x1"}: DeletedTrash, {mapping.CRM, "x2"}: DeletedPermanent, {mapping.Desk, "f3"}: DeletedTrash},
	)
	var pairs []string
	for _, p := range plan.Pairs {
		pairs = append(pairs, p.Link.DeskID+"-"+p.Link.CRMID+p.Link.DeskDeleted+p.Link.CRMDeleted)
	}
	// d1-c1 both agree; d2-c2 and d3-c3 one side states, the other holds nothing; d5 and d6
	// both claim c5; d4 points at a missing record; c7 at a missing one. f3-x3: CRM x3 points
	// at Desk f3 in the recycle bin, linked so marked; e2 and e3 both point at x2, deleted: a
	// conflict; e1 points at x1, deleted, but live x4 points at e1: a conflict.
	if want := []string{"d1-c1", "d2-c2", "d3-c3", "f3-x3trash"}; !reflect.DeepEqual(pairs, want) {
		t.Errorf("pairs %v, want %v", pairs, want)
	}
	var conflicts []string
	for _, p := range plan.Conflicts {
		conflicts = append(conflicts, p.ID)
	}
	if want := []string{"d4", "d5", "d6", "e1", "e2", "e3", "c5", "c7", "x4"}; !reflect.DeepEqual(conflicts, want) {
		t.Errorf("conflicts %v, want %v", conflicts, want)
	}
	// The trial's pairs: each live record points at a deleted one nothing else claims.
	plan = PlanRelink([]Pointer{d("d1", "c1")}, []Pointer{c("c2", "d2")},
		map[SideID]string{{mapping.CRM, "c1"}: DeletedPermanent, {mapping.Desk, "d2"}: DeletedTrash})
	pairs = nil
	for _, p := range plan.Pairs {
		pairs = append(pairs, p.Link.DeskID+"-"+p.Link.CRMID+":"+p.Link.DeskDeleted+"/"+p.Link.CRMDeleted)
	}
	if want := []string{"d1-c1:/permanent", "d2-c2:trash/"}; !reflect.DeepEqual(pairs, want) || len(plan.Conflicts) != 0 {
		t.Errorf("pairs %v, conflicts %v; want %v and none", pairs, plan.Conflicts, want)
	}
}

// An unlinked record whose counterpart-id field names a record linked to another one is a
// copy of that pair's record: logged as CRM_ID_ALREADY_MAPPED, never created on the other
// side. One naming a record that is unlinked, pending or linked to it is decided as usual.
func TestPlanUnlinkedRefusesCopiesOfLinkedRecords(t *testing.T) {
	l := linked() // d1 ⇄ c1
	pending := Link{ID: 8, DeskID: "d8", CRMID: "c8"}
	for _, tc := range []struct {
		name    string
		r       Record
		want    []string
		failure bool
	}{
		{"a Desk copy naming a linked CRM record", rec(mapping.Desk, "d2", planBase, newer, "c1"), nil, true},
		{"a CRM copy naming a linked Desk record", rec(mapping.CRM, "c2", planBase, newer, "d1"), nil, true},
		{"naming an unknown record", rec(mapping.Desk, "d3", planBase, newer, "c404"), []string{"create crm from d3"}, false},
		{"naming a pending link", rec(mapping.Desk, "d4", planBase, newer, "c8"), []string{"create crm from d4"}, false},
		{"naming nothing", rec(mapping.Desk, "d5", planBase, newer, ""), []string{"create crm from d5"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := PlanUnlinked(UnlinkedInput{Mapping: testMapping(), Mode: mapping.TwoWay, Refs: testRefs(),
				Records: []Record{tc.r}, Claimed: linksOf(l, pending)})
			var creates []string
			for _, c := range pl.Creates {
				creates = append(creates, fmt.Sprintf("create %s from %s", c.Target, c.Source.ID))
			}
			if !reflect.DeepEqual(creates, tc.want) {
				t.Errorf("creates %v, want %v", creates, tc.want)
			}
			if got := len(pl.Failures) == 1 && pl.Failures[0].Code == CodeAlreadyMapped; got != tc.failure {
				t.Errorf("failures %+v, want a CRM_ID_ALREADY_MAPPED: %v", pl.Failures, tc.failure)
			}
			if tc.failure && !strings.Contains(pl.Failures[0].Message, "copy") {
				t.Errorf("message %q does not say it is a copy", pl.Failures[0].Message)
			}
		})
	}
	// Through an incremental pass too.
	pl := PlanChanges(ChangesInput{Mapping: testMapping(), Mode: mapping.TwoWay, Refs: testRefs(),
		Changed: []Record{rec(mapping.Desk, "d2", planBase, newer, "c1")}, Links: map[SideID]Link{}, Claimed: linksOf(l)})
	if len(pl.Creates) != 0 || len(pl.Failures) != 1 {
		t.Errorf("incremental plan: creates %v, failures %+v", pl.Creates, pl.Failures)
	}
}

// A pair just matched whose records held different values is the conflict log's: the kept
// value is written over the other (a trial: a CRM contact's long-standing name replaced by
// the name a customer typed into Desk, with no trace). A value filling an empty field is not.
func TestMatchedPairsLogTheValuesWrittenOver(t *testing.T) {
	want := []Conflict{{Key: kName, Winner: mapping.Desk, Rule: string(mapping.Newest), FirstSync: true}}
	// Incremental: a new Desk record matched by its key.
	pl := PlanChanges(ChangesInput{Mapping: testMapping(), Refs: testRefs(),
		Changed: []Record{rec(mapping.Desk, "d2", V{kName: "NewDoe", kTitle: "CTO"}, newer, "")},
		Candidates: map[string][]Candidate{"d2@x": {{Side: mapping.CRM, ID: "c2", Record: &Record{Side: mapping.CRM, ID: "c2",
			Values: V{kName: "OldDoe", kTitle: nil}, Modified: older}}}}})
	if len(pl.Updates) != 1 || !reflect.DeepEqual(pl.Updates[0].Conflicts, want) {
		t.Errorf("matched: updates %+v, want one with conflicts %+v", pl.Updates, want)
	}
	// First sync: a pair the match step linked, reconciled.
	pl = PlanReconcile(ReconcileInput{Mapping: testMapping(), Refs: testRefs(), Pairs: []Pair{{
		Link: Link{ID: 1, DeskID: "d2", CRMID: "c2", Linked: true},
		Desk: rec(mapping.Desk, "d2", V{kName: "NewDoe", kTitle: "CTO"}, newer, "c2"),
		CRM:  rec(mapping.CRM, "c2", V{kName: "OldDoe", kTitle: nil}, older, "d2")}}})
	if len(pl.Updates) != 1 || !reflect.DeepEqual(pl.Updates[0].Conflicts, want) {
		t.Errorf("reconciled: updates %+v, want one with conflicts %+v", pl.Updates, want)
	}
	// Identical records: nothing to log.
	pl = PlanReconcile(ReconcileInput{Mapping: testMapping(), Refs: testRefs(), Pairs: []Pair{{
		Link: Link{ID: 1, DeskID: "d1", CRMID: "c1", Linked: true},
		Desk: rec(mapping.Desk, "d1", planBase, older, "c1"), CRM: rec(mapping.CRM, "c1", planBase, older, "d1")}}})
	if len(pl.Updates) != 1 || len(pl.Updates[0].Conflicts) != 0 {
		t.Errorf("identical: updates %+v, want no conflict", pl.Updates)
	}
}

func TestHoldDuplicateRecreates(t *testing.T) {
	src := Record{Side: mapping.Desk, ID: "d2", Key: "ann@x"}
	creates := []Create{
		{Target: mapping.CRM, Source: src, Relink: 7},                                                                // a twin holds the key: held
		{Target: mapping.CRM, Source: Record{Side: mapping.Desk, ID: "d3", Key: "cid@x"}, Relink: 8, Replaces: "c3"}, // only the gone counterpart and unlinked records: kept
		{Target: mapping.CRM, Source: Record{Side: mapping.Desk, ID: "d4", Key: "ann@x"}},                            // a new record (no Relink): matched elsewhere, kept
	}
	cands := map[string][]Candidate{
		"ann@x": {{Side: mapping.Desk, ID: "d1", Linked: true}, {Side: mapping.CRM, ID: "c1", Linked: true, Record: &Record{Counterpart: "d1"}}},
		"cid@x": {{Side: mapping.CRM, ID: "c3", Linked: true}, {Side: mapping.CRM, ID: "c5", Linked: true, Record: &Record{Counterpart: "d3"}}, {Side: mapping.CRM, ID: "c9"}},
	}
	keep, held := HoldDuplicateRecreates(mapping.Contacts, creates, cands)
	if len(keep) != 2 || keep[0].Source.ID != "d3" || keep[1].Source.ID != "d4" {
		t.Errorf("kept %+v, want d3's and d4's creates", keep)
	}
	if len(held) != 1 || held[0].DeskID != "d2" || held[0].To != mapping.CRM || held[0].Code != CodeAlreadyMapped ||
		!strings.Contains(held[0].Message, "CRM record c1") {
		t.Errorf("held %+v, want d2's naming CRM record c1", held)
	}
}
