package desk

import (
	"net/http"
	"testing"
	"time"
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
