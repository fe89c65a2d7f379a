package reconcile

import (
	"reflect"
	"testing"

	"deskcrm/mapping"
)

func TestLinkStateFor(t *testing.T) {
	tests := []struct {
		source     mapping.Side
		linked     bool
		desk, crm  string
		want       LinkState
		whyMatters string
	}{
		{mapping.Desk, false, "", "", LinkNone, "no link"},
		{mapping.Desk, true, "", "", Linked, "both alive"},
		{mapping.Desk, true, "", DeletedTrash, LinkOtherTrashed, "CRM in recycle bin"},
		{mapping.Desk, true, "", DeletedPermanent, LinkOtherPurged, "CRM gone"},
		{mapping.CRM, true, DeletedTrash, "", LinkOtherTrashed, "Desk in trash"},
		{mapping.CRM, true, DeletedPermanent, "", LinkOtherPurged, "Desk gone"},
		{mapping.Desk, true, DeletedTrash, "", LinkSelfDeleted, "Desk restored by a user"},
		{mapping.CRM, true, "", DeletedPermanent + "", LinkSelfDeleted, "CRM change after its own deletion mark"},
		{mapping.Desk, true, DeletedTrash, DeletedTrash, LinkOtherTrashed, "both marked: the counterpart's state decides"},
	}
	for _, tt := range tests {
		if got := LinkStateFor(tt.source, tt.linked, tt.desk, tt.crm); got != tt.want {
			t.Errorf("%s: LinkStateFor(%s, %v, %q, %q) = %s, want %s", tt.whyMatters, tt.source, tt.linked, tt.desk, tt.crm, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	base := V{kName: "Doe", kTitle: "CEO", kPhone: "1", kMobile: "2", kCity: "Paris", kZip: "75001", kAcct: "C1"}
	with := func(changes V) V {
		out := base.Clone()
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		in   DecideInput
		want Decision // Reason is not compared
	}{
		{
			name: "echo from CRM after our write",
			in:   DecideInput{Source: mapping.CRM, Change: Updated, Link: Linked, Base: sb(base), Values: base.Clone()},
			want: Decision{Action: ActionSkipEcho, Target: mapping.Desk},
		},
		{
			name: "echo of our own create",
			in:   DecideInput{Source: mapping.Desk, Change: Created, Link: Linked, Base: sb(base), Values: base.Clone()},
			want: Decision{Action: ActionSkipEcho, Target: mapping.CRM},
		},
		{
			name: "echo with fewer fields read",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: Linked, Base: sb(base), Values: V{kName: "Doe"}},
			want: Decision{Action: ActionSkipEcho, Target: mapping.CRM},
		},
		{
			name: "one-sided Desk change with counterpart unknown",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionUpdate, Target: mapping.CRM, DeskPatch: V{}, CRMPatch: V{kTitle: "CTO"}, Base: sb(with(V{kTitle: "CTO"}))},
		},
		{
			name: "CRM change while Desk changed another field",
			in: DecideInput{Source: mapping.CRM, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kName: "Smith"}),
				Other: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionUpdate, Target: mapping.Desk, DeskPatch: V{kName: "Smith"}, CRMPatch: V{kTitle: "CTO"},
				Base: sb(with(V{kName: "Smith", kTitle: "CTO"}))},
		},
		{
			name: "both changed the same field, newest wins",
			in: DecideInput{Source: mapping.CRM, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kTitle: "CFO"}), Modified: older,
				Other: with(V{kTitle: "CTO"}), OtherModified: newer},
			want: Decision{Action: ActionUpdate, Target: mapping.Desk, DeskPatch: V{}, CRMPatch: V{kTitle: "CTO"},
				Base: sb(with(V{kTitle: "CTO"})), Conflicts: []Conflict{{Key: kTitle, Winner: mapping.Desk, Rule: "newest"}}},
		},
		{
			name: "Desk change only to a crm-to-desk field: nothing to write",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kCity: "Lyon"})},
			want: Decision{Action: ActionIgnore, Target: mapping.CRM, DeskPatch: V{}, CRMPatch: V{}, Base: sb(base)},
		},
		{
			name: "one-way: Desk change skipped",
			in:   DecideInput{Mode: mapping.OneWay, Source: mapping.Desk, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionSkip, Target: mapping.CRM},
		},
		{
			name: "one-way: Desk create skipped",
			in:   DecideInput{Mode: mapping.OneWay, Source: mapping.Desk, Change: Created, Link: LinkNone, Values: base},
			want: Decision{Action: ActionSkip, Target: mapping.CRM},
		},
		{
			name: "one-way: CRM change updates Desk, never CRM",
			in: DecideInput{Mode: mapping.OneWay, Source: mapping.CRM, Change: Updated, Link: Linked, Base: sb(base), Values: with(V{kTitle: "CFO"}),
				Other: with(V{kTitle: "CTO", kName: "Smith"}), OtherModified: newer},
			want: Decision{Action: ActionUpdate, Target: mapping.Desk, DeskPatch: V{kTitle: "CFO"}, CRMPatch: V{},
				Base: sb(with(V{kTitle: "CFO"})), Conflicts: []Conflict{{Key: kTitle, Winner: mapping.CRM, Rule: "one-way"}}},
		},
		{
			name: "unlinked record with no matched counterpart: Match and PlanUnlinked decide",
			in:   DecideInput{Source: mapping.CRM, Change: Created, Link: LinkNone, Values: base},
			want: Decision{Action: ActionIgnore, Target: mapping.Desk},
		},
		{
			name: "unlinked record matched by key: first reconcile, empty never erases",
			in: DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkNone, Values: V{kName: "Doe", kTitle: "CTO", kPhone: nil},
				Modified: newer, Other: V{kName: "Doe", kTitle: "CFO", kPhone: "9"}, OtherModified: older},
			want: Decision{Action: ActionUpdate, Target: mapping.CRM, DeskPatch: V{kPhone: "9"}, CRMPatch: V{kTitle: "CTO"},
				Base: sb(V{kName: "Doe", kTitle: "CTO", kPhone: "9"}), Conflicts: []Conflict{{Key: kTitle, Winner: mapping.Desk, Rule: "newest", FirstSync: true}}},
		},
		{
			name: "Desk delete is recorded, not propagated",
			in:   DecideInput{Source: mapping.Desk, Change: Deleted, Link: Linked, Base: sb(base)},
			want: Decision{Action: ActionMarkDeleted, Target: mapping.Desk, Deleted: DeletedTrash},
		},
		{
			name: "CRM permanent delete is recorded",
			in:   DecideInput{Source: mapping.CRM, Change: Deleted, Permanent: true, Link: Linked, Base: sb(base)},
			want: Decision{Action: ActionMarkDeleted, Target: mapping.CRM, Deleted: DeletedPermanent},
		},
		{
			name: "delete in one-way mode from Desk is still recorded",
			in:   DecideInput{Mode: mapping.OneWay, Source: mapping.Desk, Change: Deleted, Link: Linked, Base: sb(base)},
			want: Decision{Action: ActionMarkDeleted, Target: mapping.Desk, Deleted: DeletedTrash},
		},
		{
			name: "delete of a never-synced record is ignored",
			in:   DecideInput{Source: mapping.CRM, Change: Deleted, Link: LinkNone},
			want: Decision{Action: ActionIgnore, Target: mapping.CRM},
		},
		{
			name: "repeated trash delete is ignored",
			in:   DecideInput{Source: mapping.CRM, Change: Deleted, Link: LinkSelfDeleted},
			want: Decision{Action: ActionIgnore, Target: mapping.CRM},
		},
		{
			name: "purge after trash upgrades the mark",
			in:   DecideInput{Source: mapping.CRM, Change: Deleted, Permanent: true, Link: LinkSelfDeleted},
			want: Decision{Action: ActionMarkDeleted, Target: mapping.CRM, Deleted: DeletedPermanent},
		},
		{
			name: "update after the counterpart went to the recycle bin: restore, then write all that flows",
			in:   DecideInput{Source: mapping.CRM, Change: Updated, Link: LinkOtherTrashed, Base: sb(base), Values: with(V{kTitle: "CFO"})},
			want: Decision{Action: ActionRestore, Target: mapping.Desk, ClearDeletion: true,
				DeskPatch: V{kName: "Doe", kTitle: "CFO", kPhone: "1", kMobile: "2", kCity: "Paris", kAcct: "C1"},
				Base:      sb(with(V{kTitle: "CFO"}))},
		},
		{
			name: "Desk update after CRM record was trashed restores it in CRM",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkOtherTrashed, Base: sb(base), Values: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionRestore, Target: mapping.CRM, ClearDeletion: true,
				CRMPatch: V{kName: "Doe", kTitle: "CTO", kPhone: "1", kMobile: "2", kZip: "75001", kAcct: "C1"},
				Base:     sb(with(V{kTitle: "CTO"}))},
		},
		{
			name: "update after the counterpart was deleted permanently: re-create it",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkOtherPurged, Base: sb(base), Values: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionRecreate, Target: mapping.CRM, ClearDeletion: true,
				CRMPatch: V{kName: "Doe", kTitle: "CTO", kPhone: "1", kMobile: "2", kZip: "75001", kAcct: "C1"},
				Base: Base{Desk: with(V{kTitle: "CTO"}),
					CRM: V{kName: "Doe", kTitle: "CTO", kPhone: "1", kMobile: "2", kZip: "75001", kAcct: "C1"}}},
		},
		{
			name: "one-way: CRM update after Desk was purged re-creates in Desk",
			in:   DecideInput{Mode: mapping.OneWay, Source: mapping.CRM, Change: Updated, Link: LinkOtherPurged, Base: sb(base), Values: with(V{kTitle: "CFO"})},
			want: Decision{Action: ActionRecreate, Target: mapping.Desk, ClearDeletion: true,
				DeskPatch: V{kName: "Doe", kTitle: "CFO", kPhone: "1", kMobile: "2", kCity: "Paris", kAcct: "C1"},
				Base:      Base{Desk: V{kName: "Doe", kTitle: "CFO", kPhone: "1", kMobile: "2", kCity: "Paris", kAcct: "C1"}, CRM: with(V{kTitle: "CFO"})}},
		},
		{
			name: "read again unchanged while the counterpart is in the recycle bin: nothing is restored",
			in:   DecideInput{Source: mapping.CRM, Change: Updated, Link: LinkOtherTrashed, Base: sb(base), Values: base},
			want: Decision{Action: ActionSkipEcho, Target: mapping.Desk},
		},
		{
			name: "read again unchanged while the counterpart is gone for good: nothing is re-created",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkOtherPurged, Base: sb(base), Values: base},
			want: Decision{Action: ActionSkipEcho, Target: mapping.CRM},
		},
		{
			name: "record restored on its own side: clear its mark, then merge",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkSelfDeleted, Base: sb(base), Values: with(V{kTitle: "CTO"})},
			want: Decision{Action: ActionUpdate, Target: mapping.CRM, ClearDeletion: true, DeskPatch: V{}, CRMPatch: V{kTitle: "CTO"}, Base: sb(with(V{kTitle: "CTO"}))},
		},
		{
			name: "record restored unchanged: echo, but clear its mark",
			in:   DecideInput{Source: mapping.Desk, Change: Updated, Link: LinkSelfDeleted, Base: sb(base), Values: base},
			want: Decision{Action: ActionSkipEcho, Target: mapping.CRM, ClearDeletion: true},
		},
		{
			name: "linked without base and counterpart unknown: write all that flows",
			in:   DecideInput{Source: mapping.CRM, Change: Updated, Link: Linked, Values: V{kName: "Doe", kZip: "1"}},
			want: Decision{Action: ActionUpdate, Target: mapping.Desk, DeskPatch: V{kName: "Doe"},
				Base: Base{Desk: V{kName: "Doe"}, CRM: V{kName: "Doe", kZip: "1"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Mapping = testMapping()
			tt.in.Refs = testRefs()
			got := Decide(tt.in)
			if got.Reason == "" {
				t.Errorf("decision has no reason")
			}
			got.Reason = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decide =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestContactMovedToAnotherAccount follows a contact moving accounts on
// either side through the real conversion: the account reference follows
// the account links.
func TestContactMovedToAnotherAccount(t *testing.T) {
	m := mapping.Default(mapping.Contacts)
	refs := mapping.NewMapRefs(map[string]string{"D-acme": "C-acme", "D-globex": "C-globex"})
	deskRec := map[string]any{"lastName": "Doe", "email": "jd@x.com", "accountId": "D-acme"}
	crmRec := map[string]any{"Last_Name": "Doe", "Email": "jd@x.com", "Account_Name": map[string]any{"id": "C-acme", "name": "Acme"}}
	dv, probs := mapping.FromDesk(m, deskRec, nil, refs)
	cv, probs2 := mapping.FromCRM(m, crmRec, refs)
	if len(probs)+len(probs2) != 0 {
		t.Fatalf("conversion problems: %v %v", probs, probs2)
	}
	if !mapping.Equal(dv, cv, nil) {
		t.Fatalf("same contact converts differently: %v vs %v", dv, cv)
	}
	base := SharedBase(dv)

	t.Run("moved in Desk", func(t *testing.T) {
		moved := map[string]any{"lastName": "Doe", "email": "jd@x.com", "accountId": "D-globex"}
		v, _ := mapping.FromDesk(m, moved, nil, refs)
		d := Decide(DecideInput{Mapping: m, Source: mapping.Desk, Change: Updated, Link: Linked, Base: base, Values: v, Refs: refs})
		if d.Action != ActionUpdate {
			t.Fatalf("action %s", d.Action)
		}
		body := mapping.ToCRM(m, d.CRMPatch, refs)
		want := map[string]any{"Account_Name": map[string]any{"id": "C-globex"}}
		if !reflect.DeepEqual(body, want) {
			t.Fatalf("CRM write = %v, want %v", body, want)
		}
	})
	t.Run("moved in CRM", func(t *testing.T) {
		moved := map[string]any{"Last_Name": "Doe", "Email": "jd@x.com", "Account_Name": map[string]any{"id": "C-globex", "name": "Globex"}}
		v, _ := mapping.FromCRM(m, moved, refs)
		d := Decide(DecideInput{Mapping: m, Source: mapping.CRM, Change: Updated, Link: Linked, Base: base, Values: v, Refs: refs})
		fields, cf := mapping.ToDesk(m, d.DeskPatch, refs)
		if !reflect.DeepEqual(fields, map[string]any{"accountId": "D-globex"}) || len(cf) != 0 {
			t.Fatalf("Desk write = %v %v", fields, cf)
		}
	})
	t.Run("removed from its account in CRM", func(t *testing.T) {
		v, _ := mapping.FromCRM(m, map[string]any{"Last_Name": "Doe", "Email": "jd@x.com", "Account_Name": nil}, refs)
		d := Decide(DecideInput{Mapping: m, Source: mapping.CRM, Change: Updated, Link: Linked, Base: base, Values: v, Refs: refs})
		fields, _ := mapping.ToDesk(m, d.DeskPatch, refs)
		if !reflect.DeepEqual(fields, map[string]any{"accountId": nil}) {
			t.Fatalf("Desk write = %v", fields)
		}
	})
	t.Run("moved in CRM to an account not linked yet", func(t *testing.T) {
		moved := map[string]any{"Account_Name": map[string]any{"id": "C-new"}}
		v, _ := mapping.FromCRM(m, moved, refs)
		d := Decide(DecideInput{Mapping: m, Source: mapping.CRM, Change: Updated, Link: Linked, Base: base, Values: v, Refs: refs})
		fields, _ := mapping.ToDesk(m, d.DeskPatch, refs)
		if _, ok := fields["accountId"]; ok {
			t.Fatalf("unresolvable account written to Desk: %v", fields)
		}
		if len(d.NotCarried) != 1 || d.NotCarried[0].Code != mapping.CodeUnresolvedReference {
			t.Fatalf("NotCarried = %v", d.NotCarried)
		}
		// Desk keeps its account in the base: its "old" account is not read
		// as a change next time, and CRM's new account is not cleared.
		if got := d.Base.Desk[kAcct]; got != "C-acme" {
			t.Fatalf("Desk base account = %v, want C-acme", got)
		}
		if got := d.Base.CRM[kAcct]; got != "C-new" {
			t.Fatalf("CRM base account = %v, want C-new", got)
		}
	})
}

func TestCreateKeepsOnlyWhatFlowsAndCarries(t *testing.T) {
	v := V{kName: "Doe", kTitle: nil, kCity: "Paris", kZip: "75001", kAcct: "C-old"}
	tests := []struct {
		target     mapping.Side
		patch      V
		base       Base
		notCarried int
	}{
		{mapping.CRM, V{kName: "Doe", kZip: "75001", kAcct: "C-old"},
			Base{Desk: v, CRM: V{kName: "Doe", kTitle: nil, kZip: "75001", kAcct: "C-old"}}, 0},
		// The CRM account has no Desk counterpart: the Desk copy is created
		// without it, and its base says Desk holds nothing there.
		{mapping.Desk, V{kName: "Doe", kCity: "Paris"},
			Base{Desk: V{kName: "Doe", kTitle: nil, kCity: "Paris", kAcct: nil}, CRM: v}, 1},
	}
	for _, tt := range tests {
		got := CreatePatch(testMapping(), v, tt.target, testRefs())
		if !reflect.DeepEqual(got.Patch, tt.patch) || !reflect.DeepEqual(got.Base, tt.base) || len(got.NotCarried) != tt.notCarried {
			t.Errorf("Create(%s) = %+v, want patch %v base %+v, %d not carried", tt.target, got, tt.patch, tt.base, tt.notCarried)
		}
	}
	// Stored as the base, a crm-to-desk field left out of a CRM create is
	// not mistaken for a CRM-side clear on the next merge, and the account
	// left out of a Desk create does not clear CRM's.
	for _, target := range []mapping.Side{mapping.CRM, mapping.Desk} {
		c := CreatePatch(testMapping(), v, target, testRefs())
		deskNow, crmNow := c.Base.Desk.Clone(), c.Base.CRM.Clone()
		r := Merge(MergeInput{Mapping: testMapping(), Base: c.Base, Desk: deskNow, CRM: crmNow, Refs: testRefs()})
		if !r.Empty() {
			t.Errorf("merge after a create in %s writes %v / %v", target, r.DeskPatch, r.CRMPatch)
		}
	}
}

// sb is the base of a pair whose sides both hold v.
func sb(v V) Base { return SharedBase(v) }

// testRefs links the test accounts C1 and C-acme to Desk accounts; C-old
// and C-new have none.
func testRefs() mapping.Refs {
	return mapping.NewMapRefs(map[string]string{"D1": "C1", "D-acme": "C-acme"})
}

// A side that reformats a phone number it was written does not send it back: the reformatted
// number is the same number.
func TestReformattedPhoneIsAnEcho(t *testing.T) {
	base := V{kName: "Doe", kPhone: "555-123-4567"}
	d := Decide(DecideInput{Mapping: testMapping(), Source: mapping.Desk, Change: Updated, Link: Linked, Base: sb(base),
		Values: V{kName: "Doe", kPhone: "(555) 123 4567"}, Refs: testRefs()})
	if d.Action != ActionSkipEcho {
		t.Fatalf("Decide = %+v, want skip-echo", d)
	}
}
