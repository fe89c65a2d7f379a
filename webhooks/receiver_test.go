package webhooks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/webhooks"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

func TestCRMChangesBecomeSignals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	contact := e.crmInsert(t, "Contacts", map[string]any{"Last_Name": "Ng", "Email": "ng@example.test"})[0]
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpInsert, contact)

	account := e.crmInsert(t, "Accounts", map[string]any{"Account_Name": "Acme Ltd"})[0]
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleAccounts, webhooks.OpInsert, account)
	if _, err := e.crm.Update(ctx, "Accounts", []crm.Record{{ID: account, Fields: map[string]any{"Phone": "555"}}}); err != nil {
		t.Fatal(err)
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleAccounts, webhooks.OpUpdate, account)

	if _, err := e.crm.Delete(ctx, "Contacts", []string{contact}); err != nil {
		t.Fatal(err)
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpDelete, contact)

	for _, c := range e.rec.snapshot() {
		if c.integration != "acme" {
			t.Errorf("signal for integration %q, want acme", c.integration)
		}
	}
}

func TestDeskChangesBecomeSignals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	contact := deskCreate(t, e.deskOther, desk.Contacts, map[string]any{"lastName": "Ng", "email": "ng@example.test"})
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, contact)
	if _, err := e.deskOther.Update(ctx, desk.Contacts, contact, desk.Record{Fields: map[string]any{"firstName": "Li"}}); err != nil {
		t.Fatal(err)
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpUpdate, contact)

	account := deskCreate(t, e.deskOther, desk.Accounts, map[string]any{"accountName": "Acme Ltd"})
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleAccounts, webhooks.OpInsert, account)
	if err := e.deskOther.Trash(ctx, desk.Accounts, []string{account}); err != nil {
		t.Fatal(err)
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleAccounts, webhooks.OpDelete, account)
	if st := e.h.Stats(); st.Unauthorized != 0 || st.Refused != 0 {
		t.Fatalf("real deliveries were refused: %+v", st)
	}
}

func TestDeskIgnoreSourceIDSuppressesOwnWrites(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	own := deskCreate(t, e.deskOwn, desk.Contacts, map[string]any{"lastName": "Own"})
	if _, err := e.deskOwn.Update(ctx, desk.Contacts, own, desk.Record{Fields: map[string]any{"firstName": "Again"}}); err != nil {
		t.Fatal(err)
	}
	// A later write by someone else is delivered after anything our writes could have caused.
	other := deskCreate(t, e.deskOther, desk.Contacts, map[string]any{"lastName": "Other"})
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, other)
	for _, c := range e.rec.snapshot() {
		for _, id := range c.ch.IDs {
			if id == own {
				t.Fatalf("our own write echoed: %+v", c.ch)
			}
		}
	}
	// Desk counts a delivery once our receiver has answered it: wait for the count.
	var delivered int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		delivered = 0
		for _, st := range e.deskEmu.WebhookStats() {
			delivered += st.EventsDelivered
		}
		if delivered >= 1 || time.Now().After(deadline) {
			break
		}
	}
	if delivered != 1 {
		t.Fatalf("Desk delivered %d events, want 1 (only the other source's)", delivered)
	}
}

