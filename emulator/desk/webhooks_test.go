package desk

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// receiver is a webhook endpoint that records deliveries.
type receiver struct {
	mu       sync.Mutex
	gets     int
	batches  [][]map[string]any
	tokens   []string
	status   func(n int) int // status for the n-th POST delivery (0-based)
	posts    int
	arrived  chan struct{}
	checkGET int // status for the URL-check GET
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{arrived: make(chan struct{}, 1000), checkGET: 200, status: func(int) int { return 200 }}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if r.Method == http.MethodGet {
			rc.gets++
			w.WriteHeader(rc.checkGET)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			w.WriteHeader(400)
			return
		}
		if len(batch) == 0 { // URL-check POST
			w.WriteHeader(rc.checkGET)
			return
		}
		st := rc.status(rc.posts)
		rc.posts++
		if st == 200 {
			rc.batches = append(rc.batches, batch)
			rc.tokens = append(rc.tokens, r.Header.Get(JWTHeader))
		}
		w.WriteHeader(st)
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(hs.Close)
	return rc, hs
}

func (rc *receiver) events() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	for _, b := range rc.batches {
		out = append(out, b...)
	}
	return out
}

// waitEvents waits until n events arrived (bounded by a generous deadline).
func (rc *receiver) waitEvents(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ev := rc.events(); len(ev) >= n {
			return ev
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("waited for %d events, got %d", n, len(rc.events()))
		}
	}
}

func fastHooks() WebhookConfig {
	return WebhookConfig{Window: 30 * time.Millisecond, Backoff: 5 * time.Millisecond, Timeout: 2 * time.Second}
}

func TestWebhookLifecycleAndDelivery(t *testing.T) {
	e := newEnv(t, Config{Webhooks: fastHooks()})
	rc, hs := newReceiver(t)
	src := "0b4cb1b5-8ad8-4c28-9d22-5b3a2b4d6f10"
	if r := e.do("GET", "/api/v1/webhooks", nil); r.status != http.StatusNoContent {
		t.Fatalf("empty list: %d", r.status)
	}
	r := e.do("POST", "/api/v1/webhooks", map[string]any{
		"url": hs.URL + "/hook", "name": "sync",
		"subscriptions": map[string]any{"Contact_Add": nil, "Contact_Update": map[string]any{"includePrevState": true},
			"Contact_Delete": nil, "Account_Add": nil},
		"ignoreSourceId": src,
	})
	if r.status != 200 {
		t.Fatalf("create webhook: %d %s", r.status, r.body)
	}
	wh := r.json(t)
	hookID := wh["id"].(string)
	if !idRE.MatchString(hookID) || wh["isEnabled"] != true || wh["type"] != "CUSTOMER_WEBHOOK" || wh["ignoreSourceId"] != src {
		t.Errorf("webhook shape: %s", r.body)
	}
	if rc.gets != 1 {
		t.Errorf("URL check GETs = %d, want 1", rc.gets)
	}
	if g := e.do("GET", "/api/v1/webhooks/"+hookID, nil); g.status != 200 {
		t.Errorf("get webhook: %d", g.status)
	}
	if l := e.do("GET", "/api/v1/webhooks", nil).data(t); len(l) != 1 {
		t.Errorf("list: %v", l)
	}

	// Our own write (sourceId matches ignoreSourceId) does not fire.
	own := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "Own"}, SourceIDHeader, src)
	c := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "Theirs", "email": "t@x.com"}).json(t)
	id := c["id"].(string)
	e.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"firstName": "Tess"})
	e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{id}})
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "A1"})
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "A2"}, SourceIDHeader, "another-source")
	rc.waitEvents(t, 5)
	time.Sleep(100 * time.Millisecond) // a sixth event would have arrived by now
	ev := rc.events()
	if len(ev) != 5 {
		t.Fatalf("got %d events, want 5: %v", len(ev), ev)
	}
	wantTypes := []string{"Contact_Add", "Contact_Update", "Contact_Delete", "Account_Add", "Account_Add"}
	for i, x := range ev {
		if x["eventType"] != wantTypes[i] || x["orgId"] != DefaultOrgID {
			t.Errorf("event %d = %v %v, want %s", i, x["eventType"], x["orgId"], wantTypes[i])
		}
		if s, ok := x["eventTime"].(string); !ok || len(s) < 13 {
			t.Errorf("eventTime %v is not epoch ms as string", x["eventTime"])
		}
	}
	if p := ev[0]["payload"].(map[string]any); p["id"] != id || p["lastName"] != "Theirs" {
		t.Errorf("add payload: %v", p)
	}
	if _, ok := ev[0]["prevState"]; ok {
		t.Error("add event carries prevState")
	}
	upd := ev[1]
	if upd["payload"].(map[string]any)["firstName"] != "Tess" || upd["prevState"].(map[string]any)["firstName"] != nil {
		t.Errorf("update event: %v", upd)
	}
	if ev[2]["payload"].(map[string]any)["id"] != id {
		t.Errorf("delete payload: %v", ev[2]["payload"])
	}
	if own.status != 200 {
		t.Errorf("create with sourceId: %d", own.status)
	}

	// Deliveries carry a JWT that verifies with the served JWKS.
	jwks := e.raw("GET", "/.well-known/jwks.json", nil, nil)
	key := parseJWKS(t, jwks.body)
	rc.mu.Lock()
	tok := rc.tokens[0]
	rc.mu.Unlock()
	claims := jwt.RegisteredClaims{}
	parsed, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer("orgId:"+DefaultOrgID), jwt.WithAudience("webhookId:"+hookID))
	if err != nil || !parsed.Valid || claims.ExpiresAt == nil || claims.IssuedAt == nil {
		t.Errorf("jwt does not verify: %v %+v", err, claims)
	}
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &testKey2().PublicKey, nil }); err == nil {
		t.Error("jwt verified with a foreign key")
	}

	// PATCH disables; DELETE removes.
	if r := e.do("PATCH", "/api/v1/webhooks/"+hookID, map[string]any{"isEnabled": false}); r.status != 200 || r.json(t)["isEnabled"] != false {
		t.Fatalf("patch webhook: %d %s", r.status, r.body)
	}
	e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "Quiet"})
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.events()); n != 5 {
		t.Errorf("disabled webhook delivered: %d events", n)
	}
	if r := e.do("DELETE", "/api/v1/webhooks/"+hookID, nil); r.status != 204 {
		t.Errorf("delete webhook: %d", r.status)
	}
	expectError(t, e.do("GET", "/api/v1/webhooks/"+hookID, nil), 404, CodeURLNotFound, "", "")
}

