// Package config reads each binary's configuration from the environment into a struct.
//
// Every binary has one struct, filled by github.com/caarlos0/env. Standard names are used
// where the ecosystem has them (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL). Secrets
// can also be given as files: for a variable NAME tagged `file`, set NAME_FILE to a path and
// the value is read from that file. A variable set to the empty string counts as unset. Loading
// reports every problem at once, each naming its variable and the form its value must have, so
// an operator can fix a bad configuration in one pass.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// TaskQueue is the Temporal task queue every deskcrm worker polls.
const TaskQueue = "deskcrm-sync"

// Temporal says where the Temporal frontend is and how to reach it.
type Temporal struct {
	Address   string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	Namespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	// TLS client certificate and key for Temporal Cloud or a TLS cluster (both or neither).
	TLSCertPath string `env:"TEMPORAL_TLS_CERT"`
	TLSKeyPath  string `env:"TEMPORAL_TLS_KEY"`
	// TLSCAPath is a PEM bundle of the CAs that sign the server's certificate (a self-hosted
	// cluster with its own CA); unset: the system's roots. TLSServerName is the name to verify
	// the server's certificate against when it differs from TEMPORAL_ADDRESS's host. Either
	// turns TLS on.
	TLSCAPath     string `env:"TEMPORAL_TLS_CA"`
	TLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	// APIKey authenticates to Temporal Cloud with an API key instead of mTLS (it turns TLS on).
	APIKey string `env:"TEMPORAL_API_KEY"`
	// PayloadKey, when set, encrypts every payload this binary sends to Temporal (workflow
	// inputs, results, signals, queries, activity arguments, failures' details) with
	// AES-256-GCM: 32 random bytes in standard base64 (`head -c 32 /dev/urandom | base64`).
	PayloadKey string `env:"DESKCRM_PAYLOAD_KEY"`
	// PayloadOldKeys are earlier payload keys, comma-separated, kept to decrypt history
	// written before a key rotation; nothing is encrypted with them.
	PayloadOldKeys string `env:"DESKCRM_PAYLOAD_OLD_KEYS"`
}

// Zoho holds the OAuth client and the API hosts of one Zoho organisation. With no client
// id set the binaries use the local emulators and their built-in dev credentials.
type Zoho struct {
	DataCenter   string `env:"ZOHO_DC" envDefault:"com"`
	ClientID     string `env:"ZOHO_CLIENT_ID"`
	ClientSecret string `env:"ZOHO_CLIENT_SECRET"`
	RefreshToken string `env:"ZOHO_REFRESH_TOKEN"`
	DeskOrgID    string `env:"ZOHO_DESK_ORG_ID"`
	// Base URL overrides (the emulators, or a proxy). Empty means the data centre's host.
	AccountsURL string `env:"ZOHO_ACCOUNTS_URL"`
	CRMURL      string `env:"ZOHO_CRM_URL"`
	DeskURL     string `env:"ZOHO_DESK_URL"`
	// Concurrency limits per API, set to the edition's limit (defaults: lowest paid edition).
	CRMConcurrency  int `env:"ZOHO_CRM_CONCURRENCY" envDefault:"10"`
	DeskConcurrency int `env:"ZOHO_DESK_CONCURRENCY" envDefault:"10"`
	// Daily credit allowances of the editions (0: unknown), and the share of them the sync
	// leaves untouched for the org's other integrations, in percent.
	CRMDailyCredits  int64 `env:"ZOHO_CRM_DAILY_CREDITS"`
	DeskDailyCredits int64 `env:"ZOHO_DESK_DAILY_CREDITS"`
	CreditReserve    int   `env:"DESKCRM_CREDIT_RESERVE" envDefault:"20"`
	// CRMBulkReadThreshold: more CRM records than this in a module's look-back are read with
	// Bulk Read (0: the default, 50,000; negative: never).
	CRMBulkReadThreshold int `env:"DESKCRM_CRM_BULK_READ_THRESHOLD"`
}

// Reserve returns the credits of a daily allowance to leave untouched (0 when unknown).
func (z Zoho) Reserve(daily int64) int64 { return daily * int64(z.CreditReserve) / 100 }

// Emulated reports whether Zoho points at the local emulators (no real credentials given).
func (z Zoho) Emulated() bool { return z.ClientID == "" }

