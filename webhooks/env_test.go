package webhooks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/webhooks"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Source ids of the Desk clients: ours (the subscriber ignores its events) and someone else's.
const (
	ownSource   = "3b0f5c8e-5d5c-4f43-9d0e-6f1f1f0a2b11"
	otherSource = "9a7e2c41-0b6d-4f2a-8c3e-1d2e3f4a5b6c"
	testSecret  = "test-token-secret"
)

// signingKey is the Desk emulators' webhook key, shared so tests can forge tokens with it.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// call is one Signal call.
type call struct {
	integration string
	ch          webhooks.Changes
}

// recorder is the receiver's Signal function; it records every call.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) signal(_ context.Context, integrationID string, ch webhooks.Changes) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{integrationID, ch})
	return nil
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// ids returns how often each id was signalled for an integration, source, module and operation.
func (r *recorder) ids(integration, source, module, op string) map[string]int {
	out := map[string]int{}
	for _, c := range r.snapshot() {
		if c.integration == integration && c.ch.Source == source && c.ch.Module == module && c.ch.Operation == op {
			for _, id := range c.ch.IDs {
				out[id]++
			}
		}
	}
	return out
}

// waitIDs waits until every id was signalled for the integration, source, module and op.
func (r *recorder) waitIDs(t *testing.T, integration, source, module, op string, want ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s %s %s %s signal of %v", integration, source, module, op, want), func() bool {
		got := r.ids(integration, source, module, op)
		for _, id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}

// waitUntil polls cond until it holds, failing after a generous deadline (a hang guard, not a
// timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock is a settable clock for the CRM emulator and the subscriber.
type clock struct{ offset atomic.Int64 }

// Now is the real time moved by every Advance.
func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward.
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// envOptions tune newEnv.
type envOptions struct {
	handler    func(*webhooks.Config)
	subscriber func(*webhooks.SubscriberConfig)
	clock      *clock
}

// env is both emulators behind httptest servers, their clients, the receiver behind its own
// httptest server and a subscriber pointed at it.
type env struct {
	crmEmu    *crmemu.Server
	crmSrv    *httptest.Server
	crm       *crm.Client
	deskEmu   *deskemu.Server
	deskSrv   *httptest.Server
	deskOwn   *desk.Client // writes with ownSource, the webhooks' ignoreSourceId
	deskOther *desk.Client // writes with another source
	rec       *recorder
	h         *webhooks.Handler
	hSrv      *httptest.Server
	sub       *webhooks.Subscriber
	clock     *clock

	// captured are the last requests the receiver got, by path (see capture).
	capMu    sync.Mutex
	captured map[string]capturedRequest
}

// capturedRequest is a request as an eavesdropper would have copied it.
type capturedRequest struct {
	header http.Header
	body   string
}

func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	e := &env{rec: &recorder{}, clock: opt.clock}
	if e.clock == nil {
		e.clock = &clock{}
	}
	e.crmEmu = crmemu.New(crmemu.Config{NotifyWindow: 5 * time.Millisecond, BulkStep: time.Millisecond, Now: e.clock.Now,
		SearchLag: crmemu.NoSearchLag}) // search lag off until the engine confirms creates (issue 11.4)
	e.crmSrv = httptest.NewServer(e.crmEmu)
	t.Cleanup(e.crmSrv.Close)
	e.deskEmu = deskemu.New(deskemu.Config{Realism: realism.New(realism.Config{}), SigningKey: signingKey(),
		Webhooks: deskemu.WebhookConfig{Window: 5 * time.Millisecond, Backoff: 5 * time.Millisecond}})
	e.deskSrv = httptest.NewServer(e.deskEmu)
	t.Cleanup(func() { e.deskSrv.Close(); e.deskEmu.Close() })

	e.crm = newCRMClient(t, e.crmSrv)
	e.deskOwn = newDeskClient(t, e.deskSrv, deskemu.DefaultOrgID, ownSource)
	e.deskOther = newDeskClient(t, e.deskSrv, deskemu.DefaultOrgID, otherSource)

	cfg := webhooks.Config{TokenSecret: testSecret, DeskURL: e.deskSrv.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal: e.rec.signal, FlushInterval: 10 * time.Millisecond, Now: e.clock.Now,
		// The subscriber is built below, pointed at this receiver.
		WebhookIntegration: func(ctx context.Context, id string) (string, error) { return e.sub.DeskWebhookIntegration(ctx, id) },
		ChannelExpiry:      func(id string) (time.Time, bool) { return e.sub.Expiry(id) },
	}
	if opt.handler != nil {
		opt.handler(&cfg)
	}
	h, err := webhooks.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.captured = map[string]capturedRequest{}
	e.hSrv = httptest.NewServer(e.capture(h))
	t.Cleanup(func() {
		e.hSrv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(ctx)
	})

	scfg := webhooks.SubscriberConfig{CRM: e.crm, Desk: e.deskOwn, PublicURL: e.hSrv.URL, TokenSecret: testSecret,
		DeskSourceID: ownSource, Now: e.clock.Now}
	if opt.subscriber != nil {
		opt.subscriber(&scfg)
	}
	e.sub, err = webhooks.NewSubscriber(scfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// capture records each request's headers and the body the receiver read.
func (e *env) capture(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &buf), r.Body}
		next.ServeHTTP(w, r)
		e.capMu.Lock()
		e.captured[r.URL.Path] = capturedRequest{header: r.Header.Clone(), body: buf.String()}
		e.capMu.Unlock()
	})
}

