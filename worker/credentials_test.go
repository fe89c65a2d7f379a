package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/emulator/zohoauth"
	"deskcrm/zoho"
)

// With real Zoho, credentials Zoho refuses stop the worker at start, naming the setting to fix
// (a trial: the worker started and only the sync's status said "invalid_client"); an accounts
// server out of reach is a warning, and the emulators (no ZOHO_CLIENT_ID) are not asked.
func TestZohoCredentialsAreCheckedAtStart(t *testing.T) {
	srv := httptest.NewServer(zohoauth.NewStore(zohoauth.Config{}).TokenHandler("http://api.invalid"))
	defer srv.Close()
	real := config.Worker{Zoho: config.Zoho{ClientID: zohoauth.DefaultClientID}}
	check := func(cfg config.Worker, secret, accounts string) error {
		ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: secret,
			RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: accounts})
		if err != nil {
			t.Fatal(err)
		}
		return checkZohoCredentials(context.Background(), cfg, &activities.Activities{Tokens: ts}, zaptest.NewLogger(t))
	}
	if err := check(real, "wrong", srv.URL); err == nil || !strings.Contains(err.Error(), "ZOHO_CLIENT_SECRET") {
		t.Errorf("wrong secret: %v, want a refusal naming ZOHO_CLIENT_SECRET", err)
	}
	if err := check(real, zohoauth.DefaultClientSecret, srv.URL); err != nil {
		t.Errorf("right credentials: %v", err)
	}
	if err := check(real, zohoauth.DefaultClientSecret, "http://127.0.0.1:1"); err != nil {
		t.Errorf("accounts server out of reach: %v, want only a warning", err)
	}
	if err := check(config.Worker{}, "wrong", srv.URL); err != nil {
		t.Errorf("emulated Zoho: %v, want no check", err)
	}
}
