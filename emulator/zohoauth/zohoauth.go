// Package zohoauth emulates the Zoho Accounts OAuth token endpoint and keeps
// the store of issued access tokens that the CRM and Desk emulators check.
//
// One Store may be shared by both emulators: in real Zoho one OAuth client
// (one refresh token) serves both APIs, so a token issued by either emulator's
// token endpoint is accepted by both.
//
// # Stable API used by the emulators
//
//	zohoauth.NewStore(zohoauth.Config) *zohoauth.Store
//	(*Store).TokenHandler(apiDomain string) http.Handler  // POST /oauth/v2/token, /oauth/v2/token/revoke
//	(*Store).Check(r *http.Request) Status                 // Valid, Expired, Unknown, Missing
//	(*Store).CheckHeader(authorization string) Status
//	(*Store).Issue() (token string, expiresAt time.Time)   // for in-process tests
//	(*Store).ExpireAll() int                               // admin: expire every token now
//	(*Store).SetLifetime(time.Duration); Lifetime() time.Duration
//	(*Store).Config() Config
//
// The token endpoint accepts grant_type=refresh_token with client_id,
// client_secret and refresh_token in the query string, an
// application/x-www-form-urlencoded body or a multipart/form-data body (what
// Zoho's official SDKs send), or the client credentials in HTTP Basic auth. Success is
// {"access_token","expires_in":3600,"api_domain","token_type":"Bearer"}.
// Failures are answered like Zoho Accounts does: HTTP 200 with
// {"error":"invalid_client"} (unknown client id or wrong secret) or
// {"error":"invalid_code"} (unknown or revoked refresh token), and no
// access_token.
package zohoauth

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Default credentials of the local development OAuth client.
const (
	DefaultClientID     = "deskcrm-dev"
	DefaultClientSecret = "deskcrm-dev-secret"
	DefaultRefreshToken = "deskcrm-dev-refresh"
	DefaultLifetime     = time.Hour
)

// Config configures a Store. Empty fields take the defaults above.
type Config struct {
	// ClientID is the only accepted OAuth client id.
	ClientID string
	// ClientSecret is the client's secret.
	ClientSecret string
	// RefreshToken is the accepted refresh token.
	RefreshToken string
	// Lifetime is how long an access token lives (default 1 h).
	Lifetime time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.RefreshToken == "" {
		c.RefreshToken = DefaultRefreshToken
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Status is the result of checking a request's access token.
type Status int

// Token check results. Each API maps them to its own error shape.
const (
	// Valid means the token was issued and has not expired.
	Valid Status = iota
	// Expired means the token was issued but its lifetime is over.
	Expired
	// Unknown means the token was never issued (or revoked).
	Unknown
	// Missing means there is no "Authorization: Zoho-oauthtoken <token>"
	// header.
	Missing
)

// String names the status.
func (s Status) String() string {
	switch s {
	case Valid:
		return "valid"
	case Expired:
		return "expired"
	case Unknown:
		return "unknown"
	case Missing:
		return "missing"
	}
	return "invalid-status"
}

// HeaderPrefix is the scheme Zoho APIs expect in the Authorization header.
const HeaderPrefix = "Zoho-oauthtoken "

// Store issues and checks access tokens. It is safe for concurrent use.
type Store struct {
	cfg Config

	mu       sync.Mutex
	lifetime time.Duration
	tokens   map[string]time.Time // token -> expiry
	revoked  bool                 // the refresh token was revoked
}

// NewStore returns a Store for one OAuth client.
func NewStore(cfg Config) *Store {
	cfg = cfg.withDefaults()
	return &Store{cfg: cfg, lifetime: cfg.Lifetime, tokens: map[string]time.Time{}}
}

// Config returns the store's configuration (with defaults applied).
func (s *Store) Config() Config { return s.cfg }

// SetLifetime changes the lifetime of tokens issued from now on.
func (s *Store) SetLifetime(d time.Duration) {
	if d <= 0 {
		d = DefaultLifetime
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// Lifetime returns the lifetime of newly issued tokens.
func (s *Store) Lifetime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lifetime
}

// Issue mints a new access token, as a successful refresh does.
func (s *Store) Issue() (string, time.Time) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := "1000." + hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	exp := now.Add(s.lifetime)
	s.tokens[tok] = exp
	// Forget tokens that expired long ago so the map stays small.
	for t, e := range s.tokens {
		if now.Sub(e) > 24*time.Hour {
			delete(s.tokens, t)
		}
	}
	return tok, exp
}

// ExpireAll makes every issued token expired now and returns how many were
// live. Clients must refresh afterwards.
func (s *Store) ExpireAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	n := 0
	for t, e := range s.tokens {
		if e.After(now) {
			n++
		}
		s.tokens[t] = now.Add(-time.Second)
	}
	return n
}

// CheckHeader checks the value of an Authorization header.
func (s *Store) CheckHeader(authorization string) Status {
	tok, ok := strings.CutPrefix(authorization, HeaderPrefix)
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return Missing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	switch {
	case !ok:
		return Unknown
	case !s.cfg.Now().Before(exp):
		return Expired
	default:
		return Valid
	}
}

// revokeAll forgets every token and refuses the refresh token from now on.
func (s *Store) revokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
	s.revoked = true
}

func (s *Store) refreshAllowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.revoked
}
