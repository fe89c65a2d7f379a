package activities_test

import (
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/mapping"
	"deskcrm/store"
)

// Values travel between the two APIs (through both clients and both emulators) without
// changing meaning and without a write bouncing back: booleans as JSON and as Desk's strings,
// dates with no day shift, datetimes with offsets as instants, multi-select values in any
// order, currency rounded to the target's decimals, text with emoji and combining characters.
// A picklist value the target lacks is a clear failure, and the record's other fields sync.
func TestConversionsAcrossBothAPIs(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	must(t, w.crm.AddField("Contacts", crmemu.Field{APIName: "Tags", DataType: "multiselectpicklist", Custom: true, PickList: []string{"Red", "Green", "Blue"}}))
	must(t, w.crm.AddField("Contacts", crmemu.Field{APIName: "Last_Seen", DataType: "datetime", Custom: true}))
	must(t, w.crm.AddField("Contacts", crmemu.Field{APIName: "Budget", DataType: "currency", Custom: true, DecimalPlace: 2}))
	must(t, w.crm.AddField("Contacts", crmemu.Field{APIName: "Fav", DataType: "picklist", Custom: true, PickList: []string{"-None-", "Gold", "Silver"}}))
	must(t, w.desk.AddField("contacts", deskemu.Field{APIName: "cf_tags", DisplayLabel: "Tags", Type: deskemu.TypeMultiselect, AllowedValues: []string{"Red", "Green", "Blue"}}))
	must(t, w.desk.AddField("contacts", deskemu.Field{APIName: "cf_last_seen", DisplayLabel: "Last Seen", Type: deskemu.TypeDateTime}))
	must(t, w.desk.AddField("contacts", deskemu.Field{APIName: "cf_budget", DisplayLabel: "Budget", Type: deskemu.TypeCurrency, Decimals: 2}))
	must(t, w.desk.AddField("contacts", deskemu.Field{APIName: "cf_fav", DisplayLabel: "Fav", Type: deskemu.TypePicklist, AllowedValues: []string{"Gold", "Silver"}}))
	var rows []store.MappingRow
	for _, f := range mapping.DemoMapping(mapping.Contacts).Fields {
		rows = append(rows, store.MappingRow{DeskField: f.Desk, CRMField: f.CRM, Direction: "both", Policy: "newest"})
	}
	rows = append(rows,
		store.MappingRow{DeskField: "cf_tags", CRMField: "Tags", Direction: "both", Policy: "newest"},
		store.MappingRow{DeskField: "cf_last_seen", CRMField: "Last_Seen", Direction: "both", Policy: "newest"},
		store.MappingRow{DeskField: "cf_budget", CRMField: "Budget", Direction: "both", Policy: "newest"},
		store.MappingRow{DeskField: "cf_fav", CRMField: "Fav", Direction: "crm-to-desk", Policy: "newest"})
	_, err := w.st.EnsureIntegration(w.ctx, "it", "two-way", 365*24*time.Hour)
	must(t, err)
	must(t, w.st.ReplaceMapping(w.ctx, "it", "contacts", rows))

	recent := time.Now().UTC().Add(-time.Hour)
	crmIDs, err := w.crm.Load("Contacts", []map[string]any{{
		"Last_Name": "Zoë 😀", "Email": "conv@x.com", "VIP": true, "Renewal_Date": "2026-03-01",
		"Last_Seen": "2026-01-02T03:04:05+05:30", "Tags": []any{"Blue", "Red"}, "Budget": 12.5,
		"Fav":          "Orange", // CRM keeps picklist values it does not list; Desk refuses them
		"Title":        strings.Repeat("t", 100),
		"Created_Time": crmTime(recent), "Modified_Time": crmTime(recent),
	}})
	must(t, err)
	deskIDs, err := w.desk.Load("contacts", []map[string]any{{
		"lastName": "Ame\u0301lie", "email": "back@x.com",
		"cf": map[string]any{"cf_vip": "true", "cf_renewal_date": "2026-03-01", "cf_last_seen": "2026-01-01T21:34:05.000Z",
			"cf_tags": "Green;Red", "cf_budget": "7.125"},
		"createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso),
	}})
	must(t, err)
	w.firstSync()

	conv := w.crmLinkOf2(crmIDs[0]).DeskID
	for field, want := range map[string]string{"cf_vip": "true", "cf_renewal_date": "2026-03-01", "lastName": "Zoë 😀", "cf_budget": "12.50"} {
		if got := w.deskField("contacts", conv, field); got != want {
			t.Errorf("Desk %s = %q, want %q", field, got, want)
		}
	}
	if got := w.deskField("contacts", conv, "cf_last_seen"); !sameInstant(got, "2026-01-01T21:34:05Z") {
		t.Errorf("Desk cf_last_seen = %q, want the instant 2026-01-01T21:34:05Z", got)
	}
	if got := w.deskField("contacts", conv, "cf_tags"); got != "Blue;Red" && got != "Red;Blue" {
		t.Errorf("Desk cf_tags = %q", got)
	}
	if got := w.deskField("contacts", conv, "cf_fav"); got != "<nil>" {
		t.Errorf("Desk cf_fav = %q: a value the picklist lacks must not be written", got)
	}
	if fs := w.openFailures("INVALID_PICKLIST_VALUE"); len(fs) != 1 || fs[0].CRMID != crmIDs[0] || !strings.Contains(fs[0].Message, "cf_fav") {
		t.Errorf("INVALID_PICKLIST_VALUE failures %+v, want one naming cf_fav", fs)
	}
	back := w.crmLinkOf(deskIDs[0]).CRMID
	for field, want := range map[string]string{"VIP": "true", "Renewal_Date": "2026-03-01", "Last_Name": "Amélie", "Budget": "7.13"} {
		if got := w.crmField("Contacts", back, field); got != want {
			t.Errorf("CRM %s = %q, want %q", field, got, want)
		}
	}
	if got := w.crmField("Contacts", back, "Last_Seen"); !sameInstant(got, "2026-01-01T21:34:05Z") {
		t.Errorf("CRM Last_Seen = %q, want the instant 2026-01-01T21:34:05Z", got)
	}

	// Nothing bounces back: the pass after the first sync, and one after the tags are
	// reordered, write nothing.
	w.resetCalls()
	w.pass(nil)
	w.crmUpdate(crmIDs[0], map[string]any{"Tags": []any{"Red", "Blue"}})
	w.pass(nil)
	if n := w.writeCalls() - 1; n != 0 { // the reorder itself is the one write
		t.Errorf("%d write(s) bounced between the sides", n)
	}
}

func sameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}
