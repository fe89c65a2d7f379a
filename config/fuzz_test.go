package config

import (
	"strings"
	"testing"
)

// secretVars are the variables whose values must never appear in a configuration error.
var secretVars = []string{"DESKCRM_ADMIN_TOKEN", "DESKCRM_WEBHOOK_TOKEN", "DESKCRM_PANEL_LINK_KEY", "DESKCRM_PAYLOAD_KEY",
	"DESKCRM_PAYLOAD_OLD_KEYS", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "TEMPORAL_API_KEY", "DATABASE_URL"}

// FuzzLoadWorkerFrom feeds the configuration parser an arbitrary environment (one KEY=VALUE
// a line): it never panics, and its error never quotes a secret's value.
func FuzzLoadWorkerFrom(f *testing.F) {
	for _, s := range []string{
		"",
		"DESKCRM_HTTP_ADDR=0.0.0.0:8090\nDESKCRM_ADMIN_TOKEN=change-me-admin",
		"ZOHO_CLIENT_ID=1000.ABC\nZOHO_CLIENT_SECRET=s3cr3t-value-here\nDATABASE_URL=mysql://root:hunter2hunter2@db/x",
		"DESKCRM_PAYLOAD_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nDESKCRM_PAYLOAD_OLD_KEYS=x,,y",
		"DESKCRM_CODEC_ORIGINS=http://a,https://b:1/,ftp://c\nDESKCRM_SHUTDOWN_TIMEOUT=-1s\nZOHO_DC=mars",
		"DESKCRM_ADMIN_TOKEN_FILE=/nonexistent\nDESKCRM_ADMIN_TOKEN=both",
		"TEMPORAL_ADDRESS=[::1]:99999\nZOHO_CRM_CONCURRENCY=1e9\nDESKCRM_WEBHOOKS=maybe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		environ := strings.Split(s, "\n")
		for _, kv := range environ {
			if k, _, _ := strings.Cut(kv, "="); strings.HasSuffix(k, "_FILE") {
				return // reading files named by the fuzzer is not this target's business
			}
		}
		_, err := LoadWorkerFrom(environ)
		if err == nil {
			return
		}
		msg := err.Error()
		for _, kv := range environ {
			k, v, _ := strings.Cut(kv, "=")
			if len(v) < 12 || !isSecretVar(k) || !strings.Contains(msg, v) {
				continue
			}
			// The value may be part of the fixed wording; with another value there it must go.
			other := strings.Repeat("Q", len(v))
			_, err2 := LoadWorkerFrom(replaceValue(environ, k, other))
			if err2 == nil || !strings.Contains(err2.Error(), v) {
				t.Fatalf("the error quotes %s's value:\n%s", k, msg)
			}
		}
		if _, err := LoadStarterFrom(environ); err != nil && err.Error() == "" {
			t.Fatal("empty starter error")
		}
	})
}

func isSecretVar(k string) bool {
	for _, s := range secretVars {
		if k == s {
			return true
		}
	}
	return false
}

func replaceValue(environ []string, key, value string) []string {
	out := make([]string, len(environ))
	for i, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			kv = key + "=" + value
		}
		out[i] = kv
	}
	return out
}

// FuzzSecretBits: the strength estimate never panics and never credits more than about 6.6
// bits a byte (95 printable characters).
func FuzzSecretBits(f *testing.F) {
	for _, s := range []string{"", "a", DevAdminToken, "0123456789abcdef0123456789abcdef", "YWJj\x00\xff", "ééééééééééééééééé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bits := SecretBits(s)
		if bits < 0 || bits > 6.6*float64(len(s))+1e-9 {
			t.Fatalf("SecretBits(%q) = %v", s, bits)
		}
	})
}
