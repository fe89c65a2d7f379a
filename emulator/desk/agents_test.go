package desk

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestMyInfo(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	e := newEnv(t, Config{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	light, err := e.srv.AgentToken(AgentLight, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/myinfo", nil, "Authorization", "Zoho-oauthtoken "+light)
	if r.status != http.StatusOK {
		t.Fatalf("myinfo: %d %s", r.status, r.body)
	}
	me := r.json(t)
	if me["id"] != AgentLight || me["profileId"] != "1892000000005705" || me["status"] != "ACTIVE" || me["emailId"] == "" {
		t.Fatalf("myinfo = %v", me)
	}

	foreign, _ := e.srv.AgentTokens().Issue(AgentAgent, "2000000002", 0)
	expired, _ := e.srv.AgentTokens().Issue(AgentAgent, DefaultOrgID, time.Minute)
	disabled, _ := e.srv.AgentToken(AgentDisabled, 0)
	clock.Add(int64(2 * time.Minute)) // the one-minute token lapses, the one-hour ones live on
	for _, c := range []struct {
		name   string
		hdr    []string
		status int
		code   string
	}{
		{"no token", []string{"Authorization", ""}, 401, CodeInvalidOAuth},
		{"the integration's token for another org", []string{"orgId", "2000000002"}, 403, CodeOrgMismatch},
		{"unknown token", []string{"Authorization", "Zoho-oauthtoken 1000.nope.nope"}, 401, CodeInvalidOAuth},
		{"expired", []string{"Authorization", "Zoho-oauthtoken " + expired}, 401, CodeInvalidOAuth},
		{"disabled agent", []string{"Authorization", "Zoho-oauthtoken " + disabled}, 401, CodeInvalidOAuth},
		{"another org's agent", []string{"Authorization", "Zoho-oauthtoken " + foreign}, 403, CodeOrgMismatch},
		{"another org's agent naming its org", []string{"Authorization", "Zoho-oauthtoken " + foreign, "orgId", "2000000002"}, 403, CodeOrgMismatch},
		{"no org", []string{"Authorization", "Zoho-oauthtoken " + light, "orgId", ""}, 422, CodeInvalidData},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, e.do("GET", "/api/v1/myinfo", nil, c.hdr...), c.status, c.code, "", "")
		})
	}
	t.Run("the integration's token is its granter's, the admin's", func(t *testing.T) {
		r := e.do("GET", "/api/v1/myinfo", nil)
		if r.status != http.StatusOK {
			t.Fatalf("myinfo: %d %s", r.status, r.body)
		}
		if me := r.json(t); me["id"] != AgentAdmin || me["profileId"] != "1892000000005701" || me["status"] != "ACTIVE" || me["name"] != "Alex Admin" {
			t.Fatalf("myinfo = %v, want Alex Admin", me)
		}
	})
	t.Run("agent tokens open nothing else", func(t *testing.T) {
		expectError(t, e.do("GET", "/api/v1/contacts", nil, "Authorization", "Zoho-oauthtoken "+light), 401, CodeInvalidOAuth, "", "")
	})
}

func TestAgentsAdmin(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.raw("GET", "/_emulator/agents", nil, nil)
	if r.status != http.StatusOK || len(r.json(t)["agents"].([]any)) != len(Agents) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	r = e.raw("POST", "/_emulator/agents/token", map[string]any{"agentId": AgentManager}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	tok := r.json(t)["access_token"].(string)
	if me := e.do("GET", "/api/v1/myinfo", nil, "Authorization", "Zoho-oauthtoken "+tok); me.status != http.StatusOK || me.json(t)["id"] != AgentManager {
		t.Fatalf("myinfo with the minted token: %d %s", me.status, me.body)
	}
	if r := e.raw("POST", "/_emulator/agents/token", map[string]any{"agentId": "1"}, nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown agent: %d", r.status)
	}
}
