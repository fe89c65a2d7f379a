package realism

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testAPI is a tiny emulated API: every path answers 200 "ok" and counts
// the calls that reached it; /block waits until release is closed.
type testAPI struct {
	reached atomic.Int64
	release chan struct{}
	entered chan struct{}
}

func (a *testAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.reached.Add(1)
	if r.URL.Path == "/block" {
		a.entered <- struct{}{}
		<-a.release
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func classify(r *http.Request) Call {
	c := Call{Endpoint: r.Method + " " + r.URL.Path, Cost: 1}
	if r.URL.Query().Get("complex") != "" {
		c.Complex = true
	}
	if r.URL.Query().Get("cost") == "2" {
		c.Cost = 2
	}
	return c
}

var testResponses = Responses{
	TooManyRequests: func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusTooManyRequests, map[string]string{"code": "TOO_MANY_REQUESTS"})
	},
	CreditsExhausted: func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusTooManyRequests, map[string]string{"code": "CREDITS"})
	},
	ServerError: func(w http.ResponseWriter, r *http.Request, status int) {
		WriteJSON(w, status, map[string]string{"code": "INTERNAL_ERROR"})
	},
	CreditHeaders: CRMCreditHeaders,
}

func newTestServer(t *testing.T, cfg Config) (*Engine, *testAPI, *httptest.Server) {
	t.Helper()
	e := New(cfg)
	api := &testAPI{release: make(chan struct{}), entered: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.Handle(AdminPrefix, e.AdminHandler(nil))
	mux.Handle("/", e.Handler(classify, testResponses, api))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return e, api, srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestDelayIsSeededAndBounded(t *testing.T) {
	a := New(Config{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 42})
	b := New(Config{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 42})
	for range 100 {
		da, db := a.delay(), b.delay()
		if da != db {
			t.Fatalf("same seed gave %v and %v", da, db)
		}
		if da < 10*time.Millisecond || da >= 15*time.Millisecond {
			t.Fatalf("delay %v outside [10ms,15ms)", da)
		}
	}
	a.SetLatency(0, 0)
	if d := a.delay(); d != 0 {
		t.Errorf("delay after SetLatency(0,0) = %v", d)
	}
	if f, j := a.Latency(); f != 0 || j != 0 {
		t.Errorf("Latency() = %v, %v", f, j)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	tests := []struct {
		name    string
		limits  Limits
		block   int    // requests parked in the handler
		extra   string // query of the request that must be rejected
		wantMax int
	}{
		{name: "in-flight limit", limits: Limits{MaxInFlight: 3}, block: 3, extra: "", wantMax: 3},
		{name: "complex sub-limit", limits: Limits{MaxInFlight: 10, MaxComplexInFlight: 2}, block: 2, extra: "?complex=1", wantMax: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, api, srv := newTestServer(t, Config{Limits: tt.limits})
			q := ""
			if tt.extra != "" {
				q = tt.extra
			}
			var wg sync.WaitGroup
			for range tt.block {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, _, _ := get(t, srv.URL+"/block"+q); code != 200 {
						t.Errorf("parked call got %d", code)
					}
				}()
			}
			for range tt.block {
				<-api.entered
			}
			code, body, _ := get(t, srv.URL+"/other"+q)
			if code != http.StatusTooManyRequests || !strings.Contains(body, "TOO_MANY_REQUESTS") {
				t.Errorf("over the limit: %d %s, want 429 TOO_MANY_REQUESTS", code, body)
			}
			if tt.limits.MaxComplexInFlight > 0 {
				// A simple call still fits under the overall limit.
				if code, _, _ := get(t, srv.URL+"/simple"); code != 200 {
					t.Errorf("simple call under complex pressure: %d", code)
				}
			}
			close(api.release)
			wg.Wait()
			st := e.Calls()
			if st.MaxInFlight != tt.wantMax {
				t.Errorf("MaxInFlight = %d, want %d", st.MaxInFlight, tt.wantMax)
			}
			if got := st.Endpoints["GET /other"].Statuses["429"]; got != 1 {
				t.Errorf("429 count = %d, want 1", got)
			}
			// Slots are released: the next call passes.
			if code, _, _ := get(t, srv.URL+"/after"+q); code != 200 {
				t.Errorf("after release: %d", code)
			}
		})
	}
}

func TestCredits(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e, api, srv := newTestServer(t, Config{Limits: Limits{DailyCredits: 4}, Now: clock})

	steps := []struct {
		query      string
		wantStatus int
		wantHeader string // X-API-CREDITS-REMAINING
	}{
		{"", 200, ""},         // used 1 of 4: under half, no header
		{"?cost=2", 200, "1"}, // used 3: header shows 1 remaining
		{"?cost=2", 429, ""},  // would need 5 > 4
		{"", 200, "0"},        // used 4
		{"", 429, ""},         // exhausted
	}
	for i, s := range steps {
		code, body, h := get(t, srv.URL+"/x"+s.query)
		if code != s.wantStatus {
			t.Fatalf("step %d: status %d (%s), want %d", i, code, body, s.wantStatus)
		}
		if code == 429 && !strings.Contains(body, "CREDITS") {
			t.Errorf("step %d: body %s, want the credits error", i, body)
		}
		if got := h.Get("X-API-CREDITS-REMAINING"); got != s.wantHeader {
			t.Errorf("step %d: X-API-CREDITS-REMAINING = %q, want %q", i, got, s.wantHeader)
		}
	}
	if got := api.reached.Load(); got != 3 {
		t.Errorf("handler reached %d times, want 3", got)
	}
	if c := e.Calls(); c.Credits != 4 {
		t.Errorf("credits charged = %d, want 4", c.Credits)
	}
	// A new window restores the allowance.
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	if code, _, _ := get(t, srv.URL+"/x"); code != 200 {
		t.Errorf("after the window rolled: %d", code)
	}
	if c := e.Credits(); c.Used != 1 || c.Remaining != 3 {
		t.Errorf("Credits() = %+v, want used 1 remaining 3", c)
	}
}

func TestDeskCreditHeaders(t *testing.T) {
	h := http.Header{}
	DeskCreditHeaders(h, Call{Cost: 3}, Credits{Limit: 100, Used: 10, Remaining: 90})
	if h.Get("X-Rate-Limit-Request-Weight-v3") != "3" || h.Get("X-Rate-Limit-Remaining-v3") != "90" {
		t.Errorf("headers = %v", h)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       Fault
		wantStatus  int  // 0 = connection dropped
		wantReached bool // handler ran
		wantKey     string
	}{
		{"503", Fault{Path: "/f", Kind: FaultStatus, Status: 503, Count: 1}, 503, false, "503"},
		{"default 500", Fault{Path: "/f", Kind: FaultStatus}, 500, false, "500"},
		{"429", Fault{Method: "GET", Path: "/f", Status: 429}, 429, false, "429"},
		{"reset", Fault{Path: "/f", Kind: FaultReset}, 0, false, StatusDropped},
		{"timeout", Fault{Path: "/f", Kind: FaultTimeout, HoldMS: 20}, 0, false, StatusDropped},
		{"lost", Fault{Path: "/{x}", Kind: FaultLost}, 0, true, StatusDropped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, api, srv := newTestServer(t, Config{})
			if _, err := e.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(srv.URL + "/f")
			status := 0
			if err == nil {
				status = resp.StatusCode
				_ = resp.Body.Close()
			}
			if status != tt.wantStatus {
				t.Fatalf("status %d (err %v), want %d", status, err, tt.wantStatus)
			}
			if got := api.reached.Load() == 1; got != tt.wantReached {
				t.Errorf("handler reached = %v, want %v", got, tt.wantReached)
			}
			if got := e.Calls().Endpoints["GET /f"].Statuses[tt.wantKey]; got != 1 {
				t.Errorf("Statuses[%s] = %d, want 1", tt.wantKey, got)
			}
			// Other paths are unaffected.
			if code, _, _ := get(t, srv.URL+"/g/h"); code != 200 {
				t.Errorf("unmatched path: %d", code)
			}
		})
	}
}

