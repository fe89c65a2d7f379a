package crm

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// coql posts a select query. coql.json is not among the spec files the env validates
// against (and their router would take the path for an insert into module "coql"), so the
// tests check the answers' shape themselves (coql.json Response_Wrapper and exceptions).
func (e *env) coql(query string) resp {
	e.t.Helper()
	return e.call("POST", "/crm/v8/coql", map[string]any{"select_query": query}, notInSpec)
}

// coqlIDs are the ids of a COQL answer, in order.
func coqlIDs(t *testing.T, r resp) []string {
	t.Helper()
	if r.status == http.StatusNoContent {
		return nil
	}
	wantStatus(t, r, http.StatusOK)
	var ids []string
	for _, d := range r.data() {
		ids = append(ids, d["id"].(string))
	}
	if n, _ := r.info()["count"].(float64); int(n) != len(ids) {
		t.Errorf("info.count = %v, want %d", r.info()["count"], len(ids))
	}
	return ids
}

func TestCOQLSelects(t *testing.T) {
	clk := newClock()
	e := newEnv(t, Config{Now: clk.Now})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Blue Falcon", "Annual_Revenue": 5000},
		map[string]any{"Account_Name": "Red Kite", "Annual_Revenue": 90})
	var ids []string
	for _, c := range []map[string]any{
		{"Last_Name": "Archer", "First_Name": "Ann", "Email": "ann@falcon.example", "Seats": 5, "VIP": true, "Account_Name": acc[0]},
		{"Last_Name": "Baker", "Email": "bob@kite.example", "Seats": 12, "VIP": false, "Account_Name": acc[1]},
		{"Last_Name": "Cole", "First_Name": "Cy", "Seats": 7, "Renewal_Date": "2026-05-01"},
		{"Last_Name": "O'Hara", "Email": "ohara@falcon.example", "Seats": 1},
	} {
		ids = append(ids, e.insert("Contacts", c)[0])
		clk.Add(time.Hour) // Created_Time/Modified_Time 10:00, 11:00, 12:00, 13:00
	}
	a, b, c, d := ids[0], ids[1], ids[2], ids[3]

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"select Last_Name from Contacts", []string{a, b, c, d}},
		{"SELECT Last_Name FROM Contacts WHERE Email = 'ANN@falcon.example'", []string{a}},
		{"select Last_Name from Contacts where Email != 'ann@falcon.example'", []string{b, d}},
		{"select Last_Name from Contacts where Email is null", []string{c}},
		{"select Last_Name from Contacts where Email is not null order by id desc", []string{d, b, a}},
		{"select Last_Name from Contacts where Email like '%falcon%'", []string{a, d}},
		{"select Last_Name from Contacts where Email like 'b%'", []string{b}},
		{"select Last_Name from Contacts where Email like '%.example'", []string{a, b, d}},
		{"select Last_Name from Contacts where Email not like '%falcon%'", []string{b}},
		{"select Last_Name from Contacts where Last_Name = 'O''Hara'", []string{d}},
		{"select Last_Name from Contacts where Last_Name in ('Baker', 'cole', 'Nobody')", []string{b, c}},
		{"select Last_Name from Contacts where Last_Name not in ('Baker', 'Cole')", []string{a, d}},
		{"select Last_Name from Contacts where Seats > 5", []string{b, c}},
		{"select Last_Name from Contacts where Seats >= 5 and Seats <= 7", []string{a, c}},
		{"select Last_Name from Contacts where Seats < 5 or Seats = 12", []string{b, d}},
		{"select Last_Name from Contacts where Seats between 2 and 10", []string{a, c}},
		{"select Last_Name from Contacts where VIP = true", []string{a}},
		{"select Last_Name from Contacts where Renewal_Date = '2026-05-01'", []string{c}},
		{"select Last_Name from Contacts where Account_Name = '" + acc[0] + "'", []string{a}},
		{"select Last_Name from Contacts where Account_Name is null", []string{c, d}},
		{"select Last_Name from Contacts where id = '" + c + "'", []string{c}},
		{"select Last_Name from Contacts where Created_Time > '2025-03-01T11:30:00+00:00'", []string{c, d}},
		{"select Last_Name from Contacts where Modified_Time >= '2025-03-01T16:00:00+05:00' and Email is not null", []string{b, d}},
		{"select Last_Name from Contacts where (Email like '%falcon%' or Seats > 10) and (VIP = true or Seats < 5)", []string{a, d}},
		{"select Last_Name from Contacts where ((Seats > 1 and Seats < 12) and Email is not null)", []string{a}},
		{"select Last_Name from Contacts order by Seats desc", []string{b, c, a, d}},
		{"select Last_Name from Contacts order by Email asc", []string{c, a, b, d}},
		{"select Last_Name from Contacts order by Created_Time desc limit 2", []string{d, c}},
		{"select Last_Name from Contacts order by Last_Name desc limit 1, 2", []string{c, b}},
		{"select Last_Name from Contacts limit 2 offset 1", []string{b, c}},
		{"select Last_Name from Contacts where Email = 'nobody@example.com'", nil},
		{"select Last_Name from Contacts limit 10, 5", nil},
		{"select Account_Name from Accounts where Annual_Revenue > 100", []string{acc[0]}},
	} {
		if got := coqlIDs(t, e.coql(tt.query)); !slices.Equal(got, tt.want) {
			t.Errorf("%s\n  = %v, want %v", tt.query, got, tt.want)
		}
	}

	t.Run("answer shape", func(t *testing.T) {
		r := e.coql("select Last_Name, First_Name, Email, Seats, VIP, Account_Name, Owner, Created_Time, Renewal_Date from Contacts where id = '" + a + "'")
		wantStatus(t, r, http.StatusOK)
		got := r.data()[0]
		want := map[string]any{"id": a, "Last_Name": "Archer", "First_Name": "Ann", "Email": "ann@falcon.example", "Seats": float64(5),
			"VIP": true, "Account_Name": map[string]any{"id": acc[0]}, "Owner": map[string]any{"id": userID},
			"Created_Time": "2025-03-01T10:00:00+00:00", "Renewal_Date": nil}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("record = %v\nwant %v", got, want)
		}
		if info := r.info(); info["count"] != float64(1) || info["more_records"] != false || len(info) != 2 {
			t.Errorf("info = %v", info)
		}
		if r := e.coql("select Last_Name from Contacts limit 3"); r.info()["more_records"] != true {
			t.Errorf("more_records with a fourth record = %v", r.info())
		}
		if r := e.coql("select Email from Contacts where id = '" + b + "'"); len(r.data()[0]) != 2 {
			t.Errorf("only id and the selected column: %v", r.data()[0])
		}
	})
	t.Run("no match is 204", func(t *testing.T) {
		r := e.coql("select Last_Name from Contacts where Seats > 100")
		wantStatus(t, r, http.StatusNoContent)
		if len(r.raw) != 0 {
			t.Errorf("204 with a body: %s", r.raw)
		}
	})
	t.Run("writes are found at once", func(t *testing.T) {
		e.s.SetSearchLag(time.Hour)
		defer e.s.SetSearchLag(0)
		id := e.insert("Contacts", map[string]any{"Last_Name": "Fresh", "Email": "fresh@example.com"})[0]
		if got := coqlIDs(t, e.coql("select Email from Contacts where Email = 'fresh@example.com'")); !slices.Equal(got, []string{id}) {
			t.Errorf("a record just written = %v, want %v", got, []string{id})
		}
	})
}

