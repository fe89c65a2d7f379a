package activities_test

import (
	"context"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/store"
)

// A failure is logged once per version of its record: the first sync's steps, run again by a
// retry pass (or a retried attempt), leave out the records with an open failure not marked for
// retry, so retrying one failure touches that one only — the others keep their attempts, and
// no step counts them as failed again (the console's and status's failed counts and the
// history's stay true).
func TestRetryingOneFailureLeavesTheOthersAlone(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	recent := time.Now().UTC().Add(-time.Hour)
	_, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Twin", "email": "twin@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
		{"lastName": "Twin", "email": "twin@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
		{"lastName": "Trio", "email": "trio@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
		{"lastName": "Trio", "email": "trio@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
	})
	must(t, err)
	_, err = w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Twin", "Email": "twin@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
		{"Last_Name": "Trio", "Email": "trio@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
	})
	must(t, err)
	w.firstSync()
	ambiguous := w.openFailures("AMBIGUOUS_MATCH")
	if len(ambiguous) != 6 {
		t.Fatalf("%d AMBIGUOUS_MATCH after the first sync, want 6 (each record of the two shared emails, on both sides): %+v", len(ambiguous), ambiguous)
	}
	for _, f := range ambiguous {
		if f.Attempts != 1 {
			t.Errorf("failure %d logged %d times by one first sync, want once", f.ID, f.Attempts)
		}
	}
	// The admin retries one; the retry pass runs the first sync's steps after indexing again,
	// then an incremental pass (workflows: incrementalPass).
	retried := ambiguous[0]
	_, err = w.st.MarkRetrying(w.ctx, "it", []int64{retried.ID})
	must(t, err)
	var failed int
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
		for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs} {
			r, err := step(w.ctx, in)
			must(t, err)
			failed += r.FailedToCRM + r.FailedToDesk
		}
	}
	if failed != 1 {
		t.Errorf("the retry pass counted %d failed records, want 1 (the one retried, still ambiguous)", failed)
	}
	w.pass(nil)
	byID := map[int64]store.Failure{}
	for _, f := range w.openFailures("AMBIGUOUS_MATCH") {
		byID[f.ID] = f
	}
	for _, f := range ambiguous {
		want := 1
		if f.ID == retried.ID {
			want = 2
		}
		if got := byID[f.ID].Attempts; got != want {
			t.Errorf("failure %d (desk %s): %d attempts, want %d", f.ID, f.DeskID, got, want)
		}
	}
}

// "Retry all" marks every open failure: the workflow sends no ids (a nil slice, which pgx
// sends as NULL), not an empty list. When the admin then removes the cause of an ambiguous
// match — one of two CRM contacts sharing an email gets its own — the retry pass links the
// pair that is left and creates the other, and every failure of that ambiguity closes:
// none stays open for a record that synced.
func TestRetryAllAfterTheAmbiguityIsFixed(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	recent := time.Now().UTC().Add(-time.Hour)
	dIDs, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Mendes", "email": "shared@x.com", "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)},
	})
	must(t, err)
	cIDs, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Mendes", "Email": "shared@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
		{"Last_Name": "OBrien", "Email": "shared@x.com", "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)},
	})
	must(t, err)
	w.firstSync()
	if n := len(w.openFailures("AMBIGUOUS_MATCH")); n != 3 {
		t.Fatalf("%d AMBIGUOUS_MATCH after the first sync, want 3 (the Desk contact and both CRM ones)", n)
	}
	w.crmUpdate(cIDs[1], map[string]any{"Email": "uma@x.com"})
	marked, err := w.st.MarkRetrying(w.ctx, "it", nil)
	must(t, err)
	if marked != 3 {
		t.Fatalf("retry of every open failure marked %d, want 3", marked)
	}
	w.firstSync()
	w.pass(nil)
	if open := w.openFailures("AMBIGUOUS_MATCH"); len(open) != 0 {
		t.Errorf("%d AMBIGUOUS_MATCH still open after the ambiguity was fixed and retried, want 0: %+v", len(open), open)
	}
	if got := w.crmLinkOf(dIDs[0]).CRMID; got != cIDs[0] {
		t.Errorf("Desk contact linked to CRM %q, want %q (the one that kept the email)", got, cIDs[0])
	}
	if got := w.crmLinkOf2(cIDs[1]).DeskID; got == "" {
		t.Errorf("the CRM contact that got its own email has no Desk counterpart")
	}
}
