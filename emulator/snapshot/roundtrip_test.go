package snapshot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"deskcrm/emulator/crm"
	"deskcrm/emulator/desk"
	"deskcrm/emulator/seed"
	"deskcrm/emulator/snapshot"
	"deskcrm/emulator/zohoauth"
)

// crmModules are the CRM emulator's modules.
var crmModules = []string{"Contacts", "Accounts", "Deals", "Notes", "Tasks", "Events", "Calls"}

// pair is one CRM and one Desk emulator sharing a token store, each behind a real HTTP server.
type pair struct {
	t     *testing.T
	auth  *zohoauth.Store
	crm   *crm.Server
	desk  *desk.Server
	crmU  string
	deskU string
	token string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	auth := zohoauth.NewStore(zohoauth.Config{})
	p := &pair{t: t, auth: auth,
		crm:  crm.New(crm.Config{Auth: auth, SearchLag: crm.NoSearchLag}),
		desk: desk.New(desk.Config{Auth: auth})}
	t.Cleanup(p.desk.Close)
	cs, ds := httptest.NewServer(p.crm), httptest.NewServer(p.desk)
	t.Cleanup(cs.Close)
	t.Cleanup(ds.Close)
	p.crmU, p.deskU = cs.URL, ds.URL
	return p
}

// parts are the pair's snapshot parts, in the order emulator/main.go saves them.
func (p *pair) parts() []snapshot.Part { return []snapshot.Part{p.crm, p.desk, p.auth} }

// call makes an API call with the pair's token and returns the status and body.
func (p *pair) call(method, rawURL string, body any) (int, []byte) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", zohoauth.HeaderPrefix+p.token)
	req.Header.Set("orgId", desk.DefaultOrgID)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return res.StatusCode, b
}

// mustJSON calls and decodes a JSON object answer with status want.
func (p *pair) mustJSON(want int, method, rawURL string, body any) map[string]any {
	p.t.Helper()
	st, b := p.call(method, rawURL, body)
	if st != want {
		p.t.Fatalf("%s %s: %d %s", method, rawURL, st, b)
	}
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			p.t.Fatalf("%s %s: %v: %s", method, rawURL, err, b)
		}
	}
	return out
}

// crmID returns the id of the first record a CRM write answered.
func crmID(t *testing.T, out map[string]any) string {
	t.Helper()
	data, _ := out["data"].([]any)
	if len(data) == 0 {
		t.Fatalf("no data in %v", out)
	}
	d, _ := data[0].(map[string]any)["details"].(map[string]any)
	id, _ := d["id"].(string)
	if id == "" {
		t.Fatalf("no id in %v", out)
	}
	return id
}

