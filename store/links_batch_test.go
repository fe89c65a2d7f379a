package store_test

import (
	"context"
	"testing"
	"time"

	"deskcrm/store"
)

// CompleteLinks and SetBases write a batch in one statement: every link of the batch gets its
// own values (bases, nulls, times), and a link given twice gets its last ones.
func TestLinkBatchesWriteEachLinksOwnValues(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, side := range []string{"desk", "crm"} {
		sc := store.Scope{IntegrationID: "it", Module: "contacts", Side: side}
		if err := st.AddPendingLinks(ctx, sc, []string{side + "1", side + "2", side + "3"}); err != nil {
			t.Fatal(err)
		}
		t1, t2 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
		done := []store.Completion{
			{SourceID: side + "1", TargetID: "first", Base: map[string]any{"Email": "a@x"}, BaseHash: "h1", SourceModified: t1, TargetModified: t2},
			{SourceID: side + "2", TargetID: side + "-t2", BaseDesk: map[string]any{"Phone": "1"}, BaseHash: "h2", SourceModified: t2, TargetModified: t1},
			{SourceID: side + "1", TargetID: side + "-t1", Base: map[string]any{"Email": "b@x"}, BaseHash: "h1b", SourceModified: t2, TargetModified: t1},
		}
		if err := st.CompleteLinks(ctx, sc, done); err != nil {
			t.Fatal(err)
		}
		links, err := st.LinksOf(ctx, sc, []string{side + "1", side + "2", side + "3"})
		if err != nil {
			t.Fatal(err)
		}
		other := func(l store.Link) string {
			if side == "desk" {
				return l.CRMID
			}
			return l.DeskID
		}
		l1, l2, l3 := links[side+"1"], links[side+"2"], links[side+"3"]
		if other(l1) != side+"-t1" || l1.State != "linked" || l1.Base["Email"] != "b@x" || l1.BaseHash != "h1b" {
			t.Errorf("%s: link 1 = %+v, want its last completion (target %s-t1, base b@x, hash h1b)", side, l1, side)
		}
		if other(l2) != side+"-t2" || l2.Base != nil || l2.BaseDesk["Phone"] != "1" || l2.BaseHash != "h2" {
			t.Errorf("%s: link 2 = %+v, want target %s-t2, no shared base, Desk base Phone 1", side, l2, side)
		}
		wantDesk, wantCRM := t1, t2 // the source's time is the source side's
		if side == "crm" {
			wantDesk, wantCRM = t2, t1
		}
		if l2.DeskModified == nil || !l2.DeskModified.Equal(wantCRM) || l2.CRMModified == nil || !l2.CRMModified.Equal(wantDesk) {
			t.Errorf("%s: link 2 times desk %v crm %v", side, l2.DeskModified, l2.CRMModified)
		}
		if l3.State == "linked" {
			t.Errorf("%s: link 3 was not in the batch but is %+v", side, l3)
		}

		if err := st.SetBases(ctx, []store.BaseUpdate{
			{LinkID: l2.ID, BaseCRM: map[string]any{"Phone": "2"}, BaseHash: "x", DeskModified: t1, CRMModified: t1},
			{LinkID: l1.ID, Base: map[string]any{"Email": "c@x"}, BaseHash: "h1c", DeskModified: t2, CRMModified: t2},
			{LinkID: l2.ID, Base: map[string]any{"Email": "d@x"}, BaseHash: "h2d", DeskModified: t2, CRMModified: t1},
		}); err != nil {
			t.Fatal(err)
		}
		links, err = st.LinksOf(ctx, sc, []string{side + "1", side + "2"})
		if err != nil {
			t.Fatal(err)
		}
		l1, l2 = links[side+"1"], links[side+"2"]
		if l1.Base["Email"] != "c@x" || l1.BaseHash != "h1c" || !l1.DeskModified.Equal(t2) {
			t.Errorf("%s: link 1 after SetBases = %+v", side, l1)
		}
		if l2.Base["Email"] != "d@x" || l2.BaseCRM != nil || l2.BaseDesk != nil || l2.BaseHash != "h2d" || !l2.CRMModified.Equal(t1) {
			t.Errorf("%s: link 2 after SetBases = %+v, want its last update (base d@x, no side bases)", side, l2)
		}
	}
}
