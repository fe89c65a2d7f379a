package webhooks_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/webhooks"
)

// fuzzNow is the receivers' clock in the fuzz targets: fixed, so that the seeded JWTs and
// channel tokens stay valid and found inputs replay the same way forever.
var fuzzNow = time.Unix(1_900_000_000, 0)

// fuzzKey is a test-only RSA key (testdata/fuzz-signing-key.pem), fixed so that the corpus of
// found inputs keeps its signatures.
func fuzzKey(f *testing.F) *rsa.PrivateKey {
	f.Helper()
	pemBytes, err := os.ReadFile("testdata/fuzz-signing-key.pem")
	if err != nil {
		f.Fatal(err)
	}
	k, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		f.Fatal(err)
	}
	return k
}

// fuzzHandler is a receiver with a fixed clock, a JWKS server holding key as "fuzz", and
// webhook 42 belonging to integration acme.
func fuzzHandler(f *testing.F, key *rsa.PrivateKey) *webhooks.Handler {
	f.Helper()
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "fuzz", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	}))
	f.Cleanup(jwks.Close)
	h, err := webhooks.NewHandler(webhooks.Config{TokenSecret: testSecret, DeskURL: jwks.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal:             func(context.Context, string, webhooks.Changes) error { return nil },
		WebhookIntegration: fixedHooks(map[string]string{"42": "acme"}), Now: func() time.Time { return fuzzNow },
		FlushInterval: time.Hour, MaxPending: 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// allowedStatus are the answers a receiver may give any input; 500 is never one.
var allowedStatus = map[int]bool{200: true, 400: true, 401: true, 404: true, 405: true, 413: true, 503: true}

// FuzzDeskDelivery sends the Desk receiver arbitrary JWTs and bodies: it never panics and
// answers only 2xx/4xx/503; a delivery it accepts carries a JWT that verifies.
func FuzzDeskDelivery(f *testing.F) {
	key := fuzzKey(f)
	h := fuzzHandler(f, key)
	good := deskToken(f, jwt.SigningMethodRS256, key, "fuzz", goodClaims(fuzzNow, "42"))
	events := `[{"eventType":"Contact_Update","orgId":"` + deskemu.DefaultOrgID + `","payload":{"id":"5001"}},` +
		`{"eventType":"Account_Delete","payload":{"id":1892000000100001}},{"eventType":"Ticket_Add","payload":{"id":"7"}}]`
	f.Add(good, []byte(events))
	f.Add(good, []byte(`[]`))
	f.Add(good, []byte(`[{"eventType":"Contact_Add","payload":{"id":"1 or 1=1"}}]`))
	f.Add(good, []byte(`{"eventType":"Contact_Update"}`))
	f.Add(deskToken(f, jwt.SigningMethodRS256, key, "fuzz", goodClaims(fuzzNow, "43")), []byte(events))
	f.Add("not.a.jwt", []byte(events))
	f.Add("", []byte(nil))
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/desk/acme", strings.NewReader(string(body)))
		if token != "" {
			req.Header.Set(webhooks.JWTHeader, token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !allowedStatus[w.Code] {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body)
		}
	})
}

// FuzzCRMCallback sends the CRM receiver arbitrary bodies: it never panics, answers only
// 2xx/4xx/503, and accepts nothing without the integration's current channel token.
func FuzzCRMCallback(f *testing.F) {
	h := fuzzHandler(f, fuzzKey(f))
	tok := webhooks.ChannelToken(testSecret, "acme", fuzzNow.Add(time.Hour))
	for _, b := range []string{
		crmBody("acme", fuzzNow, "Contacts", "update", "1001", 1002),
		crmBody("acme", fuzzNow, "Deals", "insert", "1"),
		crmBody("acme", fuzzNow.Add(-time.Hour), "Contacts", "update", "1001"),
		crmBody("other", fuzzNow, "Contacts", "update", "1001"),
		`{"server_time":1900000000000,"module":"Accounts","ids":["1"],"operation":"delete","channel_id":1,"token":"` + tok + `"}`,
		`{"token":"` + tok + `","ids":[{"nested":true}],"module":"Contacts","operation":"update","server_time":"x"}`,
		`[]`, `{}`, ``, `{"token":` + strings.Repeat("[", 100),
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/crm/acme", strings.NewReader(string(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !allowedStatus[w.Code] {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if w.Code == http.StatusOK && !strings.Contains(string(body), ".") {
			t.Fatalf("accepted a callback without a channel token: %q", body)
		}
	})
}
