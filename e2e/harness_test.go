package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap/zaptest"

	"deskcrm/activities"
	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgtest"
	"deskcrm/store"
	"deskcrm/workflows"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childWorkerEnv); cfg != "" {
		os.Exit(runChildWorker(cfg)) // this process is a test's worker (faults_child_test.go)
	}
	pgtest.Main(m)
}

// harness is one world: both emulators, Postgres, a dev server and a worker.
type harness struct {
	t         *testing.T
	tc        client.Client
	st        *store.Store
	crm       *crmemu.Server
	desk      *deskemu.Server
	crmURL    string
	deskURL   string
	taskQueue string
	w         worker.Worker
}

func newHarness(t *testing.T, tc client.Client) *harness {
	t.Helper()
	auth := zohoauth.NewStore(zohoauth.Config{})
	c := crmemu.New(crmemu.Config{Auth: auth}) // with the default search lag, as Zoho's search index lags
	d := deskemu.New(deskemu.Config{Auth: auth, Realism: realism.New(realism.Config{})})
	cs := httptest.NewServer(c)
	ds := httptest.NewServer(d)
	t.Cleanup(cs.Close)
	t.Cleanup(ds.Close)
	h := &harness{t: t, tc: tc, st: store.New(pgtest.Pool(t)), crm: c, desk: d, crmURL: cs.URL, deskURL: ds.URL,
		taskQueue: fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())}
	return h
}

// startWorker runs a worker for the harness's task queue, as the worker binary would.
func (h *harness) startWorker() { h.startWorkerWith(nil) }

// startWorkerWith runs a worker whose activities are adjusted by adjust first (when not nil).
func (h *harness) startWorkerWith(adjust func(*activities.Activities)) {
	h.t.Helper()
	acts, err := activities.New(context.Background(), activities.Config{
		Store: h.st, Logger: zaptest.NewLogger(h.t),
		Zoho: config.Zoho{DataCenter: "com", CRMURL: h.crmURL, DeskURL: h.deskURL, AccountsURL: h.crmURL,
			CRMConcurrency: 10, DeskConcurrency: 10},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if adjust != nil {
		adjust(acts)
	}
	w := worker.New(h.tc, h.taskQueue, worker.Options{Interceptors: activities.WorkerInterceptors()})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.w = w
	h.t.Cleanup(h.stopWorker)
}

func (h *harness) stopWorker() {
	if h.w != nil {
		h.w.Stop()
		h.w = nil
	}
}

// start starts the integration's sync workflow.
func (h *harness) start(in workflows.SyncInput) client.WorkflowRun {
	h.t.Helper()
	run, err := h.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.IntegrationID), TaskQueue: h.taskQueue,
	}, workflows.WorkflowName, in)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = h.tc.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })
	return run
}

func (h *harness) status(id string) (workflows.Status, error) {
	var st workflows.Status
	v, err := h.tc.QueryWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// waitInitial waits until the first sync is done, calling each (if set) between polls.
func (h *harness) waitInitial(id string, timeout time.Duration, each func(workflows.Status)) workflows.Status {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var last workflows.Status
	var lastErr error
	for time.Now().Before(deadline) {
		st, err := h.status(id)
		if err == nil {
			last = st
			if st.InitialDone {
				return st
			}
			if st.Phase == workflows.PhaseBlocked {
				h.t.Fatalf("sync blocked: %s %+v", st.PausedReason, st.Problems)
			}
			if each != nil {
				each(st)
			}
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("first sync not done in %s; last status %+v (%v)", timeout, last, lastErr)
	return last
}

func (h *harness) failures(id string) []store.Failure {
	h.t.Helper()
	var fs []store.Failure
	v, err := h.tc.QueryWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.QueryFailures)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := v.Get(&fs); err != nil {
		h.t.Fatal(err)
	}
	return fs
}

// snapshot describes both sides as sorted lines, ids replaced by names, so that two worlds
// can be compared.
func (h *harness) snapshot() []string {
	var out []string
	deskAccounts := map[string]string{}
	for _, r := range h.desk.Records("accounts") {
		deskAccounts[fmt.Sprint(r["id"])] = fmt.Sprint(r["accountName"])
		out = append(out, fmt.Sprintf("desk account %v phone=%v website=%v", r["accountName"], r["phone"], r["website"]))
	}
	for _, r := range h.desk.Records("contacts") {
		out = append(out, fmt.Sprintf("desk contact %v %v email=%v phone=%v account=%v", r["firstName"], r["lastName"], r["email"], r["phone"],
			deskAccounts[fmt.Sprint(r["accountId"])]))
	}
	crmAccounts := map[string]string{}
	for _, r := range h.crm.Records("Accounts") {
		crmAccounts[fmt.Sprint(r["id"])] = fmt.Sprint(r["Account_Name"])
		out = append(out, fmt.Sprintf("crm account %v phone=%v website=%v", r["Account_Name"], r["Phone"], r["Website"]))
	}
	for _, r := range h.crm.Records("Contacts") {
		acct := ""
		if m, ok := r["Account_Name"].(map[string]any); ok {
			acct = crmAccounts[fmt.Sprint(m["id"])]
		}
		out = append(out, fmt.Sprintf("crm contact %v %v email=%v phone=%v account=%v", r["First_Name"], r["Last_Name"], r["Email"], r["Phone"], acct))
	}
	sort.Strings(out)
	return out
}
