package activities_test

import (
	"testing"

	"deskcrm/activities"
)

// A link can outlive its record (purged with no deletion the sync could read, an org restored
// from a backup). Writes that meet it check the record, mark the link's side as deleted for
// good, and go on: contacts are written without the account that is gone, with one failure
// for the account and none per contact; an update of a record that is gone re-creates it from
// the change.
func TestLinksWhoseRecordIsGoneDoNotPoisonWrites(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	// Desk loses account Acme and contact Ben without a trace.
	if n := w.desk.Vanish("accounts", d["acme"]) + w.desk.Vanish("contacts", d["ben"]); n != 2 {
		t.Fatalf("vanished %d records", n)
	}
	// Two new CRM contacts of Acme, and a change of Ben in CRM.
	_, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "New1", "Email": "new1@x.com", "Account_Name": map[string]any{"id": c["acme"]}},
		{"Last_Name": "New2", "Email": "new2@x.com", "Account_Name": map[string]any{"id": c["acme"]}},
	})
	must(t, err)
	w.crmUpdate(c["ben"], map[string]any{"Title": "Back"})
	w.pass(nil)

	for _, email := range []string{"new1@x.com", "new2@x.com"} {
		var found map[string]any
		for _, r := range w.desk.Records("contacts") {
			if r["email"] == email {
				found = r
			}
		}
		if found == nil {
			t.Errorf("Desk contact %s not created", email)
		} else if found["accountId"] != nil {
			t.Errorf("Desk contact %s created with account %v, which is gone", email, found["accountId"])
		}
	}
	gone := w.openFailures("COUNTERPART_DELETED")
	if len(gone) != 1 || gone[0].DeskID != d["acme"] || gone[0].Module != "accounts" {
		t.Errorf("COUNTERPART_DELETED failures %+v, want one for the Desk account", gone)
	}
	all, n, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	if n != 1 {
		t.Errorf("%d open failures, want only the account's: %+v", n, all)
	}
	// Ben is back in Desk, created from CRM, and the link points at him.
	l := w.crmLinkOf2(c["ben"])
	if l.DeskID == d["ben"] || l.DeskID == "" || l.DeskDeleted != "" {
		t.Fatalf("Ben's link %+v should point at a re-created Desk contact", l)
	}
	if got := w.deskField("contacts", l.DeskID, "title"); got != "Back" {
		t.Errorf("re-created Desk Ben's title = %s", got)
	}
	// The next pass finds nothing more to do.
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after wrote %d time(s)", n)
	}
}
