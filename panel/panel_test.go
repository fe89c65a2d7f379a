package panel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/panel"
	"deskcrm/store"
)

// sectionsOf lists which panel sections an answer carries.
func sectionsOf(body map[string]any) []string {
	var out []string
	for _, k := range []string{"info", "deals", "notes"} {
		if _, ok := body[k]; ok {
			out = append(out, k)
		}
	}
	if act, ok := body["activities"].(map[string]any); ok {
		for _, k := range []string{"calls", "events", "tasks"} {
			if _, ok := act[k]; ok {
				out = append(out, k)
			}
		}
	}
	return out
}

// full is a permissions patch that shows every section.
var full = map[string]any{"info": "full", "deals": "full", "notes": "full", "calls": true, "events": true, "tasks": true}

// with returns full changed by patch.
func with(patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range full {
		out[k] = v
	}
	if _, ok := patch["activities"]; ok {
		delete(out, "calls")
		delete(out, "events")
		delete(out, "tasks")
	}
	for k, v := range patch {
		out[k] = v
	}
	return out
}

func TestPermissionSwitches(t *testing.T) {
	e := newEnv(t, -1) // no cache: each answer reads CRM
	all := []string{"info", "deals", "notes", "calls", "events", "tasks"}
	cases := []struct {
		name  string
		patch map[string]any // nil: nothing stored, the restricted default
		want  []string
		// absent are values that must not appear anywhere in the answer.
		absent []string
	}{
		{"nothing stored: info only", nil, []string{"info"}, []string{dealName, noteTitle, callSubject, eventTitle, taskSubject}},
		{"everything on", map[string]any{}, all, nil},
		{"info restricted", map[string]any{"info": "restricted"}, []string{"deals", "notes", "calls", "events", "tasks"}, []string{contactEmail, contactTitle}},
		{"deals restricted", map[string]any{"deals": "restricted"}, []string{"info", "notes", "calls", "events", "tasks"}, []string{dealName, "Negotiation/Review"}},
		{"notes restricted", map[string]any{"notes": "restricted"}, []string{"info", "deals", "calls", "events", "tasks"}, []string{noteTitle, noteContent}},
		{"calls off", map[string]any{"calls": false}, []string{"info", "deals", "notes", "events", "tasks"}, []string{callSubject}},
		{"events off", map[string]any{"activities": map[string]any{"calls": true, "events": false, "tasks": true}}, []string{"info", "deals", "notes", "calls", "tasks"}, []string{eventTitle}},
		{"tasks off", map[string]any{"tasks": false}, []string{"info", "deals", "notes", "calls", "events"}, []string{taskSubject}},
		{"all activities off", map[string]any{"calls": false, "events": false, "tasks": false}, []string{"info", "deals", "notes"}, []string{"activities", callSubject, eventTitle, taskSubject}},
		{"light agent: only notes", map[string]any{"info": "restricted", "deals": "restricted", "calls": false, "events": false, "tasks": false},
			[]string{"notes"}, []string{contactEmail, dealName, callSubject, eventTitle, taskSubject}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			profile := "Profile " + string(rune('A'+i))
			if tc.patch != nil {
				e.setPermissions(profile, with(tc.patch))
			}
			tok := e.agentToken(profile)
			e.resetCalls()
			a := e.agentDo(http.MethodGet, "/api/v1/panel/contacts/"+e.fx.deskContact, tok, nil)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if got := sectionsOf(a.body); !slices.Equal(got, tc.want) {
				t.Fatalf("sections = %v, want %v\n%s", got, tc.want, a.raw)
			}
			for _, s := range tc.absent {
				if strings.Contains(a.raw, s) {
					t.Errorf("answer contains %q, which profile %s may not see", s, profile)
				}
			}
			// A hidden section is not even read from CRM: one call per visible section.
			if crmCalls, _ := e.calls(); crmCalls != len(tc.want) {
				t.Errorf("CRM calls = %d, want %d (one per visible section)", crmCalls, len(tc.want))
			}
			if a.body["agentId"] == "" {
				t.Errorf("the answer names no agent: %s", a.raw)
			}
			if a.body["crmId"] != e.fx.crmContact || a.body["profile"] != profile {
				t.Errorf("crmId/profile = %v/%v", a.body["crmId"], a.body["profile"])
			}
		})
	}

	t.Run("contents of a full answer", func(t *testing.T) {
		e.setPermissions("Support Manager", full)
		a := e.as("Support Manager", "/api/v1/panel/contacts/"+e.fx.deskContact)
		info := a.body["info"].(map[string]any)
		if info["Email"] != contactEmail || info["Title"] != contactTitle {
			t.Errorf("info = %v", info)
		}
		deals := a.body["deals"].([]any)
		if len(deals) != 1 {
			t.Fatalf("contact deals = %v, want the one deal of the contact", deals)
		}
		d := deals[0].(map[string]any)
		if d["Deal_Name"] != dealName || d["Stage"] != "Negotiation/Review" || d["Closing_Date"] != "2026-09-30" || d["Amount"] == nil {
			t.Errorf("deal = %v", d)
		}
		notes := a.body["notes"].([]any)
		if len(notes) != 1 || notes[0].(map[string]any)["Note_Content"] != noteContent {
			t.Errorf("notes = %v", notes)
		}
	})

	t.Run("panel hidden", func(t *testing.T) {
		e.setPermissions("Hidden", map[string]any{"panelVisible": false})
		tok := e.agentToken("Hidden")
		e.resetCalls()
		a := e.agentDo(http.MethodGet, "/api/v1/panel/contacts/"+e.fx.deskContact, tok, nil)
		if a.status != http.StatusForbidden || a.body["error"] != "not_permitted" {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		if len(sectionsOf(a.body)) != 0 || strings.Contains(a.raw, e.fx.crmContact) {
			t.Fatalf("a hidden panel leaked data: %s", a.raw)
		}
		if crmCalls, _ := e.calls(); crmCalls != 0 {
			t.Fatalf("CRM calls = %d for a hidden panel", crmCalls)
		}
	})

	for _, tc := range []struct {
		modules        string
		contacts, accs int
	}{
		{"contacts", http.StatusOK, http.StatusForbidden},
		{"accounts", http.StatusForbidden, http.StatusOK},
		{"both", http.StatusOK, http.StatusOK},
	} {
		t.Run("modules "+tc.modules, func(t *testing.T) {
			profile := "Only-" + tc.modules
			e.setPermissions(profile, with(map[string]any{"modules": tc.modules}))
			c := e.as(profile, "/api/v1/panel/contacts/"+e.fx.deskContact)
			acc := e.as(profile, "/api/v1/panel/accounts/"+e.fx.deskAccount)
			if c.status != tc.contacts || acc.status != tc.accs {
				t.Fatalf("contacts %d (want %d), accounts %d (want %d): %s %s", c.status, tc.contacts, acc.status, tc.accs, c.raw, acc.raw)
			}
			if acc.status == http.StatusOK {
				deals := acc.body["deals"].([]any)
				if len(deals) != 2 || !strings.Contains(acc.raw, accountDeal) {
					t.Errorf("account deals = %v, want both deals of the account", deals)
				}
				if acc.body["info"].(map[string]any)["Account_Type"] != accountType {
					t.Errorf("account info = %v", acc.body["info"])
				}
			}
		})
	}
}

