package panel

import (
	"slices"
	"testing"
	"time"

	"deskcrm/store"
)

func TestAllowedAndSections(t *testing.T) {
	def := store.DefaultPermissions("Agent")
	all := def
	all.Deals, all.Notes, all.Calls, all.Events, all.Tasks = store.AccessFull, store.AccessFull, true, true, true
	with := func(f func(*store.Permissions)) store.Permissions { p := all; f(&p); return p }
	cases := []struct {
		name            string
		p               store.Permissions
		contacts, accts bool
		sections        []Section
	}{
		{"defaults: info only", def, true, true, []Section{SectionInfo}},
		{"everything", all, true, true, AllSections},
		{"hidden", with(func(p *store.Permissions) { p.PanelVisible = false }), false, false, AllSections},
		{"contacts only", with(func(p *store.Permissions) { p.Modules = store.PanelContacts }), true, false, AllSections},
		{"accounts only", with(func(p *store.Permissions) { p.Modules = store.PanelAccounts }), false, true, AllSections},
		{"restricted info and notes", with(func(p *store.Permissions) { p.Info, p.Notes = store.AccessRestricted, store.AccessRestricted }),
			true, true, []Section{SectionDeals, SectionCalls, SectionEvents, SectionTasks}},
		{"no activities", with(func(p *store.Permissions) { p.Calls, p.Events, p.Tasks = false, false, false }),
			true, true, []Section{SectionInfo, SectionDeals, SectionNotes}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ok, why := Allowed(tc.p, "contacts"); ok != tc.contacts || (!ok && why == "") {
				t.Errorf("contacts allowed = %v (%q), want %v", ok, why, tc.contacts)
			}
			if ok, _ := Allowed(tc.p, "accounts"); ok != tc.accts {
				t.Errorf("accounts allowed = %v, want %v", ok, tc.accts)
			}
			if got := Sections(tc.p); !slices.Equal(got, tc.sections) {
				t.Errorf("sections = %v, want %v", got, tc.sections)
			}
		})
	}
}

func TestHandshakeAllowed(t *testing.T) {
	def := store.DefaultPermissions("Agent")
	if ok, _ := HandshakeAllowed(def); !ok {
		t.Error("the default (info only) must see handshake mode")
	}
	hidden, noInfo := def, def
	hidden.PanelVisible = false
	noInfo.Info = store.AccessRestricted
	for _, p := range []store.Permissions{hidden, noInfo} {
		if ok, why := HandshakeAllowed(p); ok || why == "" {
			t.Errorf("%+v: allowed %v (%q)", p, ok, why)
		}
	}
}

func TestPatchApply(t *testing.T) {
	f, yes := false, true
	restricted := " Restricted "
	cur := store.DefaultPermissions("Agent")
	cur.Tasks = false
	got := PermissionsPatch{Deals: &restricted, Calls: &f, Activities: &struct {
		Calls  *bool `json:"calls"`
		Events *bool `json:"events"`
		Tasks  *bool `json:"tasks"`
	}{Events: &f, Calls: &yes}}.Apply(cur)
	// The flat "calls" wins over activities.calls; untouched fields keep their values.
	if got.Deals != "restricted" || got.Calls || got.Events || got.Tasks || got.Info != "full" || !got.PanelVisible {
		t.Fatalf("apply = %+v", got)
	}
}

func TestSortHandshake(t *testing.T) {
	order := []string{"Customer", "Partner", "Prospect"}
	at := func(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }
	ts := []RankedTicket{
		{ID: "1", CustomerType: "", CreatedTime: at(0)},
		{ID: "2", CustomerType: "Vendor", CreatedTime: at(1)},
		{ID: "3", CustomerType: "prospect", CreatedTime: at(2)},
		{ID: "4", CustomerType: "Customer", CreatedTime: at(5)},
		{ID: "5", CustomerType: "Customer", CreatedTime: at(3)},
		{ID: "7", CustomerType: "Partner", CreatedTime: at(4)},
		{ID: "6", CustomerType: "Partner", CreatedTime: at(4)},
	}
	SortHandshake(ts, order)
	var ids []string
	var ranks []int
	for _, x := range ts {
		ids = append(ids, x.ID)
		ranks = append(ranks, x.Rank)
	}
	if want := []string{"5", "4", "6", "7", "3", "2", "1"}; !slices.Equal(ids, want) {
		t.Fatalf("order = %v, want %v", ids, want)
	}
	if want := []int{0, 0, 1, 1, 2, 3, 4}; !slices.Equal(ranks, want) {
		t.Fatalf("ranks = %v, want %v", ranks, want)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    store.Permissions
		ok   bool
	}{
		{"defaults", store.DefaultPermissions("Agent"), true},
		{"blank profile", store.DefaultPermissions("  "), false},
		{"bad modules", func() store.Permissions { p := store.DefaultPermissions("A"); p.Modules = "tickets"; return p }(), false},
		{"bad level", func() store.Permissions { p := store.DefaultPermissions("A"); p.Notes = "none"; return p }(), false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		order []string
		ok    bool
	}{
		{store.DefaultHandshakeOrder, true}, {nil, false}, {[]string{"A", " "}, false}, {[]string{"A", "a"}, false},
	} {
		if err := (store.Handshake{Order: tc.order}).Validate(); (err == nil) != tc.ok {
			t.Errorf("order %q: Validate() = %v, want ok=%v", tc.order, err, tc.ok)
		}
	}
}
