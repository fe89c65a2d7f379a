package webhooks_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/webhooks"
	"deskcrm/zoho/desk"
)

// The attack: a delivery Desk really signed for integration A's webhook, captured and sent to
// integration B's endpoint. Its JWT names A's webhook, so B refuses it.
func TestDeskJWTOfOneIntegrationRefusedOnAnother(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	for _, in := range []string{"acme", "beta"} {
		if err := e.sub.Subscribe(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	contact := deskCreate(t, e.deskOther, desk.Contacts, map[string]any{"lastName": "Ng"})
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, contact)
	e.rec.waitIDs(t, "beta", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, contact)
	acme := e.lastRequest(t, webhooks.DeskPath("acme"))

	h := map[string]string{webhooks.JWTHeader: acme.header.Get(webhooks.JWTHeader)}
	if status, body := e.post(t, http.MethodPost, webhooks.DeskPath("beta"), h, acme.body); status != http.StatusUnauthorized {
		t.Fatalf("acme's delivery on beta: %d %s, want 401", status, body)
	}
	if status, body := e.post(t, http.MethodPost, webhooks.DeskPath("acme"), h, acme.body); status != http.StatusOK {
		t.Fatalf("acme's delivery on acme: %d %s", status, body)
	}
	// A worker that did not subscribe anything (another replica) learns the owners from Desk.
	other, err := webhooks.NewSubscriber(webhooks.SubscriberConfig{CRM: e.crm, Desk: e.deskOwn, PublicURL: e.hSrv.URL,
		TokenSecret: testSecret, DeskSourceID: ownSource})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(h[webhooks.JWTHeader], &claims); err != nil {
		t.Fatal(err)
	}
	hookID := strings.TrimPrefix(claims.Audience[0], "webhookId:")
	if in, err := other.DeskWebhookIntegration(ctx, hookID); err != nil || in != "acme" {
		t.Fatalf("another worker: %q %v, want acme", in, err)
	}
	if _, err := other.DeskWebhookIntegration(ctx, "1892000000999999"); err != webhooks.ErrUnknownWebhook {
		t.Fatalf("unknown webhook: %v", err)
	}
}

// The attack: a CRM callback captured on the wire and sent again later, as is or with a fresh
// server_time. It is refused once older than MaxCallbackAge, and whatever its server_time
// once its channel (hence its token) has lapsed.
func TestCapturedCRMCallbackCannotBeReplayedForever(t *testing.T) {
	c := &clock{}
	e := newEnv(t, envOptions{clock: c})
	if err := e.sub.Subscribe(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	id := e.crmInsert(t, "Contacts", map[string]any{"Last_Name": "Ng"})[0]
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpInsert, id)
	captured := e.lastRequest(t, webhooks.CRMPath("acme"))
	replay := func(body string) int {
		status, _ := e.post(t, http.MethodPost, webhooks.CRMPath("acme"), nil, body)
		return status
	}
	if status := replay(captured.body); status != http.StatusOK {
		t.Fatalf("replayed at once: %d (still fresh, accepted)", status)
	}
	c.Advance(webhooks.DefaultMaxCallbackAge + time.Minute)
	if status := replay(captured.body); status != http.StatusUnauthorized {
		t.Fatalf("replayed %s later: %d, want 401", webhooks.DefaultMaxCallbackAge+time.Minute, status)
	}
	// The attacker rewrites server_time: fine until the channel's expiry, refused after it.
	withTime := func(at time.Time) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(captured.body), &m); err != nil {
			t.Fatal(err)
		}
		m["server_time"] = at.UnixMilli()
		b, _ := json.Marshal(m)
		return string(b)
	}
	if status := replay(withTime(c.Now())); status != http.StatusOK {
		t.Fatalf("fresh server_time within the channel's life: %d", status)
	}
	c.Advance(webhooks.DefaultChannelTTL + time.Hour)
	if status := replay(withTime(c.Now())); status != http.StatusUnauthorized {
		t.Fatalf("fresh server_time after the channel lapsed: %d, want 401", status)
	}
}

