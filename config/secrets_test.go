package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// realZoho is the environment of a worker pointed at real Zoho.
var realZoho = []string{"ZOHO_CLIENT_ID=1000.ABC", "ZOHO_CLIENT_SECRET=x", "ZOHO_REFRESH_TOKEN=1000.r", "ZOHO_DESK_ORG_ID=42"}

func randomB64(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// strongSecrets sets every worker secret to a fresh random value.
func strongSecrets(t *testing.T) []string {
	return []string{"DESKCRM_ADMIN_TOKEN=" + randomB64(t), "DESKCRM_WEBHOOK_TOKEN=" + randomB64(t),
		"DESKCRM_PANEL_LINK_KEY=" + randomB64(t), "DESKCRM_PAYLOAD_KEY=" + randomB64(t)}
}

// The attack: a worker exposed to the network (real Zoho, or listening beyond loopback) with a
// built-in or published secret. It must refuse to start, naming each secret.
func TestWorkerRefusesDefaultSecretsOutsideLocalDevelopment(t *testing.T) {
	names := []string{"DESKCRM_ADMIN_TOKEN", "DESKCRM_WEBHOOK_TOKEN", "DESKCRM_PANEL_LINK_KEY"}
	cases := []struct {
		name string
		env  []string
	}{
		{"real Zoho, secrets unset", realZoho},
		{"emulated Zoho listening on every interface", []string{"DESKCRM_HTTP_ADDR=0.0.0.0:8090"}},
		{"emulated Zoho, empty host", []string{"DESKCRM_HTTP_ADDR=:8090"}},
		{"emulated Zoho, a LAN address", []string{"DESKCRM_HTTP_ADDR=192.168.1.10:8090"}},
		{"real Zoho, the built-in values given explicitly", append(append([]string{}, realZoho...),
			"DESKCRM_ADMIN_TOKEN="+DevAdminToken, "DESKCRM_WEBHOOK_TOKEN="+DevWebhookToken, "DESKCRM_PANEL_LINK_KEY="+DevPanelLinkKey)},
		{"real Zoho, the old docker-compose placeholders", append(append([]string{}, realZoho...),
			"DESKCRM_ADMIN_TOKEN=change-me-admin", "DESKCRM_WEBHOOK_TOKEN=change-me", "DESKCRM_PANEL_LINK_KEY=change-me-panel")},
		{"real Zoho, weak secrets", append(append([]string{}, realZoho...),
			"DESKCRM_ADMIN_TOKEN=hunter2hunter2", "DESKCRM_WEBHOOK_TOKEN=correcthorsebatterystaplecorrecthorsebattery",
			"DESKCRM_PANEL_LINK_KEY="+strings.Repeat("ab", 40))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWorkerFrom(tc.env)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("the worker would start: err = %v", err)
			}
			for _, n := range names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("the error does not name %s:\n%v", n, err)
				}
			}
			if !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Errorf("the error does not say how to generate a secret:\n%v", err)
			}
		})
	}
}

func TestStrongSecretsStartOutsideLocalDevelopment(t *testing.T) {
	env := append(append([]string{}, realZoho...), strongSecrets(t)...)
	c, err := LoadWorkerFrom(env)
	if err != nil {
		t.Fatalf("strong secrets refused: %v", err)
	}
	if c.LocalDevelopment() {
		t.Error("real Zoho must not count as local development")
	}
	// The same secret twice is refused.
	same := randomB64(t)
	_, err = LoadWorkerFrom(append(append([]string{}, realZoho...),
		"DESKCRM_ADMIN_TOKEN="+same, "DESKCRM_WEBHOOK_TOKEN="+same, "DESKCRM_PANEL_LINK_KEY="+randomB64(t)))
	if err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Errorf("one secret for two purposes: %v", err)
	}
	// Secrets from files work too.
	path := filepath.Join(t.TempDir(), "admin")
	if err := os.WriteFile(path, []byte(randomB64(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(append([]string{}, realZoho...), "DESKCRM_ADMIN_TOKEN_FILE="+path,
		"DESKCRM_WEBHOOK_TOKEN="+randomB64(t), "DESKCRM_PANEL_LINK_KEY="+randomB64(t), "DESKCRM_PAYLOAD_KEY="+randomB64(t))
	if _, err := LoadWorkerFrom(env); err != nil {
		t.Errorf("a secret from a file: %v", err)
	}
}

func TestLocalDevelopmentAcceptsBuiltInSecrets(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8090", "localhost:8090", "[::1]:8090"} {
		c, err := LoadWorkerFrom([]string{"DESKCRM_HTTP_ADDR=" + addr})
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		if !c.LocalDevelopment() || c.AdminToken != DevAdminToken || c.PanelLinkKey != DevPanelLinkKey {
			t.Errorf("%s: local=%v admin=%q", addr, c.LocalDevelopment(), c.AdminToken)
		}
	}
}

func TestSecretBits(t *testing.T) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		strong bool
	}{
		{"openssl rand -base64 32", base64.StdEncoding.EncodeToString(b), true},
		{"openssl rand -hex 32", hex.EncodeToString(b), true},
		{"token_urlsafe(32)", base64.RawURLEncoding.EncodeToString(b), true},
		{"16 random bytes in hex", hex.EncodeToString(b[:16]), false},
		{"a word", "password", false},
		{"repeated", strings.Repeat("a", 200), false},
		{"lowercase words", "correcthorsebatterystaplecorrecthorsebattery", false},
		{"dev default", DevAdminToken, false},
	} {
		bits := SecretBits(tc.secret)
		if (bits >= MinSecretBits) != tc.strong {
			t.Errorf("%s: %.0f bits, strong = %v, want %v", tc.name, bits, bits >= MinSecretBits, tc.strong)
		}
	}
}