func TestBurstIsCoalesced(t *testing.T) {
	// The window is long, so only full batches go out: 2,000 ids per side become exactly
	// two signals of 1,000, whatever the machine's speed.
	e := newEnv(t, envOptions{handler: func(c *webhooks.Config) { c.FlushInterval = time.Hour }})
	ctx := context.Background()
	if err := e.sub.Subscribe(ctx, "bulk"); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var crmIDs []string
	for b := 0; b < n/100; b++ {
		recs := make([]map[string]any, 100)
		for i := range recs {
			recs[i] = map[string]any{"Last_Name": fmt.Sprintf("Bulk%05d", b*100+i)}
		}
		crmIDs = append(crmIDs, e.crmInsert(t, "Contacts", recs...)...)
	}
	deskIDs := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				rec, err := e.deskOther.Create(ctx, desk.Contacts, desk.Record{Fields: map[string]any{"lastName": fmt.Sprintf("Bulk%05d", i)}})
				if err != nil {
					failed.Add(1)
					continue
				}
				deskIDs[i] = rec.ID
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d desk creates failed", failed.Load())
	}
	e.rec.waitIDs(t, "bulk", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpInsert, crmIDs...)
	e.rec.waitIDs(t, "bulk", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpInsert, deskIDs...)
	calls := e.rec.snapshot()
	if len(calls) != 4 {
		t.Fatalf("%d changes became %d signals, want 4", 2*n, len(calls))
	}
	for _, side := range []struct {
		source string
		ids    []string
	}{{webhooks.SourceCRM, crmIDs}, {webhooks.SourceDesk, deskIDs}} {
		got := e.rec.ids("bulk", side.source, webhooks.ModuleContacts, webhooks.OpInsert)
		if len(got) != n {
			t.Fatalf("%s: %d distinct ids signalled, want %d", side.source, len(got), n)
		}
		for _, id := range side.ids {
			if got[id] != 1 {
				t.Fatalf("%s: id signalled %d times, want once", side.source, got[id])
			}
		}
	}
	if st := e.h.Stats(); st.Signals != 4 || st.SignalIDs != 2*n || st.IDsDropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCRMCallbackRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := e.clock.Now()
	tok := webhooks.ChannelToken(testSecret, "acme", now.Add(time.Hour))
	at := func(when time.Time, token, module, op string, ids ...any) string {
		b, _ := json.Marshal(map[string]any{"server_time": when.UnixMilli(), "module": module, "ids": ids, "operation": op,
			"channel_id": webhooks.ChannelID("acme"), "token": token, "resource_uri": "x", "query_params": map[string]any{}})
		return string(b)
	}
	body := func(token, module, op string, ids ...any) string { return at(now, token, module, op, ids...) }
	tests := []struct {
		name   string
		path   string
		body   string
		status int
	}{
		{"valid", "/webhooks/crm/acme", body(tok, "Contacts", "update", "1001"), http.StatusOK},
		{"wrong token", "/webhooks/crm/acme", body(tok+"x", "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"another integration's token", "/webhooks/crm/acme", body(webhooks.ChannelToken(testSecret, "other", now.Add(time.Hour)), "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"token of another secret", "/webhooks/crm/acme", body(webhooks.ChannelToken("guess", "acme", now.Add(time.Hour)), "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"no token", "/webhooks/crm/acme", body("", "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"not json", "/webhooks/crm/acme", "module=Contacts", http.StatusBadRequest},
		{"json array", "/webhooks/crm/acme", "[]", http.StatusBadRequest},
		{"empty", "/webhooks/crm/acme", "", http.StatusBadRequest},
		{"no module", "/webhooks/crm/acme", body(tok, "", "update", "1001"), http.StatusBadRequest},
		{"bad operation", "/webhooks/crm/acme", body(tok, "Contacts", "explode", "1001"), http.StatusBadRequest},
		{"bad id", "/webhooks/crm/acme", body(tok, "Contacts", "update", "1001 or 1=1"), http.StatusBadRequest},
		{"numeric ids", "/webhooks/crm/acme", body(tok, "Accounts", "insert", 1002), http.StatusOK},
		{"module not synced", "/webhooks/crm/acme", body(tok, "Deals", "update", "1003"), http.StatusOK},
		{"no server_time", "/webhooks/crm/acme", at(time.UnixMilli(0), tok, "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"an hour old", "/webhooks/crm/acme", at(now.Add(-time.Hour), tok, "Contacts", "update", "1001"), http.StatusUnauthorized},
		{"from the future", "/webhooks/crm/acme", at(now.Add(time.Hour), tok, "Contacts", "update", "1001"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, resp := e.post(t, http.MethodPost, tt.path, nil, tt.body); status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, resp, tt.status)
			}
		})
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleContacts, webhooks.OpUpdate, "1001")
	e.rec.waitIDs(t, "acme", webhooks.SourceCRM, webhooks.ModuleAccounts, webhooks.OpInsert, "1002")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.rec.snapshot() {
		if c.integration != "acme" || (c.ch.IDs[0] != "1001" && c.ch.IDs[0] != "1002") || len(c.ch.IDs) != 1 {
			t.Fatalf("unexpected signal %+v", c)
		}
	}
	if st := e.h.Stats(); st.Unauthorized != 7 || st.Refused != 13 {
		t.Fatalf("stats %+v, want 7 unauthorized of 13 refused", st)
	}
}

func TestDeskDeliveryRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now()
	kid := e.deskEmu.JWKS().Keys[0].Kid
	key := signingKey()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hook, betaHook := e.hookOf(t, "acme"), e.hookOf(t, "beta")
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := goodClaims(now, hook)
		change(c)
		return c
	}
	good := deskToken(t, jwt.SigningMethodRS256, key, kid, goodClaims(now, hook))
	events := `[{"eventType":"Contact_Update","orgId":"` + deskemu.DefaultOrgID + `","payload":{"id":"5001"},"eventTime":"1"}]`
	tests := []struct {
		name   string
		token  string
		body   string
		status int
	}{
		{"valid", good, events, http.StatusOK},
		{"absent jwt", "", events, http.StatusUnauthorized},
		{"garbage jwt", "not.a.jwt", events, http.StatusUnauthorized},
		{"wrong org", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { c["iss"] = "orgId:999" })), events, http.StatusUnauthorized},
		{"no issuer", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { delete(c, "iss") })), events, http.StatusUnauthorized},
		{"wrong audience", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { c["aud"] = "ticketId:42" })), events, http.StatusUnauthorized},
		{"empty webhook id", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { c["aud"] = "webhookId:" })), events, http.StatusUnauthorized},
		{"another integration's webhook", deskToken(t, jwt.SigningMethodRS256, key, kid, goodClaims(now, betaHook)), events, http.StatusUnauthorized},
		{"a webhook nobody subscribed", deskToken(t, jwt.SigningMethodRS256, key, kid, goodClaims(now, "42")), events, http.StatusUnauthorized},
		{"lives an hour", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { c["exp"] = now.Add(time.Hour).Unix() })), events, http.StatusUnauthorized},
		{"expired", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
		})), events, http.StatusUnauthorized},
		{"no exp", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { delete(c, "exp") })), events, http.StatusUnauthorized},
		{"no iat", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { delete(c, "iat") })), events, http.StatusUnauthorized},
		{"issued in the future", deskToken(t, jwt.SigningMethodRS256, key, kid, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), events, http.StatusUnauthorized},
		{"other key, same kid", deskToken(t, jwt.SigningMethodRS256, other, kid, goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"no kid", deskToken(t, jwt.SigningMethodRS256, key, "", goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"unknown kid", deskToken(t, jwt.SigningMethodRS256, key, "nope", goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"hs256 with the public key", deskToken(t, jwt.SigningMethodHS256, key.PublicKey.N.Bytes(), kid, goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"rs512", deskToken(t, jwt.SigningMethodRS512, key, kid, goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"alg none", deskToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, goodClaims(now, hook)), events, http.StatusUnauthorized},
		{"malformed body", good, `{"eventType":"Contact_Update"}`, http.StatusBadRequest},
		{"not json", good, `Contact_Update`, http.StatusBadRequest},
		{"event without id", good, `[{"eventType":"Contact_Update","payload":{}}]`, http.StatusBadRequest},
		{"event of another org", good, `[{"eventType":"Contact_Update","orgId":"999","payload":{"id":"1"}}]`, http.StatusBadRequest},
		{"ticket events ignored", good, `[{"eventType":"Ticket_Add","payload":{"id":"7"}}]`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.token != "" {
				h[webhooks.JWTHeader] = tt.token
			}
			if status, resp := e.post(t, http.MethodPost, "/webhooks/desk/acme", h, tt.body); status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, resp, tt.status)
			}
		})
	}
	e.rec.waitIDs(t, "acme", webhooks.SourceDesk, webhooks.ModuleContacts, webhooks.OpUpdate, "5001")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if calls := e.rec.snapshot(); len(calls) != 1 || len(calls[0].ch.IDs) != 1 {
		t.Fatalf("signals %+v, want only the valid delivery's", calls)
	}
}

