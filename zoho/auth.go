package zoho

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
	// HTTPClient talks to the accounts server (default http.DefaultClient).
	HTTPClient *http.Client
}

// TokenSource hands out Zoho access tokens minted from a refresh token. Tokens
// are cached and refreshed EarlyExpiry before they expire; it is safe for
// concurrent use, and concurrent callers share one refresh.
type TokenSource struct {
	early   time.Duration
	base    oauth2.TokenSource
	mu      sync.Mutex
	src     oauth2.TokenSource
	current string // access token most recently minted
	mints   atomic.Int64
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
	accounts = BaseURL(accounts, "")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
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
	ts := &TokenSource{early: early}
	ts.base = &refresher{conf: conf, refresh: cfg.RefreshToken, client: hc, owner: ts}
	ts.src = oauth2.ReuseTokenSourceWithExpiry(nil, ts.base, early)
	return ts, nil
}

// StaticTokenSource returns a TokenSource that always hands out the given
// access token and never refreshes; for tests and one-off scripts.
func StaticTokenSource(accessToken string) *TokenSource {
	tok := &oauth2.Token{AccessToken: accessToken, TokenType: "Zoho-oauthtoken"}
	ts := &TokenSource{base: oauth2.StaticTokenSource(tok), current: accessToken}
	ts.src = ts.base
	return ts
}

// Token returns a valid access token, refreshing it when needed.
func (t *TokenSource) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	src := t.src
	t.mu.Unlock()
	tok, err := src.Token()
	if err != nil {
		return nil, fmt.Errorf("zoho oauth: refresh access token: %w", err)
	}
	return tok, nil
}

// Invalidate drops the cached token if it is still accessToken, so the next
// Token call refreshes. Clients call it once when the API answers 401 for a
// token that had not yet reached its stated expiry.
func (t *TokenSource) Invalidate(accessToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, static := t.base.(*refresher); !static {
		return
	}
	if t.current == accessToken {
		t.current = ""
		t.src = oauth2.ReuseTokenSourceWithExpiry(nil, t.base, t.early)
	}
}

// Refreshes reports how many access tokens have been minted so far.
func (t *TokenSource) Refreshes() int64 { return t.mints.Load() }

// refresher mints a new access token from the refresh token on every call.
type refresher struct {
	conf    *oauth2.Config
	refresh string
	client  *http.Client
	owner   *TokenSource
}

func (r *refresher) Token() (*oauth2.Token, error) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, r.client)
	// A token without an access token is invalid, so the library refreshes it.
	tok, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: r.refresh}).Token()
	if err != nil {
		return nil, err
	}
	// Some Zoho servers send expires_in in milliseconds next to expires_in_sec.
	if secs, ok := extraSeconds(tok.Extra("expires_in_sec")); ok {
		tok.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	// Zoho answers token_type "Bearer" but wants its own scheme on API calls.
	tok.TokenType = "Zoho-oauthtoken"
	// The refresh token is not returned on refresh; keep ours.
	tok.RefreshToken = r.refresh
	r.owner.mu.Lock()
	r.owner.current = tok.AccessToken
	r.owner.mu.Unlock()
	r.owner.mints.Add(1)
	return tok, nil
}

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
