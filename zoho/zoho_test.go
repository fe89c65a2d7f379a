package zoho_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deskcrm/emulator/zohoauth"
	"deskcrm/zoho"
)

func TestEndpoints(t *testing.T) {
	cases := []struct {
		dc                  zoho.DataCenter
		accounts, crm, desk string
	}{
		{zoho.DCCom, "https://accounts.zoho.com", "https://www.zohoapis.com", "https://desk.zoho.com"},
		{zoho.DCEU, "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://desk.zoho.eu"},
		{zoho.DCIN, "https://accounts.zoho.in", "https://www.zohoapis.in", "https://desk.zoho.in"},
		{zoho.DCAU, "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://desk.zoho.com.au"},
		{zoho.DCJP, "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://desk.zoho.jp"},
		{zoho.DCCN, "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://desk.zoho.com.cn"},
		{zoho.DCCA, "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://desk.zohocloud.ca"},
		{zoho.DCSA, "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://desk.zoho.sa"},
	}
	for _, tc := range cases {
		ep, err := tc.dc.Endpoints()
		if err != nil || ep.Accounts != tc.accounts || ep.CRM != tc.crm || ep.Desk != tc.desk {
			t.Errorf("%s: %+v %v", tc.dc, ep, err)
		}
	}
	if _, err := zoho.DataCenter("de").Endpoints(); err == nil {
		t.Error("unknown DC accepted")
	}
	for in, want := range map[string]zoho.DataCenter{"": zoho.DCCom, "US": zoho.DCCom, ".eu": zoho.DCEU, "au": zoho.DCAU, "ca": zoho.DCCA} {
		if got, err := zoho.ParseDataCenter(in); err != nil || got != want {
			t.Errorf("ParseDataCenter(%q) = %q %v, want %q", in, got, err, want)
		}
	}
}

func TestBackoffStaysWithinBounds(t *testing.T) {
	p := zoho.RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n := 1; n <= 8; n++ {
		want := min(100*time.Millisecond<<(n-1), time.Second)
		for i := 0; i < 50; i++ {
			if d := p.Backoff(n); d > want || d < want*3/4 {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n, d, want*3/4, want)
			}
		}
	}
}

func TestLimiterBoundsConcurrency(t *testing.T) {
	l := zoho.NewLimiter(4, 2)
	var cur, peak, peakComplex, curComplex atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(complex bool) {
			defer wg.Done()
			release, err := l.Acquire(context.Background(), complex)
			if err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if complex {
				c := curComplex.Add(1)
				for p := peakComplex.Load(); c > p && !peakComplex.CompareAndSwap(p, c); p = peakComplex.Load() {
				}
			}
			time.Sleep(time.Millisecond)
			cur.Add(-1)
			if complex {
				curComplex.Add(-1) // before the slot is given back, not after (a deferred decrement let the next holder be counted with this one)
			}
			release()
			release() // a second release is a no-op
		}(i%2 == 0)
	}
	wg.Wait()
	if peak.Load() > 4 || peakComplex.Load() > 2 || l.InFlight() != 0 {
		t.Fatalf("peak %d (max 4), complex peak %d (max 2), in flight %d", peak.Load(), peakComplex.Load(), l.InFlight())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l1 := zoho.NewLimiter(1, 0)
	r, _ := l1.Acquire(context.Background(), false)
	if _, err := l1.Acquire(ctx, false); err == nil {
		t.Fatal("acquire on a full limiter with a cancelled context succeeded")
	}
	r()
}

func newAuth(t *testing.T, lifetime time.Duration) (*zohoauth.Store, *httptest.Server) {
	store := zohoauth.NewStore(zohoauth.Config{Lifetime: lifetime})
	srv := httptest.NewServer(store.TokenHandler("http://api.invalid"))
	t.Cleanup(srv.Close)
	return store, srv
}

func TestTokenSourceCachesAndRefreshesEarly(t *testing.T) {
	store, srv := newAuth(t, time.Hour)
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL + "/", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	toks := make([]string, 20)
	for i := range toks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			toks[i] = tok.AccessToken
		}(i)
	}
	wg.Wait()
	if ts.Refreshes() != 1 {
		t.Fatalf("20 concurrent callers caused %d refreshes, want 1", ts.Refreshes())
	}
	for _, tok := range toks {
		if tok != toks[0] || store.CheckHeader("Zoho-oauthtoken "+tok) != zohoauth.Valid {
			t.Fatalf("tokens differ or invalid: %v", toks)
		}
	}
	ts.Invalidate("not-the-current-token")
	if tok, _ := ts.Token(); tok.AccessToken != toks[0] {
		t.Fatal("Invalidate of a stale token dropped the current one")
	}
	ts.Invalidate(toks[0])
	tok, err := ts.Token()
	if err != nil || tok.AccessToken == toks[0] || ts.Refreshes() != 2 {
		t.Fatalf("after Invalidate: %v, refreshes %d", err, ts.Refreshes())
	}

	// A token whose lifetime is shorter than the early-expiry margin is
	// refreshed on every use.
	_, short := newAuth(t, 2*time.Minute)
	ts2, _ := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: short.URL, HTTPClient: short.Client()})
	_, _ = ts2.Token()
	_, _ = ts2.Token()
	if ts2.Refreshes() != 2 {
		t.Fatalf("token inside the early-expiry margin was reused (%d refreshes)", ts2.Refreshes())
	}
}