func TestFaultCountAndRate(t *testing.T) {
	e, _, srv := newTestServer(t, Config{Seed: 7})
	if _, err := e.AddFault(Fault{Path: "/c", Status: 500, Count: 2}); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for range 4 {
		code, _, _ := get(t, srv.URL+"/c")
		codes = append(codes, code)
	}
	if want := []int{500, 500, 200, 200}; !equalInts(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	e.ClearFaults()
	if _, err := e.AddFault(Fault{Path: "/r", Status: 503, Rate: 0.5}); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for range 200 {
		if code, _, _ := get(t, srv.URL+"/r"); code == 503 {
			hits++
		}
	}
	if hits < 60 || hits > 140 {
		t.Errorf("rate 0.5 fired %d of 200 times", hits)
	}
	if f := e.Faults(); len(f) != 1 || f[0].Injected != hits {
		t.Errorf("Faults() = %+v, want one with Injected %d", f, hits)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidateFault(t *testing.T) {
	tests := []struct {
		name    string
		f       Fault
		wantErr bool
	}{
		{"status ok", Fault{Kind: FaultStatus, Status: 503}, false},
		{"status implied", Fault{Status: 502}, false},
		{"bad status", Fault{Kind: FaultStatus, Status: 200}, true},
		{"bad kind", Fault{Kind: "explode"}, true},
		{"bad rate", Fault{Kind: FaultReset, Rate: 1.5}, true},
		{"relative path", Fault{Kind: FaultLost, Path: "crm"}, true},
		{"negative count", Fault{Kind: FaultLost, Count: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := validateFault(tt.f); (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/crm/v8/Contacts", "/crm/v8/Contacts", true},
		{"/crm/v8/Contacts", "/crm/v8/Accounts", false},
		{"/crm/v8/{module}", "/crm/v8/Accounts", true},
		{"/crm/v8/*/search", "/crm/v8/Accounts/search", true},
		{"/crm/v8/*/search", "/crm/v8/Accounts/1", false},
		{"/crm/**", "/crm/v8/Accounts/1/Deals", true},
		{"/crm/v8/{module}", "/crm/v8/Accounts/1", false},
		{"/crm/v8/{module}/{id}", "/crm/v8/Accounts", false},
	}
	for _, tt := range tests {
		if got := matchSegments(splitPath(tt.pattern), splitPath(tt.path)); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

type fakeTokens struct{ n int }

func (f *fakeTokens) ExpireAll() int { f.n++; return 5 }

func TestAdminAPI(t *testing.T) {
	e := New(Config{})
	tokens := &fakeTokens{}
	api := &testAPI{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.Handle(AdminPrefix, e.AdminHandler(tokens))
	mux.Handle("/", e.Handler(classify, testResponses, api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get(t, srv.URL+"/crm/v8/Contacts")
	get(t, srv.URL+"/crm/v8/Contacts")

	steps := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string
	}{
		{"GET", "/_emulator/calls", "", 200, `"GET /crm/v8/Contacts":{"calls":2,"credits":2,"statuses":{"200":2}}`},
		{"POST", "/_emulator/calls/reset", "", 204, ""},
		{"GET", "/_emulator/calls", "", 200, `"total":0`},
		{"PUT", "/_emulator/latency", `{"fixed_ms":5,"jitter_ms":2}`, 200, `"fixed_ms":5`},
		{"PUT", "/_emulator/latency", `{"fixed_ms":-1}`, 400, "negative"},
		{"PUT", "/_emulator/latency", `{"fixd_ms":1}`, 400, "unknown field"},
		{"PUT", "/_emulator/limits", `{"max_in_flight":7,"daily_credits":100,"credits_used":60}`, 200, `"max_in_flight":7`},
		{"PUT", "/_emulator/limits", `{"max_complex_in_flight":3}`, 200, `"remaining":40`},
		{"POST", "/_emulator/faults", `{"path":"/crm/v8/Contacts","kind":"status","status":503,"count":1}`, 201, `"id":"1"`},
		{"POST", "/_emulator/faults", `{"kind":"bogus"}`, 400, "fault kind"},
		{"GET", "/_emulator/faults", "", 200, `"status":503`},
		{"DELETE", "/_emulator/faults?id=9", "", 404, "no fault"},
		{"DELETE", "/_emulator/faults", "", 204, ""},
		{"GET", "/_emulator/faults", "", 200, `[]`},
		{"POST", "/_emulator/tokens/expire", "", 200, `{"expired":5}`},
		{"GET", "/_emulator/nope", "", 404, "no admin endpoint"},
	}
	for i, s := range steps {
		code, body := do(s.method, s.path, s.body)
		if code != s.wantStatus || !strings.Contains(body, s.wantBody) {
			t.Errorf("step %d %s %s: %d %s, want %d containing %s", i, s.method, s.path, code, body, s.wantStatus, s.wantBody)
		}
	}
	if f, j := e.Latency(); f != 5*time.Millisecond || j != 2*time.Millisecond {
		t.Errorf("latency = %v/%v", f, j)
	}
	if l := e.Limits(); l != (Limits{MaxInFlight: 7, MaxComplexInFlight: 3, DailyCredits: 100}) {
		t.Errorf("limits = %+v", l)
	}
	if tokens.n != 1 {
		t.Errorf("ExpireAll called %d times", tokens.n)
	}
	var st Stats
	_, body := do("GET", "/_emulator/calls", "")
	if err := json.NewDecoder(bytes.NewBufferString(body)).Decode(&st); err != nil {
		t.Fatal(err)
	}
}
