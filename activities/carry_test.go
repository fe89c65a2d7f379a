package activities_test

import (
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/store"
	"deskcrm/zoho/crm"
)

// crmTime renders a time as CRM writes it.
func crmTime(t time.Time) string { return t.Format("2006-01-02T15:04:05+00:00") }

// TestValuesNotCarriedAreNeverCleared pins the data-loss rule: a value the sync could not carry
// to the other side never comes back as a clear of its source. Each way a value can fail to be
// carried is seeded; after the first sync, a pass writes nothing to either side and every
// source keeps its value; a later edit of another field still leaves them alone.
func TestValuesNotCarriedAreNeverCleared(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	now := time.Now().UTC()
	recentCRM, oldCRM := crmTime(now.Add(-time.Hour)), crmTime(now.AddDate(-2, 0, 0))
	recentDesk := now.Add(-time.Hour).Format(iso)
	longSite := "https://example.com/" + strings.Repeat("a", 130) // CRM Website holds 255, Desk website 120
	longZip := strings.Repeat("7", 40)                            // Desk zip holds 50, CRM Mailing_Zip 30

	crmAccounts, err := w.crm.Load("Accounts", []map[string]any{
		// Older than the look-back: not exported, so its contacts' account has no Desk counterpart.
		{"Account_Name": "Oldco", "Created_Time": oldCRM, "Modified_Time": oldCRM},
		// Ambiguous: Desk has two accounts of this name.
		{"Account_Name": "Twin Co", "Created_Time": recentCRM, "Modified_Time": recentCRM},
		// A value too long for Desk.
		{"Account_Name": "Longsite", "Website": longSite, "Created_Time": recentCRM, "Modified_Time": recentCRM},
		// Matched with Desk; industry flows CRM → Desk only.
		{"Account_Name": "Acme", "Industry": "Banking", "Created_Time": recentCRM, "Modified_Time": recentCRM},
	})
	must(t, err)
	deskAccounts, err := w.desk.Load("accounts", []map[string]any{
		{"accountName": "Twin Co", "createdTime": recentDesk, "modifiedTime": recentDesk},
		{"accountName": "Twin, Co.", "createdTime": recentDesk, "modifiedTime": recentDesk},
		{"accountName": "Acme", "industry": "Banking", "createdTime": recentDesk, "modifiedTime": recentDesk},
	})
	must(t, err)
	crmContacts, err := w.crm.Load("Contacts", []map[string]any{
		{"Last_Name": "Ola", "Email": "ola@x.com", "Account_Name": map[string]any{"id": crmAccounts[0]}, "Created_Time": recentCRM, "Modified_Time": recentCRM},
		{"Last_Name": "Tia", "Email": "tia@x.com", "Account_Name": map[string]any{"id": crmAccounts[1]}, "Created_Time": recentCRM, "Modified_Time": recentCRM},
		// Matched by email with a Desk contact that has no account.
		{"Last_Name": "Mia", "Email": "mia@x.com", "Account_Name": map[string]any{"id": crmAccounts[0]}, "Created_Time": recentCRM, "Modified_Time": recentCRM},
	})
	must(t, err)
	deskContacts, err := w.desk.Load("contacts", []map[string]any{
		// A value too long for CRM, on a field CRM does not require.
		{"lastName": "Zed", "email": "zed@x.com", "zip": longZip, "createdTime": recentDesk, "modifiedTime": recentDesk},
		// A value too long for a field CRM requires: not created at all, with a failure.
		{"lastName": strings.Repeat("L", 95), "email": "long@x.com", "createdTime": recentDesk, "modifiedTime": recentDesk},
		{"lastName": "Mia", "email": "mia@x.com", "createdTime": recentDesk, "modifiedTime": recentDesk},
	})
	must(t, err)

	w.firstSync()
	deskOf := func(email string) string {
		t.Helper()
		for _, r := range w.desk.Records("contacts") {
			if r["email"] == email {
				return r["id"].(string)
			}
		}
		t.Fatalf("no Desk contact %s", email)
		return ""
	}
	ola, tia := deskOf("ola@x.com"), deskOf("tia@x.com")
	for name, id := range map[string]string{"Ola": ola, "Tia": tia} {
		if got := w.deskField("contacts", id, "accountId"); got != "<nil>" {
			t.Errorf("Desk copy of %s has account %s, want none (its CRM account has no Desk counterpart)", name, got)
		}
	}
	zed := w.crmByEmail("zed@x.com")
	if got := w.crmField("Contacts", zed, "Mailing_Zip"); got != "<nil>" {
		t.Errorf("CRM copy of Zed has zip %q, want none (too long for CRM)", got)
	}
	tooLong := w.openFailures("VALUE_TOO_LONG")
	if len(tooLong) != 3 {
		t.Fatalf("VALUE_TOO_LONG failures %+v, want Zed's zip, the long last name and Longsite's website", tooLong)
	}
	for _, f := range tooLong {
		switch {
		case f.DeskID == deskContacts[0]:
			if f.CRMID != zed || !strings.Contains(f.Message, "Mailing_Zip") || !strings.Contains(f.Message, "at most 30") || !strings.Contains(f.Message, "has 40") {
				t.Errorf("Zed's failure %+v should name CRM Mailing_Zip, its limit 30 and the value's length 40", f)
			}
		case f.DeskID == deskContacts[1]:
			if !strings.Contains(f.Message, "Last_Name") || !strings.Contains(f.Message, "at most 80") || strings.Contains(f.Message, "LLLL") {
				t.Errorf("long name failure %+v should name Last_Name and 80, and not quote the value", f)
			}
		case f.CRMID == crmAccounts[2]:
			if f.Module != "accounts" || !strings.Contains(f.Message, "website") || !strings.Contains(f.Message, "at most 120") {
				t.Errorf("Longsite's failure %+v should name Desk website and 120", f)
			}
		default:
			t.Errorf("unexpected VALUE_TOO_LONG failure %+v", f)
		}
	}
	if n := len(w.crm.Records("Contacts")); n != 4 {
		t.Errorf("CRM has %d contacts, want 4 (Ola, Tia, Mia and Zed: the contact whose required last name is too long is not created)", n)
	}

	// The first pass after the first sync re-reads the first sync's writes: it must write nothing.
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after the first sync made %d write calls, want 0", n)
	}
	checkSources := func(when string) {
		t.Helper()
		for name, id := range map[string]string{"Ola": crmContacts[0], "Tia": crmContacts[1], "Mia": crmContacts[2]} {
			want := map[string]string{"Ola": crmAccounts[0], "Tia": crmAccounts[1], "Mia": crmAccounts[0]}[name]
			if got := w.crmField("Contacts", id, "Account_Name"); !strings.Contains(got, want) {
				t.Errorf("%s: CRM %s lost its account: Account_Name = %s, want %s", when, name, got, want)
			}
		}
		if got := w.deskField("contacts", deskContacts[0], "zip"); got != longZip {
			t.Errorf("%s: Desk Zed's zip = %q, want it kept", when, got)
		}
		if got := w.crmField("Accounts", crmAccounts[2], "Website"); got != longSite {
			t.Errorf("%s: CRM Longsite's website = %q, want it kept", when, got)
		}
		if got := w.crmField("Accounts", crmAccounts[3], "Industry"); got != "Banking" {
			t.Errorf("%s: CRM Acme's industry = %q, want Banking (a crm-to-desk field)", when, got)
		}
	}
	checkSources("after the first pass")

	// Editing other fields on the side that lacks the values still leaves them alone; a change
	// of a one-way field stays on its side.
	w.deskUpdate(ola, map[string]any{"title": "CTO"})
	w.deskUpdate(tia, map[string]any{"title": "CFO"})
	w.deskUpdate(deskContacts[2], map[string]any{"title": "CMO"})
	w.deskUpdateIn("accounts", deskAccounts[2], map[string]any{"industry": "Retail"})
	w.crmUpdate(zed, map[string]any{"Title": "Boss"})
	w.resetCalls()
	w.pass(nil)
	checkSources("after edits of other fields")
	if got := w.crmField("Contacts", crmContacts[0], "Title"); got != "CTO" {
		t.Errorf("Ola's new title did not reach CRM: %s", got)
	}
	if got := w.deskField("contacts", deskContacts[0], "title"); got != "Boss" {
		t.Errorf("Zed's new title did not reach Desk: %s", got)
	}
	if got := w.deskField("accounts", deskAccounts[2], "industry"); got != "Retail" {
		t.Errorf("Desk Acme's industry = %s, want its own change kept", got)
	}
}

