package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/webhooks"
)

// benchHandler is a receiver whose Signal does nothing, and a JWKS server with the test key.
func benchHandler(b *testing.B) *webhooks.Handler {
	b.Helper()
	emu := deskemu.New(deskemu.Config{SigningKey: signingKey()})
	srv := httptest.NewServer(emu)
	b.Cleanup(func() { srv.Close(); emu.Close() })
	h, err := webhooks.NewHandler(webhooks.Config{TokenSecret: testSecret, DeskURL: srv.URL, DeskOrgID: deskemu.DefaultOrgID,
		Signal: func(context.Context, string, webhooks.Changes) error { return nil }, WebhookIntegration: fixedHooks(map[string]string{"42": "bench"})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// BenchmarkDeskDelivery measures the receiver's time for a Desk delivery of 100 contact
// updates: JWT verification with a cached key, parsing, enqueueing.
func BenchmarkDeskDelivery(b *testing.B) {
	h := benchHandler(b)
	tok := deskToken(b, jwt.SigningMethodRS256, signingKey(), deskemuKid(), goodClaims(time.Now(), "42"))
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"eventType":"Contact_Update","orgId":"%s","payload":{"id":"%d","lastName":"L%d","email":"e%d@example.test","cf":{}},"eventTime":"1"}`,
			deskemu.DefaultOrgID, 1000+i, i, i)
	}
	sb.WriteString("]")
	body := sb.String()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/desk/bench", strings.NewReader(body))
		req.Header.Set(webhooks.JWTHeader, tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkCRMCallback measures a CRM callback of 1,000 ids.
func BenchmarkCRMCallback(b *testing.B) {
	h := benchHandler(b)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprint(5_000_000_000_000 + i)
	}
	anyIDs := make([]any, len(ids))
	for i, id := range ids {
		anyIDs[i] = id
	}
	body := crmBody("bench", time.Now(), "Contacts", "update", anyIDs...)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/crm/bench", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// deskemuKid is the key id the Desk emulator gives signingKey.
func deskemuKid() string {
	emu := deskemu.New(deskemu.Config{SigningKey: signingKey()})
	defer emu.Close()
	return emu.JWKS().Keys[0].Kid
}
