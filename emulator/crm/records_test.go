package crm

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/zohoauth"
)

var (
	idRE   = regexp.MustCompile(`^[0-9]{19}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)
)

// clock is a settable time source for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func TestAuthErrors(t *testing.T) {
	e := newEnv(t, Config{})
	expired, _ := e.s.Auth().Issue()
	e.s.Auth().ExpireAll()
	tests := []struct {
		name   string
		header string
		code   string
	}{
		{"missing header", "", "AUTHENTICATION_FAILURE"},
		{"wrong scheme", "Bearer abc", "AUTHENTICATION_FAILURE"},
		{"unknown token", zohoauth.HeaderPrefix + "1000.nope", "INVALID_TOKEN"},
		{"expired token", zohoauth.HeaderPrefix + expired, "INVALID_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name"), nil, auth(tt.header))
			wantCode(t, r, http.StatusUnauthorized, tt.code)
			if d, ok := r.body["details"].(map[string]any); !ok || len(d) != 0 {
				t.Errorf("details = %v, want {}", r.body["details"])
			}
		})
	}
	// Unauthenticated calls cost no credits.
	if c := e.s.Realism().Calls(); c.Credits != 0 {
		t.Errorf("credits charged for 401s: %d", c.Credits)
	}
}

func TestTokenEndpointServedByEmulator(t *testing.T) {
	e := newEnv(t, Config{})
	res, err := http.PostForm(e.srv.URL+"/oauth/v2/token", map[string][]string{
		"grant_type": {"refresh_token"}, "client_id": {zohoauth.DefaultClientID},
		"client_secret": {zohoauth.DefaultClientSecret}, "refresh_token": {zohoauth.DefaultRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok zohoauth.TokenResponse
	if err := jsonDecode(res.Body, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.APIDomain != e.srv.URL || tok.AccessToken == "" {
		t.Fatalf("token response %+v", tok)
	}
	e.token = tok.AccessToken
	wantStatus(t, e.call("GET", "/crm/v8/Contacts"+q("fields", "Email"), nil), http.StatusNoContent)
}

func TestRouting(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown module", "GET", "/crm/v8/Widgets?fields=Name", 400, "INVALID_MODULE"},
		{"module names are case-sensitive", "GET", "/crm/v8/contacts?fields=Email", 400, "INVALID_MODULE"},
		{"not an API path", "GET", "/crm/v9/Contacts", 404, "INVALID_URL_PATTERN"},
		{"too deep", "GET", "/crm/v8/Contacts/1/Deals/2/x", 404, "INVALID_URL_PATTERN"},
		{"unsupported method", "PATCH", "/crm/v8/Contacts", 400, "INVALID_REQUEST_METHOD"},
		{"unknown settings", "GET", "/crm/v8/settings/nothing", 404, "INVALID_URL_PATTERN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.call(tt.method, tt.path, nil, badReq), tt.status, tt.code)
		})
	}
	r := e.call("GET", "/crm/v8/Widgets?fields=Name", nil, badReq)
	if d := r.body["details"].(map[string]any); d["resource_path_index"] != float64(0) {
		t.Errorf("INVALID_MODULE details = %v", d)
	}
}

func loadContacts(t testing.TB, s *Server, n int, mod func(i int, r map[string]any)) []string {
	t.Helper()
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprintf("Person%05d", i), "Email": fmt.Sprintf("p%05d@example.com", i)}
		if mod != nil {
			mod(i, recs[i])
		}
	}
	ids, err := s.Load("Contacts", recs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestListParameterErrors(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 3, nil)
	many := make([]string, 51)
	for i := range many {
		many[i] = "Email"
	}
	tests := []struct {
		name   string
		query  string
		hdr    []reqOpt
		status int
		code   string
	}{
		{"fields missing", "", nil, 400, "REQUIRED_PARAM_MISSING"},
		{"51 fields", q("fields", strings.Join(many, ",")), nil, 400, "LIMIT_EXCEEDED"},
		{"unknown field", q("fields", "Email,Nope"), nil, 400, "INVALID_DATA"},
		{"per_page over 200", q("fields", "Email", "per_page", "201"), nil, 400, "INVALID_DATA"},
		{"page beyond 2000 records", q("fields", "Email", "page", "11", "per_page", "200"), nil, 400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED"},
		{"page beyond 2000 at a small page size", q("fields", "Email", "page", "21", "per_page", "100"), nil, 400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED"},
		{"bad sort_by", q("fields", "Email", "sort_by", "Email"), nil, 400, "INVALID_DATA"},
		{"bad sort_order", q("fields", "Email", "sort_order", "up"), nil, 400, "INVALID_DATA"},
		{"page with page_token", q("fields", "Email", "page", "1", "page_token", "abc"), nil, 400, "INVALID_DATA"},
		{"garbage page_token", q("fields", "Email", "page_token", "%%%"), nil, 400, "INVALID_DATA"},
		{"bad If-Modified-Since", q("fields", "Email"), []reqOpt{header("If-Modified-Since", "yesterday")}, 400, "INVALID_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]reqOpt{badReq}, tt.hdr...)
			r := e.call("GET", "/crm/v8/Contacts"+tt.query, nil, opts...)
			wantCode(t, r, tt.status, tt.code)
		})
	}
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "page", "11"), nil, badReq)
	if d := r.body["details"].(map[string]any); d["limit"] != float64(2000) {
		t.Errorf("DISCRETE_PAGINATION_LIMIT_EXCEEDED details = %v", d)
	}
}

func ids(rs []map[string]any) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r["id"].(string))
	}
	return out
}

func TestListPagingAndSorting(t *testing.T) {
	e := newEnv(t, Config{})
	wantStatus(t, e.call("GET", "/crm/v8/Contacts"+q("fields", "Email"), nil), http.StatusNoContent)
	all := loadContacts(t, e.s, 450, nil)

	// Page numbers.
	var byPage []string
	for page, wantMore := range []bool{true, true, false} {
		r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name,Email", "sort_order", "asc", "page", fmt.Sprint(page+1)), nil)
		wantStatus(t, r, 200)
		info := r.info()
		if info["more_records"] != wantMore || info["page"] != float64(page+1) || info["count"] != float64(len(r.data())) {
			t.Errorf("page %d info = %v", page+1, info)
		}
		if _, has := info["previous_page_token"]; has {
			t.Errorf("info has previous_page_token (the spec types it as a non-null string)")
		}
		for _, d := range r.data() {
			if len(d) != 3 {
				t.Errorf("record has keys %v, want id, Last_Name, Email", d)
			}
		}
		byPage = append(byPage, ids(r.data())...)
	}
	if strings.Join(byPage, ",") != strings.Join(all, ",") {
		t.Errorf("paging by number returned %d ids not in id order", len(byPage))
	}

	// Page tokens, descending by id (the default).
	var byToken []string
	tok := ""
	for range 10 {
		query := q("fields", "Email", "per_page", "100")
		if tok != "" {
			query = q("fields", "Email", "per_page", "100", "page_token", tok)
		}
		r := e.call("GET", "/crm/v8/Contacts"+query, nil)
		wantStatus(t, r, 200)
		byToken = append(byToken, ids(r.data())...)
		if r.info()["sort_order"] != "desc" || r.info()["sort_by"] != "id" {
			t.Errorf("info = %v", r.info())
		}
		next, _ := r.info()["next_page_token"].(string)
		if r.info()["more_records"] == false {
			if next != "" {
				t.Errorf("next_page_token on the last page")
			}
			break
		}
		if !timeRE.MatchString(r.info()["page_token_expiry"].(string)) {
			t.Errorf("page_token_expiry = %v", r.info()["page_token_expiry"])
		}
		tok = next
	}
	if len(byToken) != 450 || byToken[0] != all[449] || byToken[449] != all[0] {
		t.Errorf("page tokens walked %d records", len(byToken))
	}

	// ids parameter.
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "ids", all[3]+","+all[1]+",1234"), nil)
	if got := ids(r.data()); strings.Join(got, ",") != all[3]+","+all[1] {
		t.Errorf("ids= returned %v", got)
	}
}

func TestDiscretePagingCapThenToken(t *testing.T) {
	e := newEnv(t, Config{})
	all := loadContacts(t, e.s, 2100, nil)
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "sort_order", "asc", "page", "10"), nil)
	wantStatus(t, r, 200)
	tok, _ := r.info()["next_page_token"].(string)
	if tok == "" || r.info()["more_records"] != true {
		t.Fatalf("page 10 info = %v", r.info())
	}
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "page_token", tok), nil)
	got := ids(r.data())
	if len(got) != 100 || got[0] != all[2000] || r.info()["page"] != float64(11) {
		t.Errorf("token after page 10: %d records, first %v, info %v", len(got), got[:1], r.info())
	}
}

func TestPageTokenExpiryAndLimit(t *testing.T) {
	c := newClock()
	e := newEnv(t, Config{Now: c.Now, PageTokenLimit: 300})
	loadContacts(t, e.s, 500, nil)
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "per_page", "150"), nil)
	tok := r.info()["next_page_token"].(string)

	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "per_page", "150", "page_token", tok), nil)
	wantStatus(t, r, 200)
	tok2 := r.info()["next_page_token"].(string)
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "per_page", "150", "page_token", tok2), nil, badReq)
	wantCode(t, r, 400, "PAGINATION_LIMIT_EXCEEDED")

	c.Add(25 * time.Hour)
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Email", "per_page", "150", "page_token", tok), nil, badReq)
	wantCode(t, r, 400, "EXPIRED_VALUE")
	if d := r.body["details"].(map[string]any); d["api_name"] != "page_token" || d["json_path"] != "$.query.page_token" {
		t.Errorf("EXPIRED_VALUE details = %v", d)
	}
}

func TestIfModifiedSinceAndStableModifiedOrder(t *testing.T) {
	c := newClock()
	e := newEnv(t, Config{Now: c.Now})
	old := c.Now().Add(-time.Hour).Format(time.RFC3339)
	loadContacts(t, e.s, 5, func(i int, r map[string]any) { r["Created_Time"], r["Modified_Time"] = old, old })
	since := c.Now().Add(-time.Minute).Format(time.RFC3339)
	r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Email"), nil, header("If-Modified-Since", since))
	wantStatus(t, r, http.StatusNotModified)
	if len(r.raw) != 0 {
		t.Errorf("304 with a body")
	}
	// Three inserts in the same second keep their order by Modified_Time.
	a := e.insert("Contacts", map[string]any{"Last_Name": "A"})[0]
	b := e.insert("Contacts", map[string]any{"Last_Name": "B"})[0]
	cc := e.insert("Contacts", map[string]any{"Last_Name": "C"})[0]
	wantStatus(t, e.call("PUT", "/crm/v8/Contacts/"+a, map[string]any{"data": []any{map[string]any{"Title": "CEO"}}}), 200)
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name", "sort_by", "Modified_Time", "sort_order", "asc"),
		nil, header("If-Modified-Since", since))
	wantStatus(t, r, 200)
	if got := strings.Join(ids(r.data()), ","); got != strings.Join([]string{b, cc, a}, ",") {
		t.Errorf("modified order = %s, want b, c, a", got)
	}
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name", "sort_by", "Modified_Time"), nil, header("If-Modified-Since", since))
	if got := strings.Join(ids(r.data()), ","); got != strings.Join([]string{a, cc, b}, ",") {
		t.Errorf("modified desc order = %s, want a, c, b", got)
	}
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name"), nil, header("If-Modified-Since", since))
	if n := len(r.data()); n != 3 {
		t.Errorf("id order with If-Modified-Since returned %d records, want 3", n)
	}
}

func TestGetByID(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Zylker", "Account_Type": "Partner"})[0]
	id := e.insert("Contacts", map[string]any{"Last_Name": "Doe", "First_Name": "Jane", "Account_Name": map[string]any{"id": acc}})[0]
	r := e.call("GET", "/crm/v8/Contacts/"+id, nil)
	wantStatus(t, r, 200)
	d := r.data()[0]
	if d["Full_Name"] != "Jane Doe" || d["Email"] != nil {
		t.Errorf("record = %v", d)
	}
	if a := d["Account_Name"].(map[string]any); a["id"] != acc || a["name"] != "Zylker" {
		t.Errorf("lookup = %v", a)
	}
	for _, k := range []string{"Owner", "Created_By", "Modified_By"} {
		if u := d[k].(map[string]any); u["id"] != userID || u["name"] == "" {
			t.Errorf("%s = %v", k, u)
		}
	}
	// Renaming the account renames the lookup.
	wantStatus(t, e.call("PUT", "/crm/v8/Accounts/"+acc, map[string]any{"data": []any{map[string]any{"Account_Name": "Zylker Inc"}}}), 200)
	r = e.call("GET", "/crm/v8/Contacts/"+id+q("fields", "Account_Name"), nil)
	if a := r.data()[0]["Account_Name"].(map[string]any); a["name"] != "Zylker Inc" {
		t.Errorf("lookup name after rename = %v", a)
	}
	if len(r.data()[0]) != 2 {
		t.Errorf("fields= on get returned %v", r.data()[0])
	}
	for _, bad := range []string{"1234", "abc", "57257670000010000019999"} {
		wantCode(t, e.call("GET", "/crm/v8/Contacts/"+bad, nil, badReq), 400, "INVALID_DATA")
	}
}
