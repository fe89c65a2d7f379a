package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
)

// Contacts may be indexed while the accounts' creates still run (the two APIs' steps overlap):
// a Desk contact whose account is not linked yet when it is read keeps Desk's account id, and
// is created in CRM with the account once the account is linked.
func TestContactsIndexedBeforeTheirAccountsAreLinkedKeepTheirAccount(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	accs, err := w.desk.Load("accounts", []map[string]any{{"accountName": "Solo", "createdTime": recent, "modifiedTime": recent}})
	must(t, err)
	_, err = w.desk.Load("contacts", []map[string]any{{"lastName": "Lone", "email": "lone@x.com", "accountId": accs[0],
		"createdTime": recent, "modifiedTime": recent}})
	must(t, err)
	start := time.Now().UTC()
	_, err = w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(t, err)
	step := func(module string, fs ...func(context.Context, activities.StepInput) (activities.StepResult, error)) {
		in := activities.StepInput{IntegrationID: "it", Module: module, Mode: w.mode, Lookback: 24 * time.Hour, Now: start}
		for _, f := range fs {
			_, err := f(w.ctx, in)
			must(t, err)
		}
	}
	step(activities.Contacts, w.a.IndexDesk, w.a.IndexCRM) // before any account is linked
	step(activities.Accounts, w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs)
	step(activities.Contacts, w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs)
	lone := w.crmByEmail("lone@x.com")
	acct := w.crmLinkOf2Accounts(accs[0])
	if got := w.crmField("Contacts", lone, "Account_Name"); !strings.Contains(got, acct) {
		t.Errorf("CRM Lone's account = %s, want CRM Solo %s", got, acct)
	}
}
