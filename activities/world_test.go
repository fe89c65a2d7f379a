package activities_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"deskcrm/activities"
	"deskcrm/config"
	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgtest"
	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// The activity tests' world: both emulators over HTTP, a Postgres database, the activities,
// and API clients acting as people editing records.

func TestMain(m *testing.M) { pgtest.Main(m) }

const iso = "2006-01-02T15:04:05.000Z"

// world is both emulators, a Postgres database, the activities, and API clients acting as
// people editing records.
type world struct {
	t       *testing.T
	ctx     context.Context
	crm     *crmemu.Server
	desk    *deskemu.Server
	st      *store.Store
	a       *activities.Activities
	userCRM *crm.Client
	userDsk *desk.Client
	start   time.Time
	mode    string
	// crmURL, deskURL and tokens make raw API calls the clients have no method for (merges).
	crmURL, deskURL string
	tokens          *zoho.TokenSource
}

// crmOption changes the CRM emulator's configuration of a world.
type crmOption func(*crmemu.Config)

func newWorld(t *testing.T, mode string, opts ...crmOption) *world {
	t.Helper()
	auth := zohoauth.NewStore(zohoauth.Config{})
	cc := crmemu.Config{Auth: auth} // with the emulator's default search lag, as Zoho's search index lags
	for _, o := range opts {
		o(&cc)
	}
	c := crmemu.New(cc)
	d := deskemu.New(deskemu.Config{Auth: auth, Realism: realism.New(realism.Config{})})
	cs, ds := httptest.NewServer(c), httptest.NewServer(d)
	t.Cleanup(cs.Close)
	t.Cleanup(ds.Close)
	t.Cleanup(d.Close)
	st := store.New(pgtest.Pool(t))
	a, err := activities.New(t.Context(), activities.Config{Store: st,
		Zoho: config.Zoho{DataCenter: "com", CRMURL: cs.URL, DeskURL: ds.URL, AccountsURL: cs.URL, CRMConcurrency: 5, DeskConcurrency: 5}})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "deskcrm-dev", ClientSecret: "deskcrm-dev-secret",
		RefreshToken: "deskcrm-dev-refresh", DC: "com", AccountsURL: cs.URL})
	if err != nil {
		t.Fatal(err)
	}
	uc, err := crm.New(crm.Config{BaseURL: cs.URL, DC: "com", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	ud, err := desk.New(desk.Config{BaseURL: ds.URL, DC: "com", OrgID: d.OrgID(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: t.Context(), crm: c, desk: d, st: st, a: a, userCRM: uc, userDsk: ud, mode: mode,
		crmURL: cs.URL, deskURL: ds.URL, tokens: tokens}
}

// merge merges child into master on side ("crm" or "desk") as an admin would with Zoho's merge
// APIs: CRM's POST /crm/v8/{module}/{id}/actions/merge, Desk's POST /api/v1/{module}/{id}/merge.
// module is CRM's API name ("Contacts") or Desk's ("contacts").
func (w *world) merge(side, module, master, child string) {
	w.t.Helper()
	url, body := w.crmURL+"/crm/v8/"+module+"/"+master+"/actions/merge", `{"merge":[{"data":[{"id":"`+child+`"}]}]}`
	if side == "desk" {
		url, body = w.deskURL+"/api/v1/"+module+"/"+master+"/merge", `{"ids":["`+child+`"]}`
	}
	tok, err := w.tokens.TokenContext(w.ctx)
	must(w.t, err)
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, url, strings.NewReader(body))
	must(w.t, err)
	req.Header.Set("Authorization", zoho.AuthHeaderPrefix+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("orgId", w.desk.OrgID())
	res, err := http.DefaultClient.Do(req)
	must(w.t, err)
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK {
		w.t.Fatalf("merge %s %s into %s: %d %s", side, child, master, res.StatusCode, b)
	}
}

// seed loads a few linked-to-be records: an account on each side with the same name, two
// contacts matched by email (Ann, Ben), one only in Desk (Cid) and one only in CRM (Dot).
func (w *world) seed() (deskIDs, crmIDs map[string]string) {
	w.t.Helper()
	recent := time.Now().UTC().Add(-time.Hour).Format(iso)
	crmRecent := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05+00:00")
	d := func(kv ...any) map[string]any {
		m := map[string]any{"createdTime": recent, "modifiedTime": recent}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	c := func(kv ...any) map[string]any {
		m := map[string]any{"Created_Time": crmRecent, "Modified_Time": crmRecent}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	da, err := w.desk.Load("accounts", []map[string]any{d("accountName", "Acme"), d("accountName", "Beta")})
	must(w.t, err)
	ca, err := w.crm.Load("Accounts", []map[string]any{c("Account_Name", "Acme"), c("Account_Name", "Beta")})
	must(w.t, err)
	dc, err := w.desk.Load("contacts", []map[string]any{
		d("lastName", "Ann", "email", "ann@x.com", "accountId", da[0]),
		d("lastName", "Ben", "email", "ben@x.com"),
		d("lastName", "Cid", "email", "cid@x.com"),
	})
	must(w.t, err)
	cc, err := w.crm.Load("Contacts", []map[string]any{
		c("Last_Name", "Ann", "Email", "ann@x.com", "Account_Name", map[string]any{"id": ca[0]}),
		c("Last_Name", "Ben", "Email", "ben@x.com"),
		c("Last_Name", "Dot", "Email", "dot@x.com"),
	})
	must(w.t, err)
	deskIDs = map[string]string{"acme": da[0], "beta": da[1], "ann": dc[0], "ben": dc[1], "cid": dc[2]}
	crmIDs = map[string]string{"acme": ca[0], "beta": ca[1], "ann": cc[0], "ben": cc[1], "dot": cc[2]}
	return deskIDs, crmIDs
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// firstSync runs the first sync's steps directly, as the workflow would.
func (w *world) firstSync() {
	w.t.Helper()
	w.start = time.Now().UTC()
	_, err := w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(w.t, err)
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
		steps := []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs}
		if w.mode != activities.ModeTwoWay {
			steps = []func(context.Context, activities.StepInput) (activities.StepResult, error){
				w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInDesk, w.a.ReconcilePairs}
		}
		for _, step := range steps {
			if _, err := step(w.ctx, in); err != nil {
				w.t.Fatalf("first sync of %s: %v", m, err)
			}
		}
	}
}

// rerunSteps runs the first sync's steps but the index steps, as a retry pass does (the
// workflow's rerunSteps): the index holds what the incremental passes read since.
func (w *world) rerunSteps() {
	w.t.Helper()
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
		for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs} {
			if _, err := step(w.ctx, in); err != nil {
				w.t.Fatalf("steps of %s run again: %v", m, err)
			}
		}
	}
}

// firstSyncRetrying runs the first sync's steps, each retried up to attempts times on error
// as Temporal's retry policy would.
func (w *world) firstSyncRetrying(attempts int) {
	w.t.Helper()
	w.start = time.Now().UTC()
	_, err := w.a.Preflight(w.ctx, activities.PreflightInput{IntegrationID: "it", Mode: w.mode})
	must(w.t, err)
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.StepInput{IntegrationID: "it", Module: m, Mode: w.mode, Lookback: 24 * time.Hour, Now: w.start}
		for _, step := range []func(context.Context, activities.StepInput) (activities.StepResult, error){
			w.a.IndexDesk, w.a.IndexCRM, w.a.Match, w.a.CreateInCRM, w.a.CreateInDesk, w.a.ReconcilePairs} {
			var err error
			for range attempts {
				if _, err = step(w.ctx, in); err == nil {
					break
				}
			}
			if err != nil {
				w.t.Fatalf("first sync of %s after %d attempts: %v", m, attempts, err)
			}
		}
	}
}

// pass runs an incremental pass over both modules and returns the contacts' result.
func (w *world) pass(hints map[string][]string) activities.IncrementalResult {
	w.t.Helper()
	var res activities.IncrementalResult
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		in := activities.IncrementalInput{IntegrationID: "it", Module: m, Mode: w.mode, Since: w.start}
		if m == activities.Contacts {
			in.Hints = hints
		}
		r, err := w.a.IncrementalPass(w.ctx, in)
		if err != nil {
			w.t.Fatalf("incremental pass of %s: %v", m, err)
		}
		res = r
	}
	return res
}

