package activities_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/emulator/realism"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

func TestDeskChangeReachesCRM(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	dIDs, cIDs := w.seed()
	w.firstSync()
	w.deskUpdate(dIDs["ben"], map[string]any{"mobile": "777"})
	res := w.pass(nil)
	if got := w.crmField("Contacts", cIDs["ben"], "Mobile"); got != "777" {
		t.Errorf("CRM Ben's Mobile = %s, want 777; result %+v", got, res)
	}
}

func TestDeskChangeToAFieldEmptyAtCreateReachesCRM(t *testing.T) {
	// Cid exists only in Desk: the first sync creates him in CRM with a base that leaves his
	// empty mobile out, so the pass must read CRM's value to merge.
	w := newWorld(t, activities.ModeTwoWay)
	dIDs, _ := w.seed()
	w.firstSync()
	w.deskUpdate(dIDs["cid"], map[string]any{"mobile": "777"})
	res := w.pass(nil)
	cid := w.crmByEmail("cid@x.com")
	if got := w.crmField("Contacts", cid, "Mobile"); got != "777" {
		t.Errorf("CRM Cid's Mobile = %s, want 777; result %+v", got, res)
	}
}

func TestIncrementalDecisions(t *testing.T) {
	type ids = map[string]string
	tests := []struct {
		name   string
		mode   string
		change func(w *world, d, c ids)
		check  func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult)
	}{
		{"nothing changed: the echoes of the first sync write nothing", activities.ModeTwoWay,
			func(w *world, d, c ids) { w.resetCalls() },
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if n := w.writeCalls(); n != 0 {
					t.Errorf("%d write calls, want 0", n)
				}
				if r.Echoes == 0 {
					t.Errorf("no echo skipped: the first sync's writes were not read back")
				}
			}},
		{"a CRM change reaches Desk", activities.ModeTwoWay,
			func(w *world, d, c ids) { w.crmUpdate(c["ann"], map[string]any{"Phone": "111"}) },
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if got := w.deskField("contacts", d["ann"], "phone"); got != "111" {
					t.Errorf("Desk phone = %s", got)
				}
				if r.UpdatedInDesk != 1 || r.UpdatedInCRM != 0 {
					t.Errorf("updated in Desk %d, CRM %d; want 1, 0", r.UpdatedInDesk, r.UpdatedInCRM)
				}
			}},
		{"both sides changed different fields: both kept on both sides", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				w.crmUpdate(c["ann"], map[string]any{"Phone": "111"})
				w.deskUpdate(d["ann"], map[string]any{"title": "Boss"})
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				got := []string{w.deskField("contacts", d["ann"], "phone"), w.deskField("contacts", d["ann"], "title"),
					w.crmField("Contacts", c["ann"], "Phone"), w.crmField("Contacts", c["ann"], "Title")}
				if strings.Join(got, ",") != "111,Boss,111,Boss" {
					t.Errorf("desk phone, title, crm phone, title = %v", got)
				}
			}},
		{"both sides changed one field: the newer wins", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				w.deskUpdate(d["ann"], map[string]any{"title": "Desk title"})
				time.Sleep(1100 * time.Millisecond) // CRM times have whole seconds
				w.crmUpdate(c["ann"], map[string]any{"Title": "CRM title"})
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if a, b := w.deskField("contacts", d["ann"], "title"), w.crmField("Contacts", c["ann"], "Title"); a != "CRM title" || b != "CRM title" {
					t.Errorf("titles Desk %q, CRM %q; want the newer CRM title on both", a, b)
				}
			}},
		{"a contact moved to another account follows the account links", activities.ModeTwoWay,
			func(w *world, d, c ids) { w.deskUpdate(d["ann"], map[string]any{"accountId": d["beta"]}) },
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				r2, _ := w.crm.Record("Contacts", c["ann"])
				if acct, _ := r2["Account_Name"].(map[string]any); fmt.Sprint(acct["id"]) != c["beta"] {
					t.Errorf("CRM Ann's account = %v, want Beta %s", r2["Account_Name"], c["beta"])
				}
			}},
		{"one-way mode: a Desk change stays in Desk, a CRM change reaches Desk", activities.ModeOneWayToDesk,
			func(w *world, d, c ids) {
				w.deskUpdate(d["ann"], map[string]any{"title": "Desk only"})
				w.crmUpdate(c["ben"], map[string]any{"Phone": "222"})
				w.resetCalls()
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if got := w.crmField("Contacts", c["ann"], "Title"); got != "<nil>" {
					t.Errorf("CRM Ann's title = %s: a Desk change was sent in one-way mode", got)
				}
				if got := w.deskField("contacts", d["ben"], "phone"); got != "222" {
					t.Errorf("Desk Ben's phone = %s", got)
				}
				if n := w.crm.Realism().Count("PUT /crm/v8/Contacts") + w.crm.Realism().Count("POST /crm/v8/Contacts"); n != 0 {
					t.Errorf("%d CRM writes in one-way mode", n)
				}
			}},
		{"deletes do not propagate: the link records them", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				must(w.t, w.userDsk.Trash(w.ctx, "contacts", []string{d["ann"]}))
				_, err := w.userCRM.Delete(w.ctx, "Contacts", []string{c["ben"]})
				must(w.t, err)
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if w.crmField("Contacts", c["ann"], "Last_Name") != "Ann" || w.deskField("contacts", d["ben"], "isTrashed") != "false" {
					t.Errorf("a deletion propagated")
				}
				if l := w.crmLinkOf(d["ann"]); l.DeskDeleted != "trash" {
					t.Errorf("Ann's link desk_deleted = %q, want trash", l.DeskDeleted)
				}
				if l := w.crmLinkOf(d["ben"]); l.CRMDeleted != "trash" {
					t.Errorf("Ben's link crm_deleted = %q, want trash", l.CRMDeleted)
				}
			}},
		{"an update after a Desk delete restores the record from the recycle bin", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				must(w.t, w.userDsk.Trash(w.ctx, "contacts", []string{d["ann"]}))
				w.pass(nil)
				w.crmUpdate(c["ann"], map[string]any{"Phone": "333"})
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if w.deskField("contacts", d["ann"], "isTrashed") != "false" || w.deskField("contacts", d["ann"], "phone") != "333" {
					t.Errorf("Desk Ann trashed=%s phone=%s; want restored with 333", w.deskField("contacts", d["ann"], "isTrashed"), w.deskField("contacts", d["ann"], "phone"))
				}
				if r.Restored != 1 {
					t.Errorf("restored %d, want 1", r.Restored)
				}
				if l := w.crmLinkOf(d["ann"]); l.DeskDeleted != "" {
					t.Errorf("deletion mark %q left on the link", l.DeskDeleted)
				}
			}},
		{"an update after a permanent CRM delete creates the record again", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				_, err := w.userCRM.Delete(w.ctx, "Contacts", []string{c["ann"]})
				must(w.t, err)
				w.crm.Purge("Contacts", c["ann"])
				w.deskUpdate(d["ann"], map[string]any{"title": "Back"})
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				again := w.crmByEmail("ann@x.com")
				if again == c["ann"] || w.crmField("Contacts", again, "Title") != "Back" || w.crmField("Contacts", again, "Desk_ID") != d["ann"] {
					t.Errorf("re-created CRM Ann %s: title %s, Desk_ID %s", again, w.crmField("Contacts", again, "Title"), w.crmField("Contacts", again, "Desk_ID"))
				}
				if l := w.crmLinkOf(d["ann"]); l.CRMID != again || l.CRMDeleted != "" {
					t.Errorf("link %+v not re-pointed at %s", l, again)
				}
			}},
		{"a new record matching an unlinked one by email is linked, not duplicated", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				_, err := w.userDsk.Create(w.ctx, "contacts", desk.Record{Fields: map[string]any{"lastName": "Eve", "email": "eve@x.com", "phone": "9"}})
				must(w.t, err)
				res, err := w.userCRM.Insert(w.ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Eve", "Email": "EVE@x.com", "Title": "T"}}})
				must(w.t, err)
				_ = res
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if r.Matched != 1 || r.CreatedInCRM+r.CreatedInDesk != 0 {
					t.Errorf("matched %d, created %d/%d; want 1 match and no create", r.Matched, r.CreatedInCRM, r.CreatedInDesk)
				}
				// Created within a second of each other: the newest rule compares whole seconds
				// (CRM's precision), so CRM's spelling of the email wins the tie or is newer; the
				// phone only Desk holds is carried (an empty value never erases).
				eve := w.crmByEmail("EVE@x.com")
				if w.crmField("Contacts", eve, "Phone") != "9" {
					t.Errorf("CRM Eve's phone = %s, want Desk's 9", w.crmField("Contacts", eve, "Phone"))
				}
			}},
		{"new records sharing one email with several others are AMBIGUOUS_MATCH", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				for _, n := range []string{"One", "Two"} {
					_, err := w.userDsk.Create(w.ctx, "contacts", desk.Record{Fields: map[string]any{"lastName": n, "email": "dup@x.com"}})
					must(w.t, err)
				}
				_, err := w.userCRM.Insert(w.ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Crm", "Email": "dup@x.com"}}})
				must(w.t, err)
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				n := 0
				for _, f := range r.Failures {
					if f.Code == "AMBIGUOUS_MATCH" {
						n++
					}
				}
				if n != 3 || r.CreatedInCRM+r.CreatedInDesk != 0 {
					t.Errorf("%d AMBIGUOUS_MATCH, %d created; want 3 and none: %+v", n, r.CreatedInCRM+r.CreatedInDesk, r.Failures)
				}
			}},
		{"a record CRM rejects is logged and the rest of the batch goes on", activities.ModeTwoWay,
			func(w *world, d, c ids) {
				w.deskUpdate(d["ann"], map[string]any{"mobile": strings.Repeat("9", 40)}) // CRM's Mobile holds 30
				w.deskUpdate(d["ben"], map[string]any{"mobile": "555"})
			},
			func(t *testing.T, w *world, d, c ids, r activities.IncrementalResult) {
				if r.FailedToCRM != 1 || r.UpdatedInCRM != 1 || len(r.Failures) != 1 || r.Failures[0].DeskID != d["ann"] {
					t.Errorf("failed %d, updated %d, failures %+v; want Ann failed and Ben updated", r.FailedToCRM, r.UpdatedInCRM, r.Failures)
				}
				if w.crmField("Contacts", c["ben"], "Mobile") != "555" {
					t.Errorf("Ben's mobile did not reach CRM")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.mode)
			d, c := w.seed()
			w.firstSync()
			tt.change(w, d, c)
			r := w.pass(nil)
			tt.check(t, w, d, c, r)
			// A second pass finds only echoes of the first one.
			w.resetCalls()
			w.pass(nil)
			if n := w.writeCalls(); n != 0 {
				t.Errorf("the pass after wrote %d time(s): a change was applied twice or looped", n)
			}
		})
	}
}

