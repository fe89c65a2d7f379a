package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
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

func TestMain(m *testing.M) {
	// The refusal test runs this test binary as the worker itself.
	if os.Getenv("DESKCRM_TEST_RUN_WORKER_MAIN") == "1" {
		main()
		return
	}
	pgtest.Main(m)
}

// The attack: a worker deployed against real Zoho (or listening beyond loopback) with the
// secrets everybody can read in the source. The binary refuses to start, naming each one,
// before it touches Postgres, Temporal or the network.
func TestWorkerRefusesToStartWithDefaultSecrets(t *testing.T) {
	for name, env := range map[string][]string{
		"real Zoho":                      {"ZOHO_CLIENT_ID=1000.ABC", "ZOHO_CLIENT_SECRET=s", "ZOHO_REFRESH_TOKEN=r", "ZOHO_DESK_ORG_ID=42"},
		"emulated Zoho, public listener": {"DESKCRM_HTTP_ADDR=0.0.0.0:8090"},
		"real Zoho, published placeholders": {"ZOHO_CLIENT_ID=1000.ABC", "ZOHO_CLIENT_SECRET=s", "ZOHO_REFRESH_TOKEN=r",
			"ZOHO_DESK_ORG_ID=42", "DESKCRM_ADMIN_TOKEN=change-me-admin", "DESKCRM_WEBHOOK_TOKEN=deskcrm-dev-webhook-token"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append([]string{"DESKCRM_TEST_RUN_WORKER_MAIN=1", "PATH=" + os.Getenv("PATH"),
				"DATABASE_URL=postgres://nobody@127.0.0.1:1/none", "TEMPORAL_ADDRESS=127.0.0.1:1"}, env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("the worker did not refuse to start (err %v):\n%s", err, out)
			}
			for _, want := range []string{"DESKCRM_ADMIN_TOKEN", "DESKCRM_WEBHOOK_TOKEN", "DESKCRM_PANEL_LINK_KEY", "openssl rand -base64 32"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the refusal does not name %s:\n%s", want, out)
				}
			}
		})
	}
}

// The worker binary's run: it migrates Postgres, connects to a real dev server, polls
// deskcrm-sync and serves a sync workflow to the end of its first sync, answers /healthz and
// /metrics, and stops cleanly when its context ends.
func TestWorkerServesASync(t *testing.T) {
	tc, addr := temporaltest.StartWithAddress(t)
	auth := zohoauth.NewStore(zohoauth.Config{})
	crmSrv := httptest.NewServer(crmemu.New(crmemu.Config{Auth: auth}))
	deskSrv := httptest.NewServer(deskemu.New(deskemu.Config{Auth: auth}))
	defer crmSrv.Close()
	defer deskSrv.Close()

	cfg := config.Worker{
		Temporal:    config.Temporal{Address: addr, Namespace: "default"},
		Zoho:        config.Zoho{DataCenter: "com", CRMURL: crmSrv.URL, DeskURL: deskSrv.URL, AccountsURL: crmSrv.URL, CRMConcurrency: 10, DeskConcurrency: 10},
		DatabaseURL: pgtest.URL(t), HTTPAddr: "127.0.0.1:0",
		WebhookToken: "test-webhook-token", AdminToken: "test-admin-token", PanelLinkKey: "test-panel-link-key",
		RegisterSearchAttributes: true, ShutdownTimeout: 5 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zaptest.NewLogger(t), ready) }()
	var httpAddr string
	select {
	case httpAddr = <-ready:
	case err := <-done:
		t.Fatalf("worker stopped before serving: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("worker not ready in 2 minutes")
	}

	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("healthz = %d %s", resp.StatusCode, body)
	}

	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID("worker-test"), TaskQueue: config.TaskQueue},
		workflows.WorkflowName, workflows.SyncInput{IntegrationID: "worker-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), run.GetID(), "", "test over")
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := tc.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryStatus)
		var st workflows.Status
		if err == nil && v.Get(&st) == nil && st.InitialDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not finish the first sync of an empty pair: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	resp, err = http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"temporal_", "zoho_api_calls_total", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("worker did not stop within 30s of its context ending")
	}
}

// A second start of the same integration is refused by Temporal with the options the starter
// uses (it turns the error into a clear message); checked against the real server.
func TestSecondStartIsRefused(t *testing.T) {
	tc := temporaltest.Start(t)
	opts := client.StartWorkflowOptions{ID: workflows.WorkflowID("dup"), TaskQueue: "nobody-polls", WorkflowExecutionErrorWhenAlreadyStarted: true}
	if _, err := tc.ExecuteWorkflow(context.Background(), opts, workflows.WorkflowName, workflows.SyncInput{IntegrationID: "dup"}); err != nil {
		t.Fatal(err)
	}
	defer tc.TerminateWorkflow(context.Background(), workflows.WorkflowID("dup"), "", "test over")
	_, err := tc.ExecuteWorkflow(context.Background(), opts, workflows.WorkflowName, workflows.SyncInput{IntegrationID: "dup"})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		t.Fatalf("a second start of the same integration: err = %v, want WorkflowExecutionAlreadyStarted", err)
	}
}
