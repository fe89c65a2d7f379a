package crm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookSink records notification callbacks.
type hookSink struct {
	mu    sync.Mutex
	calls []map[string]any
	srv   *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("callback body is not JSON: %s", b)
		}
		h.mu.Lock()
		h.calls = append(h.calls, v)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// waitFor polls until n callbacks arrived (or fails after 10 s).
func (h *hookSink) waitFor(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := append([]map[string]any(nil), h.calls...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d callbacks, want %d: %v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *hookSink) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.calls)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

func TestNotifications(t *testing.T) {
	e := newEnv(t, Config{NotifyWindow: 50 * time.Millisecond})
	hook := newHookSink(t)
	r := e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 1000000068001, "events": []any{"Contacts.all", "Accounts.create"}, "notify_url": hook.srv.URL + "/crm",
		"token": "s3cret", "return_affected_field_values": true,
	}}})
	wantStatus(t, r, http.StatusCreated)
	item := r.body["watch"].([]any)[0].(map[string]any)
	events := item["details"].(map[string]any)["events"].([]any)
	if item["code"] != "SUCCESS" || len(events) != 2 {
		t.Fatalf("subscribe = %v", item)
	}
	ev := events[0].(map[string]any)
	if ev["resource_uri"] != e.srv.URL+"/crm/v8/Contacts" || ev["channel_id"] != "1000000068001" {
		t.Errorf("event = %v", ev)
	}
	exp, _ := time.Parse(time.RFC3339, ev["channel_expiry"].(string))
	if d := time.Until(exp); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("default expiry in %v, want 1 h", d)
	}

	// A burst of inserts is coalesced into one callback per operation.
	a := e.insert("Contacts", map[string]any{"Last_Name": "A"}, map[string]any{"Last_Name": "B"})
	c := e.insert("Contacts", map[string]any{"Last_Name": "C"})
	calls := hook.waitFor(t, 1)
	got := calls[0]
	want := append(append([]string{}, a...), c...)
	sort.Strings(want)
	if got["operation"] != "insert" || got["module"] != "Contacts" || got["token"] != "s3cret" ||
		got["channel_id"] != float64(1000000068001) || got["resource_uri"] != e.srv.URL+"/crm/v8/Contacts" ||
		strings.Join(strs(got["ids"]), ",") != strings.Join(want, ",") {
		t.Errorf("insert callback = %v", got)
	}
	if _, ok := got["server_time"].(float64); !ok {
		t.Errorf("server_time = %v", got["server_time"])
	}

	wantStatus(t, e.call("PUT", "/crm/v8/Contacts/"+a[0], map[string]any{"data": []any{map[string]any{"Email": "a@x.com", "Title": "CTO"}}}), 200)
	calls = hook.waitFor(t, 2)
	if calls[1]["operation"] != "update" {
		t.Errorf("update callback = %v", calls[1])
	}
	aff := calls[1]["affected_fields"].([]any)[0].(map[string]any)[a[0]].([]any)
	if len(aff) != 2 {
		t.Errorf("affected_fields = %v", calls[1]["affected_fields"])
	}
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts?ids="+c[0], nil), 200)
	calls = hook.waitFor(t, 3)
	if calls[2]["operation"] != "delete" || strs(calls[2]["ids"])[0] != c[0] {
		t.Errorf("delete callback = %v", calls[2])
	}
	// Accounts: create only.
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Z"})[0]
	calls = hook.waitFor(t, 4)
	if calls[3]["module"] != "Accounts" || strs(calls[3]["ids"])[0] != acc {
		t.Errorf("account callback = %v", calls[3])
	}
	wantStatus(t, e.call("PUT", "/crm/v8/Accounts/"+acc, map[string]any{"data": []any{map[string]any{"Phone": "1"}}}), 200)

	// List, then remove the Contacts events with PATCH.
	r = e.call("GET", "/crm/v8/actions/watch", nil)
	wantStatus(t, r, 200)
	if w := r.body["watch"].([]any); len(w) != 1 || w[0].(map[string]any)["notify_url"] != hook.srv.URL+"/crm" {
		t.Errorf("list = %v", r.body)
	}
	r = e.call("PATCH", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 1000000068001, "events": []any{"Contacts.all"}, "_delete_events": true}}}, badReq)
	wantStatus(t, r, 200)
	e.insert("Contacts", map[string]any{"Last_Name": "Unwatched"})
	// Then unsubscribe entirely.
	r = e.call("DELETE", "/crm/v8/actions/watch?channel_ids=1000000068001", nil)
	wantStatus(t, r, 200)
	e.insert("Accounts", map[string]any{"Account_Name": "After unsubscribe"})
	wantStatus(t, e.call("GET", "/crm/v8/actions/watch", nil), http.StatusNoContent)
	// Nothing else arrives: wait for a flush window to pass on a second,
	// still-subscribed channel as a barrier.
	barrier := newHookSink(t)
	e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 2, "events": []any{"Deals.create"}, "notify_url": barrier.srv.URL}}}, badReq)
	if _, err := e.s.Load("Deals", nil); err != nil {
		t.Fatal(err)
	}
	e.insert("Deals", map[string]any{"Deal_Name": "D", "Stage": "Qualification"})
	barrier.waitFor(t, 1)
	time.Sleep(100 * time.Millisecond) // let any stray flush land before counting
	if n := hook.count(); n != 4 {
		t.Errorf("%d callbacks after unwatching, want 4", n)
	}
	if sent, failed := e.s.NotificationsSent(); sent != 5 || failed != 0 {
		t.Errorf("NotificationsSent = %d, %d", sent, failed)
	}
}

