package panel_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/panel"
)

// The attack: a restricted agent tries to see deals by naming another profile, in any
// parameter, spelling or case. The profile comes from Desk, so none of it matters.
func TestRestrictedAgentCannotPickAProfile(t *testing.T) {
	e := newEnv(t, 0)
	e.setPermissions("Administrator", full)
	e.setPermissions("Agent", map[string]any{"panelVisible": false})
	e.setPermissions("Light Agent", with(map[string]any{"deals": "restricted"}))
	spellings := []string{"", "?profile=Administrator", "?profile=administrator", "?profile=ADMINISTRATOR",
		"?profile=Administrator.", "?profile=%20Administrator%20", "?profile=Agent.", "?profile=agent", "?profile=AGENT",
		"?profile=Support+Manager", "?profile=", "?profile=Agent&profile=Administrator", "?Profile=Administrator",
		"?profileId=1892000000005701", "?agent=" + deskemu.AgentAdmin, "?profile=Administrator%00"}
	headers := map[string]string{"X-Desk-Profile": "Administrator", "X-Profile": "Administrator", "Profile": "Administrator"}
	check := func(t *testing.T, profile string, wantStatus int) {
		tok := e.agentToken(profile)
		for _, module := range []struct{ name, id string }{{"contacts", e.fx.deskContact}, {"accounts", e.fx.deskAccount}} {
			for _, q := range spellings {
				path := "/api/v1/panel/" + module.name + "/" + module.id + q
				req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, strings.NewReader(`{"profile":"Administrator"}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw := readAll(t, res)
				if res.StatusCode != wantStatus {
					t.Errorf("%s %s: status %d, want %d: %s", profile, path, res.StatusCode, wantStatus, raw)
				}
				for _, s := range []string{dealName, accountDeal, "Negotiation/Review", `"deals"`} {
					if strings.Contains(raw, s) {
						t.Errorf("%s %s: the answer shows %q", profile, path, s)
					}
				}
				if wantStatus == http.StatusOK && !strings.Contains(raw, `"profile": "`+profile+`"`) {
					t.Errorf("%s %s: the answer is not for the agent's own profile: %s", profile, path, raw)
				}
			}
		}
	}
	t.Run("panel hidden for Agent", func(t *testing.T) { check(t, "Agent", http.StatusForbidden) })
	t.Run("deals restricted for Light Agent", func(t *testing.T) { check(t, "Light Agent", http.StatusOK) })
	t.Run("a profile nobody configured sees info only", func(t *testing.T) { check(t, "Newbie Agent", http.StatusOK) })

	t.Run("the page link carries Desk's profile, not the request's", func(t *testing.T) {
		a := e.agentDo(http.MethodPost, "/api/v1/panel/contacts/"+e.fx.deskContact+"/link?profile=Administrator",
			e.agentToken("Light Agent"), nil)
		if a.status != http.StatusOK {
			t.Fatalf("mint: %d %s", a.status, a.raw)
		}
		u, err := url.Parse(a.body["url"].(string))
		if err != nil || u.Query().Get("profile") != "Light Agent" {
			t.Fatalf("link %v: profile %q, want Light Agent", a.body["url"], u.Query().Get("profile"))
		}
		page := e.do(http.MethodGet, u.String(), "", nil)
		if page.status != http.StatusOK || strings.Contains(page.raw, dealName) || !strings.Contains(page.raw, noteTitle) {
			t.Fatalf("page: %d, shows deals: %v", page.status, strings.Contains(page.raw, dealName))
		}
		if a := e.agentDo(http.MethodPost, "/api/v1/panel/contacts/"+e.fx.deskContact+"/link?profile=Administrator",
			e.agentToken("Agent"), nil); a.status != http.StatusForbidden || a.body["url"] != nil {
			t.Fatalf("a hidden profile got a link: %d %s", a.status, a.raw)
		}
	})
}

// The attack: an agent of another Desk organization (a token Zoho granted for that org) calls
// this integration's panel. Desk refuses the token for our org, and so does the panel.
func TestAgentOfAnotherOrgIsRefused(t *testing.T) {
	e := newEnv(t, 0)
	e.setPermissions("Administrator", full)
	foreign, _ := e.deskEmu.AgentTokens().Issue(deskemu.AgentAdmin, "2000000002", time.Hour)
	e.resetCalls()
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/panel/contacts/" + e.fx.deskContact},
		{http.MethodGet, "/api/v1/panel/contacts/" + e.fx.deskContact + "?orgId=2000000002"},
		{http.MethodPost, "/api/v1/panel/contacts/" + e.fx.deskContact + "/link"},
		{http.MethodGet, "/api/v1/handshake/tickets"},
	} {
		a := e.agentDo(r.method, r.path, foreign, nil)
		if a.status != http.StatusForbidden || a.body["error"] != "wrong_organization" {
			t.Errorf("%s %s: %d %s", r.method, r.path, a.status, a.raw)
		}
		if strings.Contains(a.raw, contactEmail) || strings.Contains(a.raw, e.fx.crmContact) {
			t.Errorf("%s %s leaked data", r.method, r.path)
		}
	}
	if crmCalls, _ := e.calls(); crmCalls != 0 {
		t.Fatalf("a foreign agent cost %d CRM calls", crmCalls)
	}
	if n := e.deskEngine.Count("GET /api/v1/myinfo"); n != 1 {
		t.Fatalf("myinfo calls = %d, want 1 (the refusal is remembered for a while)", n)
	}

	t.Run("disabled agent", func(t *testing.T) {
		tok, err := e.deskEmu.AgentToken(deskemu.AgentDisabled, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if a := e.agentDo(http.MethodGet, "/api/v1/panel/contacts/"+e.fx.deskContact, tok, nil); a.status != http.StatusUnauthorized {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("revoked token stops working once the identity cache lapses", func(t *testing.T) {
		tok, _ := e.deskEmu.AgentToken(deskemu.AgentAdmin, time.Hour)
		if a := e.agentDo(http.MethodGet, "/api/v1/panel/contacts/"+e.fx.deskContact, tok, nil); a.status != http.StatusOK {
			t.Fatalf("before revoking: %d %s", a.status, a.raw)
		}
		e.deskEmu.AgentTokens().Revoke(tok)
		e.advance(panel.DefaultIdentityTTL + time.Second)
		if a := e.agentDo(http.MethodGet, "/api/v1/panel/contacts/"+e.fx.deskContact, tok, nil); a.status != http.StatusUnauthorized {
			t.Fatalf("after revoking: %d %s", a.status, a.raw)
		}
	})
}

// The attack: an expired or altered page link. Every field is signed; the page refuses
// anything else with 401 and no data.
func TestSignedPageLinks(t *testing.T) {
	e := newEnv(t, 0)
	e.setPermissions("Light Agent", with(map[string]any{"deals": "restricted"}))
	e.setPermissions("Administrator", full)
	link := e.pageLink("Light Agent", "contacts", e.fx.deskContact)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	a := e.do(http.MethodGet, link, "", nil)
	if a.status != http.StatusOK || !strings.Contains(a.raw, contactEmail) || strings.Contains(a.raw, dealName) {
		t.Fatalf("the fresh link: %d", a.status)
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors http://127.0.0.1:") ||
		strings.Contains(csp, "frame-ancestors *") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors limited to the Desk origin", csp)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", a.header)
	}

	alter := func(k, v string) string {
		q := u.Query()
		q.Set(k, v)
		return u.Path + "?" + q.Encode()
	}
	sig := u.Query().Get("sig")
	flipped := []byte(sig)
	flipped[3] ^= 1
	exp, err := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	later := strconv.FormatInt(exp+60, 10)
	tampered := map[string]string{
		"profile raised":       alter("profile", "Administrator"),
		"profile recased":      alter("profile", "light agent"),
		"another agent":        alter("agent", deskemu.AgentAdmin),
		"later expiry":         alter("exp", later),
		"another integration":  alter("integration", "other"),
		"signature altered":    alter("sig", string(flipped)),
		"signature dropped":    u.Path + "?" + strings.ReplaceAll(u.RawQuery, "sig="+sig, ""),
		"another record":       strings.Replace(u.Path, e.fx.deskContact, e.fx.deskDangling, 1) + "?" + u.RawQuery,
		"another module":       "/panel/accounts/" + e.fx.deskContact + "?" + u.RawQuery,
		"profile given twice":  link + "&profile=Administrator",
		"no link at all":       "/panel/contacts/" + e.fx.deskContact + "?profile=Administrator",
		"shared token of old":  "/panel/contacts/" + e.fx.deskContact + "?profile=Administrator&token=" + adminToken,
		"signature of a token": alter("sig", e.agentToken("Administrator")),
	}
	for name, path := range tampered {
		a := e.do(http.MethodGet, path, "", nil)
		if a.status != http.StatusUnauthorized || !strings.Contains(a.raw, "Invalid link") {
			t.Errorf("%s: %d, want 401 Invalid link", name, a.status)
		}
		if strings.Contains(a.raw, contactEmail) || strings.Contains(a.raw, dealName) {
			t.Errorf("%s: the page leaked data", name)
		}
	}

	t.Run("permissions are read when the page opens", func(t *testing.T) {
		e.setPermissions("Light Agent", map[string]any{"panelVisible": false})
		defer e.setPermissions("Light Agent", map[string]any{"panelVisible": true})
		if a := e.do(http.MethodGet, link, "", nil); a.status != http.StatusForbidden || strings.Contains(a.raw, contactEmail) {
			t.Fatalf("%d", a.status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.advance(panel.DefaultLinkTTL + time.Minute)
		a := e.do(http.MethodGet, link, "", nil)
		if a.status != http.StatusUnauthorized || !strings.Contains(a.raw, "Link expired") || strings.Contains(a.raw, contactEmail) {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
