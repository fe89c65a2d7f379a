package desk

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
)

var testKey *rsa.PrivateKey

func TestMain(m *testing.M) {
	var err error
	testKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func TestAuth(t *testing.T) {
	e := newEnv(t, Config{})
	cases := []struct {
		name   string
		hdr    []string
		status int
		code   string
	}{
		{"no token", []string{"Authorization", ""}, 401, CodeInvalidOAuth},
		{"wrong scheme", []string{"Authorization", "Bearer " + e.token}, 401, CodeInvalidOAuth},
		{"unknown token", []string{"Authorization", "Zoho-oauthtoken nope"}, 401, CodeInvalidOAuth},
		{"missing org", []string{"orgId", ""}, 422, CodeInvalidData},
		{"wrong org", []string{"orgId", "999"}, 403, CodeOrgMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, e.do("GET", "/api/v1/contacts", nil, c.hdr...), c.status, c.code, "", "")
		})
	}
	t.Run("org in query", func(t *testing.T) {
		r := e.do("GET", "/api/v1/contacts?orgId="+DefaultOrgID, nil, "orgId", "")
		if r.status != http.StatusNoContent {
			t.Fatalf("status %d %s", r.status, r.body)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		e.srv.Auth().ExpireAll()
		expectError(t, e.do("GET", "/api/v1/contacts", nil), 401, CodeInvalidOAuth, "", "")
		e.token, _ = e.srv.Auth().Issue()
	})
	t.Run("token endpoint", func(t *testing.T) {
		r := e.raw("POST", "/oauth/v2/token?grant_type=refresh_token&client_id=deskcrm-dev&client_secret=deskcrm-dev-secret&refresh_token=deskcrm-dev-refresh", nil, nil)
		tok, _ := r.json(t)["access_token"].(string)
		if r.status != 200 || tok == "" {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		e.token = tok
		if r := e.do("GET", "/api/v1/contacts", nil); r.status != http.StatusNoContent {
			t.Fatalf("issued token refused: %d %s", r.status, r.body)
		}
	})
	t.Run("shared store", func(t *testing.T) {
		store := zohoauth.NewStore(zohoauth.Config{})
		a := newEnv(t, Config{Auth: store})
		b := newEnv(t, Config{Auth: store})
		tok, _ := store.Issue()
		a.token, b.token = tok, tok
		for _, x := range []*env{a, b} {
			if r := x.do("GET", "/api/v1/accounts", nil); r.status != http.StatusNoContent {
				t.Fatalf("shared token refused: %d %s", r.status, r.body)
			}
		}
	})
}

func TestContactCRUD(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Zylker", "website": "https://zylker.com", "annualrevenue": 1250000.5})
	if acc.status != 200 {
		t.Fatalf("create account: %d %s", acc.status, acc.body)
	}
	am := acc.json(t)
	checkShape(t, ModuleAccounts, am)
	if fmt.Sprint(am["annualrevenue"]) != "1250000.50" {
		t.Errorf("annualrevenue = %v", am["annualrevenue"])
	}
	accID := am["id"].(string)

	r := e.do("POST", "/api/v1/contacts", map[string]any{
		"lastName": "Lawrence", "firstName": "Jennifer", "email": "lawrence@zylker.com", "accountId": accID,
		"cf": map[string]any{"cf_seats": 12, "cf_vip": true, "cf_customer_tier": "Gold", "cf_renewal_date": "2026-03-01", "cf_crm_id": "4150868000000002175"},
	})
	if r.status != 200 {
		t.Fatalf("create contact: %d %s", r.status, r.body)
	}
	c := r.json(t)
	checkShape(t, ModuleContacts, c)
	id := c["id"].(string)
	cf := c["cf"].(map[string]any)
	want := map[string]any{"cf_seats": "12", "cf_vip": "true", "cf_customer_tier": "Gold", "cf_renewal_date": "2026-03-01", "cf_crm_id": "4150868000000002175"}
	for k, v := range want {
		if cf[k] != v {
			t.Errorf("cf.%s = %#v, want %#v", k, cf[k], v)
		}
	}
	if c["accountId"] != accID || c["email"] != "lawrence@zylker.com" || c["mobile"] != nil {
		t.Errorf("contact fields wrong: %s", r.body)
	}

	g := e.do("GET", "/api/v1/contacts/"+id+"?include=accounts", nil)
	gm := g.json(t)
	if g.status != 200 || gm["account"].(map[string]any)["accountName"] != "Zylker" {
		t.Fatalf("get with include=accounts: %d %s", g.status, g.body)
	}

	time.Sleep(2 * time.Millisecond) // let the clock move so modifiedTime changes
	p := e.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"phone": "+1 555 0100", "cf": map[string]any{"cf_seats": "15", "cf_vip": nil}})
	if p.status != 200 {
		t.Fatalf("patch: %d %s", p.status, p.body)
	}
	pm := p.json(t)
	if pm["phone"] != "+1 555 0100" || pm["lastName"] != "Lawrence" || pm["cf"].(map[string]any)["cf_seats"] != "15" || pm["cf"].(map[string]any)["cf_vip"] != nil {
		t.Errorf("patch result: %s", p.body)
	}
	if pm["modifiedTime"] == c["modifiedTime"] || pm["createdTime"] != c["createdTime"] {
		t.Errorf("timestamps after patch: created %v→%v modified %v→%v", c["createdTime"], pm["createdTime"], c["modifiedTime"], pm["modifiedTime"])
	}
	if rec, ok := e.srv.Record(ModuleContacts, id); !ok || rec["phone"] != "+1 555 0100" {
		t.Errorf("Record() = %v, %v", rec, ok)
	}

	expectError(t, e.do("GET", "/api/v1/contacts/1892000009999999", nil), 404, CodeURLNotFound, "", "")
	expectError(t, e.do("GET", "/api/v1/contacts/abc", nil), 422, CodeInvalidData, "/contactId", ErrInvalid)
	expectError(t, e.do("PATCH", "/api/v1/contacts/1892000009999999", map[string]any{"phone": "1"}), 404, CodeURLNotFound, "", "")
	expectError(t, e.do("DELETE", "/api/v1/contacts/"+id, nil), 405, CodeMethodNotAllowed, "", "")
	if n := e.do("GET", "/api/v1/contacts/count", nil).json(t)["count"]; n != "1" {
		t.Errorf("count = %v", n)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.do("POST", "/api/v1/accounts", map[string]any{"accountName": "Acme"}).json(t)["id"].(string)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field, typ   string
	}{
		{"lastName missing", "POST", "/api/v1/contacts", map[string]any{"firstName": "A"}, 422, CodeInvalidData, "/lastName", ErrMissing},
		{"lastName empty", "POST", "/api/v1/contacts", map[string]any{"lastName": "  "}, 422, CodeInvalidData, "/lastName", ErrMissing},
		{"lastName null on patch", "PATCH", "", map[string]any{"lastName": nil}, 422, CodeInvalidData, "/lastName", ErrMissing},
		{"accountName missing", "POST", "/api/v1/accounts", map[string]any{"website": "https://x.io"}, 422, CodeInvalidData, "/accountName", ErrMissing},
		{"accountName duplicate", "POST", "/api/v1/accounts", map[string]any{"accountName": " acme "}, 422, CodeInvalidData, "/accountName", ErrDuplicate},
		{"unknown field", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "nickname": "x"}, 422, CodeInvalidData, "/nickname", ErrInvalid},
		{"unknown cf", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": map[string]any{"cf_nope": "x"}}, 422, CodeInvalidData, "/cf/cf_nope", ErrInvalid},
		{"read-only field", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "createdTime": "2020-01-01T00:00:00.000Z"}, 422, CodeInvalidData, "/createdTime", ErrInvalid},
		{"number as text", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": map[string]any{"cf_seats": "abc"}}, 422, CodeInvalidData, "/cf/cf_seats", ErrInvalid},
		{"boolean wrong", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": map[string]any{"cf_vip": "yes"}}, 422, CodeInvalidData, "/cf/cf_vip", ErrInvalid},
		{"date wrong", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": map[string]any{"cf_renewal_date": "01/03/2026"}}, 422, CodeInvalidData, "/cf/cf_renewal_date", ErrInvalid},
		{"picklist wrong", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": map[string]any{"cf_customer_tier": "Diamond"}}, 422, CodeInvalidData, "/cf/cf_customer_tier", ErrInvalid},
		{"text as number", "POST", "/api/v1/contacts", map[string]any{"lastName": 42}, 422, CodeInvalidData, "/lastName", ErrInvalid},
		{"too long", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "firstName": strings.Repeat("x", 41)}, 422, CodeInvalidData, "/firstName", ErrInvalid},
		{"bad email", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "email": "not an email"}, 422, CodeInvalidData, "/email", ErrInvalid},
		{"account missing", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "accountId": "1892000009999999"}, 422, CodeInvalidData, "/accountId", ErrInvalid},
		{"account not id", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "accountId": "Acme"}, 422, CodeInvalidData, "/accountId", ErrInvalid},
		{"cf not object", "POST", "/api/v1/contacts", map[string]any{"lastName": "A", "cf": "x"}, 422, CodeInvalidData, "/cf", ErrInvalid},
		{"revenue text", "POST", "/api/v1/accounts", map[string]any{"accountName": "B", "annualrevenue": "lots"}, 422, CodeInvalidData, "/annualrevenue", ErrInvalid},
		{"malformed json", "POST", "/api/v1/contacts", `{"lastName":`, 400, CodeBadRequest, "", ""},
		{"json array", "POST", "/api/v1/contacts", `[{"lastName":"A"}]`, 400, CodeBadRequest, "", ""},
		{"empty body", "POST", "/api/v1/contacts", "", 400, CodeEmptyPayload, "", ""},
		{"unknown module", "GET", "/api/v1/leads", nil, 404, CodeURLNotFound, "", ""},
		{"unknown path", "GET", "/nope", nil, 404, CodeURLNotFound, "", ""},
	}
	contact := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "Base", "accountId": acc}).json(t)["id"].(string)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = "/api/v1/contacts/" + contact
			}
			expectError(t, e.do(c.method, path, c.body), c.status, c.code, c.field, c.typ)
		})
	}
	t.Run("all errors reported", func(t *testing.T) {
		r := e.do("POST", "/api/v1/contacts", map[string]any{"email": "bad", "x": 1})
		m := r.json(t)
		if errs, _ := m["errors"].([]any); len(errs) != 3 {
			t.Errorf("want 3 errors (email, x, lastName), got %s", r.body)
		}
	})
	t.Run("nothing written on failure", func(t *testing.T) {
		if n := e.srv.Count(ModuleContacts); n != 1 {
			t.Errorf("count = %d, want 1", n)
		}
	})
	t.Run("rename account to own name", func(t *testing.T) {
		r := e.do("PATCH", "/api/v1/accounts/"+acc, map[string]any{"accountName": "ACME"})
		if r.status != 200 {
			t.Fatalf("renaming to a case variant of its own name: %d %s", r.status, r.body)
		}
	})
}

