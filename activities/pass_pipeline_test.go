package activities_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/zoho/crm"
)

// A pass plans and writes CRM's changes a chunk at a time while it reads on, each chunk with
// the Desk changes of its pairs: a bulk update of more records than a chunk holds ends as one
// plan of everything would — Desk's own changes kept, a pair changed on both sides decided by
// the newer change, nothing left for the next pass.
func TestABulkUpdateIsWrittenInChunksWithItsPairsOtherChanges(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	const n = 2500 // three chunks
	recent := time.Now().UTC().Add(-time.Hour)
	var crms []map[string]any
	for i := range n {
		crms = append(crms, map[string]any{"Last_Name": fmt.Sprintf("P%d", i), "Email": fmt.Sprintf("p%d@x.com", i),
			"Created_Time": recent.Format(time.RFC3339), "Modified_Time": recent.Format(time.RFC3339)})
	}
	crmIDs, err := w.crm.Load("Contacts", crms)
	must(t, err)
	w.firstSync()
	deskOf := map[string]string{}
	for _, id := range crmIDs {
		deskOf[id] = w.crmField("Contacts", id, "Desk_ID")
	}
	sorted := slices.Clone(crmIDs)
	slices.Sort(sorted)
	late, both := sorted[n-100], sorted[n-50] // in the last chunk: CRM lists oldest change first

	// Desk first: a phone on one pair, a title on another; then CRM's bulk update of every title.
	w.deskUpdate(deskOf[late], map[string]any{"phone": "111"})
	w.deskUpdate(deskOf[both], map[string]any{"title": "Desk first"})
	time.Sleep(1100 * time.Millisecond) // CRM times have whole seconds: CRM's change is newer
	for start := 0; start < n; start += crm.MaxWriteBatch {
		var recs []crm.Record
		for _, id := range sorted[start:min(start+crm.MaxWriteBatch, n)] {
			recs = append(recs, crm.Record{ID: id, Fields: map[string]any{"Title": "Bulk"}})
		}
		_, err := w.userCRM.Update(w.ctx, "Contacts", recs)
		must(t, err)
	}
	r := w.pass(nil)
	if r.UpdatedInDesk != n || r.UpdatedInCRM != 1 {
		t.Errorf("updated %d in Desk and %d in CRM, want %d and 1 (the phone)", r.UpdatedInDesk, r.UpdatedInCRM, n)
	}
	for _, id := range []string{sorted[0], late, both} {
		if got := w.deskField("contacts", deskOf[id], "title"); got != "Bulk" {
			t.Errorf("Desk contact of %s has title %q, want the newer Bulk", id, got)
		}
	}
	for _, id := range []string{late, both} {
		if got := w.crmField("Contacts", id, "Title"); got != "Bulk" {
			t.Errorf("CRM contact %s has title %q, want Bulk", id, got)
		}
	}
	if got := w.crmField("Contacts", late, "Phone"); got != "111" {
		t.Errorf("CRM contact %s has phone %q, want Desk's 111", late, got)
	}
	if got := w.deskField("contacts", deskOf[late], "phone"); got != "111" {
		t.Errorf("Desk contact of %s lost its phone: %q", late, got)
	}
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after wrote %d time(s)", n)
	}
}

// A chunk planned ahead whose records are not linked yet is planned again after the chunk
// before it is written: new CRM contacts whose emails repeat one chunk later end with one
// Desk contact per email, as one plan of everything would leave them, and nothing for the
// next pass.
func TestNewRecordsMatchWhatTheChunkBeforeThemCreated(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.firstSync()
	const n = 1200 // each half more than a chunk
	insert := func(prefix string) {
		for start := 0; start < n; start += crm.MaxWriteBatch {
			var recs []crm.Record
			for i := start; i < min(start+crm.MaxWriteBatch, n); i++ {
				recs = append(recs, crm.Record{Fields: map[string]any{"Last_Name": fmt.Sprintf("%s%d", prefix, i), "Email": fmt.Sprintf("n%d@x.com", i)}})
			}
			_, err := w.userCRM.Insert(w.ctx, "Contacts", recs)
			must(t, err)
		}
	}
	insert("First")
	time.Sleep(1100 * time.Millisecond) // CRM lists the oldest change first: the copies come a chunk later
	insert("Again")
	w.pass(nil)
	perEmail := map[string]int{}
	for _, r := range w.desk.Records("contacts") {
		if e, _ := r["email"].(string); strings.HasSuffix(e, "@x.com") {
			perEmail[e]++
		}
	}
	if len(perEmail) != n {
		t.Errorf("%d emails in Desk, want %d", len(perEmail), n)
	}
	for e, c := range perEmail {
		if c != 1 {
			t.Errorf("%d Desk contacts with email %s, want 1", c, e)
			break
		}
	}
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after wrote %d time(s)", n)
	}
}
