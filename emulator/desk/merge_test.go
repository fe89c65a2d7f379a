package desk

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// hookAll subscribes a webhook to every event (updates with prevState) and returns its receiver.
func hookAll(t *testing.T, e *env) *receiver {
	t.Helper()
	rc, hs := newReceiver(t)
	subs := map[string]any{}
	for _, ev := range WebhookEvents {
		subs[ev] = nil
	}
	subs["Contact_Update"] = map[string]any{"includePrevState": true}
	subs["Account_Update"] = map[string]any{"includePrevState": true}
	if r := e.do("POST", "/api/v1/webhooks", map[string]any{"url": hs.URL, "name": "all", "subscriptions": subs}); r.status != 200 {
		t.Fatalf("create webhook: %d %s", r.status, r.body)
	}
	return rc
}

// eventsOf is "type id" of each event (the payload's id), in order.
func eventsOf(ev []map[string]any) []string {
	var out []string
	for _, x := range ev {
		p, _ := x["payload"].(map[string]any)
		id, _ := p["id"].(string)
		out = append(out, x["eventType"].(string)+" "+id)
	}
	return out
}

func TestMergeContacts(t *testing.T) {
	e := newEnv(t, Config{Webhooks: fastHooks()})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Zylker"}, {"accountName": "Zylker Europe"}})
	ids, err := e.srv.Load(ModuleContacts, []map[string]any{
		{"lastName": "Lawrence", "firstName": "Jen", "email": "jen@zylker.example", "phone": "111", "accountId": accs[0],
			"modifiedTime": "2024-01-01T00:00:00.000Z"},
		{"lastName": "Lawrence", "email": "jennifer@zylker.example", "phone": "222", "title": "CTO", "accountId": accs[1], "cf": map[string]any{"cf_seats": "12"}},
		{"lastName": "Lawrence", "mobile": "333"},
		{"lastName": "Other"},
	})
	if err != nil {
		t.Fatal(err)
	}
	master, c1, c2, other := ids[0], ids[1], ids[2], ids[3]
	tickets, err := e.srv.LoadTickets([]Ticket{{Subject: "a", ContactID: c1}, {Subject: "b", ContactID: c2}, {Subject: "c", ContactID: other}, {Subject: "d", ContactID: master}})
	if err != nil {
		t.Fatal(err)
	}
	rc := hookAll(t, e)

	r := e.do("POST", "/api/v1/contacts/"+master+"/merge", map[string]any{
		"ids":    []string{master, c1, c2},
		"source": map[string]any{"phone": c1, "title": c1, "accountId": c1, "cf_seats": c1, "mobile": c2, "email": master, "firstName": c2},
	})
	if r.status != http.StatusOK {
		t.Fatalf("merge: %d %s", r.status, r.body)
	}
	got := r.json(t)
	checkShape(t, ModuleContacts, got)
	want := map[string]any{"id": master, "phone": "222", "title": "CTO", "accountId": accs[1], "mobile": "333",
		"email": "jen@zylker.example", "firstName": nil, "lastName": "Lawrence"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if cf := got["cf"].(map[string]any); cf["cf_seats"] != "12" {
		t.Errorf("cf_seats = %v, want 12", cf["cf_seats"])
	}
	if got["modifiedTime"] == "2024-01-01T00:00:00.000Z" {
		t.Error("modifiedTime did not change")
	}
	if g := e.do("GET", "/api/v1/contacts/"+master, nil).json(t); g["phone"] != "222" || g["modifiedTime"] != got["modifiedTime"] {
		t.Errorf("GET master = %v", g)
	}

	t.Run("merged-away contacts are gone, not in the recycle bin", func(t *testing.T) {
		for _, id := range []string{c1, c2} {
			expectError(t, e.do("GET", "/api/v1/contacts/"+id, nil), http.StatusNotFound, CodeURLNotFound, "", "")
		}
		if r := e.do("GET", "/api/v1/recycleBin?module=contacts", nil); r.status != http.StatusNoContent {
			t.Errorf("recycle bin = %d %s, want empty", r.status, r.body)
		}
		if n := e.do("GET", "/api/v1/contacts/count", nil).json(t)["count"]; n != "2" {
			t.Errorf("count = %v, want 2", n)
		}
		r := e.do("GET", "/api/v1/contacts/search?email=jennifer@zylker.example", nil)
		if r.status != http.StatusNoContent {
			t.Errorf("search of a merged-away email = %d %s", r.status, r.body)
		}
	})
	t.Run("tickets moved to the master", func(t *testing.T) {
		owner := map[string]string{}
		for _, tk := range e.srv.Tickets() {
			owner[tk.ID] = tk.ContactID
		}
		for i, want := range []string{master, master, other, master} {
			if owner[tickets[i]] != want {
				t.Errorf("ticket %d contact = %s, want %s", i, owner[tickets[i]], want)
			}
		}
		r := e.do("GET", "/api/v1/tickets?limit=100", nil)
		for _, tk := range r.data(t) {
			if tk["contactId"] == c1 || tk["contactId"] == c2 {
				t.Errorf("ticket %v still names a merged-away contact", tk["id"])
			}
		}
	})
	t.Run("webhooks", func(t *testing.T) {
		rc.waitEvents(t, 3)
		time.Sleep(100 * time.Millisecond)
		ev := rc.events()
		if got, want := eventsOf(ev), []string{"Contact_Update " + master, "Contact_Delete " + c1, "Contact_Delete " + c2}; !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
		if prev, _ := ev[0]["prevState"].(map[string]any); prev == nil || prev["phone"] != "111" {
			t.Errorf("prevState = %v, want the master before the merge", ev[0]["prevState"])
		}
	})
}

func TestMergeAccounts(t *testing.T) {
	e := newEnv(t, Config{Webhooks: fastHooks()})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{
		{"accountName": "Zylker", "phone": "1"}, {"accountName": "Zylker Inc.", "website": "zylker.example"}, {"accountName": "Other"}})
	master, child, other := accs[0], accs[1], accs[2]
	cons, _ := e.srv.Load(ModuleContacts, []map[string]any{
		{"lastName": "A", "accountId": child}, {"lastName": "B", "accountId": child}, {"lastName": "C", "accountId": other}})
	trashed := cons[1]
	if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{trashed}}); r.status != 204 {
		t.Fatalf("trash: %d", r.status)
	}
	tk, _ := e.srv.LoadTickets([]Ticket{{Subject: "x", ContactID: cons[0]}})
	rc := hookAll(t, e)

	r := e.do("POST", "/api/v1/accounts/"+master+"/merge", map[string]any{
		"ids": []string{child}, "source": map[string]any{"accountName": child, "website": child}})
	if r.status != http.StatusOK {
		t.Fatalf("merge: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["accountName"] != "Zylker Inc." || got["website"] != "zylker.example" || got["phone"] != "1" {
		t.Errorf("master = %v", got)
	}
	if c, _ := e.srv.Record(ModuleContacts, cons[0]); c["accountId"] != master {
		t.Errorf("contact's accountId = %v, want the master", c["accountId"])
	}
	if c, _ := e.srv.Record(ModuleContacts, trashed); c["accountId"] != master {
		t.Errorf("trashed contact's accountId = %v, want the master", c["accountId"])
	}
	if tks := e.srv.Tickets(); tks[0].ID != tk[0] || tks[0].AccountID != master {
		t.Errorf("ticket account = %s, want the master", tks[0].AccountID)
	}
	expectError(t, e.do("GET", "/api/v1/accounts/"+child, nil), http.StatusNotFound, CodeURLNotFound, "", "")
	if r := e.do("GET", "/api/v1/recycleBin?module=accounts", nil); r.status != http.StatusNoContent {
		t.Errorf("accounts recycle bin = %d %s, want empty", r.status, r.body)
	}
	// The unique name moved with the merge: the master holds it, the master's old one is free.
	expectError(t, e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "zylker inc."}), 422, CodeInvalidData, "/accountName", ErrDuplicate)
	if r := e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Zylker"}); r.status != 200 {
		t.Errorf("create with the master's old name: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/accounts/search?accountName=Zylker%20Inc.", nil)
	if d := r.data(t); len(d) != 1 || d[0]["id"] != master {
		t.Errorf("search = %s", r.body)
	}
	rc.waitEvents(t, 4)
	time.Sleep(100 * time.Millisecond)
	ev := rc.events()
	want := []string{"Account_Update " + master, "Contact_Update " + cons[0], "Account_Delete " + child, "Account_Add " + ""}
	got2 := eventsOf(ev)
	if len(got2) < 3 || !slices.Equal(got2[:3], want[:3]) {
		t.Errorf("events = %v, want %v then the create", got2, want[:3])
	}
}

