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

// An update that the target refuses because a unique field would collide (an account
// renamed to the name another account holds there) logs DUPLICATE_DATA naming the field and,
// where the API says, the account that holds the name, in words (it logged Zoho's raw
// error), and closes once the name is changed.
func TestAnUpdateRefusedAsDuplicateNamesTheHolder(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay, func(c *crmemu.Config) {
		c.UniqueFields = map[string][]string{"Accounts": {"Account_Name"}}
	})
	d, c := w.seed()
	// Gamma: a CRM account older than the look-back, so never synced, holding its name.
	old := crmTime(time.Now().UTC().AddDate(-2, 0, 0))
	gamma, err := w.crm.Load("Accounts", []map[string]any{{"Account_Name": "Gamma", "Created_Time": old, "Modified_Time": old}})
	must(t, err)
	deskOld := time.Now().UTC().AddDate(-2, 0, 0).Format(iso)
	_, err = w.desk.Load("accounts", []map[string]any{{"accountName": "Delta", "createdTime": deskOld, "modifiedTime": deskOld}})
	must(t, err)
	w.firstSync()
	w.pass(nil)
	check := func(deskID, crmID string, wants ...string) {
		t.Helper()
		fs := w.openFailures("DUPLICATE_DATA")
		if len(fs) != 1 || fs[0].DeskID != deskID || fs[0].CRMID != crmID {
			t.Fatalf("DUPLICATE_DATA failures %+v, want one for Desk %s / CRM %s", fs, deskID, crmID)
		}
		for _, want := range append(wants, "must be unique") {
			if !strings.Contains(fs[0].Message, want) {
				t.Errorf("failure message %q does not say %q", fs[0].Message, want)
			}
		}
		if strings.Contains(fs[0].Message, "zoho ") {
			t.Errorf("failure message %q is Zoho's raw error", fs[0].Message)
		}
	}
	w.deskUpdateIn("accounts", d["beta"], map[string]any{"accountName": "Gamma"})
	w.pass(nil)
	check(d["beta"], c["beta"], "CRM refused the account", "CRM Account_Name", "CRM account "+gamma[0], "Desk accountName", "change it in Desk")
	w.deskUpdateIn("accounts", d["beta"], map[string]any{"accountName": "Beta West"})
	w.pass(nil)
	if fs := w.openFailures("DUPLICATE_DATA"); len(fs) != 0 {
		t.Errorf("DUPLICATE_DATA still open after the rename: %+v", fs)
	}
	if got := w.crmField("Accounts", c["beta"], "Account_Name"); got != "Beta West" {
		t.Errorf("CRM Beta's name %q, want Beta West", got)
	}

	// Desk keeps account names unique too, and does not say which account holds one.
	time.Sleep(1100 * time.Millisecond) // CRM's Modified_Time counts whole seconds
	w.crmUpdateIn("Accounts", c["beta"], map[string]any{"Account_Name": "Delta"})
	w.pass(nil)
	check(d["beta"], c["beta"], "Desk refused the account", "Desk accountName", "another Desk account", "CRM Account_Name", "change it in CRM")
}
