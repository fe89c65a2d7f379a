package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
)

const iso = "2006-01-02T15:04:05.000Z"

func crmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// seedWorld loads a small pair of databases that exercises every rule of the first sync.
func seedWorld(t *testing.T, h *harness) {
	t.Helper()
	now := time.Now().UTC()
	recent, older := now.Add(-48*time.Hour), now.Add(-400*24*time.Hour)
	deskLoad := func(module string, recs ...map[string]any) []string {
		ids, err := h.desk.Load(module, recs)
		if err != nil {
			t.Fatalf("load desk %s: %v", module, err)
		}
		return ids
	}
	crmLoad := func(module string, recs ...map[string]any) []string {
		ids, err := h.crm.Load(module, recs)
		if err != nil {
			t.Fatalf("load crm %s: %v", module, err)
		}
		return ids
	}
	d := func(created, modified time.Time, kv ...any) map[string]any {
		m := map[string]any{"createdTime": created.Format(iso), "modifiedTime": modified.Format(iso)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	c := func(created, modified time.Time, kv ...any) map[string]any {
		m := map[string]any{"Created_Time": crmTime(created), "Modified_Time": crmTime(modified)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	da := deskLoad("accounts",
		d(recent, recent, "accountName", "Acme, Inc.", "phone", "111"),
		d(recent, recent, "accountName", "Globex"),
		d(older, older, "accountName", "Old Desk Co"),
		d(recent, recent, "accountName", "Initech Ltd."),
		d(recent, recent, "accountName", "Initech Ltd"),
	)
	ca := crmLoad("Accounts",
		c(recent, recent.Add(time.Hour), "Account_Name", "ACME Inc", "Phone", "222"),
		c(recent, recent, "Account_Name", "Umbrella"),
		c(recent, recent, "Account_Name", "INITECH LTD"),
		c(older, older, "Account_Name", "Old CRM Co"),
	)
	deskLoad("contacts",
		d(recent, recent.Add(2*time.Hour), "firstName", "Alice", "lastName", "Liddell", "email", "alice@acme.com", "phone", "555-0101", "accountId", da[0]),
		d(recent, recent, "firstName", "Bob", "lastName", "Builder", "email", "bob@globex.com", "accountId", da[1]),
		d(recent, recent, "firstName", "Carol", "lastName", "NoEmail"),
		d(recent, recent, "firstName", "Dave", "lastName", "One", "email", "dave@x.com"),
		d(recent, recent, "firstName", "Dave", "lastName", "Two", "email", "DAVE@x.com"),
		d(older, older, "firstName", "Olga", "lastName", "Old", "email", "olga@old.com"),
	)
	crmLoad("Contacts",
		c(recent, recent, "First_Name", "Alice", "Last_Name", "Liddell", "Email", "ALICE@Acme.com", "Phone", "555-9999", "Account_Name", map[string]any{"id": ca[0]}),
		c(recent, recent, "First_Name", "Erin", "Last_Name", "Umbra", "Email", "erin@umbrella.com", "Account_Name", map[string]any{"id": ca[1]}),
		c(recent, recent, "First_Name", "Frank", "Last_Name", "NoEmail"),
		c(recent, recent, "First_Name", "Dave", "Last_Name", "Crm", "Email", "dave@x.com"),
		c(older, older, "First_Name", "Oscar", "Last_Name", "Old", "Email", "oscar@old.com"),
	)
}

func TestInitialSync(t *testing.T) {
	tc := temporaltest.Start(t)
	h := newHarness(t, tc)
	seedWorld(t, h)
	h.startWorker()
	h.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: "1h"})
	st := h.waitInitial("e2e", 2*time.Minute, nil)
	snap := h.snapshot()
	t.Logf("final state:\n%s", strings.Join(snap, "\n"))
	checkWorld(t, h, snap)
	if st.Phase != workflows.PhaseIdle {
		t.Errorf("phase = %s, want idle", st.Phase)
	}
	if st.Progress["contacts"].CRM.Added != 2 || st.Progress["contacts"].Desk.Added != 2 {
		t.Errorf("contacts progress = %+v; want 2 added on each side (Bob, Carol → CRM; Erin, Frank → Desk)", *st.Progress["contacts"])
	}
}

// checkWorld asserts the expected result of seedWorld, record by record.
func checkWorld(t *testing.T, h *harness, snap []string) {
	t.Helper()
	has := func(prefix string) int {
		n := 0
		for _, s := range snap {
			if strings.HasPrefix(s, prefix) {
				n++
			}
		}
		return n
	}
	checks := []struct {
		prefix string
		n      int
	}{
		// Acme matched by normalised name; CRM modified last, so its name and phone win on both sides.
		{"desk account ACME Inc phone=222", 1}, {"crm account ACME Inc phone=222", 1}, {"desk account Acme", 0},
		{"crm account Globex", 1}, {"desk account Umbrella", 1},
		{"crm account INITECH LTD", 1}, {"desk account Initech Ltd.", 1}, {"desk account Initech Ltd ", 1},
		{"crm account Initech", 0}, {"desk account INITECH", 0},
		{"crm account Old Desk Co", 0}, {"desk account Old CRM Co", 0},
		{"crm contact Bob Builder email=bob@globex.com phone=<nil> account=Globex", 1},
		{"crm contact Carol NoEmail email=<nil>", 1},
		{"desk contact Erin Umbra email=erin@umbrella.com phone=<nil> account=Umbrella", 1},
		{"desk contact Frank NoEmail", 1},
		{"crm contact Dave", 1}, {"desk contact Dave", 2},
		{"crm contact Olga", 0}, {"desk contact Oscar", 0},
		// Alice matched by email despite case; Desk modified later, so its phone wins.
		{"crm contact Alice Liddell", 1}, {"desk contact Alice Liddell", 1},
		{"crm contact Alice Liddell email=alice@acme.com phone=555-0101 account=ACME Inc", 1},
		{"desk contact Alice Liddell email=alice@acme.com phone=555-0101 account=ACME Inc", 1},
	}
	for _, c := range checks {
		if got := has(c.prefix); got != c.n {
			t.Errorf("%d record(s) starting %q, want %d", got, c.prefix, c.n)
		}
	}
	fs := h.failures("e2e")
	var amb []string
	for _, f := range fs {
		if f.Code == "AMBIGUOUS_MATCH" {
			amb = append(amb, f.Module+" "+f.DeskID+f.CRMID)
		}
	}
	// Initech: 2 Desk + 1 CRM; dave@x.com: 2 Desk + 1 CRM.
	if len(amb) != 6 {
		t.Errorf("AMBIGUOUS_MATCH failures = %d (%v), want 6; all failures: %+v", len(amb), amb, fs)
	}
}

// The same world with 5xx, 429 and lost responses injected, and the worker killed and
// restarted mid-sync, ends in exactly the same two databases.
func TestInitialSyncSurvivesFaultsAndRestarts(t *testing.T) {
	tc := temporaltest.Start(t)
	clean := newHarness(t, tc)
	seedWorld(t, clean)
	clean.startWorker()
	clean.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: "1h"})
	clean.waitInitial("e2e", 2*time.Minute, nil)
	want := clean.snapshot()
	clean.stopWorker()
	_ = tc.TerminateWorkflow(t.Context(), workflows.WorkflowID("e2e"), "", "next world")

	h := newHarness(t, tc)
	seedWorld(t, h)
	for _, f := range []realism.Fault{
		{Method: "POST", Path: "/crm/v8/{module}", Kind: realism.FaultLost, Count: 2},
		{Method: "PUT", Path: "/crm/v8/{module}", Kind: realism.FaultStatus, Status: 500, Count: 1},
		{Method: "GET", Path: "/crm/v8/{module}", Kind: realism.FaultStatus, Status: 429, Count: 2},
	} {
		if _, err := h.crm.Realism().AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []realism.Fault{
		{Method: "POST", Path: "/api/v1/{module}", Kind: realism.FaultLost, Count: 2},
		{Method: "PATCH", Path: "/api/v1/{module}/{id}", Kind: realism.FaultStatus, Status: 503, Count: 1},
		{Method: "GET", Path: "/api/v1/{module}/search", Kind: realism.FaultReset, Count: 1},
	} {
		if _, err := h.desk.Realism().AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorker()
	h.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: "1h"})
	restarts := 0
	h.waitInitial("e2e", 3*time.Minute, func(st workflows.Status) {
		// Kill the worker once in the middle of the accounts and once in the contacts.
		if (restarts == 0 && st.Step >= 2) || (restarts == 1 && st.Step >= 8) {
			restarts++
			h.stopWorker()
			time.Sleep(300 * time.Millisecond)
			h.startWorker()
		}
	})
	got := h.snapshot()
	if !slices.Equal(got, want) {
		t.Errorf("with faults and %d restarts the result differs:\n got:\n%s\n want:\n%s", restarts, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Faults and restarts are not the records' fault: only the ambiguous ones may be logged.
	for _, f := range h.failures("e2e") {
		if f.Code != "AMBIGUOUS_MATCH" {
			t.Errorf("failure logged for a record that only met a fault or a restart: %+v", f)
		}
	}
	for _, fk := range h.crm.Realism().Faults() {
		if fk.Injected == 0 {
			t.Errorf("CRM fault %+v never fired: the test did not exercise it", fk)
		}
	}
	for _, fk := range h.desk.Realism().Faults() {
		if fk.Injected == 0 {
			t.Errorf("Desk fault %+v never fired: the test did not exercise it", fk)
		}
	}
}