func TestCursorsSurviveARestartAndHintsReadWhatTheCursorMisses(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	r := w.pass(nil)
	saved, ok, err := w.st.Cursor(w.ctx, store.Scope{IntegrationID: "it", Module: "contacts", Side: "crm"})
	must(t, err)
	if !ok || !saved.Position.Equal(r.CRMCursor.Position) || saved.Position.Before(w.start.Truncate(time.Second)) {
		t.Fatalf("saved CRM cursor %+v (found %v), pass returned %+v, first sync began %s", saved, ok, r.CRMCursor, w.start)
	}

	// A workflow started again (terminated, then started with a later first-sync time) carries
	// on from the saved cursors: a change made before its start still arrives.
	w.crmUpdate(c["ben"], map[string]any{"Phone": "321"})
	w.start = time.Now().Add(time.Hour)
	w.pass(nil)
	if got := w.deskField("contacts", d["ben"], "phone"); got != "321" {
		t.Fatalf("Desk Ben's phone = %s after a restart, want 321", got)
	}

	// A change whose modified time is behind the cursor (a lagging read) is found through the
	// ids a webhook reported.
	old := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05+00:00")
	_, err = w.crm.Load("Contacts", []map[string]any{{"id": c["ben"], "Last_Name": "Ben", "Email": "ben@x.com", "Phone": "444",
		"Created_Time": old, "Modified_Time": old}})
	must(t, err)
	w.pass(nil)
	if got := w.deskField("contacts", d["ben"], "phone"); got != "321" {
		t.Fatalf("Desk Ben's phone = %s: the change behind the cursor should need its hint", got)
	}
	w.pass(map[string][]string{activities.SideCRM: {c["ben"]}})
	if got := w.deskField("contacts", d["ben"], "phone"); got != "444" {
		t.Errorf("Desk Ben's phone = %s, want 444 through the hint", got)
	}
}