func (w *world) deskField(module, id, field string) string {
	r, ok := w.desk.Record(module, id)
	if !ok {
		return "<missing>"
	}
	if v, ok := r[field]; ok {
		return fmt.Sprint(v)
	}
	cf, _ := r["cf"].(map[string]any)
	return fmt.Sprint(cf[field])
}

func (w *world) crmField(module, id, field string) string {
	r, ok := w.crm.Record(module, id)
	if !ok {
		return "<missing>"
	}
	return fmt.Sprint(r[field])
}

func (w *world) deskUpdate(id string, fields map[string]any) {
	w.t.Helper()
	w.deskUpdateIn("contacts", id, fields)
}

// deskUpdateIn edits a Desk record of a module as a person would.
func (w *world) deskUpdateIn(module, id string, fields map[string]any) {
	w.t.Helper()
	_, err := w.userDsk.Update(w.ctx, module, id, desk.Record{Fields: fields})
	must(w.t, err)
}

// deskCreate creates a Desk contact as a person would.
func (w *world) deskCreate(fields map[string]any) string {
	w.t.Helper()
	r, err := w.userDsk.Create(w.ctx, "contacts", desk.Record{Fields: fields})
	must(w.t, err)
	return r.ID
}

// openFailures returns the open failures of the integration with a code.
func (w *world) openFailures(code string) []store.Failure {
	w.t.Helper()
	all, _, err := w.st.OpenFailures(w.ctx, "it", 0)
	must(w.t, err)
	var out []store.Failure
	for _, f := range all {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func (w *world) crmUpdate(id string, fields map[string]any) {
	w.t.Helper()
	w.crmUpdateIn("Contacts", id, fields)
}

// crmUpdateIn edits a CRM record of a module (its API name) as a person would.
func (w *world) crmUpdateIn(module, id string, fields map[string]any) {
	w.t.Helper()
	res, err := w.userCRM.Update(w.ctx, module, []crm.Record{{ID: id, Fields: fields}})
	must(w.t, err)
	if !res[0].OK() {
		w.t.Fatal(res[0].Err)
	}
}

func (w *world) crmByEmail(email string) string {
	w.t.Helper()
	var ids []string
	for _, r := range w.crm.Records("Contacts") {
		if r["Email"] == email {
			ids = append(ids, fmt.Sprint(r["id"]))
		}
	}
	if len(ids) != 1 {
		w.t.Fatalf("%d CRM contacts with email %s, want 1", len(ids), email)
	}
	return ids[0]
}

func (w *world) crmLinkOf(deskID string) store.Link {
	w.t.Helper()
	l, err := w.st.LinkByDesk(w.ctx, "it", "contacts", deskID)
	must(w.t, err)
	return l
}

// crmLinkOf2 returns the link of a CRM contact.
func (w *world) crmLinkOf2(crmID string) store.Link {
	w.t.Helper()
	links, err := w.st.LinksOf(w.ctx, store.Scope{IntegrationID: "it", Module: "contacts", Side: "crm"}, []string{crmID})
	must(w.t, err)
	l, ok := links[crmID]
	if !ok {
		w.t.Fatalf("no link of CRM contact %s", crmID)
	}
	return l
}

// crmLinkOf2Accounts returns the CRM account linked to a Desk account.
func (w *world) crmLinkOf2Accounts(deskID string) string {
	w.t.Helper()
	l, err := w.st.LinkByDesk(w.ctx, "it", "accounts", deskID)
	must(w.t, err)
	return l.CRMID
}

// writeCalls counts the write calls in both emulators' call logs since the last reset.
func (w *world) writeCalls() int {
	n := 0
	for _, s := range []realism.Stats{w.crm.Realism().Calls(), w.desk.Realism().Calls()} {
		for ep, st := range s.Endpoints {
			if !strings.HasPrefix(ep, "GET ") && !strings.Contains(ep, "oauth") {
				n += st.Calls
			}
		}
	}
	return n
}

func (w *world) resetCalls() {
	w.crm.Realism().ResetCalls()
	w.desk.Realism().ResetCalls()
}

// contactsMappingWithout stores the demo contacts mapping without the Desk fields named, as an
// admin's import would (the integration is made if need be), and returns the whole mapping's
// rows, to store later.
func (w *world) contactsMappingWithout(deskFields ...string) (all []store.MappingRow) {
	w.t.Helper()
	var kept []store.MappingRow
	for _, f := range mapping.DemoMapping(mapping.Contacts).Fields {
		r := store.MappingRow{DeskField: f.Desk, CRMField: f.CRM, Direction: string(f.Direction), Policy: string(f.EffectivePolicy())}
		all = append(all, r)
		if !slices.Contains(deskFields, f.Desk) {
			kept = append(kept, r)
		}
	}
	_, err := w.st.EnsureIntegration(w.ctx, "it", "two-way", 365*24*time.Hour)
	must(w.t, err)
	must(w.t, w.st.ReplaceMapping(w.ctx, "it", "contacts", kept))
	return all
}

// passBeyondOverlap lets the cursors move past what was read so far: a pass reads the
// CursorOverlap before its cursor again, and a record read again is planned again, which hides
// whether anything else would bring it. It waits out the overlap, edits the mobile of CRM
// contact crmID and Desk contact deskID (records the test does not look at), and runs two
// passes.
func (w *world) passBeyondOverlap(crmID, deskID string) {
	w.t.Helper()
	time.Sleep(activities.CursorOverlap + time.Second)
	w.crmUpdate(crmID, map[string]any{"Mobile": "1"})
	w.deskUpdate(deskID, map[string]any{"mobile": "2"})
	w.pass(nil)
	w.pass(nil)
}

// deskContactsWithEmail counts the live Desk contacts holding email.
func (w *world) deskContactsWithEmail(email string) int {
	n := 0
	for _, r := range w.desk.Records("contacts") {
		if r["email"] == email {
			n++
		}
	}
	return n
}
