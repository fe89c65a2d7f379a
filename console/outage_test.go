package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"deskcrm/activities"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/zohoauth"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// deskOutage is the Desk emulator behind an HTTP server that answers 503 to every API call
// while down is set (Zoho's accounts endpoint keeps answering, so the failure is Desk's).
type deskOutage struct {
	emu  *deskemu.Server
	srv  *httptest.Server
	down atomic.Bool
}

func newDeskOutage(t *testing.T) *deskOutage {
	t.Helper()
	d := &deskOutage{emu: deskemu.New(deskemu.Config{})}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.down.Load() && strings.HasPrefix(r.URL.Path, "/api/") {
			http.Error(w, `{"errorCode":"SERVICE_UNAVAILABLE","message":"down for the test"}`, http.StatusServiceUnavailable)
			return
		}
		d.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { d.srv.Close(); d.emu.Close() })
	return d
}

// deskActivities returns activities whose Desk client talks to baseURL, retrying quickly.
func deskActivities(t *testing.T, baseURL, accountsURL string) *activities.Activities {
	t.Helper()
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: accountsURL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := desk.New(desk.Config{BaseURL: baseURL, OrgID: deskemu.DefaultOrgID, Tokens: ts,
		Retry: zoho.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return &activities.Activities{Desk: c}
}

// crmActivities returns activities whose CRM client talks to a CRM emulator of its own (the
// handshake form checks its customer types against CRM's Account_Type).
func crmActivities(t *testing.T) *activities.Activities {
	t.Helper()
	srv := httptest.NewServer(crmemu.New(crmemu.Config{Auth: zohoauth.NewStore(zohoauth.Config{})}))
	t.Cleanup(srv.Close)
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crm.New(crm.Config{BaseURL: srv.URL, Tokens: ts})
	if err != nil {
		t.Fatal(err)
	}
	return &activities.Activities{CRM: c}
}

// savePermissionsForm is the permissions form of profile Agent with the contacts panel on.
func savePermissionsForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "profile": {"Agent"}, "panel": {"on"}, "contacts": {"on"},
		"info": {store.AccessFull}, "deals": {store.AccessRestricted}, "notes": {store.AccessFull}}
}

// When Desk cannot be asked for its profiles (answering 5xx, or not listening), saving a
// profile's permissions stores nothing and answers 502 with a page saying that the profile
// could not be checked against Desk's; once Desk answers, the same form is saved.
func TestPermissionsNotSavedWhenDeskCannotBeAsked(t *testing.T) {
	t.Run("Desk answers 503", func(t *testing.T) {
		d := newDeskOutage(t)
		d.down.Store(true)
		e := newConsoleEnv(t, deskActivities(t, d.srv.URL, d.srv.URL), nil)
		cookie, csrf := e.signIn()
		res, body := e.do("POST", "/console/permissions", cookie, savePermissionsForm(csrf), nil)
		e.assertNotSaved(res, body)

		// The same form is saved once Desk answers: the refusal above was Desk's outage.
		d.down.Store(false)
		res, body = e.do("POST", "/console/permissions", cookie, savePermissionsForm(csrf), nil)
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "ok=permissions") {
			t.Fatalf("with Desk up: %d %s, want a redirect to ok=permissions", res.StatusCode, problemOf(body))
		}
		if p, err := e.st.Permissions(context.Background(), "default", "Agent"); err != nil || !p.Stored || p.Modules != store.PanelContacts {
			t.Fatalf("with Desk up, Agent's permissions %+v (%v), want stored with the contacts panel", p, err)
		}
	})
	t.Run("Desk not listening", func(t *testing.T) {
		d := newDeskOutage(t)
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		e := newConsoleEnv(t, deskActivities(t, gone.URL, d.srv.URL), nil)
		cookie, csrf := e.signIn()
		res, body := e.do("POST", "/console/permissions", cookie, savePermissionsForm(csrf), nil)
		e.assertNotSaved(res, body)
	})
}

// assertNotSaved checks a permissions post was refused for want of Desk's profiles and that
// no permissions are stored.
func (e *authEnv) assertNotSaved(res *http.Response, body string) {
	e.t.Helper()
	if res.StatusCode != http.StatusBadGateway {
		e.t.Errorf("status %d (%s), want 502", res.StatusCode, problemOf(body))
	}
	if p := problemOf(body); !strings.Contains(p, "Not saved: the profile could not be checked against Desk") {
		e.t.Errorf("problem shown %q, want it to say the profile could not be checked against Desk", p)
	}
	if strings.Contains(body, notices["permissions"]) {
		e.t.Errorf("the page says the permissions were saved: %s", problemOf(body))
	}
	stored, err := e.st.AllPermissions(context.Background(), "default")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(stored) != 0 {
		e.t.Errorf("permissions stored although Desk could not be asked: %+v", stored)
	}
}

// problemOf returns the text of a page's problem banner ("" when none).
func problemOf(page string) string {
	const open = `id="problem" role="alert">`
	_, rest, ok := strings.Cut(page, open)
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "</p>")
	return p
}

// signalRecorder is a Temporal client whose signals succeed without a server, recording what
// was sent; everything else goes to the embedded client.
type signalRecorder struct {
	client.Client
	mu   sync.Mutex
	sent []string
}

func (s *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _, signalName string, _ any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, workflowID+" "+signalName)
	return nil
}

func (s *signalRecorder) signals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// When Postgres cannot be asked whether a failure is open (the store's pool is closed), a
// retry of that failure sends no signal and the page shows an error naming the read that
// failed, never "Retry asked for". While Postgres answers, the same retry is signalled.
func TestRetryNotAskedForWhenTheFailureCannotBeRead(t *testing.T) {
	lazy, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lazy.Close)
	rec := &signalRecorder{Client: lazy}
	e := newConsoleEnv(t, &activities.Activities{}, rec)
	fs, err := e.st.RecordFailures(context.Background(), "default", "", []store.Failure{{Module: activities.Contacts,
		Direction: activities.DeskToCRM, DeskID: "1892000000100001", Code: "DUPLICATE_DATA", Message: "Phone: duplicate value"}})
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := e.signIn()
	form := url.Values{"csrf": {csrf}, "id": {strconv.FormatInt(fs[0].ID, 10)}}

	// The setup reaches "Retry asked for" while Postgres answers.
	res, body := e.do("POST", "/console/failures/retry", cookie, form, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "ok=retry") || len(rec.signals()) != 1 {
		t.Fatalf("with Postgres up: %d %s, location %q, signals %v; want the retry signalled", res.StatusCode, problemOf(body),
			res.Header.Get("Location"), rec.signals())
	}

	e.st.Pool.Close()
	res, body = e.do("POST", "/console/failures/retry", cookie, form, nil)
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d (location %q, problem %q), want 500", res.StatusCode, res.Header.Get("Location"), problemOf(body))
	}
	if p := problemOf(body); !strings.HasPrefix(p, "read the failure: ") {
		t.Errorf("problem shown %q, want the failed read of the failure", p)
	}
	if strings.Contains(body, "Retry asked for") || strings.Contains(body, "Not retried") {
		t.Errorf("the page claims an outcome it cannot know: %s", problemOf(body))
	}
	if got := rec.signals(); len(got) != 1 {
		t.Errorf("signals %v: a retry was sent although the failure could not be read", got)
	}
}