func TestListPagingAndSort(t *testing.T) {
	e := newEnv(t, Config{})
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []map[string]any
	names := []string{"delta", "alpha", "echo", "charlie", "bravo"}
	for i := 0; i < 120; i++ {
		recs = append(recs, map[string]any{
			"lastName": fmt.Sprintf("%s-%03d", names[i%5], i), "email": fmt.Sprintf("u%03d@x.com", i),
			"createdTime": ms(base.Add(time.Duration(i) * time.Hour)), "modifiedTime": ms(base.Add(time.Duration(240-i) * time.Hour)),
		})
	}
	ids, err := e.srv.Load(ModuleContacts, recs)
	if err != nil || len(ids) != 120 {
		t.Fatalf("load: %v (%d ids)", err, len(ids))
	}
	// 1-based from, default limit 50, default order createdTime asc.
	page := e.do("GET", "/api/v1/contacts", nil).data(t)
	if len(page) != 50 || page[0]["id"] != ids[0] {
		t.Fatalf("first page: %d records, first %v", len(page), page[0]["id"])
	}
	for _, p := range page {
		checkShape(t, ModuleContacts, p)
	}
	seen := map[string]bool{}
	for from := 1; ; from += 100 {
		r := e.do("GET", fmt.Sprintf("/api/v1/contacts?from=%d&limit=100", from), nil)
		if r.status == http.StatusNoContent {
			break
		}
		for _, p := range r.data(t) {
			seen[p["id"].(string)] = true
		}
	}
	if len(seen) != 120 {
		t.Errorf("paging saw %d distinct records, want 120", len(seen))
	}
	if p := e.do("GET", "/api/v1/contacts?from=2&limit=1", nil).data(t); p[0]["id"] != ids[1] {
		t.Errorf("from=2 gives %v, want second record %s", p[0]["id"], ids[1])
	}
	sorts := []struct {
		sortBy string
		first  string
	}{
		{"-createdTime", ids[119]},
		{"modifiedTime", ids[119]},
		{"-modifiedTime", ids[0]},
		{"lastName", ids[1]},
		{"-lastName", ids[117]},
	}
	for _, s := range sorts {
		t.Run("sort "+s.sortBy, func(t *testing.T) {
			p := e.do("GET", "/api/v1/contacts?limit=1&sortBy="+s.sortBy, nil).data(t)
			if p[0]["id"] != s.first {
				t.Errorf("first = %v (%v), want %s", p[0]["id"], p[0]["lastName"], s.first)
			}
		})
	}
	t.Run("fields", func(t *testing.T) {
		p := e.do("GET", "/api/v1/contacts?limit=1&fields=email,cf_seats", nil).data(t)[0]
		if _, ok := p["lastName"]; ok || p["email"] == nil || p["id"] == nil {
			t.Errorf("fields=email: %v", p)
		}
		if cf, ok := p["cf"].(map[string]any); !ok || len(cf) != 1 {
			t.Errorf("fields=cf_seats: cf = %v", p["cf"])
		}
	})
	bad := []struct{ name, q, field string }{
		{"limit 0", "limit=0", "limit"},
		{"limit 101", "limit=101", "limit"},
		{"from negative", "from=-1", "from"},
		{"from text", "from=x", "from"},
		{"sortBy unknown", "sortBy=city", "sortBy"},
		{"fields unknown", "fields=nope", "fields"},
		{"include unknown", "include=tickets", "include"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			expectError(t, e.do("GET", "/api/v1/contacts?"+b.q, nil), 422, CodeInvalidData, b.field, ErrInvalid)
		})
	}
	if r := e.do("GET", "/api/v1/contacts?from=500", nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("past the end: %d %q", r.status, r.body)
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t, Config{})
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	accIDs, err := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Zylker Corp"}, {"accountName": "Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for i := 0; i < 30; i++ {
		r := map[string]any{"lastName": fmt.Sprintf("L%02d", i), "firstName": "Ann",
			"createdTime": ms(base.Add(time.Duration(i) * time.Minute)), "modifiedTime": ms(base.Add(time.Duration(i) * time.Minute)),
			"cf": map[string]any{"cf_crm_id": fmt.Sprintf("41508680000000%05d", i)}}
		if i%3 != 0 {
			r["email"] = fmt.Sprintf("User%02d@Zylker.com", i)
		}
		if i < 10 {
			r["accountId"] = accIDs[0]
		}
		recs = append(recs, r)
	}
	ids, err := e.srv.Load(ModuleContacts, recs)
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) (int, []map[string]any) {
		t.Helper()
		r := e.do("GET", "/api/v1/contacts/search?"+strings.ReplaceAll(q, " ", "%20"), nil)
		if r.status == http.StatusNoContent {
			return 0, nil
		}
		if r.status != 200 {
			t.Fatalf("search %s: %d %s", q, r.status, r.body)
		}
		n, _ := r.json(t)["count"].(interface{ String() string })
		var total int
		fmt.Sscan(n.String(), &total)
		return total, r.data(t)
	}
	cases := []struct {
		q    string
		want int
	}{
		{"email=user01@zylker.com", 1},
		{"email=USER01@ZYLKER.COM", 1},
		{"email=user01@zylker.com,user02@zylker.com", 2},
		{"email=user0*", 6},
		{"email=${empty}", 10},
		{"email=${notempty}", 20},
		{"email=nobody@x.com", 0},
		{"accountName=Zylker Corp", 10},
		{"accountName=zylker*", 10},
		{"id=" + ids[5], 1},
		{"customField1=cf_crm_id:4150868000000000007", 1},
		{"customField1=cf_crm_id:4150868000000000007&email=${empty}", 0},
		{"modifiedTimeRange=" + ms(base.Add(10*time.Minute)) + "," + ms(base.Add(19*time.Minute)), 10},
		{"createdTimeRange=" + ms(base) + "," + ms(base.Add(4*time.Minute)), 5},
		{"fullName=Ann L03", 1},
		{"_all=l1*", 0},
		{"_all=user1", 7},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			if n, _ := count(c.q); n != c.want {
				t.Errorf("count = %d, want %d", n, c.want)
			}
		})
	}
	t.Run("sort and page", func(t *testing.T) {
		q := "modifiedTimeRange=" + ms(base) + "," + ms(base.Add(time.Hour)) + "&sortBy=-modifiedTime&limit=5&from=5"
		n, page := count(q)
		if n != 30 || len(page) != 5 || page[0]["id"] != ids[24] {
			t.Errorf("got count %d, %d records, first %v; want 30, 5, %s", n, len(page), page[0]["id"], ids[24])
		}
		_, asc := count("modifiedTimeRange=" + ms(base) + "," + ms(base.Add(time.Hour)) + "&sortBy=modifiedTime&limit=1")
		if asc[0]["id"] != ids[0] {
			t.Errorf("ascending first = %v", asc[0]["id"])
		}
	})
	t.Run("trashed excluded", func(t *testing.T) {
		if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{ids[1]}}); r.status != 204 {
			t.Fatalf("trash: %d %s", r.status, r.body)
		}
		if n, _ := count("email=user01@zylker.com"); n != 0 {
			t.Errorf("trashed contact still found")
		}
	})
	t.Run("accounts", func(t *testing.T) {
		r := e.do("GET", "/api/v1/accounts/search?accountName=acme", nil)
		if r.status != 200 || r.data(t)[0]["id"] != accIDs[1] {
			t.Errorf("account search: %d %s", r.status, r.body)
		}
	})
	bad := []struct{ name, q, field string }{
		{"from over cap", "email=a*&from=1000", "from"},
		{"limit over", "email=a*&limit=101", "limit"},
		{"bad range", "modifiedTimeRange=2025-01-01", "modifiedTimeRange"},
		{"bad range format", "modifiedTimeRange=yesterday,today", "modifiedTimeRange"},
		{"range reversed", "modifiedTimeRange=" + ms(base.Add(time.Hour)) + "," + ms(base), "modifiedTimeRange"},
		{"unknown param", "nickname=x", "nickname"},
		{"unknown custom field", "customField1=cf_nope:1", "customField1"},
		{"custom field no colon", "customField1=cf_crm_id", "customField1"},
		{"sortBy", "email=a*&sortBy=lastName", "sortBy"},
		{"_all short", "_all=ab", "_all"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			expectError(t, e.do("GET", "/api/v1/contacts/search?"+b.q, nil), 422, CodeInvalidData, b.field, ErrInvalid)
		})
	}
}

