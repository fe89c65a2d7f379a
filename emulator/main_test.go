package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/realism"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesBothAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	ready := make(chan Addrs, 1)
	done := make(chan error, 1)
	env := map[string]string{"EMULATOR_SEED_ACCOUNTS": "10"}
	go func() {
		done <- run(ctx, []string{"--crm-port", "0", "--desk-port", "0", "--seed-contacts", "40", "--seed", "7",
			"--fault", "503 GET /api/v1/profiles count=1"}, func(k string) string { return env[k] }, &logs, func(a Addrs) { ready <- a })
	}()
	var addrs Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v\n%s", err, logs.String())
	}
	// One OAuth client, token from the CRM host, used on both APIs.
	res, err := http.Post(addrs.CRM+"/oauth/v2/token?grant_type=refresh_token&client_id=deskcrm-dev&client_secret=deskcrm-dev-secret&refresh_token=deskcrm-dev-refresh", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	get := func(url string, hdr map[string]string) (int, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	org := map[string]string{"orgId": "1000000001"}
	if st, b := get(addrs.Desk+"/api/v1/contacts?limit=100", org); st != 200 || strings.Count(string(b), `"lastName"`) == 0 {
		t.Errorf("desk contacts: %d %.200s", st, b)
	}
	if st, b := get(addrs.Desk+"/api/v1/accounts/count", org); st != 200 || !strings.Contains(string(b), `"count":"1`) {
		t.Errorf("desk seeded accounts from the environment: %d %s", st, b)
	}
	if st, b := get(addrs.CRM+"/crm/v8/Contacts?fields=Last_Name,Email", nil); st != 200 {
		t.Errorf("crm contacts: %d %.200s", st, b)
	}
	if st, b := get(addrs.CRM+"/_emulator/search-lag", nil); st != 200 || !strings.Contains(string(b), `"lag_ms":2000`) {
		t.Errorf("crm search lag, default 2s: %d %s", st, b)
	}
	if st, _ := get(addrs.Desk+"/api/v1/profiles", org); st != 503 {
		t.Errorf("fault flag not applied: profiles answered %d", st)
	}
	if st, _ := get(addrs.Desk+"/api/v1/profiles", org); st != 200 {
		t.Errorf("fault with count=1 fired twice: %d", st)
	}
	out := logs.String()
	for _, want := range []string{addrs.CRM, addrs.Desk, "client_id=deskcrm-dev", "seeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if _, err := http.Get(addrs.Desk + "/api/v1/contacts"); err == nil {
		t.Error("desk still serving after stop")
	}
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr bool
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.CRMPort == 8091 && c.DeskPort == 8092 && c.Seed == 42 && c.Host == "127.0.0.1" && c.SeedContacts > 0 &&
				c.SearchLag == 2*time.Second
		}, false},
		{"search lag off", []string{"--search-lag", "0"}, map[string]string{"EMULATOR_SEARCH_LAG": "5s"},
			func(c Config) bool { return c.SearchLag == 0 }, false},
		{"search lag from env", nil, map[string]string{"EMULATOR_SEARCH_LAG": "500ms"},
			func(c Config) bool { return c.SearchLag == 500*time.Millisecond }, false},
		{"negative search lag", []string{"--search-lag", "-1s"}, nil, nil, true},
		{"env", nil, map[string]string{"EMULATOR_DESK_PORT": "9000", "EMULATOR_LATENCY": "50ms", "EMULATOR_FAULTS": "500 GET /x;lost POST /y"},
			func(c Config) bool {
				return c.DeskPort == 9000 && c.Latency == 50*time.Millisecond && len(c.Faults) == 2
			}, false},
		{"flags win", []string{"--desk-port", "9100", "--seed-contacts", "0"}, map[string]string{"EMULATOR_DESK_PORT": "9000"},
			func(c Config) bool { return c.DeskPort == 9100 && c.SeedContacts == 0 }, false},
		{"bad flag", []string{"--nope"}, nil, nil, true},
		{"bad env", nil, map[string]string{"EMULATOR_CRM_PORT": "x"}, nil, true},
		{"negative seed", []string{"--seed-contacts", "-1"}, nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseConfig(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err == nil && !c.check(cfg) {
				t.Errorf("config = %+v", cfg)
			}
		})
	}
}

func TestParseFault(t *testing.T) {
	cases := []struct {
		in      string
		want    realism.Fault
		wantErr bool
	}{
		{"500 POST /api/v1/contacts", realism.Fault{Kind: realism.FaultStatus, Status: 500, Method: "POST", Path: "/api/v1/contacts"}, false},
		{"lost * /crm/v8/{module} rate=0.5 count=3", realism.Fault{Kind: realism.FaultLost, Method: "*", Path: "/crm/v8/{module}", Rate: 0.5, Count: 3}, false},
		{"timeout GET /x hold=2s", realism.Fault{Kind: realism.FaultTimeout, Method: "GET", Path: "/x", HoldMS: 2000}, false},
		{"500 GET", realism.Fault{}, true},
		{"500 GET /x rate", realism.Fault{}, true},
		{"500 GET /x speed=1", realism.Fault{}, true},
	}
	for _, c := range cases {
		got, err := parseFault(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: err = %v", c.in, err)
			continue
		}
		if err == nil && got != c.want {
			t.Errorf("%q = %+v, want %+v", c.in, got, c.want)
		}
	}
}