func TestCOQLErrors(t *testing.T) {
	e := newEnv(t, Config{})
	e.insert("Contacts", map[string]any{"Last_Name": "Archer"})
	in51 := strings.TrimSuffix(strings.Repeat("'x', ", 51), ", ")
	var crit26 []string
	for i := range 13 {
		crit26 = append(crit26, fmt.Sprintf("(Seats = %d and Seats = %d)", i, i))
	}
	where26 := crit26[0]
	for _, c := range crit26[1:] {
		where26 = "(" + where26 + " or " + c + ")"
	}
	for _, tt := range []struct {
		query   string
		code    string
		details map[string]any
	}{
		{"select Last_Name Contacts", "SYNTAX_ERROR", map[string]any{"line": float64(1), "column": float64(18), "near": "Contacts"}},
		{"select Last_Name from", "SYNTAX_ERROR", map[string]any{"line": float64(1), "column": float64(22), "near": "<EOF>"}},
		{"select from Contacts", "SYNTAX_ERROR", map[string]any{"line": float64(1), "column": float64(8), "near": "from"}},
		{"Last_Name from Contacts", "SYNTAX_ERROR", map[string]any{"line": float64(1), "column": float64(1), "near": "Last_Name"}},
		{"select Last_Name from Contacts where Email = 'x", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts where Email is not null and Seats > 1 and Seats < 9", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts where (Email = 'a'", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts where Email = ", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts limit -1", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts order Last_Name", "SYNTAX_ERROR", nil},
		{"select Last_Name from Contacts where Email ~ 'a'", "SYNTAX_ERROR", nil},
		{"select Nope from Contacts", "INVALID_QUERY", map[string]any{"column_name": "Nope", "clause": "select"}},
		{"select Last_Name from Contacts where Nope = 'a'", "INVALID_QUERY", map[string]any{"column_name": "Nope", "clause": "where"}},
		{"select Last_Name from Contacts order by Nope", "INVALID_QUERY", map[string]any{"column_name": "Nope", "clause": "order by"}},
		{"select Last_Name from Leads", "INVALID_QUERY", map[string]any{"module": "Leads", "reason": "the module name given seems to be invalid", "clause": "from"}},
		{"select Last_Name from Contacts where Seats = 'many'", "INVALID_QUERY", map[string]any{"column_name": "Seats", "expected_data_type": "integer"}},
		{"select Last_Name from Contacts where Created_Time > '2026-01-01'", "INVALID_QUERY", map[string]any{"column_name": "Created_Time", "expected_data_type": "datetime"}},
		{"select Last_Name from Contacts where Email > 'a'", "INVALID_QUERY", nil},
		{"select Last_Name from Contacts where VIP like '%t%'", "INVALID_QUERY", nil},
		{"select Last_Name from Contacts order by Last_Name, Last_Name", "DUPLICATE_DATA", nil},
		{"select Last_Name from Contacts limit 2001", "LIMIT_EXCEEDED", map[string]any{"by": "limit", "limit": float64(2000)}},
		{"select Last_Name from Contacts limit 0", "LIMIT_EXCEEDED", map[string]any{"by": "limit", "limit": float64(2000)}},
		{"select Last_Name from Contacts limit 99000, 2000", "LIMIT_EXCEEDED", map[string]any{"by": "offset", "limit": float64(100000)}},
		{"select Last_Name from Contacts where Last_Name in (" + in51 + ")", "LIMIT_EXCEEDED", nil},
		{"select Last_Name from Contacts where " + where26, "LIMIT_EXCEEDED", map[string]any{"by": "criteria", "limit": float64(25)}},
	} {
		r := e.coql(tt.query)
		wantCode(t, r, http.StatusBadRequest, tt.code)
		if r.body["status"] != "error" || r.body["message"] == "" {
			t.Errorf("%s: error shape %s", tt.query, r.raw)
		}
		if tt.details != nil && fmt.Sprint(r.body["details"]) != fmt.Sprint(tt.details) {
			t.Errorf("%s: details %v, want %v", tt.query, r.body["details"], tt.details)
		}
	}
	wantCode(t, e.call("POST", "/crm/v8/coql", map[string]any{}, notInSpec), http.StatusBadRequest, "REQUIRED_PARAM_MISSING")
	wantCode(t, e.call("POST", "/crm/v8/coql", "{", notInSpec), http.StatusBadRequest, "INVALID_DATA")
	wantCode(t, e.call("GET", "/crm/v8/coql", nil, notInSpec), http.StatusBadRequest, "INVALID_REQUEST_METHOD")
	wantCode(t, e.call("POST", "/crm/v8/coql", map[string]any{"select_query": "select Last_Name from Contacts"}, notInSpec, auth("")),
		http.StatusUnauthorized, "AUTHENTICATION_FAILURE")
}

// COQL costs 1, 2 or 3 credits by its LIMIT (Query API overview) and is a complex call.
func TestCOQLCredits(t *testing.T) {
	e := newEnv(t, Config{})
	e.insert("Contacts", map[string]any{"Last_Name": "Archer"})
	e.s.Realism().ResetCalls()
	for _, query := range []string{
		"select Last_Name from Contacts",                // default 200: 1
		"select Last_Name from Contacts limit 0, 200",   // 1
		"select Last_Name from Contacts limit 201",      // 2
		"select Last_Name from Contacts limit 10, 1000", // 2
		"select Last_Name from Contacts limit 2000",     // 3
		"select Last_Name from Contacts wher",           // an error: 1
	} {
		e.coql(query)
	}
	if got := e.s.Realism().Calls().Endpoints["POST /crm/v8/coql"]; got.Calls != 6 || got.Credits != 10 {
		t.Errorf("POST /crm/v8/coql: %+v, want 6 calls, 10 credits", got)
	}
	if c := e.s.classify(mustRequest(t, "select Last_Name from Contacts", e.token)); !c.Complex || c.Cost != 1 {
		t.Errorf("classify = %+v, want complex, cost 1", c)
	}
}

func mustRequest(t *testing.T, query, token string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "/crm/v8/coql", strings.NewReader(`{"select_query":`+fmt.Sprintf("%q", query)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	return r
}
