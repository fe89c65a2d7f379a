package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/store"
	"deskcrm/workflows"
)

// TestConsoleInBrowser drives the admin console in headless Chromium against the worker as
// shipped (its own HTTP server, real Postgres, both emulators, a dev server, the payload codec
// on) with a running sync, page by page, as an admin would, and saves a screenshot of each
// page to artifacts/console-*.png.
func TestConsoleInBrowser(t *testing.T) {
	w := newConsoleWorld(t)
	b := newBrowser(t, w.base)

	// Sign-in: the console sends an anonymous browser to sign in, refuses a wrong token, and
	// takes the admin token to the page asked for.
	b.open("/console/failures")
	if !b.has("#token") {
		t.Fatalf("an anonymous browser is not asked to sign in: %s", b.text("main"))
	}
	b.typeInto("#token", "not-the-admin-token")
	b.submit("#sign-in")
	if !b.has("#token") || !strings.Contains(b.text("#problem"), "not the admin token") {
		t.Fatalf("a wrong token was not refused: %s", b.text("main"))
	}
	b.screenshot("console-sign-in.png")
	b.typeInto("#token", consoleAdminToken)
	b.submit("#sign-in")
	if !b.has("#open-count") {
		t.Fatalf("the admin token did not lead to the failure log: %s", b.text("main"))
	}

	// Overview in the first sync, paused from its start: the progress bar is there, and the
	// workflow's validator refuses a change of sync type, in its own words.
	b.waitFor("/console/", `document.querySelector("#state") && document.querySelector("#state").innerText === "Paused"`,
		"the sync shows paused in its first sync", time.Minute)
	if !b.has("#initial-progress") || !b.has("#resume") || !strings.Contains(b.text("#why"), "paused by request") {
		t.Errorf("the paused first sync shows no progress bar, resume button or reason: %s", b.text("main"))
	}
	b.do("choose one-way", chromedpClick("#mode-one-way"))
	b.submit("#set-mode")
	if p := b.text("#problem"); !contains(p, "Sync type not changed", "first sync is still running") {
		t.Errorf("set-mode during the first sync: the refusal shown is %q", p)
	}
	b.submit("#resume")
	if !strings.Contains(b.text("#notice"), "Sync resumed") {
		t.Errorf("resume: notice %q", b.text("#notice"))
	}
	b.waitFor("/console/", `document.querySelector("#state").innerText === "Idle"`, "the first sync ends", 3*time.Minute)
	if !contains(b.text("#credits"), "CRM API", "Desk API") || !b.has("#temporal-link") || b.text("#open-failures") == "0" {
		t.Errorf("the idle overview lacks credits, the Temporal UI link or the open failure: %s", b.text("main"))
	}
	if href := eval[string](b, `document.querySelector("#temporal-link").href`); href != "http://127.0.0.1:8233/namespaces/default/workflows/deskcrm-sync-default" {
		t.Errorf("Temporal UI link %q", href)
	}
	b.screenshot("console-overview.png")

	testFailureRetry(t, w, b)
	testMapping(t, w, b)
	testPlan(t, w, b)
	testPermissions(t, w, b)

	// History: the seed's table and the chart of the same, and the conflict log below.
	if err := w.st.RecordConflicts(context.Background(), "default", "wf/run/conflict", []store.Conflict{{Module: "contacts", DeskID: w.brunoID, CRMID: "5000000001",
		Fields: []store.ConflictField{{Field: "title=Title", Kept: "crm", Rule: "newest"}}}}); err != nil {
		t.Fatal(err)
	}
	b.open("/console/history")
	if text := b.text("#conflicts"); !contains(text, "contacts", w.brunoID, "title ↔ Title: CRM's edit kept (newest: the record modified last)") {
		t.Errorf("the history page's conflict log: %q", text)
	}
	table := b.text("#history")
	if !contains(table, "Desk → CRM", "CRM → Desk", "contacts", "initial") || eval[int](b, `document.querySelectorAll("#history-chart rect").length`) != 21 {
		t.Errorf("history page: %s", table)
	}
	b.screenshot("console-history.png")

	// Pause and resume an idle sync.
	b.open("/console/")
	b.submit("#pause")
	if b.text("#state") != "Paused" || !strings.Contains(b.text("#notice"), "Sync paused") {
		t.Errorf("after pause: state %q, notice %q", b.text("#state"), b.text("#notice"))
	}
	b.submit("#resume")
	b.waitFor("/console/", `document.querySelector("#state").innerText === "Idle"`, "the resumed sync is idle again", time.Minute)

	// A pass that keeps failing (CRM answers 503 to everything) shows as Retrying with the
	// step and its error, decoded through the payload codec, instead of "Idle"; once CRM is
	// back, Temporal's next attempt succeeds and the sync is idle again.
	if _, err := w.crm.Realism().AddFault(realism.Fault{Kind: realism.FaultStatus, Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	b.submit("#sync-now")
	b.waitFor("/console/", `document.querySelector("#state").innerText === "Retrying"`, "the failing pass shows as retrying", time.Minute)
	if why := b.text("#why"); !contains(why, "step IncrementalPass failed") || !contains(b.text("#retrying"), "IncrementalPass", "zoho crm") {
		t.Errorf("the failing pass: why %q, retrying %q", why, b.text("#retrying"))
	}
	b.screenshot("console-retrying.png")
	w.crm.Realism().ClearFaults()
	b.waitFor("/console/", `document.querySelector("#state").innerText === "Idle"`, "the pass succeeds once CRM is back", 2*time.Minute)

	// Sync type, now that the first sync is done: one-way CRM → Desk.
	b.do("choose one-way", chromedpClick("#mode-one-way"))
	b.submit("#set-mode")
	if !strings.Contains(b.text("#notice"), "Sync type changed") || b.text("#mode") != "One-way, CRM → Desk" {
		t.Errorf("set-mode: notice %q, mode %q, problem %q", b.text("#notice"), b.text("#mode"), b.text("#problem"))
	}

	// Delete: the confirmation says what stops; a wrong id deletes nothing.
	b.do("open the delete section", chromedpClick("#delete-open"))
	if warn := b.text("#delete-warning"); !contains(warn, "stops the sync", "CRM panel", "handshake mode", "the failure log, the panel permissions and the handshake settings are kept") {
		t.Errorf("delete confirmation: %q", warn)
	}
	b.typeInto("#delete-confirm", "something-else")
	b.submit("#delete-button")
	if !strings.Contains(b.text("#problem"), "not deleted") {
		t.Errorf("a wrong confirmation: %q", b.text("#problem"))
	}
	b.do("open the delete section", chromedpClick("#delete-open"))
	b.typeInto("#delete-confirm", "default")
	b.submit("#delete-button")
	if !strings.Contains(b.text("#notice"), "Integration deleted") || b.text("#state") != "Deleted" {
		t.Errorf("after delete: notice %q, state %q, problem %q", b.text("#notice"), b.text("#state"), b.text("#problem"))
	}
	if status, body := w.panel(deskemu.AgentLight, w.anaDesk); status != http.StatusNotFound {
		t.Errorf("the agent panel after delete: %d %s", status, body)
	}

	// The legacy import's one-time switch to sync, on a second integration: the console's
	// links keep ?integration=.
	w.start("legacy", workflows.ModeLegacyImport, false)
	b.waitFor("/console/?integration=legacy", `document.querySelector("#state").innerText === "Idle"`, "the legacy import's first import", 2*time.Minute)
	if href := eval[string](b, `document.querySelector("#nav-failures").href`); !strings.HasSuffix(href, "/console/failures?integration=legacy") {
		t.Errorf("the console's links lose the integration: %q", href)
	}
	if warn := b.text("#switch-warning"); !strings.Contains(warn, "cannot go back") || !strings.Contains(b.text("#mode"), "Legacy") {
		t.Errorf("the legacy import's switch: warning %q, mode %q", warn, b.text("#mode"))
	}
	b.do("confirm the switch", chromedpClick("#switch-confirm"))
	b.submit("#switch")
	if !strings.Contains(b.text("#notice"), "cannot be reverted") || b.text("#mode") != "Two-way" || b.has("#switch") {
		t.Errorf("after the switch: notice %q, mode %q, problem %q", b.text("#notice"), b.text("#mode"), b.text("#problem"))
	}
}

// testFailureRetry finds Bruno's refused create in the failure log (filters, reason, links to
// both records), removes its cause in CRM, retries it from the console and sees it close.
func testFailureRetry(t *testing.T, w *consoleWorld, b *browser) {
	ctx := context.Background()
	entries, err := w.st.FailureLog(ctx, "default", store.FailureFilter{Code: "DUPLICATE_DATA"})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(entries, func(e store.FailureEntry) bool { return e.DeskID == w.brunoID })
	if i < 0 {
		t.Fatalf("Bruno's refused create is not in the failure log: %+v", entries)
	}
	id := entries[i].ID
	row := "#failure-" + itoa(id)
	b.open("/console/failures")
	eval[bool](b, `document.body.dataset.stale = "1", true`)
	b.choose("#filter-code", "DUPLICATE_DATA") // the filter applies at once
	b.settle("the filtered failure log")
	if !b.has(row) || eval[int](b, `document.querySelectorAll("#open-failures tbody tr").length`) != len(entries) {
		t.Fatalf("the code filter: %s", b.text("main"))
	}
	if text := b.text(row); !contains(text, "DUPLICATE_DATA", "contacts", w.brunoID) {
		t.Errorf("the failure's row: %q", text)
	}
	if href := eval[string](b, `document.querySelector("`+row+` td:nth-child(3) a").href`); href != w.deskURL+"/api/v1/contacts/"+w.brunoID {
		t.Errorf("the Desk record link is %q", href)
	}
	b.screenshot("console-failures.png")
	// The overview's failing count for contacts to CRM is the records failing there now.
	byDir, err := w.st.OpenFailuresByDirection(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	failing := byDir["contacts/desk-to-crm"]
	b.open("/console/")
	if got := b.text("#failing-contacts-crm"); got != itoa(int64(failing)) {
		t.Errorf("the overview shows %s contacts failing to reach CRM, the failure log %d", got, failing)
	}
	b.open("/console/failures")
	if err := w.crm.SetUnique("Contacts", "Phone", false); err != nil {
		t.Fatal(err)
	}
	b.submit("#retry-" + itoa(id))
	if !strings.Contains(b.text("#notice"), "Retry asked for") {
		t.Errorf("retry: notice %q, problem %q", b.text("#notice"), b.text("#problem"))
	}
	b.waitFor("/console/failures", `document.querySelector("#closed-`+itoa(id)+`") !== null`, "the retried failure closes", 2*time.Minute)
	if b.has(row) {
		t.Errorf("the closed failure is still listed as open")
	}
	// A record that synced on retry no longer counts as failing (a count of failed writes
	// kept what the first sync failed, however many retries succeeded).
	b.waitFor("/console/", `document.querySelector("#failing-contacts-crm").innerText === "`+itoa(int64(failing-1))+`"`,
		"the overview's failing count drops with the retried record", time.Minute)
	b.open("/console/failures")
	// A retry of the closed failure (a stale page's button) is refused, not "asked for".
	eval[bool](b, `(() => { const f = document.createElement("form");
		f.method = "post"; f.action = "/console/failures/retry";
		f.innerHTML = '<input type="hidden" name="csrf"><input type="hidden" name="id" value="`+itoa(id)+`"><button type="submit" id="stale-retry">Retry</button>';
		f.querySelector("[name=csrf]").value = document.querySelector("input[name=csrf]").value;
		document.querySelector("main").appendChild(f); return true })()`)
	b.submit("#stale-retry")
	if p := b.text("#problem"); !contains(p, "Not retried", "is not an open failure") || strings.Contains(b.text("#notice"), "Retry asked for") {
		t.Errorf("a retry of a closed failure: problem %q, notice %q", p, b.text("#notice"))
	}
}

// testMapping edits the contacts mapping: only CRM fields whose type fits the direction are
// offered, the preflight runs on each change and names a mandatory field left unmapped, a
// mapping with problems is not saved, and a good change is saved to Postgres.
func testMapping(t *testing.T, w *consoleWorld, b *browser) {
	ctx := context.Background()
	b.open("/console/mapping?module=contacts")
	seats := b.options("#crm-cf_seats")
	if !slices.Contains(seats, "Seats") || slices.Contains(seats, "Email") || slices.Contains(seats, "Last_Name") || slices.Contains(seats, "Renewal_Date") {
		t.Errorf("Desk cf_seats (integer, both ways) is offered %v", seats)
	}
	// Integer values can be written into a CRM text field one way: the offer follows the direction.
	b.choose("#dir-cf_seats", "desk-to-crm")
	if after := b.options("#crm-cf_seats"); !slices.Contains(after, "Email") || slices.Contains(after, "Renewal_Date") {
		t.Errorf("Desk cf_seats flowing to CRM only is offered %v", after)
	}
	b.choose("#dir-cf_seats", "both")
	b.until(`document.querySelector("#check-state").innerText.startsWith("No problem")`, "the check of the mapping as it was", 30*time.Second)

	// lastName left unmapped: the check names it before anything is saved, and saving refuses.
	before, err := w.st.Mapping(ctx, "default", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	b.choose("#crm-lastName", "")
	b.until(`document.querySelector("#problems").innerText.includes("MANDATORY_FIELD_MISSING")`, "the check of the mapping without lastName", 30*time.Second)
	if p := b.text("#problems"); !contains(p, "Desk lastName", "CRM Last_Name", "Mandatory field missing") {
		t.Errorf("the check of an unmapped lastName says: %q", p)
	}
	b.screenshot("console-mapping.png")
	b.submit("#save-button")
	if p := b.text("#problem") + b.text("#problems"); !contains(p, "Not saved", "MANDATORY_FIELD_MISSING", "lastName", "Last_Name") {
		t.Errorf("saving without lastName: %q", p)
	}
	if after, _ := w.st.Mapping(ctx, "default", "contacts"); !slices.Equal(after, before) {
		t.Errorf("a refused mapping was stored: %v", after)
	}

	// A good change is saved, as `starter mapping import` saves it.
	b.open("/console/mapping?module=contacts")
	b.choose("#pol-cf_seats", "crm-wins")
	b.submit("#save-button")
	if !strings.Contains(b.text("#notice"), "Mapping saved") {
		t.Fatalf("save: notice %q, problem %q, problems %q", b.text("#notice"), b.text("#problem"), b.text("#problems"))
	}
	rows, err := w.st.Mapping(ctx, "default", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rows, func(r store.MappingRow) bool { return r.DeskField == "cf_seats" })
	if i < 0 || rows[i].CRMField != "Seats" || rows[i].Policy != "crm-wins" || !slices.ContainsFunc(rows, func(r store.MappingRow) bool { return r.DeskField == "lastName" }) {
		t.Errorf("stored mapping %+v", rows)
	}
}

// testPlan starts the dry-run plan from the console, sees its progress, and reads its
// report and the field-by-field sample. Dora Reis was added to both apps after the first sync
// (no pass has run since: no webhooks, an hour between polls), so the plan matches her.
func testPlan(t *testing.T, w *consoleWorld, b *browser) {
	if _, err := w.crm.Load("Contacts", []map[string]any{{"First_Name": "Dora", "Last_Name": "Reis", "Email": doraEmail, "Title": "CTO"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.desk.Load("contacts", []map[string]any{{"firstName": "Dora", "lastName": "Reis", "email": doraEmail, "title": "Chief Technology Officer"}}); err != nil {
		t.Fatal(err)
	}
	b.open("/console/plan")
	if b.has("#plan-report") || !b.has("#plan-start") {
		t.Fatalf("before any plan: %s", b.text("main"))
	}
	// Desk answers slowly while the plan starts: it indexes Desk before it can finish, so the
	// page the start leads to shows it running.
	w.desk.Realism().SetLatency(time.Second, 0)
	b.submit("#plan-start")
	running := b.has("#plan-running") && b.has("#plan-progress") && strings.Contains(b.text("#notice"), "Plan started")
	w.desk.Realism().SetLatency(0, 0)
	if !running {
		t.Errorf("the started plan shows no progress: %s", b.text("main"))
	}
	// The page's script follows the plan and shows the report once it is done.
	b.until(`document.querySelector("#plan-report") !== null && document.querySelector("#plan-running") === null`, "the plan's report", 2*time.Minute)
	if report := b.text("#plan-modules"); !contains(report, "Accounts", "Contacts", "Desk", "CRM") {
		t.Errorf("the plan's report: %q", report)
	}
	eval[bool](b, `document.querySelectorAll("details.sample").forEach(d => d.open = true), true`)
	if sample := b.text("#plan-samples"); !contains(sample, "title", "Title", "Chief Technology Officer", "CTO") {
		t.Errorf("the plan's sample does not show Dora's merge: %q", sample)
	}
	b.screenshot("console-plan.png")
}

// testPermissions lists Desk's profiles, gives Light Agent full access to deals from the
// console, and sees the agent panel (called with Lea's own Desk token, as the Desk extension
// calls it) show Ana's deal it hid before; then turns handshake mode off.
func testPermissions(t *testing.T, w *consoleWorld, b *browser) {
	ctx := context.Background()
	if status, body := w.panel(deskemu.AgentLight, w.anaDesk); status != http.StatusOK || strings.Contains(body, anaDeal) {
		t.Fatalf("the panel before: %d, shows the deal: %v", status, strings.Contains(body, anaDeal))
	}
	b.open("/console/permissions")
	profiles := eval[[]string](b, `Array.from(document.querySelectorAll("#permissions tbody tr")).map(tr => tr.dataset.name)`)
	for _, want := range []string{"Administrator", "Agent", "Light Agent"} {
		if !slices.Contains(profiles, want) {
			t.Errorf("the permissions page lists %v, not Desk's %s", profiles, want)
		}
	}
	row := "#profile-" + itoa(int64(slices.Index(profiles, "Light Agent")))
	b.choose(row+` select[data-section="deals"]`, "full")
	b.submit(row + " button")
	if !strings.Contains(b.text("#notice"), "Permissions saved") {
		t.Fatalf("save permissions: notice %q, problem %q", b.text("#notice"), b.text("#problem"))
	}
	if p, err := w.st.Permissions(ctx, "default", "Light Agent"); err != nil || p.Deals != store.AccessFull || !p.Stored {
		t.Errorf("stored permissions of Light Agent: %+v %v", p, err)
	}
	if status, body := w.panel(deskemu.AgentLight, w.anaDesk); status != http.StatusOK || !strings.Contains(body, anaDeal) || jsonField(body, "deals") == nil {
		t.Errorf("the panel after deals were given to Light Agent: %d, shows the deal: %v", status, strings.Contains(body, anaDeal))
	}
	b.screenshot("console-permissions.png")

	// A profile name Desk has none of (a form posted with a typo) is refused, naming Desk's.
	eval[bool](b, `(document.querySelector('`+row+` input[name="profile"]').value = "Lihgt Agent", true)`)
	b.submit(row + " button")
	if p := b.text("#problem"); !contains(p, `Desk has no profile "Lihgt Agent"`, "Light Agent") {
		t.Errorf("permissions of a profile Desk lacks: problem %q, notice %q", p, b.text("#notice"))
	}
	if p, err := w.st.Permissions(ctx, "default", "Lihgt Agent"); err != nil || p.Stored {
		t.Errorf("permissions of a profile Desk lacks were stored: %+v %v", p, err)
	}

	// A customer type CRM's Account_Type lacks is refused, naming CRM's values.
	eval[bool](b, `(document.querySelector("#handshake-order").value = "Custmer\nPartner", true)`)
	b.submit("#handshake-save")
	if p := b.text("#problem"); !contains(p, "Handshake mode not saved", "Custmer", "Customer") {
		t.Errorf("a type CRM lacks: problem %q", p)
	}
	if hs, err := w.st.Handshake(ctx, "default"); err != nil || slices.Contains(hs.Order, "Custmer") {
		t.Errorf("a type CRM lacks was stored: %+v %v", hs, err)
	}
	b.open("/console/permissions")
	b.do("turn handshake mode off", chromedpClick("#handshake-enabled"))
	b.submit("#handshake-save")
	if hs, err := w.st.Handshake(ctx, "default"); err != nil || hs.Enabled || !hs.Stored {
		t.Errorf("handshake settings after turning it off: %+v %v (page: %q)", hs, err, b.text("#problem"))
	}
}