// receiver answers 200 to everything: the URL check of Desk webhooks and the callbacks.
func receiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// world seeds the pair and then changes it through the APIs the way a sync does, so that every
// kind of state a snapshot must hold is there: API-created and edited records, a recycle bin
// and permanently deleted entries on both sides, custom fields added at run time, a unique
// flag, a CRM notification channel, a Desk webhook and tickets. It returns the ids it made.
func (p *pair) world() (crmIDs, deskIDs []string) {
	t := p.t
	if _, err := seed.Generate(seed.Options{Seed: 7, Desk: p.desk, CRM: p.crm, DeskContacts: 40, CRMContacts: 40,
		DeskAccounts: 10, CRMAccounts: 10}); err != nil {
		t.Fatal(err)
	}
	p.token, _ = p.auth.Issue()
	hook := receiver(t)

	if err := p.crm.AddField("Contacts", crm.Field{APIName: "Snap_Note", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	if err := p.crm.SetUnique("Contacts", "Mobile", true); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		out := p.mustJSON(201, "POST", p.crmU+"/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{
			"Last_Name": fmt.Sprintf("Snap %d", i), "Email": fmt.Sprintf("snap%d@example.com", i), "Snap_Note": "kept",
			"Mobile": fmt.Sprintf("+1555000%d", i), "VIP": i%2 == 0, "Seats": 3 + i, "Lifetime_Value": 12.5,
			"Renewal_Date": "2027-01-0" + fmt.Sprint(i+1), "Last_Login": "2026-03-01T10:00:00+05:30",
		}}})
		crmIDs = append(crmIDs, crmID(t, out))
	}
	p.mustJSON(200, "PUT", p.crmU+"/crm/v8/Contacts/"+crmIDs[0], map[string]any{"data": []any{map[string]any{"First_Name": "Edited"}}})
	p.mustJSON(200, "DELETE", p.crmU+"/crm/v8/Contacts/"+crmIDs[1], nil)
	p.mustJSON(200, "DELETE", p.crmU+"/crm/v8/Contacts/"+crmIDs[2], nil)
	if n := p.crm.Purge("Contacts", crmIDs[2]); n != 1 {
		t.Fatalf("purged %d", n)
	}
	p.mustJSON(201, "POST", p.crmU+"/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 1000000068001, "events": []any{"Contacts.all", "Accounts.create"}, "notify_url": hook + "/crm",
		"token": "s3cret", "return_affected_field_values": true}}})

	if err := p.desk.AddField(desk.ModuleContacts, desk.Field{APIName: "cf_snap", DisplayLabel: "Snap", Type: desk.TypeText, MaxLength: 40}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		out := p.mustJSON(200, "POST", p.deskU+"/api/v1/contacts", map[string]any{"lastName": fmt.Sprintf("Snap %d", i),
			"email": fmt.Sprintf("snap%d@example.com", i), "cf": map[string]any{"cf_snap": "kept", "cf_seats": i, "cf_vip": true}})
		deskIDs = append(deskIDs, out["id"].(string))
	}
	p.mustJSON(200, "PATCH", p.deskU+"/api/v1/contacts/"+deskIDs[0], map[string]any{"firstName": "Edited", "cf": map[string]any{"cf_snap": nil}})
	p.mustJSON(204, "POST", p.deskU+"/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{deskIDs[1], deskIDs[2]}})
	p.mustJSON(200, "POST", p.deskU+"/api/v1/recycleBin/delete", map[string]any{"ids": []string{deskIDs[2]}})
	p.mustJSON(200, "POST", p.deskU+"/api/v1/webhooks", map[string]any{"url": hook + "/desk", "name": "sync",
		"subscriptions":  map[string]any{"Contact_Add": nil, "Contact_Update": map[string]any{"includePrevState": true}},
		"ignoreSourceId": "0b4cb1b5-8ad8-4c28-9d22-5b3a2b4d6f10"})
	return crmIDs, deskIDs
}

// reads lists every API read to compare: lists and records of every module page by page,
// searches, counts, recycle bins, deleted records, field metadata, channels, webhooks,
// tickets and related lists.
func (p *pair) reads(crmIDs, deskIDs []string) []string {
	t := p.t
	var urls []string
	for _, mod := range crmModules {
		fields := p.mustJSON(200, "GET", p.crmU+"/crm/v8/settings/fields?module="+mod, nil)
		var names []string
		for _, f := range fields["fields"].([]any) {
			if n := f.(map[string]any)["api_name"].(string); len(names) < 50 {
				names = append(names, n)
			}
		}
		urls = append(urls, "/crm/v8/settings/fields?module="+mod, "/crm/v8/"+mod+"/actions/count",
			"/crm/v8/"+mod+"/deleted?type=all", "/crm/v8/"+mod+"/deleted?type=recycle")
		for page := 1; ; page++ {
			u := fmt.Sprintf("/crm/v8/%s?fields=%s&per_page=200&page=%d", mod, url.QueryEscape(strings.Join(names, ",")), page)
			urls = append(urls, u, u+"&sort_by=Modified_Time&sort_order=desc")
			st, b := p.call("GET", p.crmU+u, nil)
			if st != 200 || !strings.Contains(string(b), `"more_records":true`) {
				break
			}
		}
		for _, rec := range p.crm.Records(mod) {
			urls = append(urls, "/crm/v8/"+mod+"/"+rec["id"].(string))
		}
	}
	for _, id := range crmIDs {
		urls = append(urls, "/crm/v8/Contacts/"+id)
	}
	urls = append(urls, "/crm/v8/Contacts/search?email=snap3@example.com", "/crm/v8/Contacts/search?word=Snap",
		"/crm/v8/Accounts/search?criteria="+url.QueryEscape("(Account_Name:starts_with:A)"), "/crm/v8/actions/watch")
	for _, acc := range p.crm.Records("Accounts")[:3] {
		urls = append(urls, "/crm/v8/Accounts/"+acc["id"].(string)+"/Contacts", "/crm/v8/Accounts/"+acc["id"].(string)+"/Deals")
	}

	for _, mod := range []string{"contacts", "accounts"} {
		urls = append(urls, "/api/v1/"+mod+"/count", "/api/v1/organizationFields?module="+mod,
			"/api/v1/recycleBin?module="+mod+"&limit=100")
		for from := 1; ; from += 100 {
			u := fmt.Sprintf("/api/v1/%s?from=%d&limit=100", mod, from)
			urls = append(urls, u, u+"&sortBy=-modifiedTime", u+"&include=accounts")
			if st, b := p.call("GET", p.deskU+u, nil); st != 200 || strings.Count(string(b), `"id"`) < 100 {
				break
			}
		}
		for _, rec := range p.desk.Records(mod) {
			urls = append(urls, "/api/v1/"+mod+"/"+rec["id"].(string))
		}
	}
	for _, id := range deskIDs {
		urls = append(urls, "/api/v1/contacts/"+id)
	}
	urls = append(urls, "/api/v1/contacts/search?email=snap3@example.com", "/api/v1/contacts/search?lastName=Snap*&limit=100",
		"/api/v1/contacts/search?customField1=cf_snap:kept", "/api/v1/accounts/search?accountName=*&limit=100&sortBy=accountName",
		"/api/v1/tickets?limit=100&include=contacts,accounts", "/api/v1/webhooks", "/api/v1/recycleBin?limit=100")
	if len(urls) < 150 {
		t.Fatalf("only %d reads: the world is smaller than meant", len(urls))
	}
	return urls
}