// A field edited on both sides since the last pass takes the newer edit on both sides (the
// DESIGN's newest rule), whichever side's webhook started the pass: the pass reads the other
// side's first changes too (OtherSideChanges). When a hinted pass read its own side only, it wrote its value over the
// other side's newer edit, and the other side's pass then read that record as an echo of the
// sync's own write: the newer edit was lost, and nothing said so (a fresh user's trial). The
// pass counts (and logs) the conflict.
func TestAPassHintedByOneSideKeepsTheOtherSidesNewerEdit(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	hintedPass := func(side, id string) {
		t.Helper()
		in := activities.IncrementalInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Since: w.start,
			Hints: map[string][]string{side: {id}}, Sides: []string{side}}
		r, err := w.a.IncrementalPass(w.ctx, in)
		must(t, err)
		if r.Conflicts != 1 {
			t.Errorf("the pass reported %d conflicts, want 1 (Ben's title, edited on both sides)", r.Conflicts)
		}
	}
	both := func(want string) {
		t.Helper()
		if got, gotCRM := w.deskField("contacts", d["ben"], "title"), w.crmField("Contacts", c["ben"], "Title"); got != want || gotCRM != want {
			t.Errorf("Ben's title is %q in Desk and %q in CRM, want the newer edit %q in both", got, gotCRM, want)
		}
	}
	// CRM's Modified_Time counts whole seconds: the second edit comes a second later.
	w.crmUpdate(c["ben"], map[string]any{"Title": "Older in CRM"})
	time.Sleep(1100 * time.Millisecond)
	w.deskUpdate(d["ben"], map[string]any{"title": "Newer in Desk"})
	hintedPass(activities.SideCRM, c["ben"]) // CRM's webhook came first
	both("Newer in Desk")

	w.deskUpdate(d["ben"], map[string]any{"title": "Older in Desk"})
	time.Sleep(1100 * time.Millisecond)
	w.crmUpdate(c["ben"], map[string]any{"Title": "Newer in CRM"})
	hintedPass(activities.SideDesk, d["ben"]) // Desk's webhook came first
	both("Newer in CRM")
	w.pass(nil) // and the other side's pass that follows changes nothing
	both("Newer in CRM")

	// The conflict log has both, newest first, with the side kept and the rule (no values).
	log, total, err := w.st.RecentConflicts(w.ctx, "it", w.start.Add(-time.Hour), 0)
	must(t, err)
	want := []store.ConflictField{{Field: "title=Title", Kept: "crm", Rule: "newest"}}
	if total != 2 || len(log) != 2 || !reflect.DeepEqual(log[0].Fields, want) || log[0].DeskID != d["ben"] || log[0].CRMID != c["ben"] ||
		log[0].Module != activities.Contacts || log[1].Fields[0].Kept != "desk" {
		t.Errorf("conflict log (%d): %+v, want Ben's title kept from CRM, then from Desk", total, log)
	}
}