// lastRequest returns the last request captured at path.
func (e *env) lastRequest(t *testing.T, path string) capturedRequest {
	t.Helper()
	e.capMu.Lock()
	defer e.capMu.Unlock()
	c, ok := e.captured[path]
	if !ok {
		t.Fatalf("no request captured at %s", path)
	}
	return c
}

// hookOf subscribes an integration and returns the id of its Desk webhook.
func (e *env) hookOf(t *testing.T, integration string) string {
	t.Helper()
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, integration); err != nil {
		t.Fatal(err)
	}
	list, err := e.deskOwn.Webhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range list {
		if w.URL == e.sub.DeskWebhookURL(integration) {
			return w.ID
		}
	}
	t.Fatalf("no Desk webhook for %s", integration)
	return ""
}

// fixedHooks is a WebhookIntegration for receivers tested without a subscriber.
func fixedHooks(m map[string]string) func(context.Context, string) (string, error) {
	return func(_ context.Context, id string) (string, error) {
		if in, ok := m[id]; ok {
			return in, nil
		}
		return "", webhooks.ErrUnknownWebhook
	}
}

func newCRMClient(t *testing.T, srv *httptest.Server) *crm.Client {
	t.Helper()
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crm.New(crm.Config{BaseURL: srv.URL, Tokens: ts, HTTPClient: srv.Client(), Trigger: crm.NoTriggers,
		Retry: zoho.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newDeskClient(t *testing.T, srv *httptest.Server, orgID, source string) *desk.Client {
	t.Helper()
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := desk.New(desk.Config{BaseURL: srv.URL, OrgID: orgID, Tokens: ts, HTTPClient: srv.Client(), SourceID: source,
		Retry: zoho.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crmInsert creates CRM records and returns their ids.
func (e *env) crmInsert(t *testing.T, module string, recs ...map[string]any) []string {
	t.Helper()
	in := make([]crm.Record, len(recs))
	for i, f := range recs {
		in[i] = crm.Record{Fields: f}
	}
	res, err := e.crm.Insert(context.Background(), module, in)
	if err != nil {
		t.Fatalf("crm insert %s: %v", module, err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("crm insert %s #%d: %v", module, i, r.Err)
		}
		ids[i] = r.ID
	}
	return ids
}

// deskCreate creates a Desk record with client c and returns its id.
func deskCreate(t *testing.T, c *desk.Client, module string, fields map[string]any) string {
	t.Helper()
	rec, err := c.Create(context.Background(), module, desk.Record{Fields: fields})
	if err != nil {
		t.Fatalf("desk create %s: %v", module, err)
	}
	return rec.ID
}

// post sends a request to the receiver.
func (e *env) post(t *testing.T, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	return do(t, e.hSrv, method, path, header, body)
}

func do(t *testing.T, srv *httptest.Server, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 4096)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}

// deskToken signs Desk-style JWT claims with key under kid and method.
func deskToken(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims are the claims Desk puts in a delivery JWT of a webhook of the default org.
func goodClaims(now time.Time, webhookID string) jwt.MapClaims {
	return jwt.MapClaims{"iss": "orgId:" + deskemu.DefaultOrgID, "aud": "webhookId:" + webhookID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}

// crmBody is a CRM callback for integration at serverTime.
func crmBody(integration string, serverTime time.Time, module, op string, ids ...any) string {
	b, _ := json.Marshal(map[string]any{"server_time": serverTime.UnixMilli(), "module": module, "ids": ids, "operation": op,
		"channel_id": webhooks.ChannelID(integration), "token": webhooks.ChannelToken(testSecret, integration, serverTime.Add(time.Hour)),
		"resource_uri": "x", "query_params": map[string]any{}})
	return string(b)
}