func TestNotificationChannelExpiry(t *testing.T) {
	c := newClock()
	c.now = time.Now()
	e := newEnv(t, Config{Now: c.Now, NotifyWindow: 10 * time.Millisecond})
	hook := newHookSink(t)
	exp := c.Now().Add(2 * time.Hour).Format(time.RFC3339)
	wantStatus(t, e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": "7", "events": []any{"Contacts.create"}, "notify_url": hook.srv.URL, "channel_expiry": exp}}}, badReq), http.StatusCreated)
	e.insert("Contacts", map[string]any{"Last_Name": "Seen"})
	hook.waitFor(t, 1)
	c.Add(3 * time.Hour)
	e.insert("Contacts", map[string]any{"Last_Name": "Not seen"})
	time.Sleep(50 * time.Millisecond)
	if n := hook.count(); n != 1 {
		t.Errorf("expired channel fired: %d callbacks", n)
	}
	wantStatus(t, e.call("GET", "/crm/v8/actions/watch", nil), http.StatusNoContent)
}

func TestWatchValidation(t *testing.T) {
	e := newEnv(t, Config{})
	now := time.Now()
	tests := []struct {
		name string
		item map[string]any
		code string
	}{
		{"missing channel_id", map[string]any{"events": []any{"Contacts.all"}, "notify_url": "https://example.com/h"}, "MANDATORY_NOT_FOUND"},
		{"missing events", map[string]any{"channel_id": 1, "notify_url": "https://example.com/h"}, "MANDATORY_NOT_FOUND"},
		{"unknown module", map[string]any{"channel_id": 1, "events": []any{"Widgets.all"}, "notify_url": "https://example.com/h"}, "INVALID_DATA"},
		{"unknown operation", map[string]any{"channel_id": 1, "events": []any{"Contacts.explode"}, "notify_url": "https://example.com/h"}, "INVALID_DATA"},
		{"missing url", map[string]any{"channel_id": 1, "events": []any{"Contacts.all"}}, "MANDATORY_NOT_FOUND"},
		{"bad url", map[string]any{"channel_id": 1, "events": []any{"Contacts.all"}, "notify_url": "ftp://x"}, "INVALID_DATA"},
		{"token too long", map[string]any{"channel_id": 1, "events": []any{"Contacts.all"}, "notify_url": "https://example.com/h", "token": strings.Repeat("t", 51)}, "INVALID_DATA"},
		{"expiry beyond a week", map[string]any{"channel_id": 1, "events": []any{"Contacts.all"}, "notify_url": "https://example.com/h",
			"channel_expiry": now.Add(8 * 24 * time.Hour).Format(time.RFC3339)}, "INVALID_DATA"},
		{"expiry in the past", map[string]any{"channel_id": 1, "events": []any{"Contacts.all"}, "notify_url": "https://example.com/h",
			"channel_expiry": now.Add(-time.Hour).Format(time.RFC3339)}, "INVALID_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{tt.item}}, badReq)
			wantStatus(t, r, http.StatusAccepted)
			if item := r.body["watch"].([]any)[0].(map[string]any); item["code"] != tt.code {
				t.Errorf("item = %v, want %s", item, tt.code)
			}
		})
	}
	wantCode(t, e.call("POST", "/crm/v8/actions/watch", `{"watch":`, badReq), 400, "INVALID_DATA")
	wantCode(t, e.call("DELETE", "/crm/v8/actions/watch", nil, badReq), 400, "REQUIRED_PARAM_MISSING")
	r := e.call("DELETE", "/crm/v8/actions/watch?channel_ids=99", nil)
	wantStatus(t, r, http.StatusAccepted)
	r = e.call("PATCH", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{"channel_id": 99, "token": "x"}}}, badReq)
	wantStatus(t, r, http.StatusAccepted)
	if item := r.body["watch"].([]any)[0].(map[string]any); item["code"] != "NOT_SUBSCRIBED" {
		t.Errorf("patch of an unknown channel = %v", item)
	}
}

func TestNotificationsDoNotBlockWrites(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	e := newEnv(t, Config{NotifyWindow: time.Millisecond})
	e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 5, "events": []any{"Contacts.all"}, "notify_url": slow.URL}}}, badReq)
	// Every write completes although the receiver never answers.
	for i := range 20 {
		e.insert("Contacts", map[string]any{"Last_Name": "N" + string(rune('a'+i))})
	}
	if e.s.Count("Contacts") != 20 {
		t.Errorf("Count = %d", e.s.Count("Contacts"))
	}
}
