package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
)

// A transient error of one create neither cancels the creates in flight nor stops those
// after it: the attempt creates every other record, fails with the error once its calls have
// ended, and the retried attempt creates the one left — each record exactly once.
func TestATransientCreateErrorLetsTheOtherCreatesFinish(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	recent := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05+00:00")
	var extra []map[string]any
	for i := range 30 {
		extra = append(extra, map[string]any{"Last_Name": fmt.Sprintf("Extra %d", i), "Email": fmt.Sprintf("extra%d@x.com", i),
			"Created_Time": recent, "Modified_Time": recent})
	}
	_, err := w.crm.Load("Contacts", extra)
	must(t, err)
	_, err = w.desk.Realism().AddFault(realism.Fault{Method: "POST", Path: "/api/v1/contacts", Kind: realism.FaultStatus,
		Status: http.StatusServiceUnavailable, Count: 1})
	must(t, err)
	w.start = time.Now().UTC()
	_, err = w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	step := func(m string, fn func(context.Context, activities.StepInput) (activities.StepResult, error)) error {
		_, err := fn(w.ctx, activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start})
		return err
	}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		for _, fn := range []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInCRM} {
			must(t, step(m, fn))
		}
		if m == activities.Accounts {
			must(t, step(m, w.a.CreateInDesk))
		}
	}
	created := func() map[string]int {
		n := map[string]int{}
		for _, r := range w.desk.Records("contacts") {
			if e, _ := r["email"].(string); e != "" {
				n[e]++
			}
		}
		return n
	}
	if err := step(activities.Contacts, w.a.CreateInDesk); err == nil {
		t.Fatal("the attempt that met the 503 succeeded")
	}
	// 31 contacts to create (Dot and the 30 extra), one refused: 30 created in this attempt.
	before := len(created())
	must(t, step(activities.Contacts, w.a.CreateInDesk))
	after := created()
	for e, n := range after {
		if n != 1 {
			t.Errorf("%d Desk contacts %s, want 1", n, e)
		}
	}
	if len(after)-before != 1 {
		t.Errorf("the retried attempt created %d contacts, want the 1 the first attempt could not (%d before it, %d after)",
			len(after)-before, before, len(after))
	}
}