func TestTokenSourceErrors(t *testing.T) {
	_, srv := newAuth(t, time.Hour)
	ts, _ := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: "wrong",
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client()})
	_, err := ts.Token()
	if err == nil || zoho.FailureCode(err) != zoho.CodeAuthRevoked || !zoho.IsPermanent(err) {
		t.Fatalf("wrong secret: %v (code %s)", err, zoho.FailureCode(err))
	}
	// The error names the settings to fix (a trial's said only "invalid_client").
	if !strings.Contains(err.Error(), "check ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET") {
		t.Errorf("wrong secret: %v, want the settings named", err)
	}
	ts, _ = zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: "revoked", AccountsURL: srv.URL, HTTPClient: srv.Client()})
	if _, err := ts.Token(); err == nil || !strings.Contains(err.Error(), "ZOHO_REFRESH_TOKEN was revoked") || zoho.FailureCode(err) != zoho.CodeAuthRevoked {
		t.Errorf("wrong refresh token: %v (code %s), want ZOHO_REFRESH_TOKEN named", err, zoho.FailureCode(err))
	}
	// The token endpoint's URL, as Zoho's SDKs take it, works as the accounts URL.
	ts, _ = zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL + "/oauth/v2/token", HTTPClient: srv.Client()})
	if _, err := ts.Token(); err != nil {
		t.Errorf("accounts URL given as the token endpoint: %v", err)
	}
	if _, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "x"}); err == nil {
		t.Fatal("missing secret accepted")
	}
	// Zoho's expires_in_sec (with expires_in in ms) is honoured.
	secs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "a", "expires_in": 3600000, "expires_in_sec": 3600, "token_type": "Bearer"})
	}))
	defer secs.Close()
	ts3, _ := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "c", ClientSecret: "s", RefreshToken: "r", AccountsURL: secs.URL})
	tok, err := ts3.Token()
	if err != nil || tok.Expiry.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("expires_in_sec ignored: %v %v", tok, err)
	}
}

type fakeClassified struct{ c zoho.Class }

func (f fakeClassified) Error() string        { return "fake" }
func (f fakeClassified) Classify() zoho.Class { return f.c }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassificationHelpers(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		transient bool
		permanent bool
		code      string
		wait      time.Duration
	}{
		{"nil", nil, false, false, "", 0},
		{"lost write", &zoho.TransportError{Method: "POST", Path: "/x", Err: errors.New("EOF")}, true, false, zoho.CodeNetworkError, 0},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), true, false, zoho.CodeNetworkError, 0},
		{"net timeout", timeoutErr{}, true, false, zoho.CodeNetworkError, 0},
		{"canceled", context.Canceled, false, false, zoho.CodeUnknown, 0},
		{"batch", fmt.Errorf("x: %w", zoho.ErrBatchTooLarge), false, true, zoho.CodeBatchTooLarge, 0},
		{"classified wrapped", fmt.Errorf("op: %w", fakeClassified{zoho.Class{Transient: true, FailureCode: zoho.CodeRateLimited, RetryAfter: time.Second, HasRetryAfter: true}}), true, false, zoho.CodeRateLimited, time.Second},
		{"plain", errors.New("x"), false, true, zoho.CodeUnknown, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := zoho.IsTransient(tc.err); got != tc.transient {
				t.Errorf("IsTransient = %v", got)
			}
			if got := zoho.IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v", got)
			}
			if got := zoho.FailureCode(tc.err); got != tc.code {
				t.Errorf("FailureCode = %q, want %q", got, tc.code)
			}
			d, ok := zoho.RetryAfter(tc.err)
			if ok != (tc.wait > 0) || d != tc.wait {
				t.Errorf("RetryAfter = %v %v", d, ok)
			}
		})
	}
	if !zoho.IsAmbiguousWrite(&zoho.TransportError{Method: "PATCH"}) || zoho.IsAmbiguousWrite(&zoho.TransportError{Method: "GET"}) {
		t.Error("IsAmbiguousWrite wrong")
	}
}

// A hung accounts server: every caller waiting for a token returns when its own context ends,
// and the refresh itself is cut at RefreshTimeout instead of hanging forever.
func TestTokenRefreshHonoursContextAndTimeout(t *testing.T) {
	release := make(chan struct{})
	cut := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // then the server notices the client hanging up
		select {
		case <-r.Context().Done():
			cut <- struct{}{}
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release)
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "c", ClientSecret: "s", RefreshToken: "r",
		AccountsURL: hung.URL, RefreshTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := ts.TokenContext(ctx)
			errs <- err
		}()
	}
	cancel()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a caller whose context ended got %v, want context.Canceled", err)
		}
	}
	<-cut // the accounts server saw the refresh request cancelled by RefreshTimeout
	if ts.Refreshes() != 0 {
		t.Fatalf("refreshes = %d", ts.Refreshes())
	}
}
