// Package activities is the only code that talks to Zoho and Postgres on behalf of the
// workflows. Every activity is a method of Activities, which holds the clients.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"deskcrm/config"
	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Error types the workflow tells apart.
const (
	// ErrCreditsExhausted: a daily API credit allowance ran out; details carry the wait.
	ErrCreditsExhausted = "CreditsExhausted"
	// ErrPermanent: retrying cannot help (bad credentials, bad configuration).
	ErrPermanent = "Permanent"
	// ErrRecordFailed marks the failed activity that records one failed record in the history.
	ErrRecordFailed = "RecordFailed"
)

// Emulator defaults, matching the emulators' built-in credentials.
const (
	devClientID     = "deskcrm-dev"
	devClientSecret = "deskcrm-dev-secret"
	devRefreshToken = "deskcrm-dev-refresh"
	devDeskOrgID    = "1000000001"
	devCRMURL       = "http://127.0.0.1:8091"
	devDeskURL      = "http://127.0.0.1:8092"
)

// Activities holds what the activities need: Postgres and the two Zoho clients.
type Activities struct {
	Store *store.Store
	CRM   *crm.Client
	Desk  *desk.Client
	// Tokens is the OAuth token source both clients share (the worker checks it at start).
	Tokens *zoho.TokenSource
	Logger *zap.Logger
	// DefaultMapping returns the mapping of a module when the admin stored none.
	DefaultMapping func(mapping.Module) mapping.Mapping
	// DeskURL and DeskOrgID are the Desk host and organisation the clients talk to (the
	// webhook receiver checks Desk's signatures against them).
	DeskURL   string
	DeskOrgID string
	// Webhooks subscribes integrations to change notifications (set by the worker).
	Webhooks Subscriber
	// CRMDailyCredits and DeskDailyCredits are the editions' daily allowances (0: unknown),
	// reported with each result for the workflow's estimate of the days a first sync takes.
	CRMDailyCredits, DeskDailyCredits int64
	// CRMCreditReserve and DeskCreditReserve are the credits of each day left untouched for
	// the org's other integrations (reported with each result, like the allowances).
	CRMCreditReserve, DeskCreditReserve int64
	// CRMBulkReadThreshold is how many CRM records of a module in the look-back make the
	// first sync read them with Bulk Read (0: DefaultCRMBulkReadThreshold; negative: never).
	CRMBulkReadThreshold int

	mappings mappingCache
}

// Config says how to build Activities.
type Config struct {
	Store    *store.Store
	Zoho     config.Zoho
	Logger   *zap.Logger
	Registry prometheus.Registerer // optional: Zoho client metrics
}

// New builds the Zoho clients from configuration. With no client id configured it points at
// the local emulators with their dev credentials and maps the demo custom fields too.
func New(ctx context.Context, cfg Config) (*Activities, error) {
	z := cfg.Zoho
	defaultMapping := mapping.Default
	if z.Emulated() {
		z.ClientID, z.ClientSecret, z.RefreshToken = devClientID, devClientSecret, devRefreshToken
		if z.DeskOrgID == "" {
			z.DeskOrgID = devDeskOrgID
		}
		if z.CRMURL == "" {
			z.CRMURL = devCRMURL
		}
		if z.DeskURL == "" {
			z.DeskURL = devDeskURL
		}
		if z.AccountsURL == "" {
			z.AccountsURL = z.CRMURL
		}
		defaultMapping = mapping.DemoMapping
	}
	dc, err := zoho.ParseDataCenter(z.DataCenter)
	if err != nil {
		return nil, fmt.Errorf("ZOHO_DC: %w", err)
	}
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: z.ClientID, ClientSecret: z.ClientSecret,
		RefreshToken: z.RefreshToken, DC: dc, AccountsURL: z.AccountsURL})
	if err != nil {
		return nil, fmt.Errorf("zoho oauth: %w", err)
	}
	var metrics *zoho.Metrics
	if cfg.Registry != nil {
		metrics = zoho.NewMetrics()
		if err := cfg.Registry.Register(metrics); err != nil {
			return nil, fmt.Errorf("register zoho metrics: %w", err)
		}
	}
	crmClient, err := crm.New(crm.Config{BaseURL: z.CRMURL, DC: dc, Tokens: tokens, Concurrency: z.CRMConcurrency,
		Metrics: metrics, Trigger: crm.NoTriggers, CreditReserve: z.Reserve(z.CRMDailyCredits)})
	if err != nil {
		return nil, err
	}
	deskClient, err := desk.New(desk.Config{BaseURL: z.DeskURL, DC: dc, OrgID: z.DeskOrgID, Tokens: tokens,
		Concurrency: z.DeskConcurrency, Metrics: metrics, SourceID: SourceID(), CreditReserve: z.Reserve(z.DeskDailyCredits)})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	ep, err := dc.Endpoints()
	if err != nil {
		return nil, fmt.Errorf("ZOHO_DC: %w", err)
	}
	return &Activities{Store: cfg.Store, CRM: crmClient, Desk: deskClient, Tokens: tokens, Logger: logger, DefaultMapping: defaultMapping,
		DeskURL: zoho.BaseURL(z.DeskURL, ep.Desk), DeskOrgID: z.DeskOrgID,
		CRMDailyCredits: z.CRMDailyCredits, DeskDailyCredits: z.DeskDailyCredits, CRMBulkReadThreshold: z.CRMBulkReadThreshold,
		CRMCreditReserve: z.Reserve(z.CRMDailyCredits), DeskCreditReserve: z.Reserve(z.DeskDailyCredits)}, nil
}

