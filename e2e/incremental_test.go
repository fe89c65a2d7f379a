package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// users are API clients acting as people editing records in each product: their writes are
// the changes the sync must carry.
type users struct {
	crm  *crm.Client
	desk *desk.Client
}

func newUsers(t *testing.T, h *harness) users {
	t.Helper()
	// The emulators' built-in development credentials (see activities.New).
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "deskcrm-dev", ClientSecret: "deskcrm-dev-secret",
		RefreshToken: "deskcrm-dev-refresh", DC: zoho.DataCenter("com"), AccountsURL: h.crmURL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crm.New(crm.Config{BaseURL: h.crmURL, DC: zoho.DataCenter("com"), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	d, err := desk.New(desk.Config{BaseURL: h.deskURL, DC: zoho.DataCenter("com"), OrgID: h.desk.OrgID(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	return users{crm: c, desk: d}
}

// find returns the id of the only record of a module whose field equals value ("" if none).
func find(t *testing.T, recs []map[string]any, field, value string) string {
	t.Helper()
	var ids []string
	for _, r := range recs {
		if fmt.Sprint(r[field]) == value {
			ids = append(ids, fmt.Sprint(r["id"]))
		}
	}
	if len(ids) > 1 {
		t.Fatalf("%d records with %s=%s, want at most 1", len(ids), field, value)
	}
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// eventually polls cond until it holds, failing with its last explanation after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		ok, w := cond()
		if ok {
			return
		}
		why = w
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (%s)", what, timeout, why)
}

// passes waits until n more incremental passes have finished.
func (h *harness) passes(t *testing.T, n int) {
	t.Helper()
	st, err := h.status("e2e")
	if err != nil {
		t.Fatal(err)
	}
	want := st.Passes + n
	eventually(t, time.Minute, fmt.Sprintf("%d more passes", n), func() (bool, string) {
		st, err := h.status("e2e")
		return err == nil && st.Passes >= want && st.WaitingFor != "incremental-accounts" && st.WaitingFor != "incremental-contacts",
			fmt.Sprintf("passes %d, want %d (%v)", st.Passes, want, err)
	})
}

// writes counts the write calls (POST, PUT, PATCH, DELETE) in an emulator's call log, tokens
// aside.
func writes(s realism.Stats) (int, []string) {
	n := 0
	var eps []string
	for ep, st := range s.Endpoints {
		method, path, _ := strings.Cut(ep, " ")
		if strings.Contains(path, "oauth") || method == "GET" {
			continue
		}
		n += st.Calls
		eps = append(eps, fmt.Sprintf("%s ×%d", ep, st.Calls))
	}
	return n, eps
}

func (h *harness) resetCalls() {
	h.crm.Realism().ResetCalls()
	h.desk.Realism().ResetCalls()
}

// TestIncrementalSync shows, record by record, that after the first sync every change reaches
// the other side through polling (1s) and sync-now: updates both ways, creates both ways,
// deletes that do not propagate, updates after a delete that bring the record back, changes
// made while paused, a 1,000-record bulk update; and that nothing is applied twice and
// nothing loops (no write at all in a pass after the changes settled).
func TestIncrementalSync(t *testing.T) {
	tc := temporaltest.Start(t)
	h := newHarness(t, tc)
	seedWorld(t, h)
	h.startWorker()
	h.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: "1s"})
	h.waitInitial("e2e", 2*time.Minute, nil)
	h.passes(t, 1)
	u := newUsers(t, h)
	ctx := context.Background()
	const wait = 30 * time.Second

	crmContact := func(field, value string) string { return find(t, h.crm.Records("Contacts"), field, value) }
	deskContact := func(field, value string) string { return find(t, h.desk.Records("contacts"), field, value) }
	deskField := func(id, field string) string {
		r, ok := h.desk.Record("contacts", id)
		if !ok {
			return "<missing>"
		}
		return fmt.Sprint(r[field])
	}
	crmField := func(id, field string) string {
		r, ok := h.crm.Record("Contacts", id)
		if !ok {
			return "<missing>"
		}
		return fmt.Sprint(r[field])
	}
	signalSyncNow := func() {
		if err := tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalSyncNow, nil); err != nil {
			t.Fatal(err)
		}
	}

	erinCRM, erinDesk := crmContact("Email", "erin@umbrella.com"), deskContact("email", "erin@umbrella.com")
	bobCRM, bobDesk := crmContact("Email", "bob@globex.com"), deskContact("email", "bob@globex.com")
	if erinCRM == "" || erinDesk == "" || bobCRM == "" || bobDesk == "" {
		t.Fatalf("first sync did not link Erin (%s/%s) and Bob (%s/%s)", erinCRM, erinDesk, bobCRM, bobDesk)
	}

	t.Run("a CRM change reaches Desk, once", func(t *testing.T) {
		h.resetCalls()
		began := time.Now()
		if _, err := u.crm.Update(ctx, "Contacts", []crm.Record{{ID: erinCRM, Fields: map[string]any{"Phone": "555-1234", "Title": "CTO"}}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "Erin's new phone and title in Desk", func() (bool, string) {
			p, ti := deskField(erinDesk, "phone"), deskField(erinDesk, "title")
			return p == "555-1234" && ti == "CTO", p + " " + ti
		})
		t.Logf("CRM → Desk change visible after %s (poll interval 1s)", time.Since(began).Round(time.Millisecond))
		h.passes(t, 2)
		if n := h.desk.Realism().Count("PATCH /api/v1/contacts/{id}"); n != 1 {
			t.Errorf("Desk PATCH calls = %d, want exactly 1 (applied once)", n)
		}
		if n, eps := writes(h.crm.Realism().Calls()); n != 1 {
			t.Errorf("CRM writes = %d %v, want only the user's update (no echo back)", n, eps)
		}
	})

	t.Run("a Desk change reaches CRM, once", func(t *testing.T) {
		h.resetCalls()
		began := time.Now()
		if _, err := u.desk.Update(ctx, "contacts", bobDesk, desk.Record{Fields: map[string]any{"mobile": "777-0000"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "Bob's mobile in CRM", func() (bool, string) {
			m := crmField(bobCRM, "Mobile")
			return m == "777-0000", m
		})
		t.Logf("Desk → CRM change visible after %s (poll interval 1s)", time.Since(began).Round(time.Millisecond))
		h.passes(t, 2)
		if n := h.crm.Realism().Count("PUT /crm/v8/Contacts"); n != 1 {
			t.Errorf("CRM update calls = %d, want exactly 1", n)
		}
		if n, eps := writes(h.desk.Realism().Calls()); n != 1 {
			t.Errorf("Desk writes = %d %v, want only the user's update", n, eps)
		}
	})

	t.Run("new records are created on the other side with their counterpart id", func(t *testing.T) {
		created, err := u.desk.Create(ctx, "contacts", desk.Record{Fields: map[string]any{"firstName": "Gina", "lastName": "New", "email": "gina@new.com"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := u.crm.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"First_Name": "Hank", "Last_Name": "New", "Email": "hank@new.com"}}})
		if err != nil || !res[0].OK() {
			t.Fatalf("insert Hank: %v %+v", err, res)
		}
		eventually(t, wait, "Gina in CRM and Hank in Desk", func() (bool, string) {
			g, hk := crmContact("Email", "gina@new.com"), deskContact("email", "hank@new.com")
			return g != "" && hk != "", "gina=" + g + " hank=" + hk
		})
		g := crmContact("Email", "gina@new.com")
		if got := crmField(g, "Desk_ID"); got != created.ID {
			t.Errorf("CRM Gina's Desk_ID = %s, want %s", got, created.ID)
		}
		r, _ := h.desk.Record("contacts", deskContact("email", "hank@new.com"))
		if cf, _ := r["cf"].(map[string]any); fmt.Sprint(cf["cf_crm_id"]) != res[0].ID {
			t.Errorf("Desk Hank's cf_crm_id = %v, want %s", r["cf"], res[0].ID)
		}
	})

	t.Run("deletes do not propagate; an update after a delete re-adds the record", func(t *testing.T) {
		// Bob is deleted in Desk, Erin in CRM.
		if err := u.desk.Trash(ctx, "contacts", []string{bobDesk}); err != nil {
			t.Fatal(err)
		}
		if _, err := u.crm.Delete(ctx, "Contacts", []string{erinCRM}); err != nil {
			t.Fatal(err)
		}
		h.passes(t, 3)
		if crmField(bobCRM, "Last_Name") != "Builder" {
			t.Errorf("Bob's deletion in Desk reached CRM: %s", crmField(bobCRM, "Last_Name"))
		}
		if _, live := find2(h.desk.Records("contacts"), erinDesk); !live {
			t.Errorf("Erin's deletion in CRM reached Desk")
		}
		// Bob changes in CRM: restored from Desk's recycle bin with the change.
		if _, err := u.crm.Update(ctx, "Contacts", []crm.Record{{ID: bobCRM, Fields: map[string]any{"Title": "Foreman"}}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "Bob restored in Desk with his new title", func() (bool, string) {
			_, live := find2(h.desk.Records("contacts"), bobDesk)
			return live && deskField(bobDesk, "title") == "Foreman", fmt.Sprintf("live=%v title=%s", live, deskField(bobDesk, "title"))
		})
		// Erin changes in Desk: CRM has no restore API, so she is created again and relinked.
		if _, err := u.desk.Update(ctx, "contacts", erinDesk, desk.Record{Fields: map[string]any{"title": "CEO"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "Erin back in CRM", func() (bool, string) {
			id := crmContact("Email", "erin@umbrella.com")
			return id != "" && crmField(id, "Title") == "CEO", "id=" + id
		})
		again := crmContact("Email", "erin@umbrella.com")
		if crmField(again, "Desk_ID") != erinDesk || crmField(again, "Phone") != "555-1234" {
			t.Errorf("re-created Erin: Desk_ID=%s Phone=%s, want %s and 555-1234", crmField(again, "Desk_ID"), crmField(again, "Phone"), erinDesk)
		}
		erinCRM = again
	})

	t.Run("changes made while paused all arrive after resume", func(t *testing.T) {
		if err := tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalPause, nil); err != nil {
			t.Fatal(err)
		}
		// "resume signal" only once the pass the pause cancelled has stopped: until its next
		// heartbeat tells it to, it may still call Zoho, and the status says it waits for it.
		eventually(t, wait, "paused and idle", func() (bool, string) {
			st, err := h.status("e2e")
			return err == nil && st.Paused && st.WaitingFor == "resume signal", fmt.Sprintf("%+v", st.WaitingFor)
		})
		h.resetCalls()
		if _, err := u.crm.Update(ctx, "Contacts", []crm.Record{{ID: erinCRM, Fields: map[string]any{"Mobile": "111-2222"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := u.desk.Update(ctx, "contacts", bobDesk, desk.Record{Fields: map[string]any{"mobile": "333-4444"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := u.desk.Create(ctx, "contacts", desk.Record{Fields: map[string]any{"lastName": "Paused", "email": "paused@new.com"}}); err != nil {
			t.Fatal(err)
		}
		signalSyncNow()
		if err := tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalChanges,
			workflows.ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{erinCRM}, Operation: "update"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // three poll intervals
		if c, d := h.crm.Realism().Calls(), h.desk.Realism().Calls(); c.Total+d.Total != 3 {
			var made []string
			for _, calls := range []realism.Stats{c, d} {
				for ep, st := range calls.Endpoints {
					made = append(made, fmt.Sprintf("%s ×%d", ep, st.Calls))
				}
			}
			t.Errorf("%d calls while paused (%s), want only the 3 made by the test: nothing may call Zoho", c.Total+d.Total, strings.Join(made, ", "))
		}
		st, _ := h.status("e2e")
		if len(st.Pending["crm/contacts"]) != 1 || !st.SyncRequested {
			t.Errorf("pending while paused = %v, requested %v; want the reported id kept and a pass requested", st.Pending, st.SyncRequested)
		}
		if err := tc.SignalWorkflow(ctx, workflows.WorkflowID("e2e"), "", workflows.SignalResume, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "the paused changes", func() (bool, string) {
			a, b, c := deskField(erinDesk, "mobile"), crmField(bobCRM, "Mobile"), crmContact("Email", "paused@new.com")
			return a == "111-2222" && b == "333-4444" && c != "", a + " " + b + " " + c
		})
	})

	t.Run("a 1000-record bulk update arrives complete", func(t *testing.T) {
		recs := make([]map[string]any, 1000)
		for i := range recs {
			recs[i] = map[string]any{"First_Name": "Bulk", "Last_Name": fmt.Sprintf("N%04d", i), "Email": fmt.Sprintf("bulk%04d@bulk.com", i)}
		}
		ids, err := h.crm.Load("Contacts", recs)
		if err != nil {
			t.Fatal(err)
		}
		signalSyncNow()
		eventually(t, 2*time.Minute, "1000 new CRM contacts in Desk", func() (bool, string) {
			n := 0
			for _, r := range h.desk.Records("contacts") {
				if r["firstName"] == "Bulk" {
					n++
				}
			}
			return n == 1000, fmt.Sprint(n)
		})
		h.passes(t, 1)
		h.resetCalls()
		began := time.Now()
		for start := 0; start < len(ids); start += 100 {
			batch := make([]crm.Record, 0, 100)
			for _, id := range ids[start : start+100] {
				batch = append(batch, crm.Record{ID: id, Fields: map[string]any{"Title": "Bulk updated"}})
			}
			if _, err := u.crm.Update(ctx, "Contacts", batch); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 2*time.Minute, "the bulk update in Desk", func() (bool, string) {
			n := 0
			for _, r := range h.desk.Records("contacts") {
				if r["firstName"] == "Bulk" && r["title"] == "Bulk updated" {
					n++
				}
			}
			return n == 1000, fmt.Sprint(n)
		})
		t.Logf("1000-record CRM bulk update complete in Desk after %s (no emulator latency)", time.Since(began).Round(time.Millisecond))
		h.passes(t, 2)
		if n := h.desk.Realism().Count("PATCH /api/v1/contacts/{id}"); n != 1000 {
			t.Errorf("Desk PATCH calls = %d, want exactly 1000 (each change applied once)", n)
		}
		if n, eps := writes(h.crm.Realism().Calls()); n != 10 {
			t.Errorf("CRM writes = %d %v, want only the user's 10 bulk calls", n, eps)
		}
	})

	t.Run("nothing loops: a quiet pass writes nothing", func(t *testing.T) {
		h.passes(t, 2)
		h.resetCalls()
		signalSyncNow()
		h.passes(t, 3)
		for name, s := range map[string]realism.Stats{"CRM": h.crm.Realism().Calls(), "Desk": h.desk.Realism().Calls()} {
			if n, eps := writes(s); n != 0 {
				t.Errorf("%s writes in quiet passes: %d %v", name, n, eps)
			}
		}
		if fs := h.failures("e2e"); len(fs) != 6 {
			t.Errorf("open failures = %d, want the 6 AMBIGUOUS_MATCH of the first sync: %+v", len(fs), fs)
		}
	})
}

// find2 reports whether a record id is among recs.
func find2(recs []map[string]any, id string) (map[string]any, bool) {
	for _, r := range recs {
		if fmt.Sprint(r["id"]) == id {
			return r, true
		}
	}
	return nil, false
}