// A failure that persists keeps its id: a pair whose other fields are carried while one value
// still cannot be is not closed as synced and opened again under a new id on each pass (ids
// an admin copied from `starter failures` stayed valid only until the next pass). It closes
// once the value fits.
func TestAFailureThatPersistsKeepsItsID(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	recentDesk := time.Now().UTC().Add(-time.Hour).Format(iso)
	longZip := strings.Repeat("7", 40) // Desk zip holds 50, CRM Mailing_Zip 30
	desk, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Zed", "email": "zed@x.com", "zip": longZip, "createdTime": recentDesk, "modifiedTime": recentDesk},
	})
	must(t, err)
	w.firstSync()
	first := w.openFailures("VALUE_TOO_LONG")
	if len(first) != 1 {
		t.Fatalf("VALUE_TOO_LONG failures %+v after the first sync, want Zed's zip", first)
	}
	zed := w.crmByEmail("zed@x.com")
	for i, title := range []string{"CTO", "CFO"} {
		w.deskUpdate(desk[0], map[string]any{"title": title})
		if r := w.pass(nil); r.FailuresResolved != 0 {
			t.Errorf("edit %d: the pass reports %d failures closed, want 0", i+1, r.FailuresResolved)
		}
		if got := w.crmField("Contacts", zed, "Title"); got != title {
			t.Errorf("edit %d: CRM title %q, want %q (the fields that fit are carried)", i+1, got, title)
		}
		open := w.openFailures("VALUE_TOO_LONG")
		if len(open) != 1 || open[0].ID != first[0].ID {
			t.Fatalf("edit %d: open VALUE_TOO_LONG %+v, want failure %d still open under its id", i+1, open, first[0].ID)
		}
		if open[0].Attempts != 1 {
			t.Errorf("edit %d: %d attempts, want 1 (the zip did not change, so it was not tried again)", i+1, open[0].Attempts)
		}
	}
	// A retry tries the value again although it did not change: it still does not fit, so the
	// same failure counts one more attempt and is no longer waiting for the retry.
	if _, err := w.st.MarkRetrying(w.ctx, "it", nil); err != nil {
		t.Fatal(err)
	}
	w.pass(nil)
	open := w.openFailures("VALUE_TOO_LONG")
	if len(open) != 1 || open[0].ID != first[0].ID || open[0].Attempts != 2 {
		t.Fatalf("after a retry: open VALUE_TOO_LONG %+v, want failure %d with 2 attempts", open, first[0].ID)
	}
	var retrying bool
	if err := w.st.Pool.QueryRow(w.ctx, `select retrying from sync_failures where id = $1`, first[0].ID).Scan(&retrying); err != nil {
		t.Fatal(err)
	}
	if retrying {
		t.Errorf("failure %d still waits for its retry after the retry pass", first[0].ID)
	}
	if got := w.deskField("contacts", desk[0], "zip"); got != longZip {
		t.Errorf("Desk zip %q after the retry, want it kept", got)
	}
	if got := w.crmField("Contacts", zed, "Mailing_Zip"); got != "<nil>" {
		t.Errorf("CRM zip %q after the retry, want none (too long)", got)
	}

	w.deskUpdate(desk[0], map[string]any{"zip": "12345"})
	if r := w.pass(nil); r.FailuresResolved != 1 {
		t.Errorf("the pass that carried the shortened zip reports %d failures closed, want 1 (the workflow reads the log again)", r.FailuresResolved)
	}
	if open := w.openFailures("VALUE_TOO_LONG"); len(open) != 0 {
		t.Errorf("open VALUE_TOO_LONG %+v after the zip was shortened, want none", open)
	}
	if got := w.crmField("Contacts", zed, "Mailing_Zip"); got != "12345" {
		t.Errorf("CRM zip %q after the Desk zip was shortened, want 12345", got)
	}
}

