package activities_test

import (
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
	"deskcrm/store"
)

// apiCalls counts the Zoho API calls in both emulators' logs since the last reset.
func (w *world) apiCalls() int {
	n := 0
	for _, s := range []realism.Stats{w.crm.Realism().Calls(), w.desk.Realism().Calls()} {
		for ep, st := range s.Endpoints {
			if !strings.Contains(ep, "oauth") {
				n += st.Calls
			}
		}
	}
	return n
}

// A scan finds the index of an earlier scan (a dry-run plan's) and reuses it when nothing
// changed in Zoho since — two calls per side tell — and scans again otherwise; a scan drops
// the index rows of records it no longer finds.
func TestIndexIsReusedWhenNothingChangedSinceTheLastScan(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, _ := w.seed()
	_, err := w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	start := time.Now().UTC().Add(-10 * time.Minute) // the scans below are minutes apart
	scan := func(now time.Time, lookback time.Duration) (deskN, crmN int) {
		t.Helper()
		in := activities.StepInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Lookback: lookback, Now: now}
		dr, err := w.a.IndexDesk(w.ctx, in)
		must(t, err)
		cr, err := w.a.IndexCRM(w.ctx, in)
		must(t, err)
		return dr.Indexed, cr.Indexed
	}
	deskN, crmN := scan(start, 24*time.Hour)
	if deskN != 3 || crmN != 3 {
		t.Fatalf("first scan indexed %d Desk and %d CRM contacts, want 3 and 3", deskN, crmN)
	}

	w.resetCalls()
	if dn, cn := scan(start.Add(time.Minute), 24*time.Hour); dn != deskN || cn != crmN {
		t.Fatalf("reused scan reports %d and %d records", dn, cn)
	}
	if n := w.apiCalls(); n > 4 {
		t.Errorf("a scan with nothing changed made %d API calls, want the 4 checks", n)
	}

	// Another look-back is another scan.
	w.resetCalls()
	scan(start.Add(2*time.Minute), 48*time.Hour)
	if n := w.apiCalls(); n <= 4 {
		t.Errorf("a scan of another look-back made only %d API calls", n)
	}

	// A contact deleted in Desk since: the side is scanned again and the contact leaves the index.
	must(t, w.userDsk.Trash(w.ctx, "contacts", []string{d["cid"]}))
	if dn, _ := scan(time.Now().UTC(), 48*time.Hour); dn != deskN-1 {
		t.Errorf("after a deletion the Desk index holds %d contacts, want %d", dn, deskN-1)
	}
	rows, err := w.st.IndexRows(w.ctx, store.Scope{IntegrationID: "it", Module: "contacts", Side: "desk"}, []string{d["cid"]})
	must(t, err)
	if len(rows) != 0 {
		t.Errorf("the deleted contact is still indexed: %+v", rows)
	}
}
