package activities_test

import (
	"fmt"
	"testing"
	"time"

	"deskcrm/activities"
	crmemu "deskcrm/emulator/crm"
)

// Past the records CRM's page tokens reach, IndexCRM reads the older records with searches on
// Created_Time windows, halving a window that holds more than a search can return, and indexes
// every record of the lookback exactly once.
func TestIndexCRMPastThePageTokenLimit(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay, func(c *crmemu.Config) { c.PageTokenLimit = 2400 })
	c, st, a := w.crm, w.st, w.a
	now := time.Now().UTC().Truncate(time.Second)
	var recs []map[string]any
	add := func(i int, created time.Time) {
		ts := created.Format("2006-01-02T15:04:05+00:00")
		recs = append(recs, map[string]any{"Last_Name": fmt.Sprintf("C%d", i), "Email": fmt.Sprintf("c%d@x.com", i),
			"Created_Time": ts, "Modified_Time": ts})
	}
	i := 0
	for ; i < 2500; i++ { // recent: one a minute
		add(i, now.Add(-time.Duration(i+1)*time.Minute))
	}
	for ; i < 5100; i++ { // older, dense: 2,600 within six hours, more than one search returns
		add(i, now.Add(-10*24*time.Hour-time.Duration(i-2500)*8*time.Second))
	}
	for ; i < 5200; i++ { // sparse, up to 200 days old
		add(i, now.Add(-time.Duration(20+(i-5100)*2)*24*time.Hour))
	}
	for ; i < 5210; i++ { // older than the lookback: left out
		add(i, now.Add(-400*24*time.Hour))
	}
	if _, err := c.Load("Contacts", recs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureIntegration(t.Context(), "it", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := a.IndexCRM(t.Context(), activities.StepInput{IntegrationID: "it", Module: "contacts", Mode: "two-way",
		Lookback: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Indexed != 5200 {
		t.Errorf("indexed %d records, want the 5,200 created within the lookback", res.Indexed)
	}
	calls := c.Realism().Calls()
	if calls.Endpoints["GET /crm/v8/Contacts/search"].Calls == 0 {
		t.Errorf("no search was used past the page-token limit: %+v", calls.Endpoints)
	}
	t.Logf("calls: %d list, %d search", calls.Endpoints["GET /crm/v8/Contacts"].Calls, calls.Endpoints["GET /crm/v8/Contacts/search"].Calls)
}
