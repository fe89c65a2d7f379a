package activities_test

import (
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
)

// The look-back decides which records are exported and imported, not which exist: a recent
// record whose counterpart is older than the look-back is linked to it, in the first sync and
// in incremental passes alike, never created a second time; several old records with its key
// make it ambiguous.
func TestOldCounterpartsAreLinkedNotDuplicated(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	old := crmTime(time.Now().UTC().AddDate(-2, 0, 0))
	oldDesk := time.Now().UTC().AddDate(-2, 0, 0).Format(iso)
	recent := time.Now().UTC().Add(-time.Hour)
	crmOld, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Old", "Email": "old@x.com", "Phone": "1", "Created_Time": old, "Modified_Time": old},
		{"Last_Name": "Twin1", "Email": "twin@x.com", "Created_Time": old, "Modified_Time": old},
		{"Last_Name": "Twin2", "Email": "twin@x.com", "Created_Time": old, "Modified_Time": old},
	})
	must(t, err)
	deskOld, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Aged", "email": "AGED@x.com ", "createdTime": oldDesk, "modifiedTime": oldDesk},
	})
	must(t, err)
	deskNew, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Old", "email": "Old@X.com", "title": "Boss", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
		{"lastName": "Twin", "email": "twin@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
	})
	must(t, err)
	crmNew, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Aged", "Email": "aged@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
	})
	must(t, err)

	w.firstSync()
	if n := countCRM(w, "old@x.com"); n != 1 {
		t.Errorf("%d CRM contacts old@x.com, want 1: the recent Desk contact must link to the old CRM one", n)
	}
	if l := w.crmLinkOf(deskNew[0]); l.CRMID != crmOld[0] {
		t.Errorf("Desk Old linked to %q, want the old CRM contact %s", l.CRMID, crmOld[0])
	}
	if got := w.crmField("Contacts", crmOld[0], "Title"); got != "Boss" {
		t.Errorf("the pair was not reconciled: CRM title %s", got)
	}
	if got := w.crmField("Contacts", crmOld[0], "Desk_ID"); got != deskNew[0] {
		t.Errorf("CRM Old's Desk_ID = %s, want %s", got, deskNew[0])
	}
	if l := w.crmLinkOf(deskOld[0]); l.CRMID != crmNew[0] {
		t.Errorf("old Desk Aged linked to %q, want the recent CRM contact %s", l.CRMID, crmNew[0])
	}
	if n := countCRM(w, "twin@x.com"); n != 2 {
		t.Errorf("%d CRM twins, want the 2 old ones and no copy", n)
	}
	amb := w.openFailures("AMBIGUOUS_MATCH")
	if len(amb) != 1 || amb[0].DeskID != deskNew[1] {
		t.Errorf("AMBIGUOUS_MATCH failures %+v, want the Desk twin", amb)
	}

	// In an incremental pass: a new Desk contact whose email an old CRM contact has.
	more, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Older", "Email": "older@x.com", "Created_Time": old, "Modified_Time": old},
	})
	must(t, err)
	w.deskCreate(map[string]any{"lastName": "Older", "email": "older@x.com"})
	w.pass(nil)
	if n := countCRM(w, "older@x.com"); n != 1 {
		t.Errorf("%d CRM contacts older@x.com after a pass, want 1", n)
	}
	if got := w.crmField("Contacts", more[0], "Desk_ID"); got == "<nil>" {
		t.Errorf("the old CRM contact was not linked by the pass")
	}
}

func countCRM(w *world, email string) int {
	n := 0
	for _, r := range w.crm.Records("Contacts") {
		if e, _ := r["Email"].(string); strings.EqualFold(e, email) {
			n++
		}
	}
	return n
}
