package panel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, 0)
	c := "/api/v1/panel/contacts/" + e.fx.deskContact
	routes := []struct {
		method, path string
		admin        bool
	}{
		{"GET", c, false},
		{"POST", c + "/link", false},
		{"GET", "/api/v1/handshake/tickets", false},
		{"GET", "/api/v1/permissions", true},
		{"GET", "/api/v1/permissions/Agent", true},
		{"PUT", "/api/v1/permissions/Agent", true},
		{"DELETE", "/api/v1/permissions/Agent", true},
		{"GET", "/api/v1/handshake", true},
		{"PUT", "/api/v1/handshake", true},
		{"POST", "/api/v1/integrations/default/delete", true},
	}
	agentTok := e.agentToken("Agent")
	for _, r := range routes {
		auths := map[string]string{"none": "", "wrong": "Zoho-oauthtoken 1000.not.a-token", "almost": "Zoho-oauthtoken " + agentTok + "x",
			"wrong scheme": "Basic " + agentTok}
		if r.admin {
			auths["agent token on admin route"] = "Bearer " + agentTok
		} else {
			auths["admin token on agent route"] = "Bearer " + adminToken
		}
		for name, auth := range auths {
			t.Run(r.method+" "+r.path+" "+name, func(t *testing.T) {
				e.resetCalls()
				a := e.send(r.method, r.path, auth, map[string]any{"info": "restricted"})
				if a.status != http.StatusUnauthorized || a.body["error"] != "unauthorized" {
					t.Fatalf("status %d: %s", a.status, a.raw)
				}
				if strings.Contains(a.raw, e.fx.crmContact) || strings.Contains(a.raw, contactEmail) {
					t.Fatalf("401 leaked data: %s", a.raw)
				}
				// At most Desk's myinfo is asked who the token belongs to; nothing is read.
				crmCalls, deskCalls := e.calls()
				if crmCalls != 0 || deskCalls != e.deskEngine.Count("GET /api/v1/myinfo") || deskCalls > 1 {
					t.Fatalf("an unauthorized request cost %d CRM and %d Desk calls", crmCalls, deskCalls)
				}
			})
		}
	}
	if p, _ := e.st.Permissions(context.Background(), "default", "Agent"); p.Stored {
		t.Fatal("an unauthorized PUT changed permissions")
	}
	if in, _ := e.st.Integration(context.Background(), "default"); in.State == "deleted" || len(e.deleted) > 0 {
		t.Fatal("an unauthorized request deleted the integration")
	}
	t.Run("a refused token is not asked again at once", func(t *testing.T) {
		e.resetCalls()
		for range 3 {
			e.send("GET", c, "Zoho-oauthtoken 1000.refused.again", nil)
		}
		if n := e.deskEngine.Count("GET /api/v1/myinfo"); n != 1 {
			t.Fatalf("myinfo calls = %d, want 1", n)
		}
	})
	t.Run("no shared token in the query", func(t *testing.T) {
		for _, q := range []string{"?token=" + adminToken, "?token=" + agentTok, "?profile=Agent&token=" + agentTok} {
			if a := e.do("GET", c+q, "", nil); a.status != http.StatusUnauthorized {
				t.Errorf("API with %s: %d", q, a.status)
			}
			if a := e.do("GET", "/panel/contacts/"+e.fx.deskContact+q, "", nil); a.status != http.StatusUnauthorized ||
				strings.Contains(a.raw, contactEmail) {
				t.Errorf("page with %s: %d", q, a.status)
			}
		}
	})
	t.Run("agent token as Bearer", func(t *testing.T) {
		if a := e.do("GET", c, agentTok, nil); a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}

// Paths with an id that cannot be a Desk id, or an unknown module, answer 4xx before anything
// is read, whoever asks.
func TestInvalidPaths(t *testing.T) {
	e := newEnv(t, 0)
	tok := e.agentToken("Agent")
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v1/panel/contacts/abc", http.StatusBadRequest},
		{"/api/v1/panel/contacts/12a4", http.StatusBadRequest},
		{"/api/v1/panel/contacts/" + strings.Repeat("1", 31), http.StatusBadRequest},
		{"/api/v1/panel/contacts/%F0%9F%98%80", http.StatusBadRequest},
		{"/api/v1/panel/contacts/-1", http.StatusBadRequest},
		{"/api/v1/panel/deals/123", http.StatusNotFound},
		{"/panel/contacts/1%2F2", http.StatusBadRequest},
		{"/panel/tickets/123", http.StatusNotFound},
		{"/api/v1/panel/contacts/123?integration=" + strings.Repeat("x", 65), http.StatusBadRequest},
		{"/api/v1/panel/contacts/123?integration=%FF", http.StatusBadRequest},
		{"/api/v1/handshake/tickets?limit=0", http.StatusBadRequest},
		{"/api/v1/handshake/tickets?limit=99999999999999999999", http.StatusBadRequest},
	} {
		e.resetCalls()
		a := e.agentDo(http.MethodGet, tc.path, tok, nil)
		if a.status != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, a.status, a.raw, tc.status)
		}
		if crmCalls, _ := e.calls(); crmCalls != 0 {
			t.Errorf("GET %s cost %d CRM calls", tc.path, crmCalls)
		}
	}
	if a := e.do(http.MethodPost, "/api/v1/integrations/bad%20id/delete", adminToken, nil); a.status != http.StatusBadRequest {
		t.Errorf("delete with a bad integration id: %d", a.status)
	}
	for _, body := range []any{
		map[string]any{"order": []string{strings.Repeat("x", 101)}},
		map[string]any{"order": []string{"ok", "bad\u0000type"}},
		map[string]any{"order": make([]string, 101)},
		map[string]any{"order": []string{strings.Repeat("y", 70<<10)}},
	} {
		if a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, body); a.status != http.StatusBadRequest {
			t.Errorf("PUT handshake %.80v: %d %s", body, a.status, a.raw)
		}
	}
}