// The attack: clients that open webhook requests and send their bodies slowly, to hold every
// connection. Past MaxInFlight, callers get 503 at once instead of queueing.
func TestWebhookRequestsAreCapped(t *testing.T) {
	e := newEnv(t, envOptions{handler: func(c *webhooks.Config) { c.MaxInFlight = 2 }})
	var writers []*io.PipeWriter
	results := make(chan int, 2)
	for range 2 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		t.Cleanup(func() { _ = pw.Close() })
		req, err := http.NewRequest(http.MethodPost, e.hSrv.URL+webhooks.CRMPath("acme"), pr)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			resp, err := e.hSrv.Client().Do(req)
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
		if _, err := pw.Write([]byte(`{"module":`)); err != nil { // the client has sent part of the body
			t.Fatal(err)
		}
	}
	// Probe only once both slow requests hold a slot: a probe that got in before the second
	// would take its slot and have it answered 503 (a flake under load, where the second
	// request's handler starts late).
	waitUntil(t, "two slow requests in the receiver", func() bool {
		select {
		case status := <-results:
			t.Fatalf("a slow request was answered %d before its body ended", status)
		default:
		}
		return e.h.Stats().InFlight == 2
	})
	waitUntil(t, "the receiver to refuse a third request", func() bool {
		status, _ := e.post(t, http.MethodPost, webhooks.CRMPath("acme"), nil, "{}")
		return status == http.StatusServiceUnavailable
	})
	if st := e.h.Stats(); st.Busy == 0 {
		t.Fatalf("stats %+v, want busy answers", st)
	}
	for _, pw := range writers {
		_ = pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	for range 2 {
		<-results
	}
	// With the slow callers gone, calls are served again.
	waitUntil(t, "the receiver serves again", func() bool {
		status, _ := e.post(t, http.MethodPost, webhooks.CRMPath("acme"), nil, "{}")
		return status != http.StatusServiceUnavailable
	})
}

// While a JWKS fetch hangs, deliveries signed with a known key are verified without waiting
// for it: the fetch runs outside the key set's lock.
func TestJWKSFetchDoesNotBlockKnownKeys(t *testing.T) {
	js := &jwksServer{}
	js.set(false, []*rsa.PrivateKey{signingKey()}, "a")
	hang := make(chan struct{})
	var hanging = make(chan struct{}, 8)
	jsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if js.fetches.Load() >= 1 { // every fetch after the first hangs until released
			hanging <- struct{}{}
			<-hang
		}
		js.ServeHTTP(w, r)
	}))
	t.Cleanup(jsrv.Close)
	defer close(hang)
	rec := &recorder{}
	h, err := webhooks.NewHandler(webhooks.Config{TokenSecret: testSecret, DeskURL: jsrv.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal: rec.signal, WebhookIntegration: fixedHooks(map[string]string{"42": "acme"}),
		JWKSMaxAge: time.Nanosecond, JWKSMinRefetch: time.Nanosecond, HTTPClient: &http.Client{Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	send := func() int {
		tok := deskToken(t, jwt.SigningMethodRS256, signingKey(), "a", goodClaims(time.Now(), "42"))
		status, _ := do(t, srv, http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: tok}, "[]")
		return status
	}
	if status := send(); status != http.StatusOK {
		t.Fatalf("first delivery: %d", status)
	}
	// The set is stale at once (JWKSMaxAge 1ns): the next delivery starts a refetch, which hangs.
	if status := send(); status != http.StatusOK {
		t.Fatalf("delivery that starts the refetch: %d", status)
	}
	<-hanging
	for i := range 5 {
		if status := send(); status != http.StatusOK {
			t.Fatalf("delivery %d during the hanging fetch: %d", i, status)
		}
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d completed fetches, want 1 (the second hangs, no third starts)", n)
	}
}