func parseJWKS(t *testing.T, body []byte) *rsa.PublicKey {
	t.Helper()
	var doc JWKS
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Keys) != 1 || doc.Keys[0].Alg != "RS256" {
		t.Fatalf("jwks: %v %s", err, body)
	}
	n, _ := base64.RawURLEncoding.DecodeString(doc.Keys[0].N)
	eb, _ := base64.RawURLEncoding.DecodeString(doc.Keys[0].E)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(eb).Int64())}
}

var (
	key2Once sync.Once
	key2     *rsa.PrivateKey
)

func testKey2() *rsa.PrivateKey {
	key2Once.Do(func() {
		var err error
		key2, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return key2
}

func TestWebhookValidation(t *testing.T) {
	e := newEnv(t, Config{Webhooks: fastHooks()})
	rc, hs := newReceiver(t)
	subs := map[string]any{"Contact_Add": nil}
	cases := []struct {
		name  string
		body  any
		field string
		typ   string
	}{
		{"url missing", map[string]any{"subscriptions": subs}, "/url", ErrMissing},
		{"url relative", map[string]any{"url": "/x", "subscriptions": subs}, "/url", ErrInvalid},
		{"no subscriptions", map[string]any{"url": hs.URL}, "/subscriptions", ErrMissing},
		{"unknown event", map[string]any{"url": hs.URL, "subscriptions": map[string]any{"Lead_Add": nil}}, "/subscriptions/Lead_Add", ErrInvalid},
		{"prevState on add", map[string]any{"url": hs.URL, "subscriptions": map[string]any{"Contact_Add": map[string]any{"includePrevState": true}}}, "/subscriptions/Contact_Add/includePrevState", ErrInvalid},
		{"bad ignoreSourceId", map[string]any{"url": hs.URL, "subscriptions": subs, "ignoreSourceId": "me"}, "/ignoreSourceId", ErrInvalid},
		{"extra key", map[string]any{"url": hs.URL, "subscriptions": subs, "secret": "x"}, "/secret", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, e.do("POST", "/api/v1/webhooks", c.body), 422, CodeInvalidData, c.field, c.typ)
		})
	}
	t.Run("url check fails", func(t *testing.T) {
		rc.mu.Lock()
		rc.checkGET = 404
		rc.mu.Unlock()
		expectError(t, e.do("POST", "/api/v1/webhooks", map[string]any{"url": hs.URL, "subscriptions": subs}), 422, CodeUnprocessable, "", "")
		if r := e.do("GET", "/api/v1/webhooks", nil); r.status != 204 {
			t.Error("webhook created despite failed URL check")
		}
	})
	t.Run("url check unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		u := dead.URL
		dead.Close()
		expectError(t, e.do("POST", "/api/v1/webhooks", map[string]any{"url": u, "subscriptions": subs}), 422, CodeUnprocessable, "", "")
	})
	t.Run("url change is checked", func(t *testing.T) {
		rc.mu.Lock()
		rc.checkGET = 200
		rc.mu.Unlock()
		id := e.do("POST", "/api/v1/webhooks", map[string]any{"url": hs.URL, "subscriptions": subs}).json(t)["id"].(string)
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		defer bad.Close()
		expectError(t, e.do("PATCH", "/api/v1/webhooks/"+id, map[string]any{"url": bad.URL}), 422, CodeUnprocessable, "", "")
		if wh := e.do("GET", "/api/v1/webhooks/"+id, nil).json(t); wh["url"] != hs.URL {
			t.Errorf("url changed despite failed check: %v", wh["url"])
		}
	})
	expectError(t, e.do("POST", "/api/v1/webhooks", `{"url":`), 400, CodeBadRequest, "", "")
	expectError(t, e.do("GET", "/api/v1/webhooks/xyz", nil), 422, CodeInvalidData, "/webhookId", ErrInvalid)
}

