package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
)

// Built-in development secrets: the worker accepts them only in local development (see
// Worker.LocalDevelopment), so that `make run` works with no setup and nothing else does.
const (
	DevWebhookToken = "deskcrm-dev-webhook-token"
	DevAdminToken   = "deskcrm-dev-admin"
	DevPanelLinkKey = "deskcrm-dev-panel-link-key"
)

// knownWeakSecrets are values that have been published with deskcrm (defaults and the old
// docker-compose placeholders); they are refused outside local development like an unset one.
var knownWeakSecrets = map[string]bool{
	DevWebhookToken: true, DevAdminToken: true, DevPanelLinkKey: true, "deskcrm-dev-panel": true,
	"change-me-admin": true, "change-me-panel": true, "change-me": true, "changeme": true,
}

// MinSecretBits is the least estimated entropy of a secret outside local development: 32
// random bytes (`openssl rand -base64 32` or `head -c 32 /dev/urandom | base64`).
const MinSecretBits = 256

// GenerateHint tells an operator how to make a good secret.
const GenerateHint = "generate one with `openssl rand -base64 32` (or `head -c 32 /dev/urandom | base64`)"

// secret is one of the worker's own secrets, for the checks below.
type secret struct{ name, value string }

func (c Worker) secrets() []secret {
	return []secret{
		{"DESKCRM_ADMIN_TOKEN", c.AdminToken},
		{"DESKCRM_WEBHOOK_TOKEN", c.WebhookToken},
		{"DESKCRM_PANEL_LINK_KEY", c.PanelLinkKey},
	}
}

// checkSecrets names every secret that is unusable. In local development any value of at
// least 8 characters does (the built-in ones included); otherwise each must be set, not a
// built-in or published value, strong enough (MinSecretBits), and different from the others.
func (c Worker) checkSecrets() []string {
	var p []string
	local := c.LocalDevelopment()
	seen := map[string]string{}
	for _, s := range c.secrets() {
		switch {
		case local && len(s.value) < 8:
			p = append(p, fmt.Sprintf("%s must be at least 8 characters", s.name))
		case local:
		case s.value == "" || knownWeakSecrets[s.value]:
			p = append(p, fmt.Sprintf("%s is unset or a built-in development value, which is refused when Zoho is not "+
				"emulated or DESKCRM_HTTP_ADDR is not loopback: set it (or %s_FILE) to a secret of your own; %s",
				s.name, s.name, GenerateHint))
		case SecretBits(s.value) < MinSecretBits:
			p = append(p, fmt.Sprintf("%s is too weak (about %.0f bits; at least %d needed, i.e. 32 random bytes): %s",
				s.name, SecretBits(s.value), MinSecretBits, GenerateHint))
		}
		if other, dup := seen[s.value]; dup && s.value != "" && !local {
			p = append(p, fmt.Sprintf("%s must differ from %s", s.name, other))
		}
		seen[s.value] = s.name
	}
	return p
}

// SecretBits estimates the entropy of a secret in bits. Hex of 2n digits and base64 of n
// bytes that look random (every character class of their alphabet present, many distinct
// characters) count 8·n; any other string counts, per character, log2 of the alphabet its
// character classes span (lower, upper, digits, other), capped at log2(distinct characters)+1
// so that repetitive strings score low. It is an estimate that accepts the output of
// `openssl rand -base64 32`, `openssl rand -hex 32` and similar, and refuses words.
func SecretBits(s string) float64 {
	if b, ok := decodeRandom(s); ok {
		return float64(8 * len(b))
	}
	cl := classesOf(s)
	alphabet := 0
	for i, n := range []int{26, 26, 10, 33} {
		if cl[i] {
			alphabet += n
		}
	}
	n := len([]rune(s))
	if alphabet == 0 || n == 0 {
		return 0
	}
	perChar := math.Min(math.Log2(float64(alphabet)), math.Log2(float64(distinctRunes(s)))+1)
	return perChar * float64(n)
}

// classesOf reports which character classes s uses: lower, upper, digit, other.
func classesOf(s string) [4]bool {
	var cl [4]bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			cl[0] = true
		case r >= 'A' && r <= 'Z':
			cl[1] = true
		case r >= '0' && r <= '9':
			cl[2] = true
		default:
			cl[3] = true
		}
	}
	return cl
}