// The failure of a record that was never synced closes when the record is deleted: nothing is
// left to sync (it stayed open for ever, and Retry of it did nothing).
func TestTheFailureOfADeletedRecordCloses(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	w.firstSync()
	// CRM's Last_Name holds 80 characters: the create is blocked, nothing is linked.
	id := w.deskCreate(map[string]any{"lastName": strings.Repeat("L", 100), "email": "long@x.com"})
	w.pass(nil)
	open := w.openFailures("VALUE_TOO_LONG")
	if len(open) != 1 || open[0].DeskID != id {
		t.Fatalf("open VALUE_TOO_LONG %+v, want the long last name of Desk %s", open, id)
	}
	must(t, w.userDsk.Trash(w.ctx, "contacts", []string{id}))
	if r := w.pass(nil); r.FailuresResolved != 1 {
		t.Errorf("the pass that read the deletion reports %d failures closed, want 1", r.FailuresResolved)
	}
	if open := w.openFailures("VALUE_TOO_LONG"); len(open) != 0 {
		t.Errorf("open VALUE_TOO_LONG %+v after the record was deleted, want none", open)
	}
}

// A record's failure closes once its named problem is fixed although its account reference
// cannot be carried yet (the account is not linked: two Desk accounts match one CRM account).
// A reference without a counterpart is not a failure — the record syncs without it — so it
// held the failure open with the fixed problem's stale message, and Retry could not close it.
func TestAnUnresolvedAccountDoesNotHoldAFailureOpen(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	_, err := w.desk.Load("accounts", []map[string]any{
		{"accountName": "Acme, Inc.", "createdTime": recent, "modifiedTime": recent},
		{"accountName": "acme-inc", "createdTime": recent, "modifiedTime": recent},
	})
	must(t, err)
	accs, err := w.crm.Load("Accounts", []map[string]any{{"Account_Name": "ACME Inc", "Created_Time": recent, "Modified_Time": recent}})
	must(t, err)
	// Diamond is a CRM tier Desk's picklist lacks: not carried, a failure.
	zed, err := w.crm.Load("Contacts", []map[string]any{{"Last_Name": "Zed", "Email": "zed@x.com", "Customer_Tier": "Diamond",
		"Account_Name": map[string]any{"id": accs[0]}, "Created_Time": recent, "Modified_Time": recent}})
	must(t, err)
	w.firstSync()
	if len(w.openFailures("AMBIGUOUS_MATCH")) == 0 {
		t.Fatal("no AMBIGUOUS_MATCH for the two Desk Acmes")
	}
	all, _, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	var tier []store.Failure
	for _, f := range all {
		if f.CRMID == zed[0] {
			tier = append(tier, f)
		}
	}
	if len(tier) != 1 {
		t.Fatalf("open failures of CRM Zed %+v, want the tier's", tier)
	}
	// CRM's Modified_Time counts whole seconds: an edit within the second the failure was
	// logged is not newer than it, and a failed record is planned again only once it is.
	time.Sleep(1100 * time.Millisecond)
	w.crmUpdate(zed[0], map[string]any{"Customer_Tier": "Gold"})
	if r := w.pass(nil); r.UpdatedInDesk != 1 || r.FailuresResolved != 1 {
		t.Errorf("the pass after the tier was fixed updated %d Desk records and closed %d failures, want 1 and 1", r.UpdatedInDesk, r.FailuresResolved)
	}
	all, _, err = w.st.OpenFailures(w.ctx, "it", 0)
	must(t, err)
	for _, f := range all {
		if f.CRMID == zed[0] {
			t.Errorf("failure %+v of CRM Zed still open after its tier was fixed (the account is not a failure)", f)
		}
	}
}