// Worker configures the worker binary: Temporal, Postgres, Zoho and its HTTP server.
type Worker struct {
	Temporal    Temporal
	Zoho        Zoho
	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://deskcrm@127.0.0.1:5433/deskcrm?sslmode=disable"`
	// HTTPAddr serves webhooks, the agent panel, /healthz and /metrics.
	HTTPAddr string `env:"DESKCRM_HTTP_ADDR" envDefault:"127.0.0.1:8090"`
	// CPUProfile, when set, is a file the worker writes a CPU profile of its whole run to
	// (runtime/pprof, written when it stops on SIGINT or SIGTERM): how make bench-scale
	// learns where the worker's processor time goes.
	CPUProfile string `env:"DESKCRM_CPU_PROFILE"`
	// PublicURL is how Zoho reaches HTTPAddr (webhook callbacks); empty means http://HTTPAddr.
	PublicURL string `env:"DESKCRM_PUBLIC_URL"`
	// Webhooks turns change notifications on: the receiver and the subscriptions. Off, changes
	// arrive by polling only.
	Webhooks bool `env:"DESKCRM_WEBHOOKS" envDefault:"true"`
	// WebhookToken is the secret from which each integration's CRM notification channel token
	// is derived (HMAC), authenticating CRM's callbacks. Built-in value: local development only.
	WebhookToken string `env:"DESKCRM_WEBHOOK_TOKEN" envDefault:"deskcrm-dev-webhook-token"`
	// AdminToken protects the admin endpoints and the codec server. Built-in value: local
	// development only.
	AdminToken string `env:"DESKCRM_ADMIN_TOKEN" envDefault:"deskcrm-dev-admin"`
	// PanelLinkKey signs the short-lived links of the agent panel's page (HMAC-SHA256).
	// Built-in value: local development only.
	PanelLinkKey string `env:"DESKCRM_PANEL_LINK_KEY" envDefault:"deskcrm-dev-panel-link-key"`
	// CodecOrigins are the Temporal UI origins allowed to call the codec server (CORS).
	CodecOrigins []string `env:"DESKCRM_CODEC_ORIGINS" envSeparator:"," envDefault:"http://127.0.0.1:8233,http://localhost:8233"`
	// RegisterSearchAttributes adds the workflow list columns on a self-hosted server.
	RegisterSearchAttributes bool          `env:"DESKCRM_REGISTER_SEARCH_ATTRIBUTES" envDefault:"true"`
	ShutdownTimeout          time.Duration `env:"DESKCRM_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	Log                      Log
	// Warnings are things the worker should log at start: settings that are ignored or
	// advisable (filled by LoadWorkerFrom; not an environment variable).
	Warnings []string `env:"-"`
}

// LocalDevelopment reports whether the worker runs as a local development setup: Zoho is
// emulated and the HTTP server listens on loopback only. Only then are the built-in secrets
// accepted.
func (c Worker) LocalDevelopment() bool { return c.Zoho.Emulated() && loopbackOnly(c.HTTPAddr) }

// Starter configures the starter CLI.
type Starter struct {
	Temporal    Temporal
	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://deskcrm@127.0.0.1:5433/deskcrm?sslmode=disable"`
	Zoho        Zoho
	Log         Log
}

// Log selects the log encoding and level.
type Log struct {
	Format string `env:"LOG_FORMAT" envDefault:"console"`
	Level  string `env:"LOG_LEVEL" envDefault:"info"`
}

// LoadWorker reads the worker configuration from the environment.
func LoadWorker() (Worker, error) { return LoadWorkerFrom(os.Environ()) }

// LoadWorkerFrom reads the worker configuration from the given KEY=VALUE list.
func LoadWorkerFrom(environ []string) (Worker, error) {
	var c Worker
	problems := parse(&c, environ)
	problems = append(problems, c.Temporal.check()...)
	problems = append(problems, c.Zoho.check()...)
	problems = append(problems, c.Log.check()...)
	problems = append(problems, checkPostgresURL("DATABASE_URL", c.DatabaseURL)...)
	problems = append(problems, checkHostPort("DESKCRM_HTTP_ADDR", c.HTTPAddr)...)
	if c.PublicURL != "" {
		problems = append(problems, checkURL("DESKCRM_PUBLIC_URL", c.PublicURL)...)
	}
	problems = append(problems, c.checkSecrets()...)
	problems = append(problems, c.checkPayloadKey()...)
	for _, o := range c.CodecOrigins {
		problems = append(problems, checkOrigin("DESKCRM_CODEC_ORIGINS", o)...)
	}
	c.Warnings = workerWarnings(c, environ)
	return c, joined(problems)
}

// LoadStarter reads the starter configuration from the environment.
func LoadStarter() (Starter, error) { return LoadStarterFrom(os.Environ()) }

// LoadStarterFrom reads the starter configuration from the given KEY=VALUE list.
func LoadStarterFrom(environ []string) (Starter, error) {
	var c Starter
	problems := parse(&c, environ)
	problems = append(problems, c.Temporal.check()...)
	problems = append(problems, c.Zoho.check()...)
	problems = append(problems, c.Log.check()...)
	problems = append(problems, checkPostgresURL("DATABASE_URL", c.DatabaseURL)...)
	return c, joined(problems)
}

// Error lists every configuration problem found, one per line.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

func joined(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &Error{Problems: problems}
}

