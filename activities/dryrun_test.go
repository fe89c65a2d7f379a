package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
)

// The dry-run plan runs the sync's own read and plan functions with the writer left out: it
// writes nothing to Zoho, and the first sync then does what it said, module by module and
// side by side.
func TestPlanMatchesWhatTheFirstSyncDoes(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	old := crmTime(time.Now().UTC().AddDate(-2, 0, 0))
	_, err := w.crm.Load("Contacts", []map[string]any{{"Last_Name": "Elder", "Email": "elder@x.com", "Created_Time": old, "Modified_Time": old}})
	must(t, err)
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	_, err = w.desk.Load("contacts", []map[string]any{
		{"lastName": "Elder", "email": "elder@x.com", "title": "Sage", "createdTime": recent, "modifiedTime": recent},
		{"lastName": "Twin", "email": "twin@x.com", "createdTime": recent, "modifiedTime": recent},
		{"lastName": "Twin", "email": "twin@x.com", "createdTime": recent, "modifiedTime": recent},
	})
	must(t, err)
	_, err = w.crm.Load("Contacts", []map[string]any{{"Last_Name": "Twin", "Email": "twin@x.com", "Created_Time": crmTime(time.Now().UTC().Add(-time.Hour)), "Modified_Time": crmTime(time.Now().UTC().Add(-time.Hour))}})
	must(t, err)

	start := time.Now().UTC()
	_, err = w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	w.resetCalls()
	plans := map[string]activities.ModulePlan{}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: start}
		for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){w.a.IndexDesk, w.a.IndexCRM} {
			_, err := step(w.ctx, in)
			must(t, err)
		}
		p, err := w.a.PlanFirstSync(w.ctx, in)
		must(t, err)
		plans[m] = p
	}
	if n := w.writeCalls(); n != 0 {
		t.Fatalf("the plan wrote %d time(s) to Zoho", n)
	}
	if got := w.linkPairs(); len(got) != 0 {
		t.Fatalf("the plan linked records: %v", got)
	}
	samples, err := w.st.PlanSamples(w.ctx, "it")
	must(t, err)
	if len(samples["contacts"]) == 0 || len(samples["contacts"][0].Fields) == 0 {
		t.Errorf("no field-by-field sample of the contacts' merges: %+v", samples)
	}

	// The first sync, step by step, counted per module and side.
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: start}
		var did activities.StepResult
		for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs} {
			r, err := step(w.ctx, in)
			must(t, err)
			did.Linked += r.Linked
			did.CreatedInCRM += r.CreatedInCRM
			did.CreatedInDesk += r.CreatedInDesk
			did.UpdatedInCRM += r.UpdatedInCRM
			did.UpdatedInDesk += r.UpdatedInDesk
			did.FailedToCRM += r.FailedToCRM
			did.FailedToDesk += r.FailedToDesk
		}
		p := plans[m]
		failures := 0
		for _, n := range p.Failures {
			failures += n
		}
		if p.Matches != did.Linked || p.CreateInCRM != did.CreatedInCRM || p.CreateInDesk != did.CreatedInDesk ||
			p.UpdateInCRM != did.UpdatedInCRM || p.UpdateInDesk != did.UpdatedInDesk || failures != did.FailedToCRM+did.FailedToDesk {
			t.Errorf("%s: the plan said %+v, the sync did %+v", m, p, did)
		}
	}
	if plans["contacts"].Failures["AMBIGUOUS_MATCH"] != 3 || plans["contacts"].Matches < 3 {
		t.Errorf("contacts plan %+v: want the twins ambiguous and Ann, Ben and Elder matched", plans["contacts"])
	}
	if plans["contacts"].LinkedAlready != 0 {
		t.Errorf("before the first sync the plan counts %d pairs linked already", plans["contacts"].LinkedAlready)
	}
	// After the first sync, a plan counts its pairs as linked already and plans no match.
	in := activities.StepInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Lookback: 24 * time.Hour, Now: start}
	again, err := w.a.PlanFirstSync(w.ctx, in)
	must(t, err)
	links := 0
	for _, l := range w.linkPairs() {
		if strings.HasPrefix(l, "contacts ") {
			links++
		}
	}
	if again.LinkedAlready != links || links == 0 || again.Matches != 0 {
		t.Errorf("after the first sync (%d contact links) the plan says %+v", links, again)
	}
}
