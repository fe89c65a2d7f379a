package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap/zaptest"

	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/browsertest"
	"deskcrm/internal/pgtest"
	"deskcrm/internal/temporaltest"
	"deskcrm/store"
	"deskcrm/workflows"
)

// consoleAdminToken is the admin token of the console's test worker.
const consoleAdminToken = "console-test-admin-token"

// Records of the console's world.
const (
	anaEmail    = "ana.souza@example.test"
	anaDeal     = "Renewal 2027 — console"
	carlaEmail  = "carla.dias@example.test"
	brunoEmail  = "bruno.lima@example.test"
	sharedPhone = "+55 11 5555-0101"
	doraEmail   = "dora.reis@example.test"
)

// consoleWorld is the worker as shipped — real dev server, Postgres, both emulators, a payload
// key — with a sync of integration "default" started, and the ids of its records.
type consoleWorld struct {
	t        *testing.T
	tc       client.Client
	st       *store.Store
	crm      *crmemu.Server
	desk     *deskemu.Server
	deskURL  string
	base     string // the worker's HTTP address, http://host:port
	anaDesk  string // Desk id of Ana Souza (linked; a CRM deal)
	brunoID  string // Desk id of Bruno Lima (his create in CRM is refused: DUPLICATE_DATA)
	stopWork context.CancelFunc
	done     chan error
}

