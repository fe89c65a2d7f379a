package reconcile

import (
	"reflect"
	"testing"
	"time"

	"deskcrm/mapping"
)

// testMapping has one field per rule the merge knows.
func testMapping() mapping.Mapping {
	f := func(desk, crm string, t mapping.Type, dir mapping.Direction, p mapping.Policy) mapping.FieldMap {
		return mapping.FieldMap{Desk: desk, CRM: crm, Type: t, Direction: dir, Policy: p}
	}
	return mapping.Mapping{Module: mapping.Contacts, Fields: []mapping.FieldMap{
		f("lastName", "Last_Name", mapping.TypeText, mapping.Both, mapping.Newest),
		f("title", "Title", mapping.TypeText, mapping.Both, mapping.Newest),
		f("phone", "Phone", mapping.TypePhone, mapping.Both, mapping.CRMWins),
		f("mobile", "Mobile", mapping.TypePhone, mapping.Both, mapping.DeskWins),
		f("city", "Mailing_City", mapping.TypeText, mapping.CRMToDesk, mapping.Newest),
		f("zip", "Mailing_Zip", mapping.TypeText, mapping.DeskToCRM, mapping.Newest),
		f("accountId", "Account_Name", mapping.TypeLookup, mapping.Both, mapping.Newest),
	}}
}

const (
	kName   = "lastName=Last_Name"
	kTitle  = "title=Title"
	kPhone  = "phone=Phone"
	kMobile = "mobile=Mobile"
	kCity   = "city=Mailing_City"
	kZip    = "zip=Mailing_Zip"
	kAcct   = "accountId=Account_Name"
)

var (
	t0    = time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	older = t0
	newer = t0.Add(time.Minute)
)

type V = mapping.Values