// TestRoundTripReadsTheSame saves a used pair of emulators, loads the snapshot into a fresh
// pair, and checks that every API read answers the same bytes, with the same token; then that
// both hand out the same ids next.
func TestRoundTripReadsTheSame(t *testing.T) {
	a := newPair(t)
	crmIDs, deskIDs := a.world()
	var buf bytes.Buffer
	if err := snapshot.Write(&buf, a.parts()...); err != nil {
		t.Fatal(err)
	}
	b := newPair(t)
	if err := snapshot.Read(&buf, b.parts()...); err != nil {
		t.Fatal(err)
	}
	b.token = a.token // the token store came back too

	urls := a.reads(crmIDs, deskIDs)
	for _, u := range urls {
		base := func(p *pair) string {
			if strings.HasPrefix(u, "/crm/") {
				return p.crmU
			}
			return p.deskU
		}
		sa, ba := a.call("GET", base(a)+u, nil)
		sb, bb := b.call("GET", base(b)+u, nil)
		if sa != sb || !bytes.Equal(ba, bb) {
			t.Fatalf("GET %s differs after the round trip:\nbefore %d %.600s\nafter  %d %.600s", u, sa, ba, sb, bb)
		}
	}
	wa, _ := json.Marshal(a.desk.Webhooks())
	wb, _ := json.Marshal(b.desk.Webhooks())
	if got, want := string(wb), string(wa); got != want || !strings.Contains(want, "includePrevState") {
		t.Fatalf("webhooks: %s, want %s", got, want)
	}
	ta, tb := a.desk.Tickets(), b.desk.Tickets()
	if len(ta) == 0 || len(ta) != len(tb) || !ta[0].CreatedTime.Equal(tb[0].CreatedTime) {
		t.Fatalf("tickets: %d before, %d after", len(ta), len(tb))
	}

	// The counters came back: the next records get the same ids on both.
	for _, p := range []*pair{a, b} {
		p.mustJSON(201, "POST", p.crmU+"/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "Next"}}})
	}
	na := a.mustJSON(201, "POST", a.crmU+"/crm/v8/Accounts", map[string]any{"data": []any{map[string]any{"Account_Name": "Next Co"}}})
	nb := b.mustJSON(201, "POST", b.crmU+"/crm/v8/Accounts", map[string]any{"data": []any{map[string]any{"Account_Name": "Next Co"}}})
	if crmID(t, na) != crmID(t, nb) {
		t.Fatalf("next CRM id %s before, %s after", crmID(t, na), crmID(t, nb))
	}
	da := a.mustJSON(200, "POST", a.deskU+"/api/v1/contacts", map[string]any{"lastName": "Next"})
	db := b.mustJSON(200, "POST", b.deskU+"/api/v1/contacts", map[string]any{"lastName": "Next"})
	if da["id"] != db["id"] {
		t.Fatalf("next Desk id %v before, %v after", da["id"], db["id"])
	}
	// The unique flag came back with the fields.
	dup := b.mustJSON(400, "POST", b.crmU+"/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "Dup", "Mobile": "+15550003"}}})
	if !strings.Contains(fmt.Sprint(dup), "DUPLICATE_DATA") {
		t.Fatalf("unique Mobile not enforced after the round trip: %v", dup)
	}
}