// creditsLeft fills a result's view of the day's credits: what the servers last said is left
// (0: not said yet) and the configured allowances.
func (a *Activities) creditsLeft(r *StepResult) {
	if c := a.CRM.Credits(); c.RemainingKnown {
		r.CRMCreditsLeft = c.Remaining
	}
	if c := a.Desk.Credits(); c.RemainingKnown {
		r.DeskCreditsLeft = c.Remaining
	}
	r.CRMDailyCredits, r.DeskDailyCredits = a.CRMDailyCredits, a.DeskDailyCredits
	r.CRMCreditReserve, r.DeskCreditReserve = a.CRMCreditReserve, a.DeskCreditReserve
	r.CreditReserveReported = true
}

// SourceID is the id deskcrm sends with its Desk writes and registers as the webhooks'
// ignoreSourceId, so that Desk does not notify us of our own changes. It is fixed so that
// every worker shares it.
func SourceID() string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://deskcrm/source")).String()
}

// crmModule names a module in CRM's API ("Contacts", "Accounts"); Desk's names are ours.
func crmModule(m string) string {
	if m == Accounts {
		return "Accounts"
	}
	return "Contacts"
}

// creditMeter counts the calls and credits of one activity attempt, per API.
type creditMeter struct{ m *zoho.Meter }

// withMeter returns a context whose Zoho calls are counted on the returned meter.
func withMeter(ctx context.Context) (context.Context, creditMeter) {
	m := &zoho.Meter{}
	return zoho.WithMeter(ctx, m), creditMeter{m}
}

// used returns the credits spent on each API.
func (c creditMeter) used() (crm, desk int) {
	return int(c.m.Used("crm")), int(c.m.Used("desk"))
}

// latency returns the mean call time on each API.
func (c creditMeter) latency() (crm, desk time.Duration) {
	return c.m.Latency("crm"), c.m.Latency("desk")
}

// creditsAPIOf names the API of a Zoho error: "Zoho CRM", "Zoho Desk", or "Zoho".
func creditsAPIOf(err error) string {
	var ce *crm.Error
	var de *desk.Error
	switch {
	case errors.As(err, &ce):
		return "Zoho CRM"
	case errors.As(err, &de):
		return "Zoho Desk"
	}
	return "Zoho"
}

// apiError turns a Zoho error that ends an activity attempt into what the workflow expects:
// exhausted credits and permanent errors as non-retryable application errors, the rest as
// is (retried by policy).
func apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	if wait, ok := zoho.RetryAfter(err); ok && zoho.FailureCode(err) == "CREDITS_EXHAUSTED" {
		// The details: the wait, then the API whose credits ran out (the status names it).
		return temporal.NewNonRetryableApplicationError(op+": "+err.Error(), ErrCreditsExhausted, err, wait, creditsAPIOf(err))
	}
	if zoho.IsPermanent(err) && !zoho.IsTransient(err) && zoho.FailureCode(err) == "AUTH_REVOKED" {
		return temporal.NewNonRetryableApplicationError(op+": "+err.Error(), ErrPermanent, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// mustRetry reports whether a write's error means "try again" rather than "this record
// failed": a transient error, a lost response, or a cancelled attempt (the worker stopping,
// a pause, or a sibling call's failure) — none of which says anything about the record.
func mustRetry(ctx context.Context, err error) bool {
	return zoho.IsTransient(err) || zoho.IsAmbiguousWrite(err) || ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// recordGone reports whether a call failed because its record does not exist (any more).
func recordGone(err error) bool { return zoho.FailureCode(err) == "RECORD_NOT_FOUND" }

// isTransient reports whether a per-record error says "try again later" (5xx, limits).
func isTransient(err error) bool { return zoho.IsTransient(err) }
