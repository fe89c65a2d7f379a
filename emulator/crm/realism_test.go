package crm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
)

func TestClassify(t *testing.T) {
	s := New(Config{})
	tok, _ := s.Auth().Issue()
	body := func(n int) string {
		recs := make([]string, n)
		for i := range recs {
			recs[i] = `{"Last_Name":"x"}`
		}
		return `{"data":[` + strings.Join(recs, ",") + `]}`
	}
	tests := []struct {
		method, path, body string
		authed             bool
		endpoint           string
		cost               int
		complex            bool
	}{
		{"GET", "/crm/v8/Contacts?fields=Email", "", true, "GET /crm/v8/Contacts", 1, false},
		{"GET", "/crm/v8/Contacts/123", "", true, "GET /crm/v8/Contacts/{id}", 1, false},
		{"POST", "/crm/v8/Contacts", body(1), true, "POST /crm/v8/Contacts", 1, false},
		{"POST", "/crm/v8/Contacts", body(10), true, "POST /crm/v8/Contacts", 1, false},
		{"POST", "/crm/v8/Contacts", body(11), true, "POST /crm/v8/Contacts", 2, true},
		{"PUT", "/crm/v8/Accounts", body(100), true, "PUT /crm/v8/Accounts", 10, true},
		{"POST", "/crm/v8/Contacts/upsert", body(25), true, "POST /crm/v8/Contacts/upsert", 3, true},
		{"PUT", "/crm/v8/Contacts/1", body(1), true, "PUT /crm/v8/Contacts/{id}", 1, false},
		{"DELETE", "/crm/v8/Contacts?ids=1,2", "", true, "DELETE /crm/v8/Contacts", 1, false},
		{"GET", "/crm/v8/Contacts/search?email=a@b.c", "", true, "GET /crm/v8/Contacts/search", 1, true},
		{"GET", "/crm/v8/Contacts/deleted", "", true, "GET /crm/v8/Contacts/deleted", 2, false},
		{"GET", "/crm/v8/Contacts/actions/count", "", true, "GET /crm/v8/Contacts/actions/count", 1, false},
		{"GET", "/crm/v8/Accounts/1/Deals", "", true, "GET /crm/v8/Accounts/{id}/Deals", 1, false},
		{"GET", "/crm/v8/settings/fields?module=Contacts", "", true, "GET /crm/v8/settings/fields", 1, false},
		{"POST", "/crm/v8/actions/watch", `{}`, true, "POST /crm/v8/actions/watch", 1, false},
		{"POST", "/crm/bulk/v8/read", `{}`, true, "POST /crm/bulk/v8/read", 50, false},
		{"GET", "/crm/bulk/v8/read/77", "", true, "GET /crm/bulk/v8/read/{id}", 1, false},
		{"GET", "/crm/bulk/v8/read/77/result", "", true, "GET /crm/bulk/v8/read/{id}/result", 1, false},
		{"POST", "/crm/v8/Contacts", body(50), false, "POST /crm/v8/Contacts", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.authed {
				r.Header.Set("Authorization", zohoauth.HeaderPrefix+tok)
			}
			c := s.classify(r)
			if c.Endpoint != tt.endpoint || c.Cost != tt.cost || c.Complex != tt.complex {
				t.Errorf("classify = %+v, want %s cost %d complex %v", c, tt.endpoint, tt.cost, tt.complex)
			}
		})
	}
}