// A pass one side's webhook started reads only the first OtherSideChanges changes of the other
// side (a bulk there — the echoes of the pass before — must not delay it) and leaves the rest
// to that side's own pass, without asking for another pass of its own side; nothing is lost.
func TestAHintedPassReadsTheOtherSidesFirstChangesOnly(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	_, c := w.seed()
	recent := time.Now().UTC().Add(-time.Hour)
	n := activities.OtherSideChanges + 100
	var desks, crms []map[string]any
	for i := range n {
		email := fmt.Sprintf("bulk%d@x.com", i)
		desks = append(desks, map[string]any{"lastName": "Bulk", "email": email, "createdTime": recent.Format(iso), "modifiedTime": recent.Format(iso)})
		crms = append(crms, map[string]any{"Last_Name": "Bulk", "Email": email, "Created_Time": crmTime(recent), "Modified_Time": crmTime(recent)})
	}
	deskIDs, err := w.desk.Load("contacts", desks)
	must(t, err)
	crmIDs, err := w.crm.Load("Contacts", crms)
	must(t, err)
	w.firstSync()
	w.pass(nil)
	for _, id := range deskIDs {
		w.deskUpdate(id, map[string]any{"title": "Bulk edit"})
	}
	w.crmUpdate(c["ben"], map[string]any{"Title": "Hinted"})
	in := activities.IncrementalInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Since: w.start,
		Hints: map[string][]string{activities.SideCRM: {c["ben"]}}, Sides: []string{activities.SideCRM}}
	r, err := w.a.IncrementalPass(w.ctx, in)
	must(t, err)
	// Up to OtherSideChanges read: a few of them again are the CursorOverlap before the cursor.
	first := r.UpdatedInCRM
	if first < activities.OtherSideChanges-20 || first > activities.OtherSideChanges || r.UpdatedInDesk != 1 || r.More {
		t.Errorf("the CRM pass updated %d CRM and %d Desk records (more: %v), want about the first %d Desk changes and Ben, and no more asked",
			first, r.UpdatedInDesk, r.More, activities.OtherSideChanges)
	}
	in = activities.IncrementalInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Since: w.start, Sides: []string{activities.SideDesk}}
	r, err = w.a.IncrementalPass(w.ctx, in)
	must(t, err)
	if r.UpdatedInCRM != n-first {
		t.Errorf("the Desk pass updated %d CRM records, want the other %d", r.UpdatedInCRM, n-first)
	}
	for i, id := range crmIDs {
		if got := w.crmField("Contacts", id, "Title"); got != "Bulk edit" {
			t.Fatalf("CRM contact %d's title %q, want the Desk edit", i, got)
		}
	}
}

