package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap/zaptest"

	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgtest"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
)

// The worker as shipped — real dev server, Postgres, both emulators, a payload key — after a
// first sync has linked a customer with a CRM deal: the attacks of the trust review, each
// refused through the worker's own HTTP server.
func TestWorkerTrust(t *testing.T) {
	tc, addr := temporaltest.StartWithAddress(t)
	auth := zohoauth.NewStore(zohoauth.Config{})
	crmEmu := crmemu.New(crmemu.Config{Auth: auth})
	deskEmu := deskemu.New(deskemu.Config{Auth: auth})
	crmSrv, deskSrv := httptest.NewServer(crmEmu), httptest.NewServer(deskEmu)
	t.Cleanup(crmSrv.Close)
	t.Cleanup(func() { deskSrv.Close(); deskEmu.Close() })

	const deal = "Confidential renewal 2027"
	con, err := crmEmu.Load("Contacts", []map[string]any{{"Last_Name": "Souza", "Email": "ana.souza@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crmEmu.Load("Deals", []map[string]any{{"Deal_Name": deal, "Stage": "Qualification", "Contact_Name": map[string]any{"id": con[0]}}}); err != nil {
		t.Fatal(err)
	}
	deskCon, err := deskEmu.Load("contacts", []map[string]any{{"lastName": "Souza", "email": "ana.souza@example.test"}})
	if err != nil {
		t.Fatal(err)
	}

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg := config.Worker{
		Temporal: config.Temporal{Address: addr, Namespace: "default", PayloadKey: base64.StdEncoding.EncodeToString(key)},
		Zoho: config.Zoho{DataCenter: "com", CRMURL: crmSrv.URL, DeskURL: deskSrv.URL, AccountsURL: crmSrv.URL,
			CRMConcurrency: 10, DeskConcurrency: 10},
		DatabaseURL: pgtest.URL(t), HTTPAddr: "127.0.0.1:0", Webhooks: false,
		WebhookToken: "trust-webhook-token", AdminToken: "trust-admin-token", PanelLinkKey: "trust-panel-link-key",
		CodecOrigins: []string{"http://127.0.0.1:8233"}, ShutdownTimeout: 5 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- run(ctx, cfg, zaptest.NewLogger(t), ready) }()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("worker stopped before serving: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("worker not ready in 2 minutes")
	}
	// The test's client does not hold the key: the worker's sealed query answers are
	// unreadable to it, so it waits for the sync through Postgres-backed HTTP instead.
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID("default"), TaskQueue: config.TaskQueue},
		workflows.WorkflowName, workflows.SyncInput{IntegrationID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), run.GetID(), "", "test over")

	get := func(method, path, auth string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	light, err := deskEmu.AgentToken(deskemu.AgentLight, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	panelPath := "/api/v1/panel/contacts/" + deskCon[0]
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, body := get("GET", panelPath, "Zoho-oauthtoken "+light)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the contact never became linked: %d %s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("a restricted agent cannot see deals through any profile parameter", func(t *testing.T) {
		for _, q := range []string{"", "?profile=Administrator", "?profile=administrator", "?profile=Agent.", "?profile=Administrator&profile=Agent"} {
			status, body := get("GET", panelPath+q, "Zoho-oauthtoken "+light)
			if status != http.StatusOK || strings.Contains(body, deal) || strings.Contains(body, `"deals"`) {
				t.Errorf("%s: %d, shows deals: %v", q, status, strings.Contains(body, deal))
			}
		}
	})
	t.Run("another organization's agent is refused", func(t *testing.T) {
		foreign, _ := deskEmu.AgentTokens().Issue(deskemu.AgentAdmin, "2000000002", time.Hour)
		if status, body := get("GET", panelPath, "Zoho-oauthtoken "+foreign); status != http.StatusForbidden || strings.Contains(body, "Souza") {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("invalid ids answer 4xx", func(t *testing.T) {
		for _, p := range []string{"/api/v1/panel/contacts/abc", "/api/v1/panel/contacts/1%27%20or%201=1", "/api/v1/panel/leads/1",
			"/api/v1/integrations/a%20b/delete", "/webhooks/crm/" + strings.Repeat("x", 70)} {
			method := "GET"
			if strings.Contains(p, "/delete") || strings.HasPrefix(p, "/webhooks/") {
				method = "POST"
			}
			if status, body := get(method, p, "Bearer trust-admin-token"); status < 400 || status >= 500 {
				t.Errorf("%s %s: %d %s", method, p, status, body)
			}
		}
	})
	t.Run("the codec server answers the admin only", func(t *testing.T) {
		if status, _ := get("POST", "/codec/decode", ""); status != http.StatusUnauthorized {
			t.Errorf("anonymous decode: %d", status)
		}
		req, _ := http.NewRequest("POST", base+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Authorization", "Bearer trust-admin-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("admin decode: %d", res.StatusCode)
		}
	})
	t.Run("healthz shows no connection details anonymously", func(t *testing.T) {
		status, body := get("GET", "/healthz", "")
		if status != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
			t.Errorf("%d %s", status, body)
		}
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("worker did not stop within 30s")
	}
}
