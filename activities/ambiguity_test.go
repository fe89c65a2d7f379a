package activities_test

import (
	"testing"
	"time"

	"deskcrm/activities"
)

// Two CRM contacts and one Desk contact share an email: the three are ambiguous. When one CRM
// contact's email changes, the pass that reads it matches the two left at once — they are
// marked for retry and read again — instead of waiting for an admin's Retry (a trial: the
// renamed record synced, its former peers stayed unlinked until `starter retry`).
func TestAKeyLeftResolvesTheAmbiguityOfItsPeers(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	recent := time.Now().UTC().Add(-time.Hour)
	crmIDs, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Eve", "Email": "eve@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
		{"Last_Name": "Eve Two", "Email": "eve@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
	})
	must(t, err)
	deskIDs, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Eve", "email": "eve@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
	})
	must(t, err)
	w.firstSync()
	w.pass(nil)
	if n := len(w.openFailures("AMBIGUOUS_MATCH")); n != 3 {
		t.Fatalf("%d AMBIGUOUS_MATCH failures, want the three Eves'", n)
	}
	w.crmUpdate(crmIDs[1], map[string]any{"Email": "eve.two@x.com"})
	w.pass(nil)
	if l := w.crmLinkOf(deskIDs[0]); l.CRMID != crmIDs[0] {
		t.Errorf("Desk Eve's link %+v, want CRM Eve %s", l, crmIDs[0])
	}
	if n := w.deskContactsWithEmail("eve.two@x.com"); n != 1 {
		t.Errorf("%d Desk contacts with Eve Two's new email, want her created", n)
	}
	all, n, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	if n != 0 {
		t.Errorf("%d open failures, want none: %+v", n, all)
	}
}
