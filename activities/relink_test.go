package activities_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
)

// Every linked pair carries its counterpart's id on both sides, however it was linked (matched,
// created either way), so the link table can be rebuilt from the two apps: after a sync, the
// links are dropped, and Relink gives the same links back (a dry run first changes nothing).
func TestRelinkRebuildsTheLinksFromTheApps(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	w.firstSync()
	w.pass(nil)
	before := w.linkPairs()
	if len(before) != 6 { // 2 accounts matched; Ann, Ben matched; Cid, Dot created
		t.Fatalf("links after the sync: %v", before)
	}
	_, err := w.st.Pool.Exec(w.ctx, `delete from links`)
	must(t, err)

	dry, err := w.a.Relink(w.ctx, activities.RelinkInput{IntegrationID: "it"})
	must(t, err)
	if got := w.linkPairs(); len(got) != 0 {
		t.Fatalf("a dry run wrote links: %v", got)
	}
	added := 0
	for _, m := range dry.Modules {
		added += m.Added
		if m.Conflicts != 0 || m.Different != 0 {
			t.Errorf("dry run %+v: no conflict expected", m)
		}
	}
	if added != len(before) {
		t.Errorf("dry run would add %d links, want %d", added, len(before))
	}
	w.resetCalls()
	_, err = w.a.Relink(w.ctx, activities.RelinkInput{IntegrationID: "it", Apply: true})
	must(t, err)
	if got := w.linkPairs(); !slices.Equal(got, before) {
		t.Fatalf("links after relink\n%v\nwant\n%v", got, before)
	}
	if n := w.writeCalls(); n != 0 {
		t.Errorf("relinking pairs already in sync wrote %d time(s)", n)
	}
	// The rebuilt links are ordinary links: a pass finds the sides agree.
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after the relink wrote %d time(s)", n)
	}
}

// linkPairs lists the links as "module desk crm", sorted.
func (w *world) linkPairs() []string {
	w.t.Helper()
	rows, err := w.st.Pool.Query(w.ctx, `select module, coalesce(desk_id, ''), coalesce(crm_id, '') from links where state = 'linked' order by 1, 2, 3`)
	must(w.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m, d, c string
		must(w.t, rows.Scan(&m, &d, &c))
		out = append(out, fmt.Sprintf("%s %s %s", m, d, c))
	}
	return out
}

// A pair whose record on one side is deleted — in Desk's recycle bin, or deleted in CRM — is
// rebuilt with its deletion mark, as the link table held it: an edit of the live record then
// restores the Desk one from the recycle bin instead of creating a second record beside it (a
// trial: relink left such pairs out as conflicts, and the next edit made a duplicate).
func TestRelinkKeepsPairsWithADeletedRecord(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	must(t, w.userDsk.Trash(w.ctx, "contacts", []string{d["ann"]}))
	_, err := w.userCRM.Delete(w.ctx, "Contacts", []string{c["ben"]})
	must(t, err)
	w.pass(nil)
	before := w.linkPairs()
	_, err = w.st.Pool.Exec(w.ctx, `delete from links`)
	must(t, err)

	dry, err := w.a.Relink(w.ctx, activities.RelinkInput{IntegrationID: "it"})
	must(t, err)
	deleted := 0
	for _, m := range dry.Modules {
		deleted += m.Deleted
		if m.Conflicts != 0 {
			t.Errorf("dry run %+v: no conflict expected (%v)", m, m.ConflictSample)
		}
	}
	if deleted != 2 {
		t.Errorf("dry run found %d pairs with a deleted record, want Ann's and Ben's", deleted)
	}
	_, err = w.a.Relink(w.ctx, activities.RelinkInput{IntegrationID: "it", Apply: true})
	must(t, err)
	if got := w.linkPairs(); !slices.Equal(got, before) {
		t.Fatalf("links after relink\n%v\nwant\n%v", got, before)
	}
	if l := w.crmLinkOf(d["ann"]); l.DeskDeleted != "trash" {
		t.Errorf("Ann's link desk_deleted = %q, want trash", l.DeskDeleted)
	}
	if l := w.crmLinkOf(d["ben"]); l.CRMDeleted != "trash" {
		t.Errorf("Ben's link crm_deleted = %q, want trash", l.CRMDeleted)
	}
	w.crmUpdate(c["ann"], map[string]any{"Phone": "333"})
	w.pass(nil)
	if w.deskField("contacts", d["ann"], "isTrashed") != "false" || w.deskField("contacts", d["ann"], "phone") != "333" {
		t.Errorf("Desk Ann trashed=%s phone=%s; want restored with 333", w.deskField("contacts", d["ann"], "isTrashed"), w.deskField("contacts", d["ann"], "phone"))
	}
	if n := w.deskContactsWithEmail("ann@x.com"); n != 1 {
		t.Errorf("%d Desk contacts hold Ann's email, want 1", n)
	}
}

// Relink reads both apps' deleted records before it decides anything: when Desk's recycle bin
// cannot be read it stops with that error and links nothing (a pair left out would be created
// again by the next edit).
func TestRelinkStopsWhenARecycleBinCannotBeRead(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	w.firstSync()
	_, err := w.st.Pool.Exec(w.ctx, `delete from links`)
	must(t, err)
	_, err = w.desk.Realism().AddFault(realism.Fault{Method: "GET", Path: "/api/v1/recycleBin", Kind: realism.FaultStatus, Status: 500})
	must(t, err)
	_, err = w.a.Relink(w.ctx, activities.RelinkInput{IntegrationID: "it", Apply: true})
	if err == nil || !strings.Contains(err.Error(), "recycle bin") {
		t.Fatalf("relink with Desk's recycle bin failing: %v, want its error", err)
	}
	if got := w.linkPairs(); len(got) != 0 {
		t.Errorf("links written although the relink failed: %v", got)
	}
}