// A contact moved to an account that is not linked yet (two Desk accounts share its name),
// and a contact created on it, follow their account to the other side once it links: the
// moved one no longer points at its old account there, the new one gets its account. Both
// waited for an edit of the contact that might never come (a fresh user's trial).
func TestContactsFollowTheirAccountOnceItLinks(t *testing.T) {
	w, d, c, swiftDesk, swiftCRM := swiftWorld(t)
	var err error
	if len(w.openFailures("AMBIGUOUS_MATCH")) == 0 {
		t.Fatal("no AMBIGUOUS_MATCH for the two Desk Swifts")
	}
	if got := w.deskField("contacts", d["ann"], "accountId"); got != d["acme"] {
		t.Fatalf("Desk Ann's account %s, want Acme %s", got, d["acme"])
	}
	time.Sleep(1100 * time.Millisecond)
	w.crmUpdate(c["ann"], map[string]any{"Account_Name": map[string]any{"id": swiftCRM[0]}})
	w.deskUpdate(d["cid"], map[string]any{"accountId": swiftDesk[0]}) // and Desk Cid moved to it
	res, err := w.userCRM.Insert(w.ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Otto", "Email": "otto@x.com",
		"Account_Name": map[string]any{"id": swiftCRM[0]}}}})
	must(t, err)
	otto := res[0].ID
	w.pass(nil)
	deskOtto := w.crmLinkOf2(otto).DeskID
	if deskOtto == "" {
		t.Fatal("CRM Otto was not created in Desk")
	}
	// From here on only the account's link can bring the moves to the other side.
	w.passBeyondOverlap(c["dot"], d["ben"])
	if got := w.deskField("contacts", d["ann"], "accountId"); got != d["acme"] {
		t.Errorf("Desk Ann's account %s while Swift is not linked, want Acme %s as it was", got, d["acme"])
	}

	// The account's name made unique, its failure retried: it links, and its contacts follow.
	w.deskUpdateIn("accounts", swiftDesk[1], map[string]any{"accountName": "Swift West"})
	w.pass(nil)
	_, err = w.st.MarkRetrying(w.ctx, "it", nil)
	must(t, err)
	w.rerunSteps() // the retry pass runs the first sync's steps again, then a pass
	if got := w.crmLinkOf2Accounts(swiftDesk[0]); got != swiftCRM[0] {
		t.Fatalf("Desk Swift Falcon linked to CRM %q, want %s", got, swiftCRM[0])
	}
	w.pass(nil)
	if got := w.deskField("contacts", d["ann"], "accountId"); got != swiftDesk[0] {
		t.Errorf("Desk Ann's account %s once Swift linked, want Swift %s (Acme is %s)", got, swiftDesk[0], d["acme"])
	}
	if got := w.deskField("contacts", deskOtto, "accountId"); got != swiftDesk[0] {
		t.Errorf("Desk Otto's account %s once Swift linked, want Swift %s", got, swiftDesk[0])
	}
	crmCid := w.crmLinkOf(d["cid"]).CRMID
	if got := w.crmField("Contacts", crmCid, "Account_Name"); !strings.Contains(got, swiftCRM[0]) {
		t.Errorf("CRM Cid's account %s once Swift linked, want Swift %s", got, swiftCRM[0])
	}
}

