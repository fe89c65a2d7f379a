package activities_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"deskcrm/activities"
	crmemu "deskcrm/emulator/crm"
	"deskcrm/store"
)

// Above the Bulk Read threshold IndexCRM exports the look-back with Bulk Read, one job per
// page, and indexes exactly what listing page by page indexes: the same records with the
// same values (lookups, picklists, numbers, dates, booleans, the counterpart's Desk id,
// empty fields), nothing older than the look-back.
func TestIndexCRMByBulkReadIndexesWhatListingDoes(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay, func(c *crmemu.Config) { c.BulkPageSize = 1000; c.BulkStep = time.Millisecond })
	c, st, a := w.crm, w.st, w.a
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(-d).Format("2006-01-02T15:04:05+00:00") }
	accounts, err := c.Load("Accounts", []map[string]any{{"Account_Name": "Acme", "Created_Time": ts(time.Hour), "Modified_Time": ts(time.Hour)}})
	must(t, err)
	var recs []map[string]any
	for i := range 2600 {
		r := map[string]any{"Last_Name": fmt.Sprintf("C%d", i), "Email": fmt.Sprintf("c%d@x.com", i),
			"Created_Time": ts(time.Duration(i+1) * time.Minute), "Modified_Time": ts(time.Duration(i) * time.Second)}
		switch i % 5 {
		case 0:
			r["Account_Name"] = map[string]any{"id": accounts[0]}
			r["Customer_Tier"] = "Gold"
		case 1:
			r["Seats"], r["VIP"], r["Renewal_Date"] = i, true, "2027-01-31"
		case 2:
			r["Desk_ID"], r["Mailing_City"] = fmt.Sprint(9000+i), "São Paulo, \"Centro\"\nBloco 2"
		case 3:
			r["First_Name"], r["Phone"] = "Ann", "+55 11 5555-0000"
		}
		if i >= 2590 { // older than the look-back
			r["Created_Time"] = ts(400 * 24 * time.Hour)
		}
		recs = append(recs, r)
	}
	ids, err := c.Load("Contacts", recs)
	must(t, err)
	_, err = st.EnsureIntegration(t.Context(), "it", "two-way", 365*24*time.Hour)
	must(t, err)
	in := activities.StepInput{IntegrationID: "it", Module: "contacts", Mode: "two-way", Lookback: 365 * 24 * time.Hour, Now: now}
	sc := store.Scope{IntegrationID: "it", Module: "contacts", Side: "crm"}

	index := func(threshold int) map[string]store.IndexRow {
		a.CRMBulkReadThreshold = threshold
		res, err := a.IndexCRM(t.Context(), in)
		must(t, err)
		if res.Indexed != 2590 {
			t.Errorf("threshold %d: indexed %d records, want the 2,590 in the look-back", threshold, res.Indexed)
		}
		rows, err := st.IndexRows(t.Context(), sc, ids)
		must(t, err)
		must(t, st.DeleteIndexRows(t.Context(), sc, ids))
		must(t, st.ForgetIndexScan(t.Context(), sc)) // the next scan is a whole one
		return rows
	}
	listed := index(-1)
	c.Realism().ResetCalls()
	bulk := index(1000)
	calls := c.Realism().Calls().Endpoints
	if calls["POST /crm/bulk/v8/read"].Calls != 3 || calls["GET /crm/v8/Contacts"].Calls != 0 {
		t.Errorf("want 3 Bulk Read jobs (1,000 records a page) and no listing, got %+v", calls)
	}
	if len(bulk) != len(listed) {
		t.Fatalf("bulk read indexed %d records, listing %d", len(bulk), len(listed))
	}
	for id, want := range listed {
		if got := bulk[id]; !reflect.DeepEqual(got, want) {
			t.Fatalf("record %s:\nbulk    %+v\nlisting %+v", id, got, want)
		}
	}
}
