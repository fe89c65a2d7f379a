package activities_test

import (
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	crmemu "deskcrm/emulator/crm"
)

// A create the target refuses because a unique field already holds the value (CRM
// DUPLICATE_DATA naming the record) links to that record when it is not linked yet, and the
// pair is reconciled like a match; when the record that holds it is linked already, the
// failure names the field and both records.
func TestDuplicateDataLinksToTheRecordItNames(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay, func(c *crmemu.Config) {
		c.UniqueFields = map[string][]string{"Contacts": {"Secondary_Email"}}
	})
	old := crmTime(time.Now().UTC().AddDate(-2, 0, 0))
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	holders, err := w.crm.Load("Contacts", []map[string]any{
		// Older than the look-back, other email: only the unique field meets it.
		{"Last_Name": "Holder", "Email": "holder@x.com", "Secondary_Email": "shared@x.com", "Created_Time": old, "Modified_Time": old},
	})
	must(t, err)
	desks, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Holder", "email": "holder2@x.com", "secondaryEmail": "shared@x.com", "title": "CTO",
			"createdTime": recent, "modifiedTime": recent},
	})
	must(t, err)
	w.firstSync()
	if l := w.crmLinkOf(desks[0]); l.CRMID != holders[0] {
		t.Fatalf("Desk contact linked to %q, want the CRM record that holds its secondary email (%s)", l.CRMID, holders[0])
	}
	if n := len(w.crm.Records("Contacts")); n != 1 {
		t.Errorf("CRM has %d contacts, want 1", n)
	}
	if got := w.crmField("Contacts", holders[0], "Title"); got != "CTO" {
		t.Errorf("the pair was not reconciled: CRM title %s", got)
	}
	if got := w.crmField("Contacts", holders[0], "Desk_ID"); got != desks[0] {
		t.Errorf("CRM Desk_ID = %s, want %s", got, desks[0])
	}
	if f := w.openFailures("DUPLICATE_DATA"); len(f) != 0 {
		t.Errorf("failures %+v", f)
	}

	// A second Desk contact with the same secondary email: its holder is linked already.
	second := w.deskCreate(map[string]any{"lastName": "Second", "email": "second@x.com", "secondaryEmail": "shared@x.com"})
	w.pass(nil)
	fs := w.openFailures("DUPLICATE_DATA")
	if len(fs) != 1 || fs[0].DeskID != second {
		t.Fatalf("DUPLICATE_DATA failures %+v, want one for Desk %s", fs, second)
	}
	for _, want := range []string{"Secondary_Email", holders[0], desks[0], "must be unique"} {
		if !strings.Contains(fs[0].Message, want) {
			t.Errorf("failure message %q does not name %s", fs[0].Message, want)
		}
	}
	if n := len(w.crm.Records("Contacts")); n != 1 {
		t.Errorf("CRM has %d contacts, want 1", n)
	}
}
