package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgtest"
	"deskcrm/panel"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	adminToken = "test-admin-token-0123"
	linkKey    = "test-panel-link-key-89ab"
)

// env is both emulators behind httptest servers, the Zoho clients pointed at them, a migrated
// Postgres, and the panel handler behind its own httptest server.
type env struct {
	t          *testing.T
	crmEmu     *crmemu.Server
	deskEmu    *deskemu.Server
	deskEngine *realism.Engine
	st         *store.Store
	srv        *httptest.Server

	mu      sync.Mutex
	deleted []string
	// deleteErr, when set, is what the Deleter returns.
	deleteErr error

	// clock is the panel's time (unix nanoseconds); advance moves it.
	clock atomic.Int64
	// tokens are Desk agent tokens by profile name (see agentToken).
	tokens map[string]string

	fx fixture
}

// fixture holds the ids of the seeded records.
type fixture struct {
	// Desk contact/account ids and their CRM counterparts.
	deskContact, crmContact string
	deskAccount, crmAccount string
	// unlinked Desk contact, and one with a link to a CRM id that does not exist.
	deskUnlinked, deskDangling string
}

func newEnv(t *testing.T, cacheTTL time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, tokens: map[string]string{}}
	e.clock.Store(time.Now().UnixNano())

	e.crmEmu = crmemu.New(crmemu.Config{SearchLag: crmemu.NoSearchLag}) // search lag off until the engine confirms creates (issue 11.4)
	crmSrv := httptest.NewServer(e.crmEmu)
	t.Cleanup(crmSrv.Close)
	e.deskEngine = realism.New(realism.Config{})
	e.deskEmu = deskemu.New(deskemu.Config{Realism: e.deskEngine})
	deskSrv := httptest.NewServer(e.deskEmu)
	t.Cleanup(func() { deskSrv.Close(); e.deskEmu.Close() })

	retry := zoho.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
	tokens := func(srv *httptest.Server) *zoho.TokenSource {
		ts, err := zoho.NewTokenSource(zoho.OAuthConfig{
			ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
			RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	crmClient, err := crm.New(crm.Config{BaseURL: crmSrv.URL, Tokens: tokens(crmSrv), HTTPClient: crmSrv.Client(), Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	deskClient, err := desk.New(desk.Config{BaseURL: deskSrv.URL, OrgID: deskemu.DefaultOrgID, Tokens: tokens(deskSrv),
		HTTPClient: deskSrv.Client(), Retry: retry})
	if err != nil {
		t.Fatal(err)
	}

	e.st = store.New(pgtest.Pool(t))
	if _, err := e.st.EnsureIntegration(ctx, "default", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	e.seed()

	h := panel.New(panel.Config{
		Store: e.st, CRM: crmClient, Desk: deskClient, AdminToken: adminToken, LinkKey: linkKey, CacheTTL: cacheTTL,
		Now: e.now, FrameAncestors: []string{deskSrv.URL},
		Deleter: func(_ context.Context, id string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.deleteErr != nil {
				return e.deleteErr
			}
			e.deleted = append(e.deleted, id)
			return nil
		},
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.resetCalls()
	return e
}

// Seeded values the tests look for in (or miss from) answers.
const (
	contactEmail  = "ana.souza@example.test"
	contactTitle  = "Head of Support Ops"
	dealName      = "Renewal 2026 Souza"
	noteTitle     = "Escalation history"
	noteContent   = "Prefers phone calls after 3pm"
	callSubject   = "Quarterly check-in call"
	eventTitle    = "Onsite workshop Lisbon"
	taskSubject   = "Send revised quote"
	accountDeal   = "Account-wide expansion"
	accountName   = "Souza Logistics"
	accountType   = "Partner"
	deskEmailAcct = "desk-only@example.test"
)

func (e *env) seed() {
	t := e.t
	must := func(ids []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	acc := must(e.crmEmu.Load("Accounts", []map[string]any{{"Account_Name": accountName, "Account_Type": accountType, "Phone": "+351 21 000 0000"}}))[0]
	con := must(e.crmEmu.Load("Contacts", []map[string]any{{"First_Name": "Ana", "Last_Name": "Souza", "Email": contactEmail,
		"Title": contactTitle, "Account_Name": map[string]any{"id": acc}}}))[0]
	must(e.crmEmu.Load("Deals", []map[string]any{
		{"Deal_Name": dealName, "Stage": "Negotiation/Review", "Amount": 12500, "Closing_Date": "2026-09-30",
			"Contact_Name": map[string]any{"id": con}, "Account_Name": map[string]any{"id": acc}},
		{"Deal_Name": accountDeal, "Stage": "Qualification", "Amount": 40000, "Closing_Date": "2026-12-15",
			"Account_Name": map[string]any{"id": acc}},
	}))
	must(e.crmEmu.Load("Notes", []map[string]any{{"Note_Title": noteTitle, "Note_Content": noteContent,
		"Parent_Id": map[string]any{"id": con}, "$se_module": "Contacts"}}))
	must(e.crmEmu.Load("Calls", []map[string]any{{"Subject": callSubject, "Call_Type": "Outbound",
		"Call_Start_Time": "2026-05-04T10:00:00Z", "Call_Duration": "12:00", "Who_Id": map[string]any{"id": con}}}))
	must(e.crmEmu.Load("Events", []map[string]any{{"Event_Title": eventTitle, "Start_DateTime": "2026-06-01T09:00:00Z",
		"End_DateTime": "2026-06-01T17:00:00Z", "Venue": "Lisbon", "Who_Id": map[string]any{"id": con}}}))
	must(e.crmEmu.Load("Tasks", []map[string]any{{"Subject": taskSubject, "Due_Date": "2026-05-20", "Status": "Not Started",
		"Priority": "High", "Who_Id": map[string]any{"id": con}}}))

	dAcc := must(e.deskEmu.Load("accounts", []map[string]any{{"accountName": accountName}}))[0]
	dCons := must(e.deskEmu.Load("contacts", []map[string]any{
		{"lastName": "Souza", "firstName": "Ana", "email": contactEmail, "accountId": dAcc},
		{"lastName": "Nobody", "email": deskEmailAcct},
		{"lastName": "Dangling", "email": "dangling@example.test"},
	}))
	e.fx = fixture{deskContact: dCons[0], crmContact: con, deskAccount: dAcc, crmAccount: acc, deskUnlinked: dCons[1], deskDangling: dCons[2]}
	e.link("contacts", e.fx.deskContact, e.fx.crmContact)
	e.link("accounts", e.fx.deskAccount, e.fx.crmAccount)
	e.link("contacts", e.fx.deskDangling, "5725767999999999999")
}

// link records a linked pair directly in Postgres.
func (e *env) link(module, deskID, crmID string) {
	e.t.Helper()
	_, err := e.st.Pool.Exec(context.Background(), `insert into links (integration_id, module, desk_id, crm_id, state)
		values ('default', $1, $2, $3, 'linked')`, module, deskID, crmID)
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) resetCalls() {
	e.crmEmu.Realism().ResetCalls()
	e.deskEngine.ResetCalls()
}

// calls returns how many API calls each emulator saw since the last reset.
func (e *env) calls() (crmCalls, deskCalls int) {
	return e.crmEmu.Realism().Calls().Total, e.deskEngine.Calls().Total
}

// answer is a decoded HTTP answer.
type answer struct {
	status int
	raw    string
	body   map[string]any
	header http.Header
}

// do sends a request with a Bearer token ("" sends none) and decodes a JSON answer.
func (e *env) do(method, path, token string, body any) answer {
	e.t.Helper()
	if token != "" {
		token = "Bearer " + token
	}
	return e.send(method, path, token, body)
}

// send sends a request with an Authorization header ("" sends none) and decodes a JSON answer.
func (e *env) send(method, path, authorization string, body any) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: res.StatusCode, raw: string(raw), header: res.Header}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return a
}

func (e *env) now() time.Time { return time.Unix(0, e.clock.Load()) }

// advance moves the panel's clock forward.
func (e *env) advance(d time.Duration) { e.clock.Add(int64(d)) }

// agentToken returns the Desk token of an agent whose Desk profile is named profile: an
// agent of a seeded profile, or of a profile added to the Desk emulator with that name.
func (e *env) agentToken(profile string) string {
	e.t.Helper()
	if tok, ok := e.tokens[profile]; ok {
		return tok
	}
	n := len(e.tokens) + 1
	pid := ""
	for _, p := range deskemu.Profiles {
		if p.Name == profile {
			pid = p.ID
		}
	}
	if pid == "" {
		pid = fmt.Sprintf("18920000000099%02d", n)
	}
	agentID := fmt.Sprintf("18920000000088%02d", n)
	if err := e.deskEmu.AddAgent(deskemu.Agent{ID: agentID, FirstName: "Test", LastName: profile, ProfileID: pid},
		deskemu.Profile{ID: pid, Name: profile, Type: "AGENT"}); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.deskEmu.AgentToken(agentID, 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[profile] = tok
	return tok
}

// agentDo sends a request as an agent: the agent's Desk token as a Desk extension sends it.
func (e *env) agentDo(method, path, token string, body any) answer {
	e.t.Helper()
	return e.send(method, path, "Zoho-oauthtoken "+token, body)
}

// as sends a GET as an agent of the named profile.
func (e *env) as(profile, path string) answer {
	e.t.Helper()
	return e.agentDo(http.MethodGet, path, e.agentToken(profile), nil)
}

// pageLink mints a signed page link as an agent of profile, failing the test if refused.
func (e *env) pageLink(profile, module, id string) string {
	e.t.Helper()
	a := e.agentDo(http.MethodPost, "/api/v1/panel/"+module+"/"+id+"/link", e.agentToken(profile), nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("mint a page link as %s: %d %s", profile, a.status, a.raw)
	}
	return a.body["url"].(string)
}

// setPermissions changes a profile's permissions through the admin API, which accepts only
// profiles Desk has: an agent of the profile is added to the Desk emulator first when it is
// not a seeded one (see agentToken).
func (e *env) setPermissions(profile string, patch map[string]any) {
	e.t.Helper()
	e.agentToken(profile)
	a := e.do(http.MethodPut, "/api/v1/permissions/"+strings.ReplaceAll(profile, " ", "%20"), adminToken, patch)
	if a.status != http.StatusOK {
		e.t.Fatalf("PUT permissions %s: %d %s", profile, a.status, a.raw)
	}
}
