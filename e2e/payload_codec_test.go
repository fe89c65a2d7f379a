package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"

	"deskcrm/codec"
	"deskcrm/internal/browsertest"
	"deskcrm/internal/temporaltest"
	"deskcrm/workflows"
	"deskcrm/zoho/crm"
)

// customerValues are values seedWorld puts in the two systems (and the incremental change
// below); none may appear in Temporal's history when payloads are encrypted.
var customerValues = []string{
	"alice@acme.com", "ALICE@Acme.com", "Liddell", "555-0101", "555-9999", "555-4242", "bob@globex.com", "Builder",
	"erin@umbrella.com", "Umbra", "dave@x.com", "DAVE@x.com", "Acme, Inc.", "ACME Inc", "Globex", "Umbrella",
	"Initech", "INITECH", "olga@old.com", "oscar@old.com", "NoEmail",
}

const codecAdmin = "e2e-codec-admin-token"

// With DESKCRM_PAYLOAD_KEY set, a whole first sync and an incremental pass leave no customer
// value in the dev server's history, read raw through its HTTP API: every payload is sealed,
// and so is every failure message. The codec server opens them for the admin, and the
// Temporal UI, configured with it, shows the history decoded (screenshot in artifacts/).
func TestHistoryIsEncrypted(t *testing.T) {
	key := make([]byte, codec.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c, err := codec.New(key)
	if err != nil {
		t.Fatal(err)
	}
	// The codec server must be known to the UI before the dev server starts, and the UI's
	// origin to the codec server: the origin is filled in once the UI's port is known.
	var codecHandler atomic.Pointer[http.Handler]
	codecSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := codecHandler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not yet", http.StatusServiceUnavailable)
	}))
	t.Cleanup(codecSrv.Close)
	tc, srv := temporaltest.StartWith(t, temporaltest.Options{
		ClientOptions: client.Options{DataConverter: codec.DataConverter(c), FailureConverter: codec.FailureConverter(c)},
		HTTP:          true, UI: true, CodecEndpoint: codecSrv.URL + codec.Prefix, IncludeCredentials: true,
	})
	handler := codec.Server(c, codec.ServerOptions{AdminToken: codecAdmin, Origins: []string{"http://" + srv.UI}})
	codecHandler.Store(&handler)

	h := newHarness(t, tc)
	seedWorld(t, h)
	h.startWorker()
	run := h.start(workflows.SyncInput{IntegrationID: "e2e-codec", PollInterval: "1h"})
	h.waitInitial("e2e-codec", 2*time.Minute, nil)
	// An incremental pass too: a person changes Alice's phone in CRM; the sync carries it.
	u := newUsers(t, h)
	alice := find(t, h.crm.Records("Contacts"), "Email", "alice@acme.com")
	if _, err := u.crm.Update(context.Background(), "Contacts", []crm.Record{{ID: alice, Fields: map[string]any{"Phone": "555-4242"}}}); err != nil {
		t.Fatal(err)
	}
	if err := tc.SignalWorkflow(context.Background(), run.GetID(), "", workflows.SignalSyncNow, nil); err != nil {
		t.Fatal(err)
	}
	deskAlice := find(t, h.desk.Records("contacts"), "email", "alice@acme.com")
	waitUntil(t, time.Minute, "the CRM change reaches Desk", func() bool {
		r, _ := h.desk.Record("contacts", deskAlice)
		return r["phone"] == "555-4242"
	})

	raw := rawHistory(t, srv.HTTP, run.GetID())
	sealed, clear := checkPayloads(t, raw)
	if sealed == 0 {
		t.Fatal("no payload found in the history")
	}
	for _, p := range clear {
		t.Errorf("a payload is not sealed: %s", p)
	}
	for _, v := range customerValues {
		if containsAnywhere(raw, v) {
			t.Errorf("the raw history contains the customer value %q", v)
		}
	}
	if !strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte(codec.EncodingEncrypted))) {
		t.Error("no payload is marked binary/encrypted")
	}
	t.Logf("%d sealed payloads in %d bytes of raw history", sealed, len(raw))

	// What the codec server gives the admin back: the payloads in clear. Logged: the values a
	// history without DESKCRM_PAYLOAD_KEY would show.
	opened := decodeAll(t, codecSrv.URL, raw)
	if !strings.Contains(opened, "e2e-codec") {
		t.Fatalf("the decoded history does not even name the integration:\n%.2000s", opened)
	}
	// Failure messages are sealed too: the ambiguous matches of seedWorld fail their
	// ReportFailure activities with a message that is in the decoded history only.
	const failureText = "not matched to avoid a guess"
	if containsAnywhere(raw, failureText) {
		t.Error("a failure message is in clear in the raw history")
	}
	if !strings.Contains(opened, failureText) {
		t.Errorf("the decoded history lacks the failure messages:\n%.2000s", opened)
	}
	var shown []string
	for _, v := range customerValues {
		if strings.Contains(opened, v) {
			shown = append(shown, v)
		}
	}
	t.Logf("customer values that decoding reveals (in clear without a payload key): %q", shown)

	uiShowsDecodedHistory(t, srv.UI, codecSrv.URL, run.GetID(), run.GetRunID())
}

