package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"deskcrm/activities"
	"deskcrm/internal/pgtest"
	"deskcrm/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testAdmin = "console-unit-admin-token"

// authEnv is the console over a real Postgres, with a Temporal client that reaches nothing
// (these tests never call Temporal) and a clock the test moves.
type authEnv struct {
	t     *testing.T
	srv   *httptest.Server
	st    *store.Store
	logs  *observer.ObservedLogs
	clock atomic.Int64
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	return newConsoleEnv(t, crmActivities(t), nil)
}

// newConsoleEnv is newAuthEnv with the given activities (their Zoho clients) and Temporal
// client (nil: one that reaches nothing).
func newConsoleEnv(t *testing.T, acts *activities.Activities, tc client.Client) *authEnv {
	t.Helper()
	e := &authEnv{t: t, st: store.New(pgtest.Pool(t))}
	e.clock.Store(time.Now().UnixNano())
	if _, err := e.st.EnsureIntegration(context.Background(), "default", activities.ModeTwoWay, 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if tc == nil {
		lazy, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lazy.Close)
		tc = lazy
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	e.srv = httptest.NewServer(New(Config{Store: e.st, Temporal: tc, Activities: acts, AdminToken: testAdmin,
		AdminAPI: http.NotFoundHandler(), TaskQueue: "console-test", Logger: zap.New(core),
		Now: func() time.Time { return time.Unix(0, e.clock.Load()) }}))
	t.Cleanup(e.srv.Close)
	return e
}

// browserless is an HTTP client that keeps no cookies and follows no redirects.
var browserless = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request with the given session cookie (if any) and headers.
func (e *authEnv) do(method, path, cookie string, form url.Values, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := browserless.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// signIn signs in and returns the session cookie's value and the session's CSRF token.
func (e *authEnv) signIn() (cookie, csrf string) {
	e.t.Helper()
	res, _ := e.do("POST", "/console/login", "", url.Values{"token": {testAdmin}}, nil)
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie {
			cookie = c.Value
		}
	}
	if cookie == "" {
		e.t.Fatalf("no session after signing in: %d", res.StatusCode)
	}
	_, page := e.do("GET", "/console/history", cookie, nil, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the page: %s", page)
	}
	return cookie, m[1]
}

// The admin signs in once with the admin token; a wrong token gets no session; the session
// cookie is HttpOnly, SameSite=Strict and for the console only; pages may not be framed.
func TestSignIn(t *testing.T) {
	e := newAuthEnv(t)
	res, _ := e.do("GET", "/console/failures?module=contacts", "", nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login?next=%2Fconsole%2Ffailures%3Fmodule%3Dcontacts" {
		t.Fatalf("anonymous page: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := e.do("GET", "/console/login", "", nil, nil)
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="token"`) || !strings.Contains(csp, "frame-ancestors 'none'") ||
		strings.Contains(csp, "unsafe-inline") || res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-in page: %d, headers %v", res.StatusCode, res.Header)
	}

	res, page = e.do("POST", "/console/login", "", url.Values{"token": {"wrong"}, "next": {"/console/plan"}}, nil)
	if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 || !strings.Contains(page, "not the admin token") {
		t.Errorf("wrong token: %d, cookies %v", res.StatusCode, res.Cookies())
	}

	res, _ = e.do("POST", "/console/login", "", url.Values{"token": {testAdmin}, "next": {"/console/plan"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/plan" || len(res.Cookies()) != 1 {
		t.Fatalf("admin token: %d → %q, cookies %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
	c := res.Cookies()[0]
	if c.Name != SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != Prefix || c.Secure {
		t.Errorf("session cookie %+v", c)
	}
	if ttl := time.Until(c.Expires); ttl < DefaultSessionTTL-time.Minute || ttl > DefaultSessionTTL+time.Minute {
		t.Errorf("the session lasts %s, want %s", ttl, DefaultSessionTTL)
	}
	if res, _ := e.do("GET", "/console/history", c.Value, nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("a page with the session: %d", res.StatusCode)
	}
	// A next page outside the console is not followed.
	if res, _ := e.do("POST", "/console/login", "", url.Values{"token": {testAdmin}, "next": {"//evil.example/console/"}}, nil); res.Header.Get("Location") != Prefix {
		t.Errorf("next outside the console: → %q", res.Header.Get("Location"))
	}
}

// The attack: a page on another site makes the signed-in admin's browser post to the
// console. Every POST needs the session and the CSRF token bound to it; a token of another
// session, a missing one, or a request the browser marks cross-site is refused, and nothing
// is changed.
func TestPostsNeedTheSessionsCSRFToken(t *testing.T) {
	e := newAuthEnv(t)
	cookie, csrf := e.signIn()
	_, otherCSRF := e.signIn()
	form := func(token string) url.Values {
		return url.Values{"csrf": {token}, "order": {"Partner\nCustomer"}, "enabled": {"on"}}
	}
	for name, c := range map[string]struct {
		cookie string
		form   url.Values
		hdr    map[string]string
		want   int
	}{
		"no session":              {"", form(csrf), nil, http.StatusUnauthorized},
		"no token":                {cookie, url.Values{"order": {"Partner"}}, nil, http.StatusForbidden},
		"another session's token": {cookie, form(otherCSRF), nil, http.StatusForbidden},
		"a forged token":          {cookie, form(strings.Repeat("A", len(csrf))), nil, http.StatusForbidden},
		"cross-site fetch":        {cookie, form(csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"another origin":          {cookie, form(csrf), map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"a forged session cookie": {cookie[:len(cookie)-2] + "xx", form(csrf), nil, http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := e.do("POST", "/console/handshake", c.cookie, c.form, c.hdr)
			if res.StatusCode != c.want {
				t.Errorf("%d %s, want %d", res.StatusCode, body, c.want)
			}
		})
	}
	if hs, _ := e.st.Handshake(context.Background(), "default"); hs.Stored {
		t.Fatalf("a refused post changed the handshake settings: %+v", hs)
	}
	res, _ := e.do("POST", "/console/handshake", cookie, form(csrf), map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"})
	if hs, _ := e.st.Handshake(context.Background(), "default"); res.StatusCode != http.StatusSeeOther || !hs.Stored || hs.Order[0] != "Partner" {
		t.Errorf("the console's own post: %d, settings %+v", res.StatusCode, hs)
	}
}

// A session ends when it expires or the admin signs out; a tampered cookie is no session.
func TestSessionEnds(t *testing.T) {
	e := newAuthEnv(t)
	cookie, csrf := e.signIn()
	if res, _ := e.do("GET", "/console/history", cookie+"x", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("tampered cookie: %d", res.StatusCode)
	}
	res, _ := e.do("POST", "/console/logout", cookie, url.Values{"csrf": {csrf}}, nil)
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign out: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	if res, _ := e.do("GET", "/console/history", cookie, nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the signed-out session still opens pages: %d", res.StatusCode)
	}
	cookie, _ = e.signIn()
	e.clock.Add(int64(DefaultSessionTTL + time.Second))
	if res, _ := e.do("GET", "/console/history", cookie, nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("an expired session still opens pages: %d", res.StatusCode)
	}
}

// The failure log shows the admin a failure's message, which may hold a customer value; the
// console's logs never do, and the sign-in logs no token.
func TestNoCustomerValueInLogs(t *testing.T) {
	e := newAuthEnv(t)
	const value = "ana.private@example.test"
	if _, err := e.st.RecordFailures(context.Background(), "default", "", []store.Failure{{Module: "contacts", Direction: "desk-to-crm",
		DeskID: "1892000000000001", Code: "DUPLICATE_DATA", Message: "CRM Email must be unique and " + value + " is taken"}}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/console/login", "", url.Values{"token": {"wrong-" + testAdmin}}, nil)
	cookie, _ := e.signIn()
	res, page := e.do("GET", "/console/failures?code=DUPLICATE_DATA", cookie, nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, value) || !strings.Contains(page, "A unique field of the other app already holds this value") {
		t.Fatalf("failure log: %d", res.StatusCode)
	}
	for _, entry := range e.logs.All() {
		line := entry.Message
		for _, f := range entry.Context {
			line += " " + f.String
			if err, ok := f.Interface.(error); ok {
				line += " " + err.Error()
			}
		}
		if strings.Contains(line, value) || strings.Contains(line, testAdmin) {
			t.Errorf("logged: %s", line)
		}
	}
}
