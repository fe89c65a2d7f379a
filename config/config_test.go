package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
