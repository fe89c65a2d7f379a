package activities_test

import (
	"fmt"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
)

// A step whose write fails for good after the client's retries (here one Desk contact that
// answers every PATCH with a 503) settles the pairs it did write, so its retried attempt
// writes only what is left: every pair is written once, not once per attempt — with a steady
// rate of transient errors, a step that starts its batch over would never end.
func TestAFailedWriteKeepsThePairsWrittenBeforeIt(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	const pairs = 300
	older := time.Now().UTC().Add(-2 * time.Hour)
	newer := older.Add(time.Hour)
	var desks, crms []map[string]any
	for i := range pairs {
		email := fmt.Sprintf("p%d@x.com", i)
		desks = append(desks, map[string]any{"lastName": "P", "firstName": "Desk", "email": email,
			"createdTime": older.Format(iso), "modifiedTime": newer.Format(iso)})
		crms = append(crms, map[string]any{"Last_Name": "P", "First_Name": "CRM", "Email": email,
			"Created_Time": older.Format(time.RFC3339), "Modified_Time": older.Format(time.RFC3339)})
	}
	deskIDs, err := w.desk.Load("contacts", desks)
	must(t, err)
	_, err = w.crm.Load("Contacts", crms)
	must(t, err)
	w.start = time.Now().UTC()
	in := activities.StepInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
	_, err = w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	for _, step := range []func() (activities.StepResult, error){
		func() (activities.StepResult, error) { return w.a.IndexDesk(w.ctx, in) },
		func() (activities.StepResult, error) { return w.a.IndexCRM(w.ctx, in) },
		func() (activities.StepResult, error) { return w.a.Match(w.ctx, in) },
	} {
		_, err := step()
		must(t, err)
	}
	eng := w.desk.Realism()
	fault, err := eng.AddFault(realism.Fault{Method: "PATCH", Path: "/api/v1/contacts/" + deskIDs[pairs-40], Kind: realism.FaultStatus, Status: 503})
	must(t, err)
	eng.ResetCalls()
	if _, err := w.a.ReconcilePairs(w.ctx, in); err == nil {
		t.Fatal("ReconcilePairs succeeded although one contact refuses every write")
	}
	eng.RemoveFault(fault)
	if _, err := w.a.ReconcilePairs(w.ctx, in); err != nil {
		t.Fatal(err)
	}
	written := eng.Calls().Endpoints["PATCH /api/v1/contacts/{id}"].Statuses["200"]
	// Writes in flight when the step failed may have landed unseen: at most one per slot.
	if written < pairs || written > pairs+5 {
		t.Errorf("the two attempts wrote %d Desk contacts, want each of the %d once (+ at most 5 in flight)", written, pairs)
	}
	for _, id := range deskIDs {
		if got := w.deskField("contacts", id, "firstName"); got != "Desk" {
			t.Fatalf("Desk contact %s firstName = %q", id, got)
		}
	}
}