// rawHistory reads a workflow's whole history from the dev server's HTTP API, as JSON pages.
func rawHistory(t *testing.T, httpAddr, workflowID string) []byte {
	t.Helper()
	var all []byte
	token := ""
	for {
		u := fmt.Sprintf("http://%s/api/v1/namespaces/default/workflows/%s/history?maximumPageSize=1000", httpAddr, url.PathEscape(workflowID))
		if token != "" {
			u += "&nextPageToken=" + url.QueryEscape(token)
		}
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET history: %d %v %.500s", res.StatusCode, err, b)
		}
		all = append(all, b...)
		var page struct {
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		if page.NextPageToken == "" {
			return all
		}
		token = page.NextPageToken
	}
}

// checkPayloads walks the history JSON and counts the payloads (objects with metadata and
// data) sealed by the codec; it returns the others, search attributes left aside.
func checkPayloads(t *testing.T, raw []byte) (sealed int, clear []string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		walk(v, func(m map[string]any) {
			md, ok := m["metadata"].(map[string]any)
			if _, hasData := m["data"]; !ok || !hasData {
				return
			}
			if _, searchAttribute := md["type"]; searchAttribute {
				// Search attributes stay in clear for Temporal to index them: state, mode,
				// times, counts and version markers only (the value check above covers them).
				return
			}
			enc, _ := md["encoding"].(string)
			if b, err := base64.StdEncoding.DecodeString(enc); err == nil && string(b) == codec.EncodingEncrypted {
				sealed++
				return
			}
			j, _ := json.Marshal(m)
			clear = append(clear, string(j))
		})
	}
	return sealed, clear
}

func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walk(e, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

// containsAnywhere looks for s in the raw JSON and in every string of it that is base64.
func containsAnywhere(raw []byte, s string) bool {
	if strings.Contains(string(raw), s) {
		return true
	}
	found := false
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for dec.More() && !found {
		if dec.Decode(&v) != nil {
			return found
		}
		var visit func(any)
		visit = func(x any) {
			switch y := x.(type) {
			case string:
				if b, err := base64.StdEncoding.DecodeString(y); err == nil && strings.Contains(string(b), s) {
					found = true
				}
			case map[string]any:
				for _, e := range y {
					visit(e)
				}
			case []any:
				for _, e := range y {
					visit(e)
				}
			}
		}
		visit(v)
	}
	return found
}

// decodeAll sends every sealed payload of the history to the codec server (as the admin)
// and returns the decoded payloads' data, concatenated.
func decodeAll(t *testing.T, codecURL string, raw []byte) string {
	t.Helper()
	var payloads []map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		walk(v, func(m map[string]any) {
			if _, ok := m["metadata"].(map[string]any); ok {
				if _, ok := m["data"]; ok {
					payloads = append(payloads, m)
				}
			}
		})
	}
	body, _ := json.Marshal(map[string]any{"payloads": payloads})
	req, _ := http.NewRequest(http.MethodPost, codecURL+codec.Prefix+"/decode", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+codecAdmin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Payloads []struct {
			Data string `json:"data"`
		} `json:"payloads"`
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("decode through the codec server: %d %.300s", res.StatusCode, b)
	}
	var sb strings.Builder
	for _, p := range out.Payloads {
		d, _ := base64.StdEncoding.DecodeString(p.Data)
		sb.Write(d)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// uiShowsDecodedHistory signs in to the codec server in headless Chromium, opens the
// workflow's history in the Temporal UI and checks that the UI shows the workflow input
// decoded (the integration id), not the sealed bytes; the page goes to
// artifacts/ui-decoded-history.png.
func uiShowsDecodedHistory(t *testing.T, uiAddr, codecURL, workflowID, runID string) {
	t.Helper()
	ctx := browsertest.New(t)
	// The first action starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate(codecURL+codec.LoginPath)); err != nil {
		t.Fatalf("open the codec sign-in page: %v", err)
	}
	step, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), codecAdmin),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("sign in to the codec server: %v", err)
	}
	page := fmt.Sprintf("http://%s/namespaces/default/workflows/%s/%s/history", uiAddr, url.PathEscape(workflowID), runID)
	if err := chromedp.Do(step, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open the UI: %v", err)
	}
	_, err := chromedp.Run(step, chromedp.Poll[bool](`document.body && document.body.innerText.includes('"integrationId"') && document.body.innerText.includes('e2e-codec')`,
		chromedp.WithPollingInterval(500*time.Millisecond)))
	text, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS("body")))
	if shot, serr := chromedp.Run(step, chromedp.FullScreenshot(100)); serr == nil && len(shot) > 0 {
		t.Logf("screenshot: %s", browsertest.SaveScreenshot(t, "ui-decoded-history.png", shot))
	}
	if err != nil {
		t.Fatalf("the UI did not show the decoded input: %v\npage text:\n%.3000s", err, text)
	}
	if strings.Contains(text, codec.EncodingEncrypted) {
		t.Errorf("the UI shows sealed payloads:\n%.3000s", text)
	}
}