// newConsoleWorld starts the world. Ana Souza and Carla Dias are on both sides (same email);
// Bruno Lima is in Desk only, with Carla's phone, and CRM's Phone field is unique: his create
// in CRM is refused (DUPLICATE_DATA) until the field is made not unique. The sync of
// "default" is started paused, so it waits in its first sync until resumed.
func newConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	tc, addr := temporaltest.StartWithAddress(t)
	auth := zohoauth.NewStore(zohoauth.Config{})
	w := &consoleWorld{t: t, tc: tc, crm: crmemu.New(crmemu.Config{Auth: auth, SearchLag: crmemu.NoSearchLag}),
		desk: deskemu.New(deskemu.Config{Auth: auth})}
	crmSrv, deskSrv := httptest.NewServer(w.crm), httptest.NewServer(w.desk)
	t.Cleanup(crmSrv.Close)
	t.Cleanup(func() { deskSrv.Close(); w.desk.Close() })
	w.deskURL = deskSrv.URL

	must := func(ids []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	con := must(w.crm.Load("Contacts", []map[string]any{
		{"First_Name": "Ana", "Last_Name": "Souza", "Email": anaEmail},
		{"First_Name": "Carla", "Last_Name": "Dias", "Email": carlaEmail, "Phone": sharedPhone},
	}))
	must(w.crm.Load("Deals", []map[string]any{{"Deal_Name": anaDeal, "Stage": "Qualification", "Contact_Name": map[string]any{"id": con[0]}}}))
	if err := w.crm.SetUnique("Contacts", "Phone", true); err != nil {
		t.Fatal(err)
	}
	desk := must(w.desk.Load("contacts", []map[string]any{
		{"firstName": "Ana", "lastName": "Souza", "email": anaEmail},
		{"firstName": "Carla", "lastName": "Dias", "email": carlaEmail, "phone": sharedPhone},
		{"firstName": "Bruno", "lastName": "Lima", "email": brunoEmail, "phone": sharedPhone},
	}))
	w.anaDesk, w.brunoID = desk[0], desk[2]

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	cfg := config.Worker{
		Temporal: config.Temporal{Address: addr, Namespace: "default", PayloadKey: base64.StdEncoding.EncodeToString(key)},
		Zoho: config.Zoho{DataCenter: "com", CRMURL: crmSrv.URL, DeskURL: deskSrv.URL, AccountsURL: crmSrv.URL,
			CRMConcurrency: 10, DeskConcurrency: 10},
		DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", Webhooks: false,
		WebhookToken: "console-webhook-token", AdminToken: consoleAdminToken, PanelLinkKey: "console-panel-link-key",
		CodecOrigins: []string{"http://127.0.0.1:8233"}, ShutdownTimeout: 5 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	w.stopWork, w.done = cancel, make(chan error, 1)
	go func() { w.done <- run(ctx, cfg, zaptest.NewLogger(t), ready) }()
	select {
	case a := <-ready:
		w.base = "http://" + a
	case err := <-w.done:
		t.Fatalf("worker stopped before serving: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("worker not ready in 2 minutes")
	}
	t.Cleanup(w.stop)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	w.st = st

	w.start("default", "", true)
	return w
}

// start starts an integration's sync (mode "" is two-way), with a pause signal in its first
// task when paused, an hour between polls and no webhooks, so that passes run when the test
// asks. The test's client holds no payload key: what it sends is plain, which the worker reads.
func (w *consoleWorld) start(id, mode string, paused bool) {
	w.t.Helper()
	opts := client.StartWorkflowOptions{ID: workflows.WorkflowID(id), TaskQueue: config.TaskQueue}
	in := workflows.SyncInput{IntegrationID: id, Mode: mode, PollInterval: "1h"}
	var err error
	if paused {
		_, err = w.tc.SignalWithStartWorkflow(context.Background(), opts.ID, workflows.SignalPause, nil, opts, workflows.WorkflowName, in)
	} else {
		_, err = w.tc.ExecuteWorkflow(context.Background(), opts, workflows.WorkflowName, in)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = w.tc.TerminateWorkflow(context.Background(), opts.ID, "", "test over") })
}

// stop ends the worker and waits for it.
func (w *consoleWorld) stop() {
	w.stopWork()
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Errorf("worker stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		w.t.Error("worker did not stop within 30s")
	}
}

// panel reads the agent panel of a Desk contact as a Desk agent (their own Desk token).
func (w *consoleWorld) panel(agentID, deskID string) (int, string) {
	w.t.Helper()
	tok, err := w.desk.AgentToken(agentID, time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, w.base+"/api/v1/panel/contacts/"+deskID, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// browser drives headless Chromium through the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	ctx := browsertest.New(t)
	// The first action starts the browser and must not carry a deadline (it would stop it).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// step gives one browser action a deadline.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 60*time.Second)
}

// do runs browser actions, failing the test on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a console path and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// eval evaluates a JavaScript expression on the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text is the text of the first element matching a CSS selector, "" when there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

// has reports whether an element matches a CSS selector.
func (b *browser) has(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// submit clicks a button that submits a form and waits for the page the answer shows (the
// old page is marked; evaluations fail while the browser navigates, and are tried again).
func (b *browser) submit(sel string) {
	b.t.Helper()
	eval[bool](b, `document.body.dataset.stale = "1", true`)
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	b.settle("the answer to " + sel)
}

// settle waits until the page the browser navigates to is loaded.
func (b *browser) settle(what string) {
	b.t.Helper()
	b.until(`document.readyState === "complete" && document.body !== null && !document.body.dataset.stale`, what, 60*time.Second)
}

// until waits, without reloading, until a JavaScript condition holds on the page (the page
// may navigate meanwhile: evaluations that fail then are tried again).
func (b *browser) until(cond, what string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("wait for %s: not within %s (%v); the page says: %s", what, within, err, b.text("main"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeInto types text into an input.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// choose selects a value in a drop-down as a person would (the change event fires).
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	ok := eval[bool](b, fmt.Sprintf(`(el => { if (!el) return false; el.value = %q; el.dispatchEvent(new Event("change", {bubbles: true})); return el.value === %q; })(document.querySelector(%q))`,
		value, value, sel))
	if !ok {
		b.t.Fatalf("%s does not offer %q", sel, value)
	}
}

// options lists the values a drop-down offers.
func (b *browser) options(sel string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll(%q + " option")).map(o => o.value)`, sel))
}

// waitFor reloads a console path until a JavaScript condition holds on it.
func (b *browser) waitFor(path, cond, what string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		b.open(path)
		if eval[bool](b, cond) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %s; the page says: %s", what, within, b.text("main"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// screenshot saves the page to artifacts/<name>.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	browsertest.SaveScreenshot(b.t, name, png)
}

// jsonField reads one field of a JSON object (for the panel's answers).
func jsonField(body, field string) any {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil
	}
	return m[field]
}

// contains reports whether s contains every one of subs.
func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// chromedpClick is a click on the first element matching a CSS selector.
func chromedpClick(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