// secretNames are the variables that may instead be given as NAME_FILE, a path to a file
// holding the value (Docker and Kubernetes secrets).
var secretNames = []string{
	"TEMPORAL_API_KEY", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "DATABASE_URL",
	"DESKCRM_WEBHOOK_TOKEN", "DESKCRM_ADMIN_TOKEN", "DESKCRM_PANEL_LINK_KEY",
	"DESKCRM_PAYLOAD_KEY", "DESKCRM_PAYLOAD_OLD_KEYS",
}

// parse fills c from environ, reading NAME_FILE secrets, and returns one line per problem:
// unreadable files, values of the wrong form, numbers out of their range (see bounds). An empty
// variable counts as unset, NAME_FILE included.
func parse(c any, environ []string) []string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			m[k] = v
		}
	}
	var problems []string
	for _, name := range secretNames {
		path, ok := m[name+"_FILE"]
		if !ok {
			continue
		}
		if _, both := m[name]; both {
			problems = append(problems, fmt.Sprintf("set %s or %s_FILE, not both", name, name))
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s_FILE: cannot read %s: %v", name, path, errors.Unwrap(err)))
			continue
		}
		m[name] = strings.TrimRight(string(data), "\r\n")
	}
	err := env.ParseWithOptions(c, env.Options{Environment: m})
	return append(problems, checkTyped(c, m, err)...)
}

func (t Temporal) check() []string {
	var p []string
	p = append(p, checkHostPort("TEMPORAL_ADDRESS", t.Address)...)
	if strings.TrimSpace(t.Namespace) == "" {
		p = append(p, "TEMPORAL_NAMESPACE must not be empty")
	}
	if (t.TLSCertPath == "") != (t.TLSKeyPath == "") {
		p = append(p, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
	}
	if _, _, err := t.PayloadKeys(); err != nil {
		p = append(p, err.Error())
	}
	return p
}

// DataCenters lists the Zoho data-centre codes ZOHO_DC accepts.
var DataCenters = []string{"com", "eu", "in", "com.au", "jp", "com.cn", "ca", "sa"}

func (z Zoho) check() []string {
	var p []string
	known := false
	for _, dc := range DataCenters {
		if z.DataCenter == dc {
			known = true
		}
	}
	if !known {
		p = append(p, fmt.Sprintf("ZOHO_DC %q is not a Zoho data centre; use one of %s", z.DataCenter, strings.Join(DataCenters, ", ")))
	}
	if !z.Emulated() {
		if z.ClientSecret == "" {
			p = append(p, "ZOHO_CLIENT_SECRET (or ZOHO_CLIENT_SECRET_FILE) is required when ZOHO_CLIENT_ID is set")
		}
		if z.RefreshToken == "" {
			p = append(p, "ZOHO_REFRESH_TOKEN (or ZOHO_REFRESH_TOKEN_FILE) is required when ZOHO_CLIENT_ID is set")
		}
		if z.DeskOrgID == "" {
			p = append(p, "ZOHO_DESK_ORG_ID is required when ZOHO_CLIENT_ID is set (Desk's orgId header)")
		}
	}
	if z.DeskOrgID != "" {
		if _, err := strconv.ParseUint(z.DeskOrgID, 10, 64); err != nil {
			p = append(p, fmt.Sprintf("ZOHO_DESK_ORG_ID %q must be the numeric Desk organisation id", z.DeskOrgID))
		}
	}
	for name, u := range map[string]string{"ZOHO_ACCOUNTS_URL": z.AccountsURL, "ZOHO_CRM_URL": z.CRMURL, "ZOHO_DESK_URL": z.DeskURL} {
		if u != "" {
			p = append(p, checkURL(name, u)...)
		}
	}
	return p
}

func (l Log) check() []string {
	var p []string
	if l.Format != "console" && l.Format != "json" {
		p = append(p, fmt.Sprintf("LOG_FORMAT %q must be console or json", l.Format))
	}
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("LOG_LEVEL %q must be debug, info, warn or error", l.Level))
	}
	return p
}

// checkHostPort accepts host:port with a port from 1 to 65535 (the host may be empty).
func checkHostPort(name, v string) []string {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return []string{fmt.Sprintf("%s %q must be host:port", name, v)}
	}
	if why := portProblem(port); why != "" {
		return []string{fmt.Sprintf("%s %q must be host:port; its port %s", name, v, why)}
	}
	return nil
}

// checkURL accepts an http(s) URL with a host, and a port from 1 to 65535 if it gives one.
func checkURL(name, v string) []string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []string{fmt.Sprintf("%s %q must be an http(s) URL", name, v)}
	}
	if why := urlPortProblem(u); why != "" {
		return []string{fmt.Sprintf("%s %q must be an http(s) URL; its port %s", name, v, why)}
	}
	return nil
}

// urlPortProblem says what is wrong with the port of a parsed URL ("" when it has none, or a
// good one): url.Parse checks that a port is digits, not that it is in range.
func urlPortProblem(u *url.URL) string {
	if port := u.Port(); port != "" {
		return portProblem(port)
	}
	return ""
}