func TestMerge(t *testing.T) {
	base := V{kName: "Doe", kTitle: "CEO", kPhone: "1", kMobile: "2", kCity: "Paris", kZip: "75001", kAcct: "C1"}
	with := func(changes V) V {
		out := base.Clone()
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name          string
		mode          mapping.Mode
		base          V
		desk, crm     V
		deskT, crmT   time.Time
		wantDesk      V
		wantCRM       V
		wantBase      *Base // nil = each side's values with its patch applied (checked generically)
		wantConflicts []Conflict
	}{
		{name: "nothing changed", base: base, desk: base, crm: base, wantDesk: V{}, wantCRM: V{}},
		{name: "Desk changed one field", base: base, desk: with(V{kTitle: "CTO"}), crm: base,
			wantDesk: V{}, wantCRM: V{kTitle: "CTO"}},
		{name: "CRM changed one field", base: base, desk: base, crm: with(V{kTitle: "CFO"}),
			wantDesk: V{kTitle: "CFO"}, wantCRM: V{}},
		{name: "cleared on one side propagates the clear", base: base, desk: with(V{kTitle: nil}), crm: base,
			wantDesk: V{}, wantCRM: V{kTitle: nil}},
		{name: "both changed different fields", base: base, desk: with(V{kTitle: "CTO"}), crm: with(V{kName: "Smith"}),
			wantDesk: V{kName: "Smith"}, wantCRM: V{kTitle: "CTO"}},
		{name: "both changed the same field to the same value", base: base, desk: with(V{kTitle: "CTO"}), crm: with(V{kTitle: "CTO"}),
			wantDesk: V{}, wantCRM: V{}},
		{name: "same field, newest: Desk newer", base: base, desk: with(V{kTitle: "CTO"}), crm: with(V{kTitle: "CFO"}), deskT: newer, crmT: older,
			wantDesk: V{}, wantCRM: V{kTitle: "CTO"}, wantConflicts: []Conflict{{Key: kTitle, Winner: mapping.Desk, Rule: "newest"}}},
		{name: "same field, newest: CRM newer", base: base, desk: with(V{kTitle: "CTO"}), crm: with(V{kTitle: "CFO"}), deskT: older, crmT: newer,
			wantDesk: V{kTitle: "CFO"}, wantCRM: V{}, wantConflicts: []Conflict{{Key: kTitle, Winner: mapping.CRM, Rule: "newest"}}},
		{name: "same field, newest: tie goes to CRM", base: base, desk: with(V{kTitle: "CTO"}), crm: with(V{kTitle: "CFO"}), deskT: t0, crmT: t0,
			wantDesk: V{kTitle: "CFO"}, wantCRM: V{}, wantConflicts: []Conflict{{Key: kTitle, Winner: mapping.CRM, Rule: RuleNewestTie}}},
		{name: "same field, crm-wins even when Desk is newer", base: base, desk: with(V{kPhone: "10"}), crm: with(V{kPhone: "11"}), deskT: newer, crmT: older,
			wantDesk: V{kPhone: "11"}, wantCRM: V{}, wantConflicts: []Conflict{{Key: kPhone, Winner: mapping.CRM, Rule: "crm-wins"}}},
		{name: "same field, desk-wins even when CRM is newer", base: base, desk: with(V{kMobile: "20"}), crm: with(V{kMobile: "21"}), deskT: older, crmT: newer,
			wantDesk: V{}, wantCRM: V{kMobile: "20"}, wantConflicts: []Conflict{{Key: kMobile, Winner: mapping.Desk, Rule: "desk-wins"}}},
		{name: "crm-wins policy does not stop a one-sided Desk change", base: base, desk: with(V{kPhone: "10"}), crm: base,
			wantDesk: V{}, wantCRM: V{kPhone: "10"}},
		{name: "crm-to-desk field: Desk change stays in Desk, base unchanged", base: base, desk: with(V{kCity: "Lyon"}), crm: base,
			wantDesk: V{}, wantCRM: V{}, wantBase: ptr(sb(base))},
		{name: "crm-to-desk field: CRM change flows", base: base, desk: base, crm: with(V{kCity: "Nice"}),
			wantDesk: V{kCity: "Nice"}, wantCRM: V{}},
		{name: "crm-to-desk field changed on both: CRM wins by direction", base: base, desk: with(V{kCity: "Lyon"}), crm: with(V{kCity: "Nice"}), deskT: newer,
			wantDesk: V{kCity: "Nice"}, wantCRM: V{}, wantConflicts: []Conflict{{Key: kCity, Winner: mapping.CRM, Rule: "direction"}}},
		{name: "desk-to-crm field: CRM change stays in CRM", base: base, desk: base, crm: with(V{kZip: "13001"}),
			wantDesk: V{}, wantCRM: V{}, wantBase: ptr(sb(base))},
		{name: "desk-to-crm field: Desk change flows", base: base, desk: with(V{kZip: "69001"}), crm: base,
			wantDesk: V{}, wantCRM: V{kZip: "69001"}},
		{name: "one-way: Desk-only change is kept in Desk and not sent", mode: mapping.OneWay, base: base, desk: with(V{kTitle: "CTO"}), crm: base,
			wantDesk: V{}, wantCRM: V{}, wantBase: ptr(sb(base))},
		{name: "one-way: CRM change flows to Desk", mode: mapping.OneWay, base: base, desk: base, crm: with(V{kTitle: "CFO"}),
			wantDesk: V{kTitle: "CFO"}, wantCRM: V{}},
		{name: "one-way: both changed, CRM wins even if Desk newer and field is desk-wins", mode: mapping.OneWay, base: base,
			desk: with(V{kMobile: "20", kTitle: "CTO"}), crm: with(V{kMobile: "21", kTitle: "CFO"}), deskT: newer, crmT: older,
			wantDesk: V{kMobile: "21", kTitle: "CFO"}, wantCRM: V{},
			wantConflicts: []Conflict{{Key: kTitle, Winner: mapping.CRM, Rule: "one-way"}, {Key: kMobile, Winner: mapping.CRM, Rule: "one-way"}}},
		{name: "one-way: desk-to-crm field never written anywhere", mode: mapping.OneWay, base: base, desk: with(V{kZip: "1"}), crm: with(V{kZip: "2"}),
			wantDesk: V{}, wantCRM: V{}, wantBase: ptr(sb(base))},
		{name: "field absent from one side counts as unchanged", base: base, desk: V{kTitle: "CTO"}, crm: V{kName: "Smith"},
			wantDesk: V{kName: "Smith"}, wantCRM: V{kTitle: "CTO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := MergeInput{Mapping: testMapping(), Mode: tt.mode, Base: sb(tt.base), Desk: tt.desk, CRM: tt.crm, DeskModified: tt.deskT, CRMModified: tt.crmT, Refs: testRefs()}
			r := Merge(in)
			if !reflect.DeepEqual(r.DeskPatch, tt.wantDesk) {
				t.Errorf("DeskPatch = %v, want %v", r.DeskPatch, tt.wantDesk)
			}
			if !reflect.DeepEqual(r.CRMPatch, tt.wantCRM) {
				t.Errorf("CRMPatch = %v, want %v", r.CRMPatch, tt.wantCRM)
			}
			if !reflect.DeepEqual(r.Conflicts, tt.wantConflicts) {
				t.Errorf("Conflicts = %+v, want %+v", r.Conflicts, tt.wantConflicts)
			}
			want := Base{Desk: applied(tt.desk, tt.base, r.DeskPatch), CRM: applied(tt.crm, tt.base, r.CRMPatch)}
			if tt.wantBase != nil {
				want = *tt.wantBase
			}
			if !mapping.Equal(r.Base.Desk, want.Desk, nil) || !mapping.Equal(r.Base.CRM, want.CRM, nil) {
				t.Errorf("Base = %+v, want %+v", r.Base, want)
			}
			if tt.mode == mapping.OneWay && len(r.CRMPatch) != 0 {
				t.Errorf("one-way mode writes to CRM: %v", r.CRMPatch)
			}
			// After applying the patches, merging again writes nothing.
			again := Merge(MergeInput{Mapping: in.Mapping, Mode: in.Mode, Base: r.Base, Refs: in.Refs,
				Desk: applied(tt.desk, tt.base, r.DeskPatch), CRM: applied(tt.crm, tt.base, r.CRMPatch)})
			if !again.Empty() {
				t.Errorf("merge is not stable: second merge writes Desk %v CRM %v", again.DeskPatch, again.CRMPatch)
			}
		})
	}
}