// A Desk contact moved to a Desk account with no CRM counterpart yet, later than its CRM pair
// was moved to another account, keeps its newer account: the move counts as Desk's change and
// wins by the newest rule, held until the account links, then carried to CRM. The older CRM
// move was written over it in Desk, the Desk move lost for good (a fresh user's trial).
func TestANewerDeskMoveToAnUnlinkedAccountIsHeldNotOverwritten(t *testing.T) {
	w, d, c, swiftDesk, swiftCRM := swiftWorld(t)
	var err error
	time.Sleep(1100 * time.Millisecond)
	w.crmUpdate(c["ann"], map[string]any{"Account_Name": map[string]any{"id": c["beta"]}}) // older
	time.Sleep(1100 * time.Millisecond)                                                    // CRM's Modified_Time counts whole seconds
	w.deskUpdate(d["ann"], map[string]any{"accountId": swiftDesk[0]})                      // newer, not linked yet
	r := w.pass(nil)
	if got := w.deskField("contacts", d["ann"], "accountId"); got != swiftDesk[0] {
		t.Errorf("Desk Ann's account %s, want her newer Swift %s kept (Beta is %s)", got, swiftDesk[0], d["beta"])
	}
	if r.Conflicts != 1 {
		t.Errorf("the pass counted %d conflicts, want Ann's account", r.Conflicts)
	}
	w.deskUpdateIn("accounts", swiftDesk[1], map[string]any{"accountName": "Swift West"})
	w.pass(nil)
	_, err = w.st.MarkRetrying(w.ctx, "it", nil)
	must(t, err)
	w.rerunSteps()
	w.pass(nil)
	if got := w.crmField("Contacts", c["ann"], "Account_Name"); !strings.Contains(got, swiftCRM[0]) {
		t.Errorf("CRM Ann's account %s once Swift linked, want Swift %s", got, swiftCRM[0])
	}
	if got := w.deskField("contacts", d["ann"], "accountId"); got != swiftDesk[0] {
		t.Errorf("Desk Ann's account %s at the end, want Swift %s", got, swiftDesk[0])
	}
}