func TestPermissionsAPI(t *testing.T) {
	e := newEnv(t, 0)
	a := e.do(http.MethodGet, "/api/v1/permissions/Light%20Agent", adminToken, nil)
	if a.status != http.StatusOK || a.body["stored"] != false || a.body["panelVisible"] != true || a.body["modules"] != "both" ||
		a.body["info"] != "full" || a.body["deals"] != "restricted" || a.body["notes"] != "restricted" || a.body["calls"] != false {
		t.Fatalf("defaults (info only): %d %s", a.status, a.raw)
	}
	a = e.do(http.MethodPut, "/api/v1/permissions/Light%20Agent", adminToken, map[string]any{"deals": "restricted", "activities": map[string]any{"calls": false}})
	if a.status != http.StatusOK || a.body["deals"] != "restricted" || a.body["calls"] != false || a.body["notes"] != "restricted" || a.body["stored"] != true {
		t.Fatalf("put: %d %s", a.status, a.raw)
	}
	// A later partial change keeps the earlier ones; names match case-insensitively.
	a = e.do(http.MethodPut, "/api/v1/permissions/light%20agent", adminToken, map[string]any{"notes": "Full"})
	if a.status != http.StatusOK || a.body["deals"] != "restricted" || a.body["notes"] != "full" || a.body["calls"] != false {
		t.Fatalf("second put: %d %s", a.status, a.raw)
	}
	a = e.do(http.MethodGet, "/api/v1/permissions", adminToken, nil)
	if profiles := a.body["profiles"].([]any); len(profiles) != 1 || profiles[0].(map[string]any)["profile"] != "light agent" {
		t.Fatalf("list: %s", a.raw)
	}
	for _, tc := range []struct {
		name string
		body any
	}{
		{"bad access level", map[string]any{"info": "partial"}},
		{"bad modules", map[string]any{"modules": "tickets"}},
		{"unknown field", map[string]any{"dealz": "full"}},
		{"wrong type", map[string]any{"calls": "yes"}},
		{"body over 64 KiB", map[string]any{"info": strings.Repeat("x", 70<<10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(http.MethodPut, "/api/v1/permissions/Agent", adminToken, tc.body)
			if a.status != http.StatusBadRequest || a.body["message"] == "" {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
		})
	}
	if p, err := e.st.Permissions(context.Background(), "default", "Agent"); err != nil || p.Stored {
		t.Fatalf("a refused change was stored: %+v %v", p, err)
	}
	if a := e.do(http.MethodPut, "/api/v1/permissions/Agent?integration=nope", adminToken, map[string]any{"info": "full"}); a.status != http.StatusNotFound {
		t.Fatalf("unknown integration: %d %s", a.status, a.raw)
	}
	// Profile names that cannot be a Desk profile answer 400, never 500.
	for name, path := range map[string]string{
		"invalid UTF-8":      "/api/v1/permissions/%FF%FE",
		"NUL":                "/api/v1/permissions/a%00b",
		"control character":  "/api/v1/permissions/a%07b",
		"101 characters":     "/api/v1/permissions/" + strings.Repeat("p", 101),
		"blank":              "/api/v1/permissions/%20%20",
		"100 multi-byte ok?": "/api/v1/permissions/" + strings.Repeat("%C3%A9", 101),
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			if a := e.do(method, path, adminToken, map[string]any{"info": "full"}); a.status != http.StatusBadRequest {
				t.Errorf("%s %s: %d %s", method, name, a.status, a.raw)
			}
		}
	}
	e.agentToken(strings.Repeat("é", 100)) // a Desk profile of that name
	if a := e.do(http.MethodPut, "/api/v1/permissions/"+strings.Repeat("%C3%A9", 100), adminToken, map[string]any{"info": "full"}); a.status != http.StatusOK {
		t.Errorf("a 100-character profile name: %d %s", a.status, a.raw)
	}
}

func TestUnlinkedRecord(t *testing.T) {
	e := newEnv(t, 0)
	for _, tc := range []struct{ name, path string }{
		{"no link", "/api/v1/panel/contacts/" + e.fx.deskUnlinked},
		{"unknown id", "/api/v1/panel/accounts/1892000000999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.agentToken("Agent")
			e.resetCalls()
			a := e.agentDo(http.MethodGet, tc.path, tok, nil)
			if a.status != http.StatusNotFound || a.body["error"] != "not_linked" || !strings.Contains(a.body["message"].(string), "not linked") {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if crmCalls, _ := e.calls(); crmCalls != 0 {
				t.Fatalf("an unlinked record cost %d CRM calls", crmCalls)
			}
		})
	}
	t.Run("pending link", func(t *testing.T) {
		if err := e.st.AddPendingLinks(context.Background(), store.Scope{IntegrationID: "default", Module: "contacts", Side: "desk"}, []string{e.fx.deskUnlinked}); err != nil {
			t.Fatal(err)
		}
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskUnlinked)
		if a.status != http.StatusNotFound || a.body["error"] != "not_linked" {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
	})
	// A record the sync could not link says so, by its code and failure entry, without the
	// failure's message (it can hold customer values this profile may not see).
	t.Run("failed record", func(t *testing.T) {
		fs, err := e.st.RecordFailures(context.Background(), "default", "wf/run/1", []store.Failure{{Module: "contacts", Direction: "desk-to-crm",
			DeskID: e.fx.deskUnlinked, Code: "AMBIGUOUS_MATCH", Message: "two CRM contacts hold secret@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskUnlinked)
		msg, _ := a.body["message"].(string)
		if a.status != http.StatusNotFound || a.body["error"] != "not_linked" || !strings.Contains(msg, "could not bring it to CRM (AMBIGUOUS_MATCH)") ||
			!strings.Contains(msg, fmt.Sprintf("failure %d", fs[0].ID)) || strings.Contains(a.raw, "secret@example.com") {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
	})
	t.Run("page says so", func(t *testing.T) {
		a := e.do(http.MethodGet, e.pageLink("Agent", "contacts", e.fx.deskUnlinked), "", nil)
		if a.status != http.StatusNotFound || !strings.Contains(a.raw, "Not in Zoho CRM") || !strings.Contains(a.raw, "not linked") {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
	})
}

func TestCRMErrorsAreShown(t *testing.T) {
	e := newEnv(t, time.Minute)
	e.setPermissions("Agent", full)
	t.Run("server error on a related list", func(t *testing.T) {
		id, err := e.crmEmu.Realism().AddFault(realism.Fault{Method: "GET", Path: "/crm/v8/Contacts/*/Deals", Kind: realism.FaultStatus, Status: 500})
		if err != nil {
			t.Fatal(err)
		}
		defer e.crmEmu.Realism().RemoveFault(id)
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskContact)
		if a.status != http.StatusBadGateway || a.body["error"] != "crm_error" || a.body["code"] != "INTERNAL_ERROR" ||
			a.body["section"] != "deals" || a.body["zohoHttpStatus"] != float64(500) {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		if len(sectionsOf(a.body)) != 0 {
			t.Fatalf("a failed answer carries sections: %s", a.raw)
		}
		page := e.do(http.MethodGet, e.pageLink("Agent", "contacts", e.fx.deskContact), "", nil)
		if page.status != http.StatusBadGateway || !strings.Contains(page.raw, "INTERNAL_ERROR") || !strings.Contains(page.raw, "Zoho CRM answered") {
			t.Fatalf("page: %d %s", page.status, page.raw)
		}
	})
	t.Run("errors are not cached", func(t *testing.T) {
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskContact)
		if a.status != http.StatusOK || len(a.body["deals"].([]any)) != 1 {
			t.Fatalf("after the fault: %d %s", a.status, a.raw)
		}
	})
	// A CRM record deleted is no outage (it answered 502 "Zoho CRM answered INVALID_DATA", a
	// trial): 404 saying so, before the sync read the deletion and after.
	t.Run("linked CRM record is gone", func(t *testing.T) {
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskDangling)
		if a.status != http.StatusNotFound || a.body["error"] != "crm_deleted" || !strings.Contains(a.raw, "no longer exists in CRM") {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		page := e.do(http.MethodGet, e.pageLink("Agent", "contacts", e.fx.deskDangling), "", nil)
		if page.status != http.StatusNotFound || !strings.Contains(page.raw, "Deleted in Zoho CRM") {
			t.Fatalf("page: %d %s", page.status, page.raw)
		}
	})
	t.Run("linked CRM record deleted, as the sync read", func(t *testing.T) {
		ctx := context.Background()
		l, err := e.st.LinkByDesk(ctx, "default", "contacts", e.fx.deskContact)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Pool.Exec(ctx, `update links set crm_deleted = 'trash' where id = $1`, l.ID); err != nil {
			t.Fatal(err)
		}
		defer e.st.Pool.Exec(ctx, `update links set crm_deleted = null where id = $1`, l.ID)
		e.resetCalls()
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskContact)
		if crmCalls, _ := e.calls(); a.status != http.StatusNotFound || a.body["error"] != "crm_deleted" || !strings.Contains(a.raw, "was deleted in CRM") || crmCalls != 0 {
			t.Fatalf("status %d, %d CRM calls: %s", a.status, crmCalls, a.raw)
		}
	})
}

func TestCache(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.setPermissions("Agent", full)
	path := "/api/v1/panel/contacts/" + e.fx.deskContact
	tok := e.agentToken("Agent")
	e.resetCalls()
	first := e.agentDo(http.MethodGet, path, tok, nil)
	crm1, desk1 := e.calls()
	second := e.agentDo(http.MethodGet, path, tok, nil)
	crm2, desk2 := e.calls()
	if first.status != http.StatusOK || second.status != http.StatusOK || crm1 != 6 || crm2 != crm1 {
		t.Fatalf("statuses %d/%d, CRM calls after first %d (want 6), after second %d (want no more)", first.status, second.status, crm1, crm2)
	}
	// The agent's token is resolved once (myinfo + the profile's name), then cached.
	if desk1 != 2 || desk2 != desk1 || e.deskEngine.Count("GET /api/v1/myinfo") != 1 {
		t.Fatalf("Desk calls after first %d (want 2: myinfo, profile), after second %d (want no more)", desk1, desk2)
	}
	// Another profile with fewer sections is served from the same cache.
	e.setPermissions("Light Agent", with(map[string]any{"deals": "restricted"}))
	third := e.as("Light Agent", path)
	if crm3, _ := e.calls(); third.status != http.StatusOK || crm3 != crm1 {
		t.Fatalf("third: %d, CRM calls %d", third.status, crm3)
	}
	// After the identity TTL, Desk is asked again.
	e.advance(panel.DefaultIdentityTTL + time.Second)
	if a := e.agentDo(http.MethodGet, path, tok, nil); a.status != http.StatusOK || e.deskEngine.Count("GET /api/v1/myinfo") != 3 {
		t.Fatalf("after the identity TTL: %d, myinfo calls %d (want 3)", a.status, e.deskEngine.Count("GET /api/v1/myinfo"))
	}
}

func TestDeleteIntegration(t *testing.T) {
	e := newEnv(t, time.Hour)
	ctx := context.Background()
	// History, a failure and a warm cache exist before the delete.
	started := time.Now().Add(-time.Hour)
	if _, err := e.st.RecordRun(ctx, "default", store.Run{WorkflowID: "deskcrm-sync-default", RunID: "r1", Kind: "initial",
		Module: "contacts", Direction: "desk-to-crm", StartedAt: started, Added: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RecordFailures(ctx, "default", "", []store.Failure{{Module: "contacts", Direction: "desk-to-crm", DeskID: "1", Code: "MANDATORY_FIELD_MISSING", Message: "Mandatory field missing"}}); err != nil {
		t.Fatal(err)
	}
	e.setPermissions("Agent", with(map[string]any{"notes": "restricted"}))
	if a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskContact); a.status != http.StatusOK {
		t.Fatalf("before: %d %s", a.status, a.raw)
	}
	page := e.pageLink("Agent", "contacts", e.fx.deskContact)

	t.Run("deleter failure leaves it in place", func(t *testing.T) {
		e.deleteErr = errors.New("temporal unavailable")
		defer func() { e.deleteErr = nil }()
		a := e.do("POST", "/api/v1/integrations/default/delete", adminToken, nil)
		if a.status != http.StatusBadGateway || !strings.Contains(a.raw, "temporal unavailable") {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if in, _ := e.st.Integration(ctx, "default"); in.State == "deleted" {
			t.Fatal("marked deleted although the sync was not stopped")
		}
	})

	a := e.do("POST", "/api/v1/integrations/default/delete", adminToken, nil)
	if a.status != http.StatusOK || a.body["deleted"] != true || a.body["alreadyDeleted"] != false {
		t.Fatalf("delete: %d %s", a.status, a.raw)
	}
	if !slices.Equal(e.deleted, []string{"default"}) {
		t.Fatalf("Deleter calls = %v", e.deleted)
	}
	agentAuth := "Zoho-oauthtoken " + e.agentToken("Agent")
	e.resetCalls()
	for _, r := range []struct{ method, path, auth string }{
		{"GET", "/api/v1/panel/contacts/" + e.fx.deskContact, agentAuth},
		{"GET", "/api/v1/panel/accounts/" + e.fx.deskAccount, agentAuth},
		{"POST", "/api/v1/panel/accounts/" + e.fx.deskAccount + "/link", agentAuth},
		{"GET", page, ""},
		{"GET", "/api/v1/handshake/tickets", agentAuth},
		{"GET", "/api/v1/handshake", "Bearer " + adminToken},
		{"PUT", "/api/v1/handshake", "Bearer " + adminToken},
		{"GET", "/api/v1/permissions/Agent", "Bearer " + adminToken},
		{"PUT", "/api/v1/permissions/Agent", "Bearer " + adminToken},
	} {
		a := e.send(r.method, r.path, r.auth, map[string]any{"info": "full"})
		if a.status != http.StatusNotFound || !strings.Contains(a.raw, "integration deleted") {
			t.Errorf("%s %s after delete: %d %s", r.method, r.path, a.status, a.raw)
		}
		if strings.Contains(a.raw, contactEmail) || strings.Contains(a.raw, e.fx.crmContact) {
			t.Errorf("%s %s after delete leaked data", r.method, r.path)
		}
	}
	if crmCalls, deskCalls := e.calls(); crmCalls != 0 || deskCalls != 0 {
		t.Fatalf("after delete: %d CRM and %d Desk calls, want none", crmCalls, deskCalls)
	}

	// History, the failure log and the permissions stay (a later start applies them again).
	runs, err := e.st.RecentRuns(ctx, "default", started.Add(-time.Minute))
	if err != nil || len(runs) != 1 || runs[0].Added != 3 {
		t.Fatalf("history after delete: %v %+v", err, runs)
	}
	fails, n, err := e.st.OpenFailures(ctx, "default", 10)
	if err != nil || n != 1 || len(fails) != 1 || fails[0].Code != "MANDATORY_FIELD_MISSING" {
		t.Fatalf("failure log after delete: %v %d %+v", err, n, fails)
	}
	if perms, err := e.st.AllPermissions(ctx, "default"); err != nil || len(perms) != 1 || perms[0].Profile != "Agent" || perms[0].Notes != "restricted" {
		t.Fatalf("permissions after delete: %v %+v, want Agent's notes restricted kept", err, perms)
	}

	t.Run("again", func(t *testing.T) {
		a := e.do("POST", "/api/v1/integrations/default/delete", adminToken, nil)
		if a.status != http.StatusOK || a.body["alreadyDeleted"] != true || len(e.deleted) != 1 {
			t.Fatalf("%d %s, deleter calls %v", a.status, a.raw, e.deleted)
		}
	})
	t.Run("unknown integration", func(t *testing.T) {
		if a := e.do("POST", "/api/v1/integrations/nope/delete", adminToken, nil); a.status != http.StatusNotFound {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("a new start applies the permissions kept", func(t *testing.T) {
		if _, err := e.st.EnsureIntegration(ctx, "default", "two-way", 365*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		// Agent's stored permissions (all but notes), not the default's (info only).
		a := e.as("Agent", "/api/v1/panel/contacts/"+e.fx.deskContact)
		if got := sectionsOf(a.body); a.status != http.StatusOK || !slices.Equal(got, []string{"info", "deals", "calls", "events", "tasks"}) {
			t.Fatalf("after restart: %d %v %s", a.status, got, a.raw)
		}
	})
}

// The sync stopped but Zoho refused the webhooks' removal (a wrong org id, an outage): the
// integration is deleted all the same, with a warning naming what to remove by hand. It stayed
// half deleted — sync terminated, Postgres active, every retry answering 502 (a trial).
func TestDeleteWithWebhooksLeftIsDeletedWithAWarning(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.deleteErr = &panel.UnsubscribeError{Err: errors.New("desk: list webhooks: OAUTH_ORG_MISMATCH")}
	a := e.do("POST", "/api/v1/integrations/default/delete", adminToken, nil)
	warning, _ := a.body["warning"].(string)
	if a.status != http.StatusOK || a.body["deleted"] != true || !strings.Contains(warning, "OAUTH_ORG_MISMATCH") ||
		!strings.Contains(warning, "remove the deskcrm webhooks in Zoho Desk") {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if in, _ := e.st.Integration(context.Background(), "default"); in.State != "deleted" {
		t.Errorf("state %q, want deleted", in.State)
	}
}