func TestTrashAndRecycleBin(t *testing.T) {
	e := newEnv(t, Config{})
	accs, _ := e.srv.Load(ModuleAccounts, []map[string]any{{"accountName": "Acme"}})
	ids, err := e.srv.Load(ModuleContacts, []map[string]any{{"lastName": "A", "accountId": accs[0]}, {"lastName": "B"}, {"lastName": "C"}})
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{ids[0], "1892000009999999"}}), 422, CodeInvalidData, "/contactIds/1", ErrInvalid)
	expectError(t, e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"accountIds": []string{ids[0]}}), 422, CodeInvalidData, "/contactIds", ErrMissing)
	expectError(t, e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{}}), 422, CodeInvalidData, "/contactIds", ErrInvalid)
	if e.srv.Count(ModuleContacts) != 3 {
		t.Fatal("a failed moveToTrash trashed something")
	}
	// An id given twice is trashed once: the live count drops by one for it.
	if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{ids[0], ids[1], ids[0]}}); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("trash: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/accounts/moveToTrash", map[string]any{"accountIds": accs}); r.status != 204 {
		t.Fatalf("trash account: %d %s", r.status, r.body)
	}
	g := e.do("GET", "/api/v1/contacts/"+ids[0], nil).json(t)
	if g["isTrashed"] != true {
		t.Errorf("trashed contact isTrashed = %v", g["isTrashed"])
	}
	expectError(t, e.do("PATCH", "/api/v1/contacts/"+ids[0], map[string]any{"firstName": "x"}), 422, CodeUnprocessable, "", "")
	if e.srv.Count(ModuleContacts) != 1 {
		t.Errorf("live contacts = %d, want 1", e.srv.Count(ModuleContacts))
	}
	list := e.do("GET", "/api/v1/contacts", nil).data(t)
	if len(list) != 1 || list[0]["id"] != ids[2] {
		t.Errorf("list after trash: %v", list)
	}
	bin := e.do("GET", "/api/v1/recycleBin?module=contacts", nil).data(t)
	if len(bin) != 2 {
		t.Fatalf("recycle bin: %v", bin)
	}
	for _, it := range bin {
		if it["type"] != "Contacts" || !timeRE.MatchString(it["deletedTime"].(string)) || it["displayName"] == "" {
			t.Errorf("bin item shape: %v", it)
		}
	}
	if all := e.do("GET", "/api/v1/recycleBin", nil).data(t); len(all) != 3 {
		t.Errorf("whole bin has %d items, want 3", len(all))
	}
	expectError(t, e.do("GET", "/api/v1/recycleBin?module=tickets", nil), 422, CodeInvalidData, "module", ErrInvalid)

	// Restoring the contact restores its trashed account too.
	r := e.do("POST", "/api/v1/recycleBin/restore", map[string]any{"ids": []string{ids[0], ids[2]}})
	res := r.json(t)["results"].([]any)
	if r.status != 200 || res[0].(map[string]any)["success"] != true || res[1].(map[string]any)["success"] != false {
		t.Fatalf("restore: %d %s", r.status, r.body)
	}
	if e.srv.Count(ModuleContacts) != 2 || e.srv.Count(ModuleAccounts) != 1 {
		t.Errorf("after restore: %d contacts, %d accounts", e.srv.Count(ModuleContacts), e.srv.Count(ModuleAccounts))
	}
	if g := e.do("GET", "/api/v1/contacts/"+ids[0], nil).json(t); g["isTrashed"] != false {
		t.Errorf("restored contact isTrashed = %v", g["isTrashed"])
	}
	if p := e.do("GET", "/api/v1/contacts?sortBy=-modifiedTime", nil).data(t); len(p) != 2 {
		t.Errorf("restored contact not listed: %v", p)
	}
	// Permanent delete.
	r = e.do("POST", "/api/v1/recycleBin/delete", map[string]any{"ids": []string{ids[1]}})
	if r.status != 200 || !strings.Contains(string(r.body), `"success":true`) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	expectError(t, e.do("GET", "/api/v1/contacts/"+ids[1], nil), 404, CodeURLNotFound, "", "")
	if r := e.do("GET", "/api/v1/recycleBin", nil); r.status != http.StatusNoContent {
		t.Errorf("bin should be empty: %d %s", r.status, r.body)
	}
	expectError(t, e.do("POST", "/api/v1/recycleBin/restore", map[string]any{"recordIds": []string{ids[1]}}), 422, CodeInvalidData, "/ids", ErrInvalid)
}

