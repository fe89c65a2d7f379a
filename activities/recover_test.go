package activities_test

import (
	"testing"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
)

// A create whose response is lost is found again by the retried attempt even while Zoho's
// search index lags (the CRM emulator keeps new records out of search for its default lag):
// recent creates are looked for in the list of records created since, so nothing is created
// twice. Likewise in Desk.
func TestLostCreatesAreFoundDespiteSearchLag(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	_, err := w.crm.Realism().AddFault(realism.Fault{Method: "POST", Path: "/crm/v8/{module}", Kind: realism.FaultLost, Count: 1})
	must(t, err)
	_, err = w.desk.Realism().AddFault(realism.Fault{Method: "POST", Path: "/api/v1/{module}", Kind: realism.FaultLost, Count: 1})
	must(t, err)
	// The first sync's steps fail on the lost responses and are retried, as Temporal would.
	w.firstSyncRetrying(3)
	for _, email := range []string{"cid@x.com"} {
		w.crmByEmail(email) // fails the test unless exactly one
	}
	if n := w.deskContactsWithEmail("dot@x.com"); n != 1 {
		t.Errorf("%d Desk contacts dot@x.com, want 1", n)
	}
	for _, f := range append(w.crm.Realism().Faults(), w.desk.Realism().Faults()...) {
		if f.Injected == 0 {
			t.Errorf("fault %+v never fired", f)
		}
	}
}
