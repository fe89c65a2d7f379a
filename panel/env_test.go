package panel_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	panelToken = "test-panel-token-4567"
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
	e := &env{t: t}

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
		Store: e.st, CRM: crmClient, Desk: deskClient, AdminToken: adminToken, PanelToken: panelToken, CacheTTL: cacheTTL,
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
}

// do sends a request with a Bearer token ("" sends none) and decodes a JSON answer.
func (e *env) do(method, path, token string, body any) answer {
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
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
	a := answer{status: res.StatusCode, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return a
}

// setPermissions changes a profile's permissions through the admin API.
func (e *env) setPermissions(profile string, patch map[string]any) {
	e.t.Helper()
	a := e.do(http.MethodPut, "/api/v1/permissions/"+strings.ReplaceAll(profile, " ", "%20"), adminToken, patch)
	if a.status != http.StatusOK {
		e.t.Fatalf("PUT permissions %s: %d %s", profile, a.status, a.raw)
	}
}
