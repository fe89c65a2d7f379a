package activities_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
)

// A pass that meets exhausted daily credits ends with the CreditsExhausted error, whose details
// are the wait and the API that ran out: the sync's pause names it (a trial could not tell
// which API had run out).
func TestExhaustedCreditsNameTheirAPI(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.seed()
	w.firstSync()
	w.pass(nil)
	w.desk.Realism().SetLimits(realism.Limits{DailyCredits: 1})
	w.desk.Realism().SetCreditsUsed(1)
	_, err := w.a.IncrementalPass(w.ctx, activities.IncrementalInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Since: w.start})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrCreditsExhausted {
		t.Fatalf("pass error %v, want %s", err, activities.ErrCreditsExhausted)
	}
	var wait time.Duration
	var api string
	if err := appErr.Details(&wait, &api); err != nil || wait <= 0 || api != "Zoho Desk" {
		t.Errorf("details: wait %v, api %q (%v); want a wait and Zoho Desk", wait, api, err)
	}
}