func TestPayloadKeys(t *testing.T) {
	k1, k2 := randomB64(t), randomB64(t)
	c, err := LoadWorkerFrom([]string{"DESKCRM_PAYLOAD_KEY=" + k1, "DESKCRM_PAYLOAD_OLD_KEYS=" + k2 + "," + randomB64(t)})
	if err != nil {
		t.Fatal(err)
	}
	cur, old, err := c.Temporal.PayloadKeys()
	if err != nil || len(cur) != 32 || len(old) != 2 {
		t.Fatalf("keys: %d current bytes, %d old keys, %v", len(cur), len(old), err)
	}
	for _, tc := range []struct{ name, env, want string }{
		{"not base64", "DESKCRM_PAYLOAD_KEY=not a key", "DESKCRM_PAYLOAD_KEY"},
		{"16 bytes", "DESKCRM_PAYLOAD_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "32 random bytes"},
		{"old without current", "DESKCRM_PAYLOAD_OLD_KEYS=" + k2, "without DESKCRM_PAYLOAD_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWorkerFrom([]string{tc.env})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), k2) {
				t.Fatal("the error echoes a key")
			}
		})
	}
	if _, err := LoadStarterFrom([]string{"DESKCRM_PAYLOAD_KEY=short"}); err == nil {
		t.Error("the starter must check the payload key too")
	}
}

func TestWarnings(t *testing.T) {
	c, err := LoadWorkerFrom([]string{"DESKCRM_PANEL_TOKEN=old-shared-token"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "DESKCRM_PANEL_TOKEN is no longer used") {
		t.Errorf("warnings = %q", c.Warnings)
	}
}

// Outside local development a worker without a payload key is refused (customer values would
// sit in workflow history in clear; it was a warning, a trial found it a weak default): with
// real Zoho, and with emulated Zoho listening beyond loopback. Local development needs none.
func TestPayloadKeyRequiredOutsideLocalDevelopment(t *testing.T) {
	var noKey []string
	for _, kv := range strongSecrets(t) {
		if !strings.HasPrefix(kv, "DESKCRM_PAYLOAD_KEY=") {
			noKey = append(noKey, kv)
		}
	}
	for _, env := range [][]string{append(slices.Clone(realZoho), noKey...), append([]string{"DESKCRM_HTTP_ADDR=0.0.0.0:8090"}, noKey...)} {
		_, err := LoadWorkerFrom(env)
		if err == nil || !strings.Contains(err.Error(), "DESKCRM_PAYLOAD_KEY is unset") || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("%v: err = %v, want the payload key named with how to make one", env[0], err)
		}
	}
	if _, err := LoadWorkerFrom(nil); err != nil {
		t.Errorf("local development without a payload key: %v", err)
	}
}

func TestCodecOrigins(t *testing.T) {
	c, err := LoadWorkerFrom(nil)
	if err != nil || len(c.CodecOrigins) != 2 {
		t.Fatalf("default origins %q: %v", c.CodecOrigins, err)
	}
	if _, err := LoadWorkerFrom([]string{"DESKCRM_CODEC_ORIGINS=http://ui.example.com/path"}); err == nil {
		t.Error("an origin with a path must be refused")
	}
}

// Every output of `openssl rand -base64 32` is strong, including the rare one with no digit
// (about one in 1,500) or no upper case: it was refused as "about 256 bits" by a class rule.
func TestRandomBase64WithoutADigitIsStrong(t *testing.T) {
	for _, s := range []string{
		"abcdefghijklmnABCDEFGHIJKLMabcdefghijklmnAB=", // no digit, 28 distinct characters
		"abcdefghijklmn0123456789abcdefghijklmn01234=", // no upper case
	} {
		if got := SecretBits(s); got < MinSecretBits {
			t.Errorf("SecretBits(%q) = %.0f, want at least %d", s, got, MinSecretBits)
		}
	}
	if got := SecretBits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa="); got >= MinSecretBits {
		t.Errorf("a repeated letter scores %.0f bits", got)
	}
}
