package zoho

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// AuthHeaderPrefix is the scheme Zoho expects in the Authorization header
// (Zoho rejects "Bearer").
const AuthHeaderPrefix = "Zoho-oauthtoken "

// DefaultEarlyExpiry is how long before its stated expiry a cached access token
// is refreshed, so a request never leaves with a token about to lapse.
const DefaultEarlyExpiry = 5 * time.Minute

// OAuthConfig describes a Zoho OAuth client that holds a refresh token. One
// client whose refresh token was granted both the CRM and the Desk scopes may
// serve both APIs.
type OAuthConfig struct {
	// ClientID and ClientSecret identify the OAuth client (Zoho API console).
	ClientID     string
	ClientSecret string
	// RefreshToken is the long-lived token from the authorization-code exchange.
	RefreshToken string
	// DC selects the accounts server; AccountsURL overrides it (emulators).
	DC          DataCenter
	AccountsURL string
	// Scopes are informative only: a refresh keeps the scopes of the grant.
	Scopes []string
	// EarlyExpiry refreshes tokens this long before they expire (default 5 min).
	EarlyExpiry time.Duration
	// HTTPClient talks to the accounts server (default: a client with a
	// DefaultRefreshTimeout timeout).
	HTTPClient *http.Client
	// RefreshTimeout bounds one refresh, whatever the HTTP client's timeout
	// (default DefaultRefreshTimeout).
	RefreshTimeout time.Duration
}

// DefaultRefreshTimeout bounds a token refresh, so that a hung accounts
// server cannot hold the API calls waiting for a token.
const DefaultRefreshTimeout = 30 * time.Second

// TokenSource hands out Zoho access tokens minted from a refresh token. Tokens
// are cached and refreshed EarlyExpiry before they expire. It is safe for
// concurrent use: concurrent callers share one refresh, and each stops waiting
// when its own context ends.
type TokenSource struct {
	early   time.Duration
	timeout time.Duration
	// mint refreshes (nil for a static source).
	mint func(ctx context.Context) (*oauth2.Token, error)

	mu       sync.Mutex
	tok      *oauth2.Token // cached; nil when none or invalidated
	inflight *refreshCall
	mints    atomic.Int64
}

// refreshCall is one refresh that concurrent callers wait for.
type refreshCall struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// NewTokenSource builds a TokenSource from cfg. It does not contact the server.
func NewTokenSource(cfg OAuthConfig) (*TokenSource, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.RefreshToken == "" {
		return nil, errors.New("zoho oauth: client id, client secret and refresh token are required")
	}
	accounts := cfg.AccountsURL
	if accounts == "" {
		ep, err := cfg.DC.Endpoints()
		if err != nil {
			return nil, fmt.Errorf("zoho oauth: %w", err)
		}
		accounts = ep.Accounts
	}
	// The accounts server's base URL; the token endpoint's URL, as Zoho's SDKs are configured
	// with, is taken for it (it failed later as "invalid_request": a trial).
	accounts = strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(accounts, "/"), "/oauth/v2/token"), "/oauth/v2/auth")
	accounts = BaseURL(accounts, "")
	timeout := cfg.RefreshTimeout
	if timeout <= 0 {
		timeout = DefaultRefreshTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	early := cfg.EarlyExpiry
	if early <= 0 {
		early = DefaultEarlyExpiry
	}
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   accounts + "/oauth/v2/auth",
			TokenURL:  accounts + "/oauth/v2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	ts := &TokenSource{early: early, timeout: timeout}
	refresh := cfg.RefreshToken
	ts.mint = func(ctx context.Context) (*oauth2.Token, error) {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
		// A token without an access token is invalid, so the library refreshes it.
		tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
		if err != nil {
			return nil, explainRefreshError(err)
		}
		// Some Zoho servers send expires_in in milliseconds next to expires_in_sec.
		if secs, ok := extraSeconds(tok.Extra("expires_in_sec")); ok {
			tok.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
		}
		// Zoho answers token_type "Bearer" but wants its own scheme on API calls.
		tok.TokenType = "Zoho-oauthtoken"
		// The refresh token is not returned on refresh; keep ours.
		tok.RefreshToken = refresh
		return tok, nil
	}
	return ts, nil
}

// explainRefreshError names the setting to fix when Zoho's accounts server refuses a refresh
// (RFC 6749 section 5.2 error codes as Zoho uses them): an unknown client or wrong secret is
// "invalid_client", a refresh token revoked, expired or made for another client is
// "invalid_code". A trial's status repeated "invalid_client" four times and named no variable.
func explainRefreshError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	switch re.ErrorCode {
	case "invalid_client":
		return fmt.Errorf("%w (Zoho does not know this client: check ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET, and that ZOHO_DC is the data center the client was registered in)", err)
	case "invalid_code":
		return fmt.Errorf("%w (ZOHO_REFRESH_TOKEN was revoked, expired, or made for another client or data center: generate a new one for this client)", err)
	}
	return err
}

// StaticTokenSource returns a TokenSource that always hands out the given
// access token and never refreshes; for tests, one-off scripts and calls made
// with someone else's token (an agent's).
func StaticTokenSource(accessToken string) *TokenSource {
	return &TokenSource{tok: &oauth2.Token{AccessToken: accessToken, TokenType: "Zoho-oauthtoken"}}
}

// Token returns a valid access token, refreshing it when needed; it
// implements oauth2.TokenSource. Prefer TokenContext.
func (t *TokenSource) Token() (*oauth2.Token, error) { return t.TokenContext(context.Background()) }

// TokenContext returns a valid access token, refreshing it when needed. The
// refresh carries ctx's values, is shared by every caller that needs it
// meanwhile, and is bounded by RefreshTimeout (it is not cancelled when one
// caller gives up, so the others still get its token); each caller returns
// ctx's error as soon as its own ctx ends.
func (t *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	if t.mint == nil {
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	if t.valid(t.tok) {
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	call := t.inflight
	if call == nil {
		call = &refreshCall{done: make(chan struct{})}
		t.inflight = call
		go t.refresh(context.WithoutCancel(ctx), call)
	}
	t.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return nil, fmt.Errorf("zoho oauth: refresh access token: %w", call.err)
		}
		return call.tok, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("zoho oauth: waiting for a token refresh: %w", ctx.Err())
	}
}

// refresh mints a token for call and caches it.
func (t *TokenSource) refresh(ctx context.Context, call *refreshCall) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	tok, err := t.mint(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	call.tok, call.err = tok, err
	if err == nil {
		t.tok = tok
		t.mints.Add(1)
	}
	t.inflight = nil
	close(call.done)
}

// valid reports whether tok may still be handed out: it expires more than
// EarlyExpiry from now (or never). Caller holds t.mu.
func (t *TokenSource) valid(tok *oauth2.Token) bool {
	if tok == nil || tok.AccessToken == "" {
		return false
	}
	return tok.Expiry.IsZero() || time.Now().Add(t.early).Before(tok.Expiry)
}

// Invalidate drops the cached token if it is still accessToken, so the next
// Token call refreshes. Clients call it once when the API answers 401 for a
// token that had not yet reached its stated expiry.
func (t *TokenSource) Invalidate(accessToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mint == nil {
		return
	}
	if t.tok != nil && t.tok.AccessToken == accessToken {
		t.tok = nil
	}
}

// Refreshes reports how many access tokens have been minted so far.
func (t *TokenSource) Refreshes() int64 { return t.mints.Load() }

func extraSeconds(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x > 0
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil && n > 0
	case int64:
		return x, x > 0
	}
	return 0, false
}