func TestWebhookRetryCoalesceAndGone(t *testing.T) {
	cfg := fastHooks()
	cfg.Retries = 2
	e := newEnv(t, Config{Webhooks: cfg})
	rc, hs := newReceiver(t)
	create := func() string {
		r := e.do("POST", "/api/v1/webhooks", map[string]any{"url": hs.URL, "subscriptions": map[string]any{"Account_Add": nil}})
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		return r.json(t)["id"].(string)
	}
	hookID := create()
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "First"})
	rc.waitEvents(t, 1)
	// Two failures then success: retried, delivered once.
	rc.mu.Lock()
	fails := rc.posts
	rc.status = func(n int) int {
		if n < fails+2 {
			return 503
		}
		return 200
	}
	rc.mu.Unlock()
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Retry"})
	ev := rc.waitEvents(t, 2)
	if ev[1]["payload"].(map[string]any)["accountName"] != "Retry" {
		t.Errorf("retried event: %v", ev[1])
	}
	waitFor(t, func() bool { return e.srv.WebhookStats()[0].EventsDelivered == 2 })
	if st := e.srv.WebhookStats(); st[0].FailedAttempts != 2 {
		t.Errorf("stats after retry: %+v", st)
	}

	// Always failing: dropped after the retries and counted.
	rc.mu.Lock()
	rc.status = func(int) int { return 500 }
	before := rc.posts
	rc.mu.Unlock()
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Dropped"})
	waitFor(t, func() bool { return e.srv.WebhookStats()[0].EventsDropped == 1 })
	rc.mu.Lock()
	if rc.posts-before != 3 {
		t.Errorf("attempts for a failing delivery = %d, want 3 (1 + 2 retries)", rc.posts-before)
	}
	// 410 Gone removes the webhook.
	rc.status = func(int) int { return http.StatusGone }
	rc.mu.Unlock()
	e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Gone"})
	waitFor(t, func() bool { return e.do("GET", "/api/v1/webhooks/"+hookID, nil).status == 404 })
	if r := e.raw("GET", "/_emulator/webhooks", nil, nil); r.status != 200 {
		t.Errorf("admin webhook stats: %d", r.status)
	}
}

func TestWebhookCoalescing(t *testing.T) {
	cfg := fastHooks()
	cfg.Window = time.Minute // only full batches are sent during the test
	cfg.MaxBatch = 5
	e := newEnv(t, Config{Webhooks: cfg})
	rc, hs := newReceiver(t)
	if r := e.do("POST", "/api/v1/webhooks", map[string]any{"url": hs.URL, "subscriptions": map[string]any{"Account_Add": nil}}); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for i := 0; i < 20; i++ {
		e.do("POST", "/api/v1/accounts", map[string]any{"accountName": fmt.Sprintf("Burst %02d", i)})
	}
	ev := rc.waitEvents(t, 20)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.batches) != 4 {
		t.Errorf("20 events with MaxBatch 5 arrived in %d deliveries, want 4", len(rc.batches))
	}
	for i, x := range ev {
		if want := fmt.Sprintf("Burst %02d", i); x["payload"].(map[string]any)["accountName"] != want {
			t.Errorf("event %d = %v, want %s (order kept)", i, x["payload"].(map[string]any)["accountName"], want)
		}
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookNeverBlocksAPI(t *testing.T) {
	cfg := fastHooks()
	cfg.Timeout = 3 * time.Second
	e := newEnv(t, Config{Webhooks: cfg})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ContentLength > 2 {
			<-release
		}
	}))
	defer slow.Close()
	defer close(release)
	if r := e.do("POST", "/api/v1/webhooks", map[string]any{"url": slow.URL, "subscriptions": map[string]any{"Contact_Add": nil}}); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 5; i++ {
			e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "x"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("API writes blocked behind a slow webhook receiver")
	}
}