// swiftWorld is the seed's world plus a CRM account "Swift Falcon" that two Desk accounts
// match by name ("Swift Falcon", "swift-falcon"), so that it stays unlinked (AMBIGUOUS_MATCH),
// after the first sync and a pass. It returns the world, the seed's ids and Swift's.
func swiftWorld(t *testing.T) (w *world, d, c map[string]string, swiftDesk, swiftCRM []string) {
	t.Helper()
	w = newWorld(t, activities.ModeTwoWay)
	d, c = w.seed()
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	swiftDesk, err := w.desk.Load("accounts", []map[string]any{
		{"accountName": "Swift Falcon", "createdTime": recent, "modifiedTime": recent},
		{"accountName": "swift-falcon", "createdTime": recent, "modifiedTime": recent},
	})
	must(t, err)
	swiftCRM, err = w.crm.Load("Accounts", []map[string]any{{"Account_Name": "Swift Falcon", "Created_Time": recent, "Modified_Time": recent}})
	must(t, err)
	w.firstSync()
	w.pass(nil)
	return w, d, c, swiftDesk, swiftCRM
}

// A value cleared at its source after it failed to reach the other side clears the other
// side's older value too, and the failure closes; the older value is not written back over
// the clear (a fresh user's trial: CRM's Diamond, which Desk's picklist lacks, cleared in CRM
// came back as Desk's Gold; Desk's description too long for CRM, cleared in Desk, came back as
// CRM's older one). Both directions.
func TestAClearAfterAFailedValueIsCarriedNotUndone(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	crmIDs, err := w.crm.Load("Contacts", []map[string]any{{"Last_Name": "Zed", "Email": "zed@x.com", "Customer_Tier": "Gold",
		"Mailing_Zip": "12345", "Created_Time": recent, "Modified_Time": recent}})
	must(t, err)
	deskIDs, err := w.desk.Load("contacts", []map[string]any{{"lastName": "Zed", "email": "zed@x.com", "cf": map[string]any{"cf_customer_tier": "Gold"},
		"zip": "12345", "createdTime": recent, "modifiedTime": recent}})
	must(t, err)
	zed, dz := crmIDs[0], deskIDs[0]
	w.firstSync()
	w.pass(nil)
	if got := w.deskField("contacts", dz, "cf_customer_tier"); got != "Gold" {
		t.Fatalf("Desk tier %q after the first sync, want Gold", got)
	}
	step := func(what string, edit func(), code string, failures int) {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // CRM's Modified_Time counts whole seconds
		edit()
		w.pass(nil)
		if n := len(w.openFailures(code)); n != failures {
			t.Errorf("%s: %d open %s failures, want %d", what, n, code, failures)
		}
	}
	step("CRM tier Diamond", func() { w.crmUpdate(zed, map[string]any{"Customer_Tier": "Diamond"}) }, "INVALID_PICKLIST_VALUE", 1)
	step("CRM tier cleared", func() { w.crmUpdate(zed, map[string]any{"Customer_Tier": nil}) }, "INVALID_PICKLIST_VALUE", 0)
	if d, c := w.deskField("contacts", dz, "cf_customer_tier"), w.crmField("Contacts", zed, "Customer_Tier"); d != "<nil>" || c != "<nil>" {
		t.Errorf("after CRM cleared its tier: Desk %q, CRM %q; want both cleared", d, c)
	}
	longZip := strings.Repeat("7", 40) // Desk zip holds 50, CRM Mailing_Zip 30
	step("Desk zip too long", func() { w.deskUpdate(dz, map[string]any{"zip": longZip}) }, "VALUE_TOO_LONG", 1)
	step("Desk zip cleared", func() { w.deskUpdate(dz, map[string]any{"zip": nil}) }, "VALUE_TOO_LONG", 0)
	if d, c := w.deskField("contacts", dz, "zip"), w.crmField("Contacts", zed, "Mailing_Zip"); d != "<nil>" || c != "<nil>" {
		t.Errorf("after Desk cleared its zip: Desk %q, CRM %q; want both cleared", d, c)
	}
}

