package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadWorkerDefaults(t *testing.T) {
	c, err := LoadWorkerFrom(nil)
	if err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	if c.Temporal.Address != "127.0.0.1:7233" || c.Temporal.Namespace != "default" {
		t.Errorf("temporal defaults = %+v", c.Temporal)
	}
	if !c.Zoho.Emulated() {
		t.Error("no ZOHO_CLIENT_ID must mean the emulators")
	}
	if c.HTTPAddr != "127.0.0.1:8090" {
		t.Errorf("HTTPAddr = %q", c.HTTPAddr)
	}
}

// Every problem in a bad configuration is named in one error, not just the first.
func TestLoadWorkerNamesEveryProblem(t *testing.T) {
	_, err := LoadWorkerFrom([]string{
		"TEMPORAL_ADDRESS=nohostport",
		"TEMPORAL_NAMESPACE= ",
		"DATABASE_URL=mysql://x",
		"ZOHO_DC=mars",
		"ZOHO_CLIENT_ID=1000.ABC",
		"ZOHO_DESK_ORG_ID=acme",
		"ZOHO_CRM_CONCURRENCY=0",
		"LOG_FORMAT=xml",
		"LOG_LEVEL=loud",
		"DESKCRM_SHUTDOWN_TIMEOUT=soon",
		"DESKCRM_ADMIN_TOKEN=short",
	})
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	want := []string{
		"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "DATABASE_URL", "ZOHO_DC", "ZOHO_CLIENT_SECRET",
		"ZOHO_REFRESH_TOKEN", "ZOHO_DESK_ORG_ID", "ZOHO_CRM_CONCURRENCY", "LOG_FORMAT", "LOG_LEVEL",
		"DESKCRM_SHUTDOWN_TIMEOUT", "DESKCRM_ADMIN_TOKEN",
	}
	msg := err.Error()
	for _, name := range want {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not name %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "mysql://x") {
		t.Error("the database URL must not be echoed (it may hold a password)")
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadWorkerFrom(append([]string{
		"ZOHO_CLIENT_ID=1000.ABC", "ZOHO_CLIENT_SECRET_FILE=" + secret,
		"ZOHO_REFRESH_TOKEN=1000.r", "ZOHO_DESK_ORG_ID=42",
	}, strongSecrets(t)...))
	if err != nil {
		t.Fatal(err)
	}
	if c.Zoho.ClientSecret != "s3cret-value" {
		t.Errorf("secret = %q, want the file's content without the newline", c.Zoho.ClientSecret)
	}

	_, err = LoadWorkerFrom([]string{"DESKCRM_ADMIN_TOKEN_FILE=" + filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "DESKCRM_ADMIN_TOKEN_FILE") {
		t.Errorf("missing secret file must be named, got %v", err)
	}
	_, err = LoadWorkerFrom([]string{"DESKCRM_ADMIN_TOKEN=abcdefghij", "DESKCRM_ADMIN_TOKEN_FILE=" + secret})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("both forms set must be refused, got %v", err)
	}
}

func TestLoadStarter(t *testing.T) {
	if _, err := LoadStarterFrom([]string{"TEMPORAL_ADDRESS=:x"}); err == nil {
		t.Error("bad address must be refused")
	}
	if _, err := LoadStarterFrom(nil); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// problems loads environ as the worker and, with starter, as the starter too, and returns the
// worker's problems (nil when the configuration is valid).
func problems(t *testing.T, environ []string, starter bool) []string {
	t.Helper()
	_, err := LoadWorkerFrom(environ)
	if starter {
		_, serr := LoadStarterFrom(environ)
		if (err == nil) != (serr == nil) {
			t.Errorf("worker: %v\nstarter: %v", err, serr)
		}
	}
	if err == nil {
		return nil
	}
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	return cerr.Problems
}

// wantOneProblem asserts that environ gives exactly one problem, holding every one of want.
func wantOneProblem(t *testing.T, environ []string, starter bool, want ...string) {
	t.Helper()
	p := problems(t, environ, starter)
	if len(p) != 1 {
		t.Fatalf("%q: want one problem, got %d:\n%s", environ, len(p), strings.Join(p, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(p[0], w) {
			t.Errorf("%q: the problem does not say %q:\n%s", environ, w, p[0])
		}
	}
	if strings.Contains(p[0], "parse error on field") {
		t.Errorf("a raw parse error:\n%s", p[0])
	}
}

// A number outside the range its meaning allows stops the binary, naming the variable, the
// range and what is wrong; the ends of each range are accepted.
func TestNumericRanges(t *testing.T) {
	for _, tc := range []struct {
		env     string
		starter bool // the starter reads the variable too
		want    []string
	}{
		{"DESKCRM_CREDIT_RESERVE=150", true, []string{"DESKCRM_CREDIT_RESERVE must be a whole percentage from 0 to 99", "150 is more than 99"}},
		{"DESKCRM_CREDIT_RESERVE=100", true, []string{"DESKCRM_CREDIT_RESERVE must be", "100 is more than 99"}},
		{"DESKCRM_CREDIT_RESERVE=-3", true, []string{"DESKCRM_CREDIT_RESERVE must be", "-3 is negative"}},
		{"ZOHO_CRM_DAILY_CREDITS=-5", true, []string{"ZOHO_CRM_DAILY_CREDITS must be a whole number from 0 to 1000000000", "-5 is negative"}},
		{"ZOHO_CRM_DAILY_CREDITS=1000000001", true, []string{"ZOHO_CRM_DAILY_CREDITS must be", "1000000001 is more than 1000000000"}},
		{"ZOHO_DESK_DAILY_CREDITS=-1", true, []string{"ZOHO_DESK_DAILY_CREDITS must be a whole number from 0 to 1000000000", "-1 is negative"}},
		{"DESKCRM_CRM_BULK_READ_THRESHOLD=-7", true, []string{"DESKCRM_CRM_BULK_READ_THRESHOLD must be a whole number of records", "-7 is less than -1"}},
		{"ZOHO_CRM_CONCURRENCY=0", true, []string{"ZOHO_CRM_CONCURRENCY must be a whole number from 1 to 100", "0 is not positive"}},
		{"ZOHO_CRM_CONCURRENCY=101", true, []string{"ZOHO_CRM_CONCURRENCY must be", "101 is more than 100"}},
		{"ZOHO_DESK_CONCURRENCY=-2", true, []string{"ZOHO_DESK_CONCURRENCY must be a whole number from 1 to 100", "-2 is not positive"}},
		{"ZOHO_DESK_CONCURRENCY=101", true, []string{"ZOHO_DESK_CONCURRENCY must be", "101 is more than 100"}},
		{"DESKCRM_SHUTDOWN_TIMEOUT=0s", false, []string{"DESKCRM_SHUTDOWN_TIMEOUT must be a positive duration", "0s is not positive"}},
		{"DESKCRM_SHUTDOWN_TIMEOUT=-1s", false, []string{"DESKCRM_SHUTDOWN_TIMEOUT must be", "-1s is not positive"}},
	} {
		t.Run(tc.env, func(t *testing.T) { wantOneProblem(t, []string{tc.env}, tc.starter, tc.want...) })
	}
	for _, env := range []string{
		"DESKCRM_CREDIT_RESERVE=0", "DESKCRM_CREDIT_RESERVE=99",
		"ZOHO_CRM_DAILY_CREDITS=0", "ZOHO_CRM_DAILY_CREDITS=1000000000", "ZOHO_DESK_DAILY_CREDITS=75000",
		"DESKCRM_CRM_BULK_READ_THRESHOLD=-1", "DESKCRM_CRM_BULK_READ_THRESHOLD=0", "DESKCRM_CRM_BULK_READ_THRESHOLD=1",
		"ZOHO_CRM_CONCURRENCY=1", "ZOHO_CRM_CONCURRENCY=100", "ZOHO_DESK_CONCURRENCY=1", "ZOHO_DESK_CONCURRENCY=100",
		"DESKCRM_SHUTDOWN_TIMEOUT=1ms", "DESKCRM_SHUTDOWN_TIMEOUT=10m",
	} {
		if p := problems(t, []string{env}, false); p != nil {
			t.Errorf("%s refused: %q", env, p)
		}
	}
}

// A value that is not of its variable's type is named by the variable, with what is wrong and
// the form it must have — not as the library's "parse error on field" — and only once.
func TestParseErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want []string
	}{
		{"ZOHO_CRM_CONCURRENCY=abc", []string{"ZOHO_CRM_CONCURRENCY must be a whole number from 1 to 100", `"abc" is not a whole number`}},
		{"ZOHO_DESK_CONCURRENCY=1e9", []string{"ZOHO_DESK_CONCURRENCY must be a whole number", `"1e9" is not a whole number`}},
		{"ZOHO_DESK_CONCURRENCY=3000000000", []string{"ZOHO_DESK_CONCURRENCY must be", `"3000000000" is too large a number`}},
		{"ZOHO_CRM_DAILY_CREDITS=75,000", []string{"ZOHO_CRM_DAILY_CREDITS must be a whole number", `"75,000" is not a whole number`}},
		{"ZOHO_DESK_DAILY_CREDITS=99999999999999999999", []string{"ZOHO_DESK_DAILY_CREDITS must be", "is too large a number"}},
		{"DESKCRM_CREDIT_RESERVE=20%", []string{"DESKCRM_CREDIT_RESERVE must be a whole percentage", `"20%" is not a whole number`}},
		{"DESKCRM_CRM_BULK_READ_THRESHOLD=never", []string{"DESKCRM_CRM_BULK_READ_THRESHOLD must be", "-1 for never", `"never" is not a whole number`}},
		{"DESKCRM_WEBHOOKS=maybe", []string{"DESKCRM_WEBHOOKS must be true or false", `"maybe" is neither`}},
		{"DESKCRM_REGISTER_SEARCH_ATTRIBUTES=yes", []string{"DESKCRM_REGISTER_SEARCH_ATTRIBUTES must be true or false"}},
		{"DESKCRM_SHUTDOWN_TIMEOUT=20", []string{"DESKCRM_SHUTDOWN_TIMEOUT must be a positive duration such as 20s", `"20" has no unit`}},
		{"DESKCRM_SHUTDOWN_TIMEOUT=soon", []string{"DESKCRM_SHUTDOWN_TIMEOUT must be", `"soon" is not a duration`}},
	} {
		t.Run(tc.env, func(t *testing.T) { wantOneProblem(t, []string{tc.env}, false, tc.want...) })
	}
}

// A port out of range is refused in every address and URL, naming the variable.
func TestPortsInRange(t *testing.T) {
	for _, tc := range []struct{ env, name string }{
		{"TEMPORAL_ADDRESS=temporal:99999", "TEMPORAL_ADDRESS"},
		{"DESKCRM_HTTP_ADDR=127.0.0.1:0", "DESKCRM_HTTP_ADDR"},
		{"ZOHO_CRM_URL=http://127.0.0.1:99999", "ZOHO_CRM_URL"},
		{"ZOHO_DESK_URL=http://127.0.0.1:70000", "ZOHO_DESK_URL"},
		{"ZOHO_ACCOUNTS_URL=https://accounts.example.com:65536", "ZOHO_ACCOUNTS_URL"},
		{"DESKCRM_PUBLIC_URL=https://deskcrm.example.com:100000", "DESKCRM_PUBLIC_URL"},
		{"DESKCRM_CODEC_ORIGINS=http://127.0.0.1:70000", "DESKCRM_CODEC_ORIGINS"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			wantOneProblem(t, []string{tc.env}, false, tc.name, "port is out of range (ports are 1 to 65535)")
		})
	}
	if p := problems(t, []string{"ZOHO_CRM_URL=http://127.0.0.1:65535", "DESKCRM_HTTP_ADDR=127.0.0.1:1"}, false); p != nil {
		t.Errorf("ports 1 and 65535 refused: %q", p)
	}
}

// An empty variable counts as unset: an empty NAME_FILE beside NAME (or an empty NAME beside
// NAME_FILE) is not "both", for every secret; an empty number is its default.
func TestEmptyCountsAsUnset(t *testing.T) {
	k1 := randomB64(t)
	valid := map[string]struct {
		value string
		extra []string // what the value needs beside it
		got   func(Worker) string
	}{
		"TEMPORAL_API_KEY":         {"temporal-api-key", nil, func(c Worker) string { return c.Temporal.APIKey }},
		"ZOHO_CLIENT_SECRET":       {"client-secret", nil, func(c Worker) string { return c.Zoho.ClientSecret }},
		"ZOHO_REFRESH_TOKEN":       {"1000.refresh", nil, func(c Worker) string { return c.Zoho.RefreshToken }},
		"DATABASE_URL":             {"postgres://deskcrm@db:5432/deskcrm", nil, func(c Worker) string { return c.DatabaseURL }},
		"DESKCRM_WEBHOOK_TOKEN":    {"webhook-token-1", nil, func(c Worker) string { return c.WebhookToken }},
		"DESKCRM_ADMIN_TOKEN":      {"admin-token-1", nil, func(c Worker) string { return c.AdminToken }},
		"DESKCRM_PANEL_LINK_KEY":   {"panel-link-key-1", nil, func(c Worker) string { return c.PanelLinkKey }},
		"DESKCRM_PAYLOAD_KEY":      {k1, nil, func(c Worker) string { return c.Temporal.PayloadKey }},
		"DESKCRM_PAYLOAD_OLD_KEYS": {randomB64(t), []string{"DESKCRM_PAYLOAD_KEY=" + k1}, func(c Worker) string { return c.Temporal.PayloadOldKeys }},
	}
	dir := t.TempDir()
	for _, name := range secretNames {
		v, ok := valid[name]
		if !ok {
			t.Errorf("no test value for %s", name)
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(v.value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, env := range [][]string{
			{name + "_FILE=", name + "=" + v.value},
			{name + "=" + v.value, name + "_FILE="},
			{name + "=", name + "_FILE=" + path},
		} {
			c, err := LoadWorkerFrom(append(env, v.extra...))
			if err != nil {
				t.Errorf("%q: %v", env, err)
				continue
			}
			if got := v.got(c); got != v.value {
				t.Errorf("%q: %s = %q, want %q", env, name, got, v.value)
			}
		}
	}
	c, err := LoadWorkerFrom([]string{"ZOHO_CRM_DAILY_CREDITS=", "ZOHO_CRM_CONCURRENCY=", "DESKCRM_WEBHOOKS=",
		"DESKCRM_SHUTDOWN_TIMEOUT=", "DESKCRM_PANEL_TOKEN=", "DESKCRM_PANEL_TOKEN_FILE="})
	if err != nil {
		t.Fatalf("empty variables: %v", err)
	}
	if c.Zoho.CRMDailyCredits != 0 || c.Zoho.CRMConcurrency != 10 || !c.Webhooks || c.ShutdownTimeout != 20*time.Second {
		t.Errorf("empty variables did not keep the defaults: %+v", c)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("an empty DESKCRM_PANEL_TOKEN warns: %q", c.Warnings)
	}
}