func TestFieldsMetadata(t *testing.T) {
	e := newEnv(t, Config{CustomFields: map[string][]Field{ModuleAccounts: {{APIName: "cf_tier", Type: TypePicklist, AllowedValues: []string{"A", "B"}}}}})
	if err := e.srv.AddField(ModuleContacts, Field{APIName: "cf_notes", DisplayLabel: "Notes", Type: TypeTextarea}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddField(ModuleContacts, Field{APIName: "cf_notes", Type: TypeNumber}); err == nil {
		t.Error("conflicting AddField accepted")
	}
	r := e.do("GET", "/api/v1/organizationFields?module=contacts", nil)
	byName := map[string]map[string]any{}
	for _, f := range r.data(t) {
		byName[f["apiName"].(string)] = f
		if !idRE.MatchString(f["id"].(string)) {
			t.Errorf("field id %v", f["id"])
		}
	}
	checks := []struct {
		name, typ string
		mandatory bool
		custom    bool
	}{
		{"lastName", "Text", true, false},
		{"email", "Email", false, false},
		{"phone", "Phone", false, false},
		{"accountId", "LookUp", false, false},
		{"cf_crm_id", "Text", false, true},
		{"cf_customer_tier", "Picklist", false, true},
		{"cf_seats", "Number", false, true},
		{"cf_renewal_date", "Date", false, true},
		{"cf_vip", "Boolean", false, true},
		{"cf_notes", "Textarea", false, true},
		{"modifiedTime", "DateTime", false, false},
	}
	for _, c := range checks {
		f := byName[c.name]
		if f == nil {
			t.Errorf("field %s missing", c.name)
			continue
		}
		if f["type"] != c.typ || f["isMandatory"] != c.mandatory || f["isCustomField"] != c.custom {
			t.Errorf("field %s = %v", c.name, f)
		}
	}
	if byName["lastName"]["maxLength"] == nil {
		t.Error("lastName has no maxLength")
	}
	if vals, _ := byName["cf_customer_tier"]["allowedValues"].([]any); len(vals) != len(CustomerTiers) {
		t.Errorf("picklist values = %v", byName["cf_customer_tier"]["allowedValues"])
	}
	acc := e.do("GET", "/api/v1/organizationFields?module=accounts", nil).data(t)
	found := false
	for _, f := range acc {
		if f["apiName"] == "accountName" && f["isMandatory"] != true {
			t.Error("accountName not mandatory")
		}
		found = found || f["apiName"] == "cf_tier"
	}
	if !found {
		t.Error("configured custom field cf_tier missing")
	}
	expectError(t, e.do("GET", "/api/v1/organizationFields?module=tickets", nil), 422, CodeInvalidData, "module", ErrInvalid)
	expectError(t, e.do("GET", "/api/v1/organizationFields", nil), 422, CodeInvalidData, "module", ErrMissing)
	// Added fields are writable and survive Reset.
	e.srv.Reset()
	if _, err := e.srv.Load(ModuleContacts, []map[string]any{{"lastName": "x", "cf": map[string]any{"cf_notes": "hello"}}}); err != nil {
		t.Errorf("cf_notes after reset: %v", err)
	}
}

func TestLoad(t *testing.T) {
	e := newEnv(t, Config{})
	created := time.Date(2020, 2, 3, 4, 5, 6, 789e6, time.UTC)
	ids, err := e.srv.Load(ModuleContacts, []map[string]any{
		{"id": "1892000000777001", "lastName": "Kept", "createdTime": created, "modifiedTime": "2021-01-01T00:00:00.000Z"},
	})
	if err != nil || ids[0] != "1892000000777001" {
		t.Fatalf("load: %v %v", ids, err)
	}
	rec, _ := e.srv.Record(ModuleContacts, ids[0])
	if rec["createdTime"] != "2020-02-03T04:05:06.789Z" || rec["modifiedTime"] != "2021-01-01T00:00:00.000Z" {
		t.Errorf("timestamps not kept: %v %v", rec["createdTime"], rec["modifiedTime"])
	}
	if _, err := e.srv.Load(ModuleContacts, []map[string]any{{"id": "1892000000777001", "lastName": "Dup"}}); err == nil {
		t.Error("duplicate id accepted")
	}
	if _, err := e.srv.Load(ModuleContacts, []map[string]any{{"firstName": "NoLast"}}); err == nil {
		t.Error("invalid record accepted")
	}
	if _, err := e.srv.Load("leads", nil); err == nil {
		t.Error("unknown module accepted")
	}
	// Admin HTTP load and reset.
	r := e.raw("POST", "/_emulator/load", map[string]any{"module": "accounts", "records": []map[string]any{{"accountName": "Via Admin", "annualrevenue": 10}}}, nil)
	if r.status != 200 || e.srv.Count(ModuleAccounts) != 1 {
		t.Fatalf("admin load: %d %s", r.status, r.body)
	}
	if r := e.raw("POST", "/_emulator/load", map[string]any{"module": "accounts", "records": []map[string]any{{"website": "x"}}}, nil); r.status != 400 {
		t.Errorf("admin load of invalid record: %d %s", r.status, r.body)
	}
	if recs := e.srv.Records(ModuleContacts); len(recs) != 1 || recs[0]["lastName"] != "Kept" {
		t.Errorf("Records = %v", recs)
	}
	if r := e.raw("POST", "/_emulator/reset", nil, nil); r.status != 204 || e.srv.Count(ModuleAccounts) != 0 || e.srv.Count(ModuleContacts) != 0 {
		t.Errorf("admin reset: %d, counts %d %d", r.status, e.srv.Count(ModuleAccounts), e.srv.Count(ModuleContacts))
	}
}

func TestRealismIntegration(t *testing.T) {
	eng := realism.New(realism.Config{Limits: realism.Limits{DailyCredits: 10}})
	e := newEnv(t, Config{Realism: eng})
	r := e.do("GET", "/api/v1/contacts/search?email=a@b.com", nil)
	if r.header.Get("X-Rate-Limit-Request-Weight-v3") != "3" || r.header.Get("X-Rate-Limit-Remaining-v3") != "7" {
		t.Errorf("credit headers: %v", r.header)
	}
	e.do("GET", "/api/v1/contacts/1892000000100001", nil) // 1 credit (404)
	e.do("GET", "/api/v1/contacts", nil)                  // 3 credits
	e.do("GET", "/api/v1/contacts", nil)                  // 3 credits: 10 used
	r = e.do("GET", "/api/v1/contacts", nil)
	expectError(t, r, 429, CodeThresholdExceeded, "", "")
	calls := eng.Calls()
	if calls.Endpoints["GET /api/v1/contacts/search"].Calls != 1 || calls.Endpoints["GET /api/v1/contacts/{id}"].Calls != 1 {
		t.Errorf("call log: %+v", calls.Endpoints)
	}
	eng.ResetCredits()
	eng.SetLimits(realism.Limits{MaxInFlight: 1})
	eng.SetLatency(200*time.Millisecond, 0)
	var wg sync.WaitGroup
	statuses := make([]int, 3)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = e.do("GET", "/api/v1/accounts", nil).status
		}(i)
	}
	wg.Wait()
	n429 := 0
	for _, s := range statuses {
		if s == 429 {
			n429++
		}
	}
	if n429 != 2 {
		t.Errorf("statuses with max in flight 1: %v", statuses)
	}
	eng.SetLatency(0, 0)
	eng.SetLimits(realism.Limits{})
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/api/v1/contacts", Kind: realism.FaultStatus, Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	expectError(t, e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "x"}), 500, CodeInternalServerError, "", "")
	if e.srv.Count(ModuleContacts) != 0 {
		t.Error("500 fault ran the handler")
	}
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/api/v1/contacts", Kind: realism.FaultLost, Count: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/contacts", strings.NewReader(`{"lastName":"lost"}`))
	req.Header.Set("Authorization", "Zoho-oauthtoken "+e.token)
	req.Header.Set("orgId", DefaultOrgID)
	if res, err := e.http.Client().Do(req); err == nil {
		res.Body.Close()
		t.Error("lost response was delivered")
	}
	if e.srv.Count(ModuleContacts) != 1 {
		t.Error("lost write was not applied")
	}
	// Admin endpoints of realism are reachable through the Desk server.
	if r := e.raw("GET", "/_emulator/calls", nil, nil); r.status != 200 {
		t.Errorf("admin calls: %d", r.status)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Config{})
	var wg sync.WaitGroup
	const workers, each = 4, 25
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": fmt.Sprintf("W%d-%d", w, i), "email": fmt.Sprintf("w%d.%d@x.com", w, i)})
				if c.status != 200 {
					t.Errorf("create: %d %s", c.status, c.body)
					return
				}
				id := c.json(t)["id"].(string)
				if r := e.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"phone": "1"}); r.status != 200 {
					t.Errorf("patch: %d", r.status)
				}
				e.do("GET", "/api/v1/contacts?sortBy=-modifiedTime&limit=5", nil)
				e.do("GET", "/api/v1/contacts/search?email="+fmt.Sprintf("w%d.%d@x.com", w, i), nil)
				if i%5 == 0 {
					e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{id}})
				}
			}
		}(w)
	}
	wg.Wait()
	if live, trashed := e.srv.Count(ModuleContacts), e.srv.TrashedCount(ModuleContacts); live != 80 || trashed != 20 {
		t.Errorf("live %d trashed %d, want 80 and 20", live, trashed)
	}
	seen := 0
	for from := 1; ; from += 100 {
		r := e.do("GET", fmt.Sprintf("/api/v1/contacts?sortBy=modifiedTime&limit=100&from=%d", from), nil)
		if r.status == http.StatusNoContent {
			break
		}
		seen += len(r.data(t))
	}
	if seen != 80 {
		t.Errorf("list saw %d contacts, want 80", seen)
	}
}

