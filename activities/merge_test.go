package activities_test

import (
	"strings"
	"testing"

	"deskcrm/activities"
)

// crmContactsWithEmail counts the live CRM contacts holding email.
func (w *world) crmContactsWithEmail(email string) int {
	n := 0
	for _, r := range w.crm.Records("Contacts") {
		if r["Email"] == email {
			n++
		}
	}
	return n
}

// twinsOfAnn links Ben as a second pair holding Ann's email on both sides (a duplicate
// customer, as an admin finds before merging): Ben's CRM email is changed, the pass carries it.
func (w *world) twinsOfAnn() (deskIDs, crmIDs map[string]string) {
	w.t.Helper()
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	w.crmUpdate(c["ben"], map[string]any{"Email": "ann@x.com"})
	w.pass(nil)
	if n := w.deskContactsWithEmail("ann@x.com"); n != 2 {
		w.t.Fatalf("%d Desk contacts with Ann's email, want Ann and Ben", n)
	}
	return d, c
}

// benMergedInCRMThenEditedInDesk merges CRM Ben into CRM Ann (Zoho CRM's merge), lets a pass
// read it, then edits Desk Ben, Ben's copy, and lets a pass carry the edit.
func (w *world) benMergedInCRMThenEditedInDesk(d, c map[string]string) {
	w.t.Helper()
	w.merge("crm", "Contacts", c["ann"], c["ben"])
	w.pass(nil)
	w.deskUpdate(d["ben"], map[string]any{"title": "Edited in Desk"})
	w.pass(nil)
}

// Zoho CRM's merge deletes the merged-away record for good; its Desk counterpart stays (deletes
// do not propagate), and when it is edited the add-back rule created the CRM record again — the
// duplicate the admin had just merged away (a trial could not try merges; the emulators have
// them now). A record whose match key a linked record of CRM holds is not created again: its
// failure names that record and says to merge on the Desk side too.
func TestACRMMergeIsNotUndoneByTheDeskCopy(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.twinsOfAnn()
	w.benMergedInCRMThenEditedInDesk(d, c)
	if n := w.crmContactsWithEmail("ann@x.com"); n != 1 {
		t.Errorf("%d CRM contacts with Ann's email after the Desk copy's edit, want the merge's master alone", n)
	}
	open, err := w.st.OpenFailuresOf(w.ctx, "it", "contacts", d["ben"])
	must(t, err)
	if len(open) != 1 || open[0].Code != "CRM_ID_ALREADY_MAPPED" || !strings.Contains(open[0].Message, c["ann"]) {
		t.Errorf("Desk Ben's open failures %+v, want CRM_ID_ALREADY_MAPPED naming CRM Ann %s", open, c["ann"])
	}
	// Ann's pair is untouched and still syncs.
	w.crmUpdate(c["ann"], map[string]any{"Title": "After the merge"})
	w.pass(nil)
	if got := w.deskField("contacts", d["ann"], "title"); got != "After the merge" {
		t.Errorf("Desk Ann's title %q, want the CRM edit", got)
	}
}

// The same for a Desk merge: the merged-away Desk contact is deleted for good (not in the
// recycle bin), so the sync learns it when its update is refused; the add-back rule then created
// a second Desk contact with the master's email.
func TestADeskMergeIsNotUndoneByTheCRMCopy(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.twinsOfAnn()
	w.merge("desk", "contacts", d["ann"], d["ben"])
	w.crmUpdate(c["ben"], map[string]any{"Title": "Edited in CRM"})
	w.pass(nil)
	w.pass(nil)
	if n := w.deskContactsWithEmail("ann@x.com"); n != 1 {
		t.Errorf("%d Desk contacts with Ann's email after the CRM copy's edit, want the merge's master alone", n)
	}
	open, _, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	found := false
	for _, f := range open {
		found = found || (f.CRMID == c["ben"] && f.Code == "CRM_ID_ALREADY_MAPPED" && strings.Contains(f.Message, d["ann"]))
	}
	if !found {
		t.Errorf("open failures %+v, want CRM Ben's CRM_ID_ALREADY_MAPPED naming Desk Ann %s", open, d["ann"])
	}
}

// A record deleted on its own (no linked twin holds its key) is still added back when its
// counterpart changes (DESIGN section 1, item 5).
func TestARecordDeletedForGoodIsStillAddedBack(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	res, err := w.userCRM.Delete(w.ctx, "Contacts", []string{c["ben"]})
	must(t, err)
	if !res[0].OK() {
		t.Fatal(res[0].Err)
	}
	w.pass(nil)
	w.deskUpdate(d["ben"], map[string]any{"title": "Edited in Desk"})
	w.pass(nil)
	if n := w.crmContactsWithEmail("ben@x.com"); n != 1 {
		t.Errorf("%d CRM contacts with Ben's email, want Ben added back", n)
	}
}

// Doing what the failure says — merging the Desk copy into the master's counterpart, then
// Retry — leaves no failure open: the merged-away Desk record is gone for good, with no deletion
// Desk lists, so the retry finds it gone, closes its failure and takes it out of the index (a
// trial: the failure stayed open for good, and each retry logged new duplicate failures for
// Desk records merged away before).
func TestARetryClosesTheFailuresOfRecordsMergedAway(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.twinsOfAnn()
	w.benMergedInCRMThenEditedInDesk(d, c)
	if open := w.openFailures("CRM_ID_ALREADY_MAPPED"); len(open) != 1 {
		t.Fatalf("CRM_ID_ALREADY_MAPPED failures %+v, want Desk Ben's", open)
	}
	w.merge("desk", "contacts", d["ann"], d["ben"])
	if _, err := w.a.MarkRetry(w.ctx, activities.RetryInput{IntegrationID: "it"}); err != nil {
		t.Fatal(err)
	}
	w.pass(nil)
	all, n, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	if n != 0 {
		t.Errorf("%d open failures after the merge on the Desk side and Retry, want none: %+v", n, all)
	}
	if got := w.deskContactsWithEmail("ann@x.com"); got != 1 {
		t.Errorf("%d Desk contacts with Ann's email, want the master alone", got)
	}
	if got := w.crmContactsWithEmail("ann@x.com"); got != 1 {
		t.Errorf("%d CRM contacts with Ann's email, want the master alone", got)
	}
}
