package store_test

import (
	"context"
	"testing"
	"time"

	"deskcrm/store"
)

// An activity's retries, which decide the same conflicts again, record each pair once; another
// activity (a later pass) meeting the pair again records it again. Entries older than the
// seven days are pruned, and the log is read newest first, bounded, with its total.
func TestConflictsAreRecordedOncePerActivityAndKeptSevenDays(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	c := store.Conflict{Module: "contacts", DeskID: "d1", CRMID: "c1", Fields: []store.ConflictField{{Field: "title=Title", Kept: "desk", Rule: "newest"}}}
	for range 3 {
		if err := st.RecordConflicts(ctx, "it", "wf/run/7", []store.Conflict{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordConflicts(ctx, "it", "wf/run/9", []store.Conflict{c}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `insert into sync_conflicts (integration_id, key, module, desk_id, crm_id, fields, at)
		values ('it', 'wf/run/1', 'contacts', 'd0', 'c0', '[]', now() - interval '8 days')`); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordConflicts(ctx, "it", "wf/run/10", []store.Conflict{{Module: "accounts", DeskID: "d2", CRMID: "c2", Fields: c.Fields}}); err != nil {
		t.Fatal(err)
	}
	all, total, err := st.RecentConflicts(ctx, "it", time.Now().Add(-30*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(all) != 3 || all[0].Module != "accounts" || all[1].DeskID != "d1" || all[1].Fields[0] != c.Fields[0] {
		t.Errorf("the log holds %d (%+v), want 3: the older-than-a-week entry pruned, one per activity", total, all)
	}
	some, total, err := st.RecentConflicts(ctx, "it", time.Now().Add(-time.Hour), 1)
	if err != nil || len(some) != 1 || total != 3 || some[0].Module != "accounts" {
		t.Errorf("the newest one of the hour: %+v, total %d, %v", some, total, err)
	}
}

// A conflict's field in words names the fields, the side kept and why: a tie and a field first
// synced with different values say so.
func TestConflictFieldWords(t *testing.T) {
	for _, tc := range []struct {
		f    store.ConflictField
		want string
	}{
		{store.ConflictField{Field: "title=Title", Kept: "desk", Rule: "newest"}, "title ↔ Title: Desk's edit kept (newest: the record modified last)"},
		{store.ConflictField{Field: "title=Title", Kept: "crm", Rule: "newest-tie"},
			"title ↔ Title: CRM's edit kept (newest, but both were modified within the same second, which CRM's whole-second times cannot order: CRM's is kept)"},
		{store.ConflictField{Field: "cf_plan=Plan", Kept: "crm", Rule: "crm-wins", FirstSync: true},
			"cf_plan ↔ Plan: first synced with different values on each side; CRM's kept (the field's policy: crm-wins)"},
		{store.ConflictField{Field: "city=Mailing_City", Kept: "crm", Rule: "one-way"}, "city ↔ Mailing_City: CRM's edit kept (the sync is one-way CRM → Desk)"},
	} {
		if got := tc.f.Words(); got != tc.want {
			t.Errorf("Words() = %q\nwant %q", got, tc.want)
		}
	}
}
