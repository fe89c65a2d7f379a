package activities_test

import (
	"context"
	"fmt"
	"strings"
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

// When Postgres refuses to record a batch of Desk creates (the settler's transaction fails
// mid-step), the settler records no later batch and the step fails; the records those
// batches created stay in Desk with pending links, and the retried attempt finds them
// (recoverCreates) instead of creating them again. Postgres is made to refuse by a trigger on
// links that raises once, on the 150th link the Desk creates complete — in the second batch
// of 100.
func TestAFailedSettleOfDeskCreatesIsRecoveredWithoutDuplicates(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	const contacts = 350
	recent := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var crms []map[string]any
	for i := range contacts {
		crms = append(crms, map[string]any{"Last_Name": "Only", "First_Name": "CRM", "Email": fmt.Sprintf("c%d@x.com", i),
			"Created_Time": recent, "Modified_Time": recent})
	}
	_, err := w.crm.Load("Contacts", crms)
	must(t, err)
	_, err = w.st.Pool.Exec(w.ctx, `
		create sequence desk_completions;
		create function refuse_one_completion() returns trigger language plpgsql as $$
		begin
			if old.desk_id is null and new.desk_id is not null and nextval('desk_completions') = 150 then
				raise exception 'refused by the test';
			end if;
			return new;
		end $$;
		create trigger refuse_one_completion before update on links for each row execute function refuse_one_completion();`)
	must(t, err)
	w.start = time.Now().UTC()
	in := activities.StepInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
	_, err = w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){w.a.IndexDesk, w.a.IndexCRM, w.a.Match} {
		_, err := step(w.ctx, in)
		must(t, err)
	}
	eng := w.desk.Realism()
	eng.ResetCalls()
	if _, err := w.a.CreateInDesk(w.ctx, in); err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("CreateInDesk = %v; want the refused settle's error", err)
	}
	var pending, linked int
	must(t, w.st.Pool.QueryRow(w.ctx, `select count(*) filter (where state = 'pending-desk'), count(*) filter (where state = 'linked')
		from links where module = 'contacts'`).Scan(&pending, &linked))
	if linked != 100 || pending != contacts-100 {
		t.Errorf("after the refused settle: %d linked, %d pending; want the first batch's 100 linked, %d pending", linked, pending, contacts-100)
	}
	res, err := w.a.CreateInDesk(w.ctx, in)
	must(t, err)
	posts := eng.Calls().Endpoints["POST /api/v1/contacts"].Statuses["200"]
	if posts != contacts {
		t.Errorf("the two attempts created %d Desk contacts, want each of the %d once", posts, contacts)
	}
	byEmail := map[string]int{}
	for _, r := range w.desk.Records("contacts") {
		byEmail[fmt.Sprint(r["email"])]++
	}
	for i := range contacts {
		if n := byEmail[fmt.Sprintf("c%d@x.com", i)]; n != 1 {
			t.Errorf("c%d@x.com is in Desk %d times, want once", i, n)
		}
	}
	must(t, w.st.Pool.QueryRow(w.ctx, `select count(*) filter (where state = 'pending-desk'), count(*) filter (where state = 'linked' and desk_id is not null)
		from links where module = 'contacts'`).Scan(&pending, &linked))
	if linked != contacts || pending != 0 {
		t.Errorf("after the retried attempt: %d linked, %d pending; want %d linked, none pending", linked, pending, contacts)
	}
	// Counted as they were recorded: the first batch by the failed attempt, the rest by the
	// retried one, which recovered them.
	if res.CreatedInDesk != contacts-100 {
		t.Errorf("the retried attempt reports %d created in Desk, want the %d it recovered", res.CreatedInDesk, contacts-100)
	}
}