// applied returns side's values (missing keys taken from base) with patch
// written over them.
func applied(side, base, patch V) V {
	out := base.Clone()
	if out == nil {
		out = V{}
	}
	for k, v := range side {
		out[k] = v
	}
	for k, v := range patch {
		out[k] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestMergeWithoutBase(t *testing.T) {
	desk := V{kName: "Doe", kTitle: "CTO", kPhone: "10", kMobile: nil, kCity: "Lyon", kZip: "69001", kAcct: "C1"}
	crm := V{kName: "Doe", kTitle: "CFO", kPhone: "11", kMobile: "21", kCity: nil, kZip: "13001", kAcct: nil}
	tests := []struct {
		name          string
		mode          mapping.Mode
		deskT, crmT   time.Time
		wantDesk      V
		wantCRM       V
		wantConflicts []Conflict
	}{
		{
			name: "two-way, Desk newer", deskT: newer, crmT: older,
			// title: newest → Desk; phone: crm-wins policy; mobile: Desk empty never erases;
			// city (crm-to-desk): CRM empty never erases; zip (desk-to-crm): direction;
			// account: CRM empty never erases.
			wantDesk: V{kPhone: "11", kMobile: "21"},
			wantCRM:  V{kTitle: "CTO", kZip: "69001", kAcct: "C1"},
			wantConflicts: []Conflict{
				{Key: kTitle, Winner: mapping.Desk, Rule: "newest", FirstSync: true},
				{Key: kPhone, Winner: mapping.CRM, Rule: "crm-wins", FirstSync: true},
				{Key: kZip, Winner: mapping.Desk, Rule: "direction", FirstSync: true},
			},
		},
		{
			name: "two-way, CRM newer", deskT: older, crmT: newer,
			wantDesk: V{kTitle: "CFO", kPhone: "11", kMobile: "21"},
			wantCRM:  V{kZip: "69001", kAcct: "C1"},
			wantConflicts: []Conflict{
				{Key: kTitle, Winner: mapping.CRM, Rule: "newest", FirstSync: true},
				{Key: kPhone, Winner: mapping.CRM, Rule: "crm-wins", FirstSync: true},
				{Key: kZip, Winner: mapping.Desk, Rule: "direction", FirstSync: true},
			},
		},
		{
			name: "one-way: CRM wins every difference, nothing to CRM", mode: mapping.OneWay, deskT: newer, crmT: older,
			// zip flows desk-to-crm only, so it is inert in one-way mode.
			wantDesk: V{kTitle: "CFO", kPhone: "11", kMobile: "21"},
			wantCRM:  V{},
			wantConflicts: []Conflict{
				{Key: kTitle, Winner: mapping.CRM, Rule: "one-way", FirstSync: true},
				{Key: kPhone, Winner: mapping.CRM, Rule: "one-way", FirstSync: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Merge(MergeInput{Mapping: testMapping(), Mode: tt.mode, Desk: desk, CRM: crm, DeskModified: tt.deskT, CRMModified: tt.crmT, Refs: testRefs()})
			if !reflect.DeepEqual(r.DeskPatch, tt.wantDesk) {
				t.Errorf("DeskPatch = %v, want %v", r.DeskPatch, tt.wantDesk)
			}
			if !reflect.DeepEqual(r.CRMPatch, tt.wantCRM) {
				t.Errorf("CRMPatch = %v, want %v", r.CRMPatch, tt.wantCRM)
			}
			if !reflect.DeepEqual(r.Conflicts, tt.wantConflicts) {
				t.Errorf("Conflicts = %+v, want %+v", r.Conflicts, tt.wantConflicts)
			}
			// The base holds what each side holds after the writes; fields
			// still different have no base, so the next merge treats them as
			// never synced rather than as changed.
			d2 := applied(desk, nil, r.DeskPatch)
			c2 := applied(crm, nil, r.CRMPatch)
			for k, v := range r.Base.Desk {
				if !mapping.ValueEqual(d2[k], v) {
					t.Errorf("Desk base %s = %v but Desk has %v", k, v, d2[k])
				}
			}
			for k, v := range r.Base.CRM {
				if !mapping.ValueEqual(c2[k], v) {
					t.Errorf("CRM base %s = %v but CRM has %v", k, v, c2[k])
				}
			}
			again := Merge(MergeInput{Mapping: testMapping(), Mode: tt.mode, Base: r.Base, Desk: d2, CRM: c2, DeskModified: tt.deskT, CRMModified: tt.crmT, Refs: testRefs()})
			if !again.Empty() {
				t.Errorf("second merge writes Desk %v CRM %v", again.DeskPatch, again.CRMPatch)
			}
		})
	}
}

func TestMergeNewlyMappedField(t *testing.T) {
	// The base predates the title mapping: title is reconciled like a first
	// sync while the other fields use the base.
	base := sb(V{kName: "Doe"})
	r := Merge(MergeInput{Mapping: testMapping(), Base: base,
		Desk: V{kName: "Smith", kTitle: "CTO"}, CRM: V{kName: "Doe", kTitle: "CFO"}, DeskModified: older, CRMModified: newer})
	want := V{kName: "Smith"}
	if !reflect.DeepEqual(r.CRMPatch, want) {
		t.Errorf("CRMPatch = %v, want %v", r.CRMPatch, want)
	}
	if !reflect.DeepEqual(r.DeskPatch, V{kTitle: "CFO"}) {
		t.Errorf("DeskPatch = %v", r.DeskPatch)
	}
	if len(r.Conflicts) != 1 || !r.Conflicts[0].FirstSync {
		t.Errorf("Conflicts = %+v", r.Conflicts)
	}
}

func TestMergeUnknownWithoutBaseIsLeftAlone(t *testing.T) {
	r := Merge(MergeInput{Mapping: testMapping(), Desk: V{kTitle: "CTO"}, CRM: V{kName: "Doe"}})
	if !r.Empty() || len(r.Base.Desk)+len(r.Base.CRM) != 0 {
		t.Fatalf("merge with nothing comparable wrote %v / %v, base %v", r.DeskPatch, r.CRMPatch, r.Base)
	}
}

// The newest rule compares modified times in whole seconds, CRM's precision: a CRM edit later
// in the same second as a Desk edit read as older than it (CRM's time has no milliseconds)
// and lost; within one second the sides tie, and CRM wins, as the rule says.
func TestNewestComparesWholeSeconds(t *testing.T) {
	base := sb(V{kName: "Doe"})
	sec := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		desk, crm time.Time
		deskPatch V
		crmPatch  V
	}{
		{"Desk at .300, CRM later in the same second (read as .000)", sec.Add(300 * time.Millisecond), sec, V{kName: "FromCRM"}, V{}},
		{"Desk a second later", sec.Add(time.Second + 100*time.Millisecond), sec, V{}, V{kName: "FromDesk"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Merge(MergeInput{Mapping: testMapping(), Base: base, Desk: V{kName: "FromDesk"}, CRM: V{kName: "FromCRM"},
				DeskModified: tt.desk, CRMModified: tt.crm})
			if !reflect.DeepEqual(r.DeskPatch, tt.deskPatch) || !reflect.DeepEqual(r.CRMPatch, tt.crmPatch) {
				t.Errorf("DeskPatch %v, CRMPatch %v; want %v, %v", r.DeskPatch, r.CRMPatch, tt.deskPatch, tt.crmPatch)
			}
			// A tie is named a tie, not "the record modified last" (a trial).
			if want := map[bool]string{true: RuleNewestTie, false: "newest"}[tt.desk.Truncate(time.Second).Equal(tt.crm)]; len(r.Conflicts) != 1 || r.Conflicts[0].Rule != want {
				t.Errorf("conflicts %+v, want rule %s", r.Conflicts, want)
			}
		})
	}
}

// A Desk account reference with no CRM counterpart yet (DeskUnresolved) is a Desk change:
// newer than CRM's change it is held (nothing written, Desk's base kept so that it still counts
// as Desk's change once the account links); older, CRM's value is written to Desk. A set
// against a clear is a conflict too, and reported (the clear never erases a value its side
// never held).
func TestMergeUnresolvedDeskReferenceAndKeptValues(t *testing.T) {
	base := sb(V{kName: "Doe", kAcct: "C1"})
	held := Merge(MergeInput{Mapping: testMapping(), Base: base, Desk: V{kName: "Doe"}, CRM: V{kName: "Doe", kAcct: "C-acme"},
		DeskModified: newer, CRMModified: older, Refs: testRefs(), DeskUnresolved: map[string]bool{kAcct: true}})
	if _, ok := held.DeskPatch[kAcct]; ok || len(held.CRMPatch) != 0 {
		t.Errorf("Desk newer: patches %v / %v, want nothing written", held.DeskPatch, held.CRMPatch)
	}
	if held.Base.Desk[kAcct] != "C1" || held.Base.CRM[kAcct] != "C-acme" {
		t.Errorf("Desk newer: base %v, want Desk C1 kept and CRM C-acme", held.Base)
	}
	if len(held.Conflicts) != 1 || held.Conflicts[0].Winner != mapping.Desk {
		t.Errorf("Desk newer: conflicts %+v, want Desk's", held.Conflicts)
	}
	crm := Merge(MergeInput{Mapping: testMapping(), Base: base, Desk: V{kName: "Doe"}, CRM: V{kName: "Doe", kAcct: "C-acme"},
		DeskModified: older, CRMModified: newer, Refs: testRefs(), DeskUnresolved: map[string]bool{kAcct: true}})
	if crm.DeskPatch[kAcct] != "C-acme" {
		t.Errorf("CRM newer: DeskPatch %v, want CRM's account", crm.DeskPatch)
	}
	kept := Merge(MergeInput{Mapping: testMapping(), Base: sb(V{kName: "Doe"}), Desk: V{kName: nil},
		CRM: V{kName: "Roe"}, DeskModified: newer, CRMModified: older})
	if kept.DeskPatch[kName] != "Roe" || len(kept.Conflicts) != 1 || kept.Conflicts[0].Rule != ruleKeepFilled {
		t.Errorf("a clear against a set: DeskPatch %v, conflicts %+v; want CRM's 2 kept and the conflict reported", kept.DeskPatch, kept.Conflicts)
	}
}

// A clear on one side of a field whose sides differ because a value was not carried: when the
// other side's value could be carried to the clearing side, it is the older value the clearing
// side's own failed to replace, and the clear goes through (keeping it wrote it back over the
// clear: a fresh user's trial, both directions); when it could not, the clearing side never
// held it, and it is kept.
func TestMergeAClearAfterAValueNotCarried(t *testing.T) {
	tier := mapping.FieldMap{Desk: "cf_tier", CRM: "Tier", Type: mapping.TypePicklist, Direction: mapping.Both, Policy: mapping.Newest,
		DeskLimits: mapping.Limits{Picklist: []string{"Gold", "Silver"}}, CRMLimits: mapping.Limits{Picklist: []string{"Gold", "Silver", "Diamond"}}}
	desc := mapping.FieldMap{Desk: "description", CRM: "Description", Type: mapping.TypeText, Direction: mapping.Both, Policy: mapping.Newest,
		CRMLimits: mapping.Limits{Length: 10}}
	m := mapping.Mapping{Module: mapping.Contacts, Fields: []mapping.FieldMap{tier, desc}}
	kTier, kDesc := tier.Key(), desc.Key()
	long := "a description too long for CRM"
	for _, tt := range []struct {
		name                string
		base                Base
		desk, crm           V
		deskPatch, crmPatch V
	}{
		{"CRM clears Diamond, which Desk could not take: Desk's older Gold is cleared",
			Base{Desk: V{kTier: "Gold"}, CRM: V{kTier: "Diamond"}}, V{kTier: "Gold"}, V{kTier: nil}, V{kTier: nil}, V{}},
		{"Desk clears a text CRM could not take: CRM's older text is cleared",
			Base{Desk: V{kDesc: long}, CRM: V{kDesc: "short"}}, V{kDesc: nil}, V{kDesc: "short"}, V{}, V{kDesc: nil}},
		{"CRM clears its older text while Desk holds one CRM could not take: Desk's is kept",
			Base{Desk: V{kDesc: long}, CRM: V{kDesc: "short"}}, V{kDesc: long}, V{kDesc: nil}, V{}, V{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Merge(MergeInput{Mapping: m, Base: tt.base, Desk: tt.desk, CRM: tt.crm, DeskModified: older, CRMModified: newer, Refs: testRefs()})
			if !reflect.DeepEqual(r.DeskPatch, tt.deskPatch) || !reflect.DeepEqual(r.CRMPatch, tt.crmPatch) || len(r.Conflicts) != 0 {
				t.Errorf("DeskPatch %v, CRMPatch %v, conflicts %+v; want %v, %v and none", r.DeskPatch, r.CRMPatch, r.Conflicts, tt.deskPatch, tt.crmPatch)
			}
		})
	}
}

// Conflicts that set an edit aside are logged: a field changed on both sides, and a field first
// synced with different values whose kept value is written over the other's; a first-synced
// field whose kept value writes nothing (an account with no counterpart on both sides, seen
// each time the pair was read) is not.
func TestConflictsSetAsideAnEdit(t *testing.T) {
	both := Conflict{Key: kTitle, Winner: mapping.Desk, Rule: "newest"}
	firstWritten := Conflict{Key: kName, Winner: mapping.CRM, Rule: "newest", FirstSync: true}
	firstHeld := Conflict{Key: kAcct, Winner: mapping.Desk, Rule: "newest", FirstSync: true}
	firstNotCarried := Conflict{Key: kPhone, Winner: mapping.CRM, Rule: "crm-wins", FirstSync: true}
	got := setAside([]Conflict{both, firstWritten, firstHeld, firstNotCarried}, V{kName: "Roe"}, V{})
	if want := []Conflict{both, firstWritten}; !reflect.DeepEqual(got, want) {
		t.Errorf("setAside = %+v, want %+v", got, want)
	}
	// The trial's pair: both sides point at accounts with no counterpart, no base for the field.
	r := Merge(MergeInput{Mapping: testMapping(), Base: sb(V{kName: "Doe"}), Desk: V{kName: "Doe"}, CRM: V{kName: "Doe", kAcct: "C-old"},
		DeskModified: newer, CRMModified: older, Refs: testRefs(), DeskUnresolved: map[string]bool{kAcct: true}})
	if len(r.Conflicts) != 1 || !r.Conflicts[0].FirstSync {
		t.Fatalf("two unlinked accounts: the merge's conflicts %+v, want the account's, first synced", r.Conflicts)
	}
	if cs := setAside(r.Conflicts, r.DeskPatch, r.CRMPatch); len(cs) != 0 || len(r.DeskPatch)+len(r.CRMPatch) != 0 {
		t.Errorf("two unlinked accounts: conflicts %+v, patches %v / %v; want nothing", cs, r.DeskPatch, r.CRMPatch)
	}
}