// When the other side's read fails, a hinted pass plans and writes nothing (its chunks wait
// for that read) and fails, so that Temporal retries it; the retry carries both changes.
func TestAHintedPassWritesNothingWhenTheOtherSidesReadFails(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	w.deskUpdate(d["cid"], map[string]any{"title": "From Desk"})
	w.crmUpdate(c["ann"], map[string]any{"Title": "From CRM"})
	id, err := w.desk.Realism().AddFault(realism.Fault{Method: "GET", Path: "/api/v1/contacts/search", Kind: realism.FaultStatus, Status: 500})
	must(t, err)
	w.resetCalls()
	in := activities.IncrementalInput{IntegrationID: "it", Module: activities.Contacts, Mode: w.mode, Since: w.start,
		Hints: map[string][]string{activities.SideCRM: {c["ann"]}}, Sides: []string{activities.SideCRM}}
	if _, err := w.a.IncrementalPass(w.ctx, in); err == nil || !strings.Contains(err.Error(), "read Desk changes") {
		t.Fatalf("pass error %v, want the Desk read's", err)
	}
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the failed pass made %d write calls, want none", n)
	}
	w.desk.Realism().RemoveFault(id)
	if _, err := w.a.IncrementalPass(w.ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := w.deskField("contacts", d["ann"], "title"); got != "From CRM" {
		t.Errorf("Desk Ann's title %q after the retry, want From CRM", got)
	}
	if got := w.crmField("Contacts", w.crmLinkOf(d["cid"]).CRMID, "Title"); got != "From Desk" {
		t.Errorf("CRM Cid's title %q after the retry, want From Desk", got)
	}
}

// A field newly mapped whose two sides hold different values takes one of them by its rule:
// the other side's value is replaced, and the conflict log says so (it logged only fields
// changed on both sides since a sync, so a mapping change replaced values silently: a trial).
func TestANewlyMappedFieldWithDifferentValuesIsLoggedAsAConflict(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	rows := w.contactsMappingWithout("title")
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	w.crmUpdate(c["ben"], map[string]any{"Title": "Title in CRM"})
	time.Sleep(1100 * time.Millisecond)
	w.deskUpdate(d["ben"], map[string]any{"title": "Title in Desk"})
	w.pass(nil)
	must(t, w.st.ReplaceMapping(w.ctx, "it", "contacts", rows))
	w.pass(nil) // the mapping change reads the pair again
	if got, gotCRM := w.deskField("contacts", d["ben"], "title"), w.crmField("Contacts", c["ben"], "Title"); got != "Title in Desk" || gotCRM != got {
		t.Errorf("Ben's title: Desk %q, CRM %q; want Desk's, the record modified last, on both", got, gotCRM)
	}
	w.wantBensTitleFirstSyncedWithDesksKept(d, c)
}