// A retried failure whose cause is gone although the record did not change — its field no
// longer mapped — closes: the retry finds the record in sync. It stayed open, "retry asked",
// with advice that no longer applied (a fresh user's trial).
func TestARetryClosesAFailureWhoseFieldIsNoLongerMapped(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	_, err := w.desk.Load("contacts", []map[string]any{
		{"lastName": "Zed", "email": "zed@x.com", "zip": strings.Repeat("7", 40), "createdTime": recent, "modifiedTime": recent},
	})
	must(t, err)
	w.firstSync()
	w.pass(nil)
	if n := len(w.openFailures("VALUE_TOO_LONG")); n != 1 {
		t.Fatalf("%d VALUE_TOO_LONG failures after the first sync, want Zed's zip", n)
	}
	w.contactsMappingWithout("zip")
	w.pass(nil)
	if n := len(w.openFailures("VALUE_TOO_LONG")); n != 1 {
		t.Errorf("%d VALUE_TOO_LONG failures after the zip was unmapped, want 1 until a retry (or an edit)", n)
	}
	if _, err := w.st.MarkRetrying(w.ctx, "it", nil); err != nil {
		t.Fatal(err)
	}
	if r := w.pass(nil); r.FailuresResolved != 1 || r.UpdatedInCRM+r.UpdatedInDesk != 0 {
		t.Errorf("the retry pass closed %d failures and wrote %d records, want 1 and none", r.FailuresResolved, r.UpdatedInCRM+r.UpdatedInDesk)
	}
	if open := w.openFailures("VALUE_TOO_LONG"); len(open) != 0 {
		t.Errorf("open VALUE_TOO_LONG %+v after the retry, want none: the zip is no longer synced", open)
	}
}