func TestCreditsExhausted(t *testing.T) {
	e := newEnv(t, Config{Realism: realism.Config{Limits: realism.Limits{DailyCredits: 10}}})
	// 1 credit: under half used, no header.
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email"), nil)
	if h := r.header.Get("X-API-CREDITS-REMAINING"); h != "" {
		t.Errorf("header before half used: %q", h)
	}
	e.call("GET", "/crm/v8/Contacts/deleted", nil)           // 3
	e.call("GET", "/crm/v8/Contacts/deleted", nil)           // 5
	r = e.call("GET", "/crm/v8/Contacts/actions/count", nil) // 6
	if h := r.header.Get("X-API-CREDITS-REMAINING"); h != "4" {
		t.Errorf("X-API-CREDITS-REMAINING = %q, want 4", h)
	}
	for range 4 {
		e.call("GET", "/crm/v8/Contacts/actions/count", nil)
	}
	r = e.call("GET", "/crm/v8/Contacts/actions/count", nil)
	wantCode(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if !strings.Contains(r.body["message"].(string), "24 hour") {
		t.Errorf("message = %v", r.body["message"])
	}
	if st := e.s.Realism().Calls(); st.Credits != 10 || st.Endpoints["GET /crm/v8/Contacts/deleted"].Credits != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	e := newEnv(t, Config{Realism: realism.Config{Latency: time.Minute, Limits: realism.Limits{MaxInFlight: 1}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/crm/v8/Contacts?fields=Email", nil)
		req.Header.Set("Authorization", zohoauth.HeaderPrefix+e.token)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	// Wait until the slow call holds the only slot.
	for e.s.Realism().Calls().MaxInFlight < 1 {
		time.Sleep(time.Millisecond)
	}
	e.s.Realism().SetLatency(0, 0)
	r := e.call("GET", "/crm/v8/Contacts/actions/count", nil)
	wantCode(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if !strings.Contains(r.body["message"].(string), "concurrent") {
		t.Errorf("message = %v", r.body["message"])
	}
	cancel()
	<-done
	for e.s.Realism().Calls().Endpoints["GET /crm/v8/Contacts"].Statuses[realism.StatusDropped] == 0 {
		time.Sleep(time.Millisecond)
	}
	wantStatus(t, e.call("GET", "/crm/v8/Contacts/actions/count", nil), 200)
}

func TestFaults(t *testing.T) {
	e := newEnv(t, Config{})
	eng := e.s.Realism()
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/crm/v8/{module}", Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "A"}}})
	wantCode(t, r, http.StatusServiceUnavailable, "INTERNAL_ERROR")
	if e.s.Count("Contacts") != 0 {
		t.Error("a 503 fault ran the handler")
	}
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/crm/v8/Contacts", Status: 429, Count: 1}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "A"}}}), 429, "TOO_MANY_REQUESTS")

	// Lost: applied, but the client sees a dropped connection.
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/crm/v8/Contacts", Kind: realism.FaultLost, Count: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/crm/v8/Contacts", strings.NewReader(`{"data":[{"Last_Name":"Lost"}]}`))
	req.Header.Set("Authorization", zohoauth.HeaderPrefix+e.token)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("lost response delivered: %d", res.StatusCode)
	}
	if e.s.Count("Contacts") != 1 {
		t.Errorf("lost write not applied: %d contacts", e.s.Count("Contacts"))
	}
	st := eng.Calls().Endpoints["POST /crm/v8/Contacts"]
	if st.Calls != 3 || st.Statuses["503"] != 1 || st.Statuses["429"] != 1 || st.Statuses[realism.StatusDropped] != 1 {
		t.Errorf("call log = %+v", st)
	}
}

func TestAdminHTTP(t *testing.T) {
	e := newEnv(t, Config{})
	admin := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := admin("POST", "/_emulator/load", `{"module":"Contacts","records":[{"id":"4150868000000002175","Last_Name":"Seed","Seats":12,"Created_Time":"2024-01-02T03:04:05+00:00"}]}`)
	if code != 200 || !strings.Contains(body, "4150868000000002175") {
		t.Fatalf("load: %d %s", code, body)
	}
	rec, ok := e.s.Record("Contacts", "4150868000000002175")
	if !ok || rec["Seats"] != int64(12) || rec["Created_Time"] != "2024-01-02T03:04:05+00:00" || rec["Modified_Time"] != "2024-01-02T03:04:05+00:00" {
		t.Errorf("loaded record = %v", rec)
	}
	if code, body := admin("POST", "/_emulator/load", `{"module":"Contacts","records":[{"Nope":1}]}`); code != 400 || !strings.Contains(body, "unknown field") {
		t.Errorf("bad load: %d %s", code, body)
	}
	if code, _ := admin("POST", "/_emulator/fields", `{"module":"Contacts","field":{"api_name":"Badge","data_type":"text","unique":true}}`); code != 201 {
		t.Errorf("add field: %d", code)
	}
	e.call("GET", "/crm/v8/Contacts/actions/count", nil)
	if code, body := admin("GET", "/_emulator/calls", ""); code != 200 || !strings.Contains(body, `"GET /crm/v8/Contacts/actions/count":{"calls":1`) {
		t.Errorf("calls: %d %s", code, body)
	}
	if code, _ := admin("POST", "/_emulator/tokens/expire", ""); code != 200 {
		t.Errorf("expire: %d", code)
	}
	wantCode(t, e.call("GET", "/crm/v8/Contacts/actions/count", nil), 401, "INVALID_TOKEN")
	if code, _ := admin("POST", "/_emulator/reset", ""); code != 204 {
		t.Errorf("reset: %d", code)
	}
	if e.s.Count("Contacts") != 0 || len(e.s.Realism().Calls().Endpoints) != 0 {
		t.Errorf("reset left %d contacts / %v", e.s.Count("Contacts"), e.s.Realism().Calls())
	}
	for _, f := range e.s.Fields("Contacts") {
		if f.APIName == "Badge" {
			t.Error("reset kept a run-time field")
		}
	}
	// Records lists live records in id order.
	if _, err := e.s.Load("Contacts", []map[string]any{{"Last_Name": "B", "id": "2"}, {"Last_Name": "A", "id": "1"}}); err != nil {
		t.Fatal(err)
	}
	if rs := e.s.Records("Contacts"); len(rs) != 2 || rs[0]["id"] != "1" {
		t.Errorf("Records = %v", rs)
	}
}

func TestComplexSubLimitDefault(t *testing.T) {
	tests := []struct {
		limits realism.Limits
		want   int
	}{
		{realism.Limits{}, 0},
		{realism.Limits{MaxInFlight: 20}, DefaultComplexLimit},
		{realism.Limits{MaxInFlight: 20, MaxComplexInFlight: 4}, 4},
	}
	for _, tt := range tests {
		s := New(Config{Realism: realism.Config{Limits: tt.limits}})
		if got := s.Realism().Limits().MaxComplexInFlight; got != tt.want {
			t.Errorf("limits %+v: complex sub-limit %d, want %d", tt.limits, got, tt.want)
		}
	}
}

func TestSharedAuthStore(t *testing.T) {
	store := zohoauth.NewStore(zohoauth.Config{})
	a := New(Config{Auth: store})
	b := New(Config{Auth: store})
	if a.Auth() != b.Auth() {
		t.Fatal("emulators do not share the store")
	}
}