// The first sync matches records that already exist on both sides: where the two held different
// values, the kept one is written over the other, and the conflict log says so (a trial: a CRM
// contact's title replaced by the Desk one with no trace, "starter conflicts" empty).
func TestAFirstSyncLogsTheValuesItWroteOver(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.crmUpdate(c["ben"], map[string]any{"Title": "Title in CRM"})
	time.Sleep(1100 * time.Millisecond)
	w.deskUpdate(d["ben"], map[string]any{"title": "Title in Desk"})
	w.firstSync()
	if got := w.crmField("Contacts", c["ben"], "Title"); got != "Title in Desk" {
		t.Errorf("CRM Ben's title %q, want Desk's, the record modified last", got)
	}
	w.wantBensTitleFirstSyncedWithDesksKept(d, c)
}

// A mapping change reads every record of the look-back again: a field newly mapped is carried
// at the next pass, not when each record next changes (a trial: a re-mapped field's values, and
// a value it could not carry, waited for an edit). Records that did not change write nothing,
// and the pass after reads only the changes again.
func TestAMappingChangeReadsTheLookBackAgain(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	rows := w.contactsMappingWithout("title")
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	w.crmUpdate(c["ben"], map[string]any{"Title": "Chief of Titles"})
	w.pass(nil) // read while the title is not mapped: nothing to carry
	if got := w.deskField("contacts", d["ben"], "title"); got == "Chief of Titles" {
		t.Fatalf("an unmapped title was carried")
	}
	// From here on only reading the look-back again brings Ben's title.
	w.passBeyondOverlap(c["dot"], d["ann"])
	must(t, w.st.ReplaceMapping(w.ctx, "it", "contacts", rows))
	w.pass(nil)
	if got := w.deskField("contacts", d["ben"], "title"); got != "Chief of Titles" {
		t.Errorf("Desk Ben's title %q after the title was mapped, want CRM's carried at the next pass", got)
	}
	w.resetCalls()
	w.pass(nil)
	if n := w.writeCalls(); n != 0 {
		t.Errorf("the pass after wrote %d time(s), want none", n)
	}
}

// A pair whose only write is a counterpart id (a person cleared CRM's Desk_ID) is in sync once
// it is written: an open failure of writing that pair closes (a trial: CRM refused an account's
// Desk_ID while another account held its name; after the rename the id was written, but the
// failure stayed open until a manual retry).
func TestACounterpartWriteClosesTheFailureOfThePair(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	d, c := w.seed()
	w.firstSync()
	w.pass(nil)
	_, err := w.st.RecordFailures(w.ctx, "it", "", []store.Failure{{Module: "contacts", Direction: "desk-to-crm",
		DeskID: d["ben"], CRMID: c["ben"], Code: "DUPLICATE_DATA", Message: "CRM refused the contact"}})
	must(t, err)
	w.crmUpdate(c["ben"], map[string]any{"Desk_ID": nil})
	w.pass(nil)
	if got := w.crmField("Contacts", c["ben"], "Desk_ID"); got != d["ben"] {
		t.Fatalf("CRM Ben's Desk_ID %q, want %s written again", got, d["ben"])
	}
	open, err := w.st.OpenFailuresOf(w.ctx, "it", "contacts", d["ben"])
	must(t, err)
	if len(open) != 0 {
		t.Errorf("Ben's open failures %+v, want none once the pair's write went through", open)
	}
}

// wantBensTitleFirstSyncedWithDesksKept checks that the conflict log holds one entry: Ben's
// pair, whose title was first synced with different values and kept Desk's, the newer.
func (w *world) wantBensTitleFirstSyncedWithDesksKept(d, c map[string]string) {
	w.t.Helper()
	log, _, err := w.st.RecentConflicts(w.ctx, "it", w.start.Add(-time.Hour), 0)
	must(w.t, err)
	want := []store.ConflictField{{Field: "title=Title", Kept: "desk", Rule: "newest", FirstSync: true}}
	if len(log) != 1 || !reflect.DeepEqual(log[0].Fields, want) || log[0].CRMID != c["ben"] || log[0].DeskID != d["ben"] {
		w.t.Errorf("conflict log %+v, want Ben's title first synced with Desk's kept", log)
	}
}
