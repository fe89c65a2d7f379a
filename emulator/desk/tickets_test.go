package desk

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"deskcrm/emulator/realism"
)

func TestTicketsAndProfiles(t *testing.T) {
	e := newEnv(t, Config{})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Acme"}})
	cs, err := e.srv.Load(ModuleContacts, []map[string]any{{"lastName": "A", "email": "a@acme.com", "accountId": accs[0]}, {"lastName": "B"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/v1/tickets", nil); r.status != http.StatusNoContent {
		t.Fatalf("empty tickets: %d", r.status)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids, err := e.srv.LoadTickets([]Ticket{
		{Subject: "Login fails", ContactID: cs[0], Priority: "High", CreatedTime: base},
		{Subject: "Invoice", ContactID: cs[1], Status: "Closed", CreatedTime: base.Add(time.Hour)},
		{Subject: "Feature", ContactID: cs[0], Status: "On Hold", CreatedTime: base.Add(2 * time.Hour)},
	})
	if err != nil || len(ids) != 3 {
		t.Fatalf("load tickets: %v", err)
	}
	if _, err := e.srv.LoadTickets([]Ticket{{Subject: "x", ContactID: "1892000009999999"}}); err == nil {
		t.Error("ticket with unknown contact accepted")
	}
	list := e.do("GET", "/api/v1/tickets?include=contacts,accounts", nil).data(t)
	if len(list) != 3 {
		t.Fatalf("tickets: %v", list)
	}
	first := list[0]
	for _, k := range []string{"id", "ticketNumber", "subject", "status", "priority", "contactId", "accountId", "createdTime"} {
		if _, ok := first[k]; !ok {
			t.Errorf("ticket lacks %s: %v", k, first)
		}
	}
	if first["accountId"] != accs[0] || first["contact"].(map[string]any)["email"] != "a@acme.com" ||
		first["account"].(map[string]any)["accountName"] != "Acme" || !timeRE.MatchString(first["createdTime"].(string)) {
		t.Errorf("first ticket: %v", first)
	}
	if list[1]["accountId"] != nil {
		t.Errorf("ticket of a contact without account has accountId %v", list[1]["accountId"])
	}
	cases := []struct {
		q    string
		want int
	}{
		{"status=Open", 1},
		{"status=Open,Closed", 2},
		{"from=2&limit=1", 1},
		{"from=3", 1},
	}
	for _, c := range cases {
		r := e.do("GET", "/api/v1/tickets?"+c.q, nil)
		if n := len(r.data(t)); n != c.want {
			t.Errorf("%s: %d tickets, want %d", c.q, n, c.want)
		}
	}
	if r := e.do("GET", "/api/v1/tickets?from=4", nil); r.status != http.StatusNoContent {
		t.Errorf("past the end: %d", r.status)
	}
	if d := e.do("GET", "/api/v1/tickets?sortBy=-createdTime&limit=1", nil).data(t); d[0]["subject"] != "Feature" {
		t.Errorf("sorted desc: %v", d)
	}
	expectError(t, e.do("GET", "/api/v1/tickets?status=Weird", nil), 422, CodeInvalidData, "status", ErrInvalid)
	expectError(t, e.do("GET", "/api/v1/tickets?limit=500", nil), 422, CodeInvalidData, "limit", ErrInvalid)
	g := e.do("GET", "/api/v1/tickets/"+ids[1], nil)
	if g.status != 200 || g.json(t)["subject"] != "Invoice" {
		t.Errorf("get ticket: %d %s", g.status, g.body)
	}
	expectError(t, e.do("GET", "/api/v1/tickets/1892000009999999", nil), 404, CodeURLNotFound, "", "")
	if r := e.raw("POST", "/_emulator/tickets", map[string]any{"tickets": []map[string]any{{"subject": "Admin", "contactId": cs[1]}}}, nil); r.status != 200 {
		t.Errorf("admin tickets: %d %s", r.status, r.body)
	}

	prof := e.do("GET", "/api/v1/profiles", nil).data(t)
	names := map[string]bool{}
	for _, p := range prof {
		names[p["name"].(string)] = true
		if !idRE.MatchString(p["id"].(string)) {
			t.Errorf("profile id %v", p["id"])
		}
	}
	for _, n := range []string{"Administrator", "Agent", "Light Agent"} {
		if !names[n] {
			t.Errorf("profile %s missing", n)
		}
	}
}

// GET /api/v1/contacts/{id}/tickets and /accounts/{id}/tickets ("Related" in zoho-api.md B2/B3)
// list a record's tickets with the ticket lists' parameters; 204 when it has none, 404 when it
// is no record (never was, or was merged away).
func TestTicketsOfARecord(t *testing.T) {
	eng := realism.New(realism.Config{})
	e := newEnv(t, Config{Realism: eng})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Acme"}, {"accountName": "Bolt"}})
	cs, err := e.srv.Load(ModuleContacts, []map[string]any{
		{"lastName": "A", "accountId": accs[0]}, {"lastName": "B", "accountId": accs[0]}, {"lastName": "C"}, {"lastName": "D"}})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tickets, err := e.srv.LoadTickets([]Ticket{
		{Subject: "one", ContactID: cs[0], CreatedTime: base},
		{Subject: "two", ContactID: cs[1], CreatedTime: base.Add(time.Hour)},
		{Subject: "three", ContactID: cs[0], CreatedTime: base.Add(2 * time.Hour)},
		{Subject: "four", ContactID: cs[3], CreatedTime: base.Add(3 * time.Hour)},
		{Subject: "five", ContactID: cs[2], AccountID: accs[1], CreatedTime: base.Add(4 * time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	subjects := func(r resp) []string {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var out []string
		for _, d := range r.data(t) {
			out = append(out, d["subject"].(string))
		}
		return out
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/api/v1/contacts/" + cs[0] + "/tickets", []string{"one", "three"}},
		{"/api/v1/contacts/" + cs[0] + "/tickets?sortBy=-createdTime", []string{"three", "one"}},
		{"/api/v1/contacts/" + cs[0] + "/tickets?sortBy=-modifiedTime&from=2&limit=1", []string{"one"}},
		{"/api/v1/accounts/" + accs[0] + "/tickets", []string{"one", "two", "three"}},
		{"/api/v1/accounts/" + accs[0] + "/tickets?from=2&limit=2", []string{"two", "three"}},
		{"/api/v1/accounts/" + accs[1] + "/tickets", []string{"five"}},
	} {
		if got := subjects(e.do("GET", c.path, nil)); !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}
	r := e.do("GET", "/api/v1/contacts/"+cs[0]+"/tickets?include=contacts,accounts&limit=1", nil)
	if d := r.data(t); len(d) != 1 || d[0]["id"] != tickets[0] || d[0]["contact"].(map[string]any)["lastName"] != "A" ||
		d[0]["account"].(map[string]any)["accountName"] != "Acme" || !timeRE.MatchString(d[0]["createdTime"].(string)) {
		t.Errorf("with include: %s", r.body)
	}
	if got := eng.Calls().Endpoints["GET /api/v1/contacts/{id}/tickets"]; got.Calls != 4 || got.Credits != 12 {
		t.Errorf("call log: %+v, want 4 calls at 3 credits (a list)", got)
	}

	t.Run("empty", func(t *testing.T) {
		if r := e.do("GET", "/api/v1/contacts/"+cs[0]+"/tickets?from=3", nil); r.status != http.StatusNoContent {
			t.Errorf("past the end: %d %s", r.status, r.body)
		}
		empty, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Empty"}})
		if r := e.do("GET", "/api/v1/accounts/"+empty[0]+"/tickets", nil); r.status != http.StatusNoContent {
			t.Errorf("an account without tickets: %d %s", r.status, r.body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		expectError(t, e.do("GET", "/api/v1/contacts/1892000009999999/tickets", nil), 404, CodeURLNotFound, "", "")
		expectError(t, e.do("GET", "/api/v1/accounts/1892000009999999/tickets", nil), 404, CodeURLNotFound, "", "")
		expectError(t, e.do("GET", "/api/v1/contacts/abc/tickets", nil), 422, CodeInvalidData, "/contactId", ErrInvalid)
		expectError(t, e.do("GET", "/api/v1/accounts/abc/tickets", nil), 422, CodeInvalidData, "/accountId", ErrInvalid)
		for _, bad := range []string{"limit=0", "limit=101", "from=-1", "sortBy=subject", "include=bogus"} {
			if r := e.do("GET", "/api/v1/contacts/"+cs[0]+"/tickets?"+bad, nil); r.status != 422 {
				t.Errorf("%s: %d %s, want 422", bad, r.status, r.body)
			}
		}
		if r := e.do("POST", "/api/v1/contacts/"+cs[0]+"/tickets", map[string]any{}); r.status != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d, want 405", r.status)
		}
	})
	t.Run("merged away", func(t *testing.T) {
		// D is merged into C: D's ticket moves to C, and D is no record any more.
		if r := e.do("POST", "/api/v1/contacts/"+cs[2]+"/merge", map[string]any{"ids": []string{cs[3]}}); r.status != http.StatusOK {
			t.Fatalf("merge: %d %s", r.status, r.body)
		}
		expectError(t, e.do("GET", "/api/v1/contacts/"+cs[3]+"/tickets", nil), 404, CodeURLNotFound, "", "")
		if got := subjects(e.do("GET", "/api/v1/contacts/"+cs[2]+"/tickets", nil)); !slices.Equal(got, []string{"four", "five"}) {
			t.Errorf("the master's tickets = %v, want four, five", got)
		}
	})
}