// TestDeskDeliveryFromAnotherOrgRefused sends real deliveries from a Desk emulator of
// another organization signing with the same key: the issuer does not match.
func TestDeskDeliveryFromAnotherOrgRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	emu2 := deskemu.New(deskemu.Config{OrgID: "999", SigningKey: signingKey(),
		Webhooks: deskemu.WebhookConfig{Window: 5 * time.Millisecond, Retries: -1}})
	srv2 := httptest.NewServer(emu2)
	t.Cleanup(func() { srv2.Close(); emu2.Close() })
	c2 := newDeskClient(t, srv2, "999", otherSource)
	ctx := context.Background()
	if _, err := c2.CreateWebhook(ctx, desk.Webhook{URL: e.hSrv.URL + webhooks.DeskPath("acme"),
		Subscriptions: map[string]any{"Contact_Add": nil}}); err != nil {
		t.Fatal(err)
	}
	deskCreate(t, c2, desk.Contacts, map[string]any{"lastName": "Intruder"})
	waitUntil(t, "the delivery attempt", func() bool {
		for _, st := range emu2.WebhookStats() {
			if st.FailedAttempts > 0 {
				return true
			}
		}
		return false
	})
	if st := e.h.Stats(); st.Unauthorized != 1 || st.Deliveries != 0 {
		t.Fatalf("stats %+v, want one 401 and no delivery", st)
	}
	if calls := e.rec.snapshot(); len(calls) != 0 {
		t.Fatalf("signals %+v, want none", calls)
	}
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, envOptions{handler: func(c *webhooks.Config) { c.MaxBody = 4096 }})
	good := deskToken(t, jwt.SigningMethodRS256, signingKey(), e.deskEmu.JWKS().Keys[0].Kid, goodClaims(time.Now(), e.hookOf(t, "acme")))
	big := "[" + strings.Repeat(" ", 5000) + "]"
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
	}{
		{"desk url check", http.MethodGet, "/webhooks/desk/acme", nil, "", http.StatusOK},
		{"bad integration id", http.MethodGet, "/webhooks/desk/a%20b", nil, "", http.StatusNotFound},
		{"too long integration id", http.MethodPost, "/webhooks/crm/" + strings.Repeat("x", 65), nil, "{}", http.StatusNotFound},
		{"unknown source", http.MethodPost, "/webhooks/hubspot/acme", nil, "{}", http.StatusNotFound},
		{"no integration", http.MethodPost, "/webhooks/crm/", nil, "{}", http.StatusNotFound},
		{"get crm", http.MethodGet, "/webhooks/crm/acme", nil, "", http.StatusMethodNotAllowed},
		{"put desk", http.MethodPut, "/webhooks/desk/acme", nil, "[]", http.StatusMethodNotAllowed},
		{"delete crm", http.MethodDelete, "/webhooks/crm/acme", nil, "", http.StatusMethodNotAllowed},
		{"crm body too large", http.MethodPost, "/webhooks/crm/acme", nil, big, http.StatusRequestEntityTooLarge},
		{"desk body too large", http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: good}, big, http.StatusRequestEntityTooLarge},
		{"desk empty batch", http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: good}, "[]", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, resp := e.post(t, tt.method, tt.path, tt.header, tt.body); status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, resp, tt.status)
			}
		})
	}
	// Chunked bodies have no Content-Length; the limit still holds.
	req, _ := http.NewRequest(http.MethodPost, e.hSrv.URL+"/webhooks/crm/acme", struct{ *strings.Reader }{strings.NewReader(big)})
	resp, err := e.hSrv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked large body: %d, want 413", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	body := `[{"eventType":"Contact_Add","payload":{"id":"1"}}]`
	if status, _ := e.post(t, http.MethodPost, "/webhooks/desk/acme", map[string]string{webhooks.JWTHeader: good}, body); status != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d, want 503", status)
	}
}

func TestNewHandlerNamesMissingConfig(t *testing.T) {
	_, err := webhooks.NewHandler(webhooks.Config{DeskURL: "http://x"})
	if err == nil {
		t.Fatal("no error for missing fields")
	}
	for _, f := range []string{"TokenSecret", "DeskOrgID", "Signal", "WebhookIntegration"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
	if strings.Contains(err.Error(), "DeskURL") {
		t.Errorf("error %q names DeskURL, which is set", err)
	}
}
