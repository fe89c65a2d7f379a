package webhooks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/webhooks"
)

// jwksServer serves a JWKS that the test can swap, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []*rsa.PrivateKey
	kids    []string
	fail    bool
	fetches atomic.Int64
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != webhooks.JWKSPath {
		http.NotFound(w, r)
		return
	}
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	for i, k := range s.keys {
		doc.Keys = append(doc.Keys, map[string]string{"kty": "RSA", "kid": s.kids[i], "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *jwksServer) set(fail bool, keys []*rsa.PrivateKey, kids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.keys, s.kids = fail, keys, kids
}

func TestJWKSFetchCacheAndRotation(t *testing.T) {
	keyB, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyA := signingKey()
	js := &jwksServer{}
	js.set(true, nil)
	jsrv := httptest.NewServer(js)
	t.Cleanup(jsrv.Close)
	rec := &recorder{}
	h, err := webhooks.NewHandler(webhooks.Config{TokenSecret: testSecret, DeskURL: jsrv.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal: rec.signal, JWKSMinRefetch: time.Nanosecond, WebhookIntegration: fixedHooks(map[string]string{"42": "acme"})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	body := `[{"eventType":"Contact_Add","payload":{"id":"1"}}]`
	send := func(key *rsa.PrivateKey, kid string) int {
		tok := deskToken(t, jwt.SigningMethodRS256, key, kid, goodClaims(time.Now(), "42"))
		status, _ := do(t, srv, http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: tok}, body)
		return status
	}
	steps := []struct {
		name        string
		setup       func()
		key         *rsa.PrivateKey
		kid         string
		status      int
		wantFetches int64 // total fetches after the step
	}{
		{"host down, no key known yet: retry later", nil, keyA, "a", http.StatusServiceUnavailable, 1},
		{"host back: fetched", func() { js.set(false, []*rsa.PrivateKey{keyA}, "a") }, keyA, "a", http.StatusOK, 2},
		{"cached", nil, keyA, "a", http.StatusOK, 2},
		{"rotation: unknown kid refetches", func() { js.set(false, []*rsa.PrivateKey{keyB}, "b") }, keyB, "b", http.StatusOK, 3},
		{"retired key refused after refetch", nil, keyA, "a", http.StatusUnauthorized, 4},
		{"host down again: known key still works", func() { js.set(true, nil) }, keyB, "b", http.StatusOK, 4},
	}
	for _, st := range steps {
		if st.setup != nil {
			st.setup()
		}
		if got := send(st.key, st.kid); got != st.status {
			t.Fatalf("%s: status %d, want %d", st.name, got, st.status)
		}
		if got := js.fetches.Load(); got != st.wantFetches {
			t.Fatalf("%s: %d fetches, want %d", st.name, got, st.wantFetches)
		}
	}
}

func TestJWKSRefetchIsThrottled(t *testing.T) {
	js := &jwksServer{}
	js.set(false, []*rsa.PrivateKey{signingKey()}, "a")
	jsrv := httptest.NewServer(js)
	t.Cleanup(jsrv.Close)
	rec := &recorder{}
	h, err := webhooks.NewHandler(webhooks.Config{TokenSecret: testSecret, DeskURL: jsrv.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal: rec.signal, JWKSMinRefetch: time.Hour, WebhookIntegration: fixedHooks(map[string]string{"42": "acme"})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	for i := range 20 {
		tok := deskToken(t, jwt.SigningMethodRS256, signingKey(), fmt.Sprintf("forged-%d", i), goodClaims(time.Now(), "42"))
		if status, _ := do(t, srv, http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: tok}, "[]"); status != http.StatusUnauthorized {
			t.Fatalf("forged kid: %d, want 401", status)
		}
	}
	if got := js.fetches.Load(); got != 1 {
		t.Fatalf("20 forged kids caused %d fetches, want 1", got)
	}
}
