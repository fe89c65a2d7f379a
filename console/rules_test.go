package console

import (
	"slices"
	"testing"
	"time"

	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/workflows"
)

// The mapping page offers a Desk field only the CRM fields the sync's own preflight accepts
// in the row's direction, and keeps a chosen field that does not fit (for the preflight to
// name) instead of silently dropping it.
func TestMappingOffersCompatibleFieldsOnly(t *testing.T) {
	crm := []mapping.FieldMeta{
		{Name: "Last_Name", Label: "Last Name", Type: mapping.TypeText, Mandatory: true},
		{Name: "Seats", Label: "Seats", Type: mapping.TypeInteger},
		{Name: "Budget", Label: "Budget", Type: mapping.TypeCurrency},
		{Name: "Tier", Label: "Tier", Type: mapping.TypePicklist, Picklist: []string{"Gold", "Silver"}},
		{Name: "Created_Time", Label: "Created", Type: mapping.TypeDateTime, ReadOnly: true},
		{Name: "Desk_ID", Label: "Desk ID", Type: mapping.TypeText},
	}
	offered := func(dm mapping.FieldMeta, f mapping.FieldMap) []string {
		var out []string
		for _, o := range newRow(mapping.TwoWay, mapping.Contacts, dm, true, false, f, crm, []string{"Last_Name"}).Offered {
			out = append(out, o.Name)
		}
		return out
	}
	seats := mapping.FieldMeta{Name: "cf_seats", Label: "Seats", Type: mapping.TypeInteger}
	for _, c := range []struct {
		name string
		dm   mapping.FieldMeta
		f    mapping.FieldMap
		want []string
	}{
		{"integer both ways: integer only", seats, mapping.FieldMap{}, []string{"Seats"}},
		{"integer into CRM only: text and numbers", seats, mapping.FieldMap{Direction: mapping.DeskToCRM}, []string{"Last_Name", "Seats", "Budget"}},
		{"integer from CRM only: integer, not currency or a read-only field", seats, mapping.FieldMap{Direction: mapping.CRMToDesk}, []string{"Seats"}},
		{"a chosen field that does not fit stays", seats, mapping.FieldMap{Desk: "cf_seats", CRM: "Tier"}, []string{"Seats", "Tier"}},
		{"picklist with the same values", mapping.FieldMeta{Name: "cf_tier", Type: mapping.TypePicklist, Picklist: []string{"Gold", "Silver"}},
			mapping.FieldMap{}, []string{"Tier"}},
		{"picklist with a value CRM lacks", mapping.FieldMeta{Name: "cf_tier", Type: mapping.TypePicklist, Picklist: []string{"Gold", "Bronze"}},
			mapping.FieldMap{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := offered(c.dm, c.f); !slices.Equal(got, c.want) {
				t.Errorf("offered %v, want %v", got, c.want)
			}
		})
	}
	row := newRow(mapping.TwoWay, mapping.Contacts, seats, true, false, mapping.FieldMap{}, crm, []string{"Last_Name"})
	if !slices.ContainsFunc(row.Offered, func(o crmOption) bool { return o.Name == "Seats" && o.Dirs == "both crm-to-desk desk-to-crm" }) {
		t.Errorf("Seats' directions: %+v", row.Offered)
	}
	desk, crmReq := mandatoryFields(mapping.TwoWay, mapping.Contacts, []mapping.FieldMeta{{Name: "lastName", Type: mapping.TypeText}}, crm)
	if !slices.Equal(desk, []string{"lastName"}) || !slices.Equal(crmReq, []string{"Last_Name"}) {
		t.Errorf("mandatory fields: Desk %v, CRM %v", desk, crmReq)
	}
	if _, crmReq := mandatoryFields(mapping.OneWay, mapping.Contacts, nil, crm); len(crmReq) != 0 {
		t.Errorf("one-way mode requires CRM fields %v", crmReq)
	}
}

// The chart sums each UTC day's lines of the seven days and stacks failed, updated, added.
func TestDayChart(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	c := dayChart([]store.RunLine{
		{Time: now.Add(-time.Hour), Added: 30, Updated: 10},
		{Time: now.Add(-2 * time.Hour), Failed: 20},
		{Time: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), DayTotal: true, Added: 5},
		{Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Added: 99}, // older than the seven days
	}, now)
	if len(c.Days) != 7 || c.Days[0].Label != "Wed 04" || c.Days[6].Label != "Tue 10" || c.Max != 60 {
		t.Fatalf("chart %+v", c)
	}
	today := c.Days[6]
	if today.Added != 30 || today.Updated != 10 || today.Failed != 20 || c.Days[0].Added != 5 {
		t.Errorf("sums: today %+v, first day %+v", today, c.Days[0])
	}
	if today.FailedY+today.FailedH != chartBase || today.UpdatedY+today.UpdatedH != today.FailedY || today.AddedY != chartTop {
		t.Errorf("today's bar is not stacked from the baseline to the top: %+v", today)
	}
}

// Each failure shows its reason in the help article's words.
func TestReasonInTheSeedsWords(t *testing.T) {
	for code, want := range map[string]string{
		"CRM_ID_ALREADY_MAPPED":   "CRM ID is already mapped with another support entity",
		"MANDATORY_FIELD_MISSING": "Mandatory field missing",
		"MISSING_PARAMETER":       "Missing parameter",
		"INVALID_PARAMETER":       "Incorrect API parameter or parameter value",
	} {
		if got := reason(code, "anything: else"); got != want {
			t.Errorf("%s: %q", code, got)
		}
	}
	if got := reason("TYPE_MISMATCH", "Text value given for an integer field: Desk cf_x (text) → CRM Seats (integer)"); got != "Text value given for an integer field" {
		t.Errorf("TYPE_MISMATCH: %q", got)
	}
}

// The overview's bars count each side's steps of the first sync: its own index and create
// steps and the shared match and reconcile.
func TestSideSteps(t *testing.T) {
	st := workflows.Status{Step: 4, Steps: []string{"index-desk-accounts", "index-crm-accounts", "match-accounts", "create-in-crm-accounts",
		"create-in-desk-accounts", "reconcile-accounts", "index-desk-contacts", "index-crm-contacts"}}
	if done, total := sideSteps(st, "accounts", "Desk"); done != 2 || total != 4 {
		t.Errorf("Desk accounts: %d of %d", done, total)
	}
	if done, total := sideSteps(st, "accounts", "CRM"); done != 3 || total != 4 {
		t.Errorf("CRM accounts: %d of %d", done, total)
	}
	if done, total := sideSteps(st, "contacts", "CRM"); done != 0 || total != 1 {
		t.Errorf("CRM contacts: %d of %d", done, total)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/console/plan?x=1": "/console/plan?x=1", "": Prefix, "https://evil.example/": Prefix,
		"/console//evil.example": Prefix, "/console/\\evil": Prefix, "/api/v1/permissions": Prefix} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