// POST /_emulator/fields adds a custom field as Desk's setup does: organizationFields lists it
// and records take its values by its rules; a name without cf_, an unknown type or module, and
// a different field under a name in use are refused.
func TestAdminAddsCustomFields(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.raw("POST", "/_emulator/fields", map[string]any{"module": "contacts", "field": map[string]any{
		"apiName": "cf_plan", "displayLabel": "Plan", "type": "Picklist", "allowedValues": []string{"Basic", "Pro"}}}, nil)
	if r.status != 201 {
		t.Fatalf("add a picklist: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/organizationFields?module=contacts", nil); !strings.Contains(string(r.body), `"apiName":"cf_plan"`) {
		t.Errorf("organizationFields does not list cf_plan: %s", r.body)
	}
	if r := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "P", "cf": map[string]any{"cf_plan": "Pro"}}); r.status != 200 {
		t.Errorf("a contact with cf_plan Pro: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/contacts", map[string]any{"lastName": "Q", "cf": map[string]any{"cf_plan": "Gold"}}); r.status != 422 && r.status != 400 {
		t.Errorf("a contact with cf_plan Gold (not a value): %d %s", r.status, r.body)
	}
	for _, bad := range []map[string]any{
		{"module": "contacts", "field": map[string]any{"apiName": "plan", "type": "Text"}},
		{"module": "contacts", "field": map[string]any{"apiName": "cf_odd", "type": "Hologram"}},
		{"module": "leads", "field": map[string]any{"apiName": "cf_x", "type": "Text"}},
		{"module": "contacts", "field": map[string]any{"apiName": "cf_plan", "type": "Text"}},
	} {
		if r := e.raw("POST", "/_emulator/fields", bad, nil); r.status != 400 {
			t.Errorf("%v: %d %s, want 400", bad, r.status, r.body)
		}
	}
}