func TestMergeErrors(t *testing.T) {
	e := newEnv(t, Config{})
	cons, _ := e.srv.Load(ModuleContacts, []map[string]any{{"lastName": "M"}, {"lastName": "C1"}, {"lastName": "C2"}, {"lastName": "C3"}, {"lastName": "T"}})
	master, c1, c2, c3, trashed := cons[0], cons[1], cons[2], cons[3], cons[4]
	e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{trashed}})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "A"}, {"accountName": "B"}, {"accountName": "C"}})
	for _, c := range []struct {
		name, path string
		body       any
		status     int
		code       string
		field, typ string
	}{
		{"non-numeric id", "/api/v1/contacts/abc/merge", map[string]any{"ids": []string{c1}}, 422, CodeInvalidData, "/contactId", ErrInvalid},
		{"unknown master", "/api/v1/contacts/1892000000999999/merge", map[string]any{"ids": []string{c1}}, 404, CodeURLNotFound, "", ""},
		{"account id as a contact", "/api/v1/contacts/" + accs[0] + "/merge", map[string]any{"ids": []string{c1}}, 404, CodeURLNotFound, "", ""},
		{"trashed master", "/api/v1/contacts/" + trashed + "/merge", map[string]any{"ids": []string{c1}}, 422, CodeUnprocessable, "", ""},
		{"empty body", "/api/v1/contacts/" + master + "/merge", "", 400, CodeEmptyPayload, "", ""},
		{"malformed", "/api/v1/contacts/" + master + "/merge", "{", 400, CodeBadRequest, "", ""},
		{"no ids", "/api/v1/contacts/" + master + "/merge", map[string]any{"source": map[string]any{}}, 422, CodeInvalidData, "/ids", ErrMissing},
		{"ids not ids", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": "x"}, 422, CodeInvalidData, "/ids", ErrInvalid},
		{"extra key", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1}, "x": 1}, 422, CodeInvalidData, "/x", ErrInvalid},
		{"only the master", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{master}}, 422, CodeInvalidData, "/ids", ErrInvalid},
		{"four records", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1, c2, c3}}, 422, CodeInvalidData, "/ids", ErrInvalid},
		{"unknown id", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1, "1892000000999999"}}, 422, CodeInvalidData, "/ids/1", ErrInvalid},
		{"trashed id", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{trashed}}, 422, CodeInvalidData, "/ids/0", ErrInvalid},
		{"account among contacts", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{accs[0]}}, 422, CodeInvalidData, "/ids/0", ErrInvalid},
		{"id twice", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1, c1}}, 422, CodeInvalidData, "/ids/1", ErrInvalid},
		{"unknown source field", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1}, "source": map[string]any{"nope": c1}}, 422, CodeInvalidData, "/source/nope", ErrInvalid},
		{"read-only source field", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1}, "source": map[string]any{"modifiedTime": c1}}, 422, CodeInvalidData, "/source/modifiedTime", ErrInvalid},
		{"source id not merged", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1}, "source": map[string]any{"phone": c2}}, 422, CodeInvalidData, "/source/phone", ErrInvalid},
		{"source not an object", "/api/v1/contacts/" + master + "/merge", map[string]any{"ids": []string{c1}, "source": []string{c1}}, 422, CodeInvalidData, "/source", ErrInvalid},
		{"wrong method", "/api/v1/contacts/" + master + "/merge", nil, 405, CodeMethodNotAllowed, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if c.status == 405 {
				method = "GET"
			}
			expectError(t, e.do(method, c.path, c.body), c.status, c.code, c.field, c.typ)
		})
	}
	if n := e.do("GET", "/api/v1/contacts/count", nil).json(t)["count"]; n != "4" {
		t.Errorf("contacts after failed merges = %v, want 4", n)
	}
}
