package webhooks

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTHeader is the header carrying the JWT of a Desk webhook delivery.
const JWTHeader = "X-ZDesk-JWT"

// JWKSPath is where the Desk host publishes the keys that sign webhook JWTs.
const JWKSPath = "/.well-known/jwks.json"

// minRSABits is the smallest RSA key accepted for webhook JWTs.
const minRSABits = 2048

// errUnknownKey is returned when no published key has the JWT's kid.
var errUnknownKey = errors.New("no published key with this kid")

// errJWKSUnavailable is returned when the keys cannot be fetched and none is known: the
// fault is ours or the Desk host's, not the caller's.
var errJWKSUnavailable = errors.New("desk signing keys unavailable")

// keySet fetches and caches the Desk host's JWKS. It refetches when a JWT names a kid it
// does not hold (key rotation) and when the set is older than maxAge, at most once per
// minRefetch whatever the outcome, so forged kids cannot flood the Desk host. The fetch runs
// outside the lock, one at a time: known keys keep serving while it runs (a stale set is
// refreshed in the background), and only requests naming an unknown kid wait for it.
type keySet struct {
	url        string
	client     *http.Client
	minRefetch time.Duration
	maxAge     time.Duration
	now        func() time.Time

	mu       sync.Mutex
	keys     map[string]*rsa.PublicKey
	fetched  time.Time // zero: never fetched successfully
	tried    time.Time // last fetch attempt
	inflight *jwksFetch
}

// jwksFetch is one fetch that requests for unknown kids wait for.
type jwksFetch struct {
	done chan struct{}
	err  error
}

// key returns the public key with kid, fetching the set when needed.
func (k *keySet) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	now := k.now()
	key, known := k.keys[kid]
	stale := k.fetched.IsZero() || now.Sub(k.fetched) > k.maxAge
	mayFetch := k.tried.IsZero() || now.Sub(k.tried) >= k.minRefetch
	if known {
		if stale && mayFetch && k.inflight == nil {
			k.startFetch(ctx, now)
		}
		k.mu.Unlock()
		return key, nil
	}
	f := k.inflight
	if f == nil {
		if !mayFetch {
			neverFetched := k.fetched.IsZero()
			k.mu.Unlock()
			if neverFetched {
				return nil, errJWKSUnavailable
			}
			return nil, errUnknownKey
		}
		f = k.startFetch(ctx, now)
	}
	k.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errJWKSUnavailable, ctx.Err())
	}
	k.mu.Lock()
	key, known = k.keys[kid]
	neverFetched := k.fetched.IsZero()
	k.mu.Unlock()
	switch {
	case known:
		return key, nil
	case f.err != nil && neverFetched:
		return nil, fmt.Errorf("%w: %w", errJWKSUnavailable, f.err)
	case f.err != nil:
		return nil, fmt.Errorf("%w (refetch failed: %w)", errUnknownKey, f.err)
	}
	return nil, errUnknownKey
}

// startFetch starts fetching the set in the background (detached from the request that
// asked, bounded by the client's timeout). Caller holds mu.
func (k *keySet) startFetch(ctx context.Context, now time.Time) *jwksFetch {
	f := &jwksFetch{done: make(chan struct{})}
	k.tried, k.inflight = now, f
	go func() {
		keys, err := k.fetch(context.WithoutCancel(ctx))
		k.mu.Lock()
		defer k.mu.Unlock()
		if err == nil {
			k.keys, k.fetched = keys, k.now()
		}
		f.err = err
		k.inflight = nil
		close(f.done)
	}()
	return f
}

// jwk is one key of a JWKS document.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// fetch downloads and parses the JWKS; keys that are not usable RS256 signing keys are
// skipped.
func (k *keySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch desk jwks: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch desk jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch desk jwks: %s answered %d", k.url, resp.StatusCode)
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetch desk jwks: decode: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(doc.Keys))
	for _, j := range doc.Keys {
		if pub, err := parseJWK(j); err == nil {
			keys[j.Kid] = pub
		}
	}
	return keys, nil
}

// parseJWK turns an RSA JWK into a public key.
func parseJWK(j jwk) (*rsa.PublicKey, error) {
	if j.Kty != "RSA" || (j.Use != "" && j.Use != "sig") || (j.Alg != "" && j.Alg != "RS256") {
		return nil, fmt.Errorf("key %q: not an RS256 signing key", j.Kid)
	}
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.N, "="))
	if err != nil {
		return nil, fmt.Errorf("key %q: modulus: %w", j.Kid, err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.E, "="))
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, fmt.Errorf("key %q: bad exponent", j.Kid)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	if pub.N.BitLen() < minRSABits || pub.E < 3 {
		return nil, fmt.Errorf("key %q: too weak", j.Kid)
	}
	return pub, nil
}

// deskVerifier checks the JWT of a Desk webhook delivery.
type deskVerifier struct {
	keys   *keySet
	issuer string // "orgId:<org>"
	leeway time.Duration
	// maxLifetime caps exp - iat, so that a captured delivery cannot be replayed for long.
	maxLifetime time.Duration
	now         func() time.Time
}

// verify checks signature (RS256 with a published key), issuer, audience ("webhookId:…"),
// that exp and iat are present and valid, and that exp - iat is at most maxLifetime. It
// returns the webhook id from the audience.
func (v *deskVerifier) verify(ctx context.Context, token string) (webhookID string, err error) {
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("jwt has no kid")
		}
		return v.keys.key(ctx, kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return "", fmt.Errorf("desk jwt: %w", err)
	}
	if claims.IssuedAt == nil {
		return "", errors.New("desk jwt: iat is required")
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > v.maxLifetime {
		return "", fmt.Errorf("desk jwt: lives %s from iat to exp, more than the %s allowed", life, v.maxLifetime)
	}
	for _, aud := range claims.Audience {
		if id, ok := strings.CutPrefix(aud, "webhookId:"); ok && id != "" {
			return id, nil
		}
	}
	return "", errors.New(`desk jwt: audience is not "webhookId:<id>"`)
}