// decodeRandom decodes s as hex (at least 12 distinct digits) or base64 (standard or URL,
// padded or not; lower, upper and digits present and at least 20 distinct characters).
func decodeRandom(s string) ([]byte, bool) {
	if len(s) < 16 {
		return nil, false
	}
	if b, err := hex.DecodeString(s); err == nil && distinctRunes(strings.ToLower(s)) >= 12 {
		return b, true
	}
	// Random base64 holds lower case, upper case and digits, but one in about 1,500 strings of
	// 32 random bytes has no digit: two of the three classes are enough.
	cl := classesOf(strings.TrimRight(s, "="))
	classes := 0
	for _, c := range cl[:3] {
		if c {
			classes++
		}
	}
	if classes < 2 || distinctRunes(s) < 20 {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

func distinctRunes(s string) int {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return len(m)
}

// loopbackOnly reports whether a listen address accepts loopback connections only: its host
// is "localhost" or a loopback IP. An empty host listens on every interface.
func loopbackOnly(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkOrigin accepts a browser origin: scheme://host[:port], nothing else.
func checkOrigin(name, v string) []string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil {
		return []string{fmt.Sprintf("%s: %q is not an origin such as http://127.0.0.1:8233", name, v)}
	}
	if why := urlPortProblem(u); why != "" {
		return []string{fmt.Sprintf("%s: %q is not an origin such as http://127.0.0.1:8233; its port %s", name, v, why)}
	}
	return nil
}

// workerWarnings lists settings worth a line in the worker's log.
func workerWarnings(c Worker, environ []string) []string {
	var w []string
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); v != "" && (k == "DESKCRM_PANEL_TOKEN" || k == "DESKCRM_PANEL_TOKEN_FILE") {
			w = append(w, k+" is no longer used and is ignored: agents open the CRM panel with their own Desk token "+
				"(see README, The agent panel); remove it")
		}
	}
	return w
}

// checkPayloadKey refuses, outside local development, a worker without DESKCRM_PAYLOAD_KEY:
// customer values would sit in Temporal's workflow history in clear (it was a warning).
func (c Worker) checkPayloadKey() []string {
	if c.LocalDevelopment() || c.Temporal.PayloadKey != "" {
		return nil
	}
	return []string{"DESKCRM_PAYLOAD_KEY is unset, which is refused when Zoho is not emulated or DESKCRM_HTTP_ADDR is not loopback: " +
		"without it customer values sit in Temporal's workflow history in clear; set it (or DESKCRM_PAYLOAD_KEY_FILE) to 32 random bytes " +
		"in standard base64, the same for every worker and the starter; " + GenerateHint}
}

// PayloadKeySize is the size of a payload key: AES-256.
const PayloadKeySize = 32

// PayloadKeys decodes DESKCRM_PAYLOAD_KEY and DESKCRM_PAYLOAD_OLD_KEYS. current is nil when
// no key is set; old keys without a current key are an error (nothing could be encrypted).
func (t Temporal) PayloadKeys() (current []byte, old [][]byte, err error) {
	decode := func(name, v string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(b) != PayloadKeySize {
			return nil, fmt.Errorf("%s must be %d random bytes in standard base64 (44 characters), e.g. from "+
				"`head -c 32 /dev/urandom | base64`", name, PayloadKeySize)
		}
		return b, nil
	}
	if t.PayloadKey != "" {
		if current, err = decode("DESKCRM_PAYLOAD_KEY", t.PayloadKey); err != nil {
			return nil, nil, err
		}
	}
	if strings.TrimSpace(t.PayloadOldKeys) == "" {
		return current, nil, nil
	}
	if current == nil {
		return nil, nil, fmt.Errorf("DESKCRM_PAYLOAD_OLD_KEYS is set without DESKCRM_PAYLOAD_KEY: keep the current key too")
	}
	for i, v := range strings.Split(t.PayloadOldKeys, ",") {
		k, err := decode(fmt.Sprintf("DESKCRM_PAYLOAD_OLD_KEYS (key %d)", i+1), v)
		if err != nil {
			return nil, nil, err
		}
		old = append(old, k)
	}
	return current, old, nil
}
