package crm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	crmemu "deskcrm/emulator/crm"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
)

// env is a CRM emulator behind an httptest server and a client whose every
// request is validated against the official spec.
type env struct {
	emu    *crmemu.Server
	srv    *httptest.Server
	tokens *zoho.TokenSource
	client *crm.Client
}

func newEnv(t testing.TB, mod func(*crm.Config)) *env {
	t.Helper()
	return newEnvWith(t, crmemu.Config{}, mod)
}

// newEnvWith is newEnv with an emulator configuration (BulkStep,
// NotifyWindow and SearchLag are set for the tests unless given).
func newEnvWith(t testing.TB, ecfg crmemu.Config, mod func(*crm.Config)) *env {
	t.Helper()
	if ecfg.BulkStep == 0 {
		ecfg.BulkStep = time.Millisecond
	}
	if ecfg.NotifyWindow == 0 {
		ecfg.NotifyWindow = time.Millisecond
	}
	if ecfg.SearchLag == 0 {
		ecfg.SearchLag = crmemu.NoSearchLag // the client tests search right after writing
	}
	emu := crmemu.New(ecfg)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{
		ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client(),
		EarlyExpiry: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &validatingTransport{t: t, spec: loadSpec(t), base: srv.Client().Transport}}
	cfg := crm.Config{BaseURL: srv.URL, Tokens: ts, HTTPClient: hc, Trigger: crm.NoTriggers,
		Retry: zoho.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := crm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, srv: srv, tokens: ts, client: c}
}

func loadContacts(t testing.TB, emu *crmemu.Server, n int, modified func(i int) time.Time) []string {
	t.Helper()
	recs := make([]map[string]any, n)
	for i := range recs {
		ts := modified(i)
		recs[i] = map[string]any{"Last_Name": fmt.Sprintf("Last%06d", i), "Email": fmt.Sprintf("c%06d@example.test", i),
			"Created_Time": ts, "Modified_Time": ts}
	}
	ids, err := emu.Load("Contacts", recs)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return ids
}

var contactFields = []string{"Last_Name", "Email", "Account_Name"}

func TestEmuListPast2000InModifiedOrder(t *testing.T) {
	e := newEnv(t, nil)
	base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	ids := loadContacts(t, e.emu, 2450, func(i int) time.Time { return base.Add(time.Duration(i/3) * time.Second) })
	seen := map[string]int{}
	var last time.Time
	var sawToken bool
	err := e.client.List(context.Background(), "Contacts", crm.ListOptions{Fields: contactFields}, func(p crm.Page) error {
		for _, r := range p.Records {
			seen[r.ID]++
			if r.ModifiedTime.Before(last) {
				t.Fatalf("records out of Modified_Time order: %v after %v", r.ModifiedTime, last)
			}
			last = r.ModifiedTime
		}
		sawToken = sawToken || p.Next.PageToken != ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawToken {
		t.Fatal("paging past 2,000 records should switch to page_token")
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("record %s delivered %d times", id, seen[id])
		}
	}
	// Incremental: only what changed after the cursor.
	n := 0
	err = e.client.List(context.Background(), "Contacts", crm.ListOptions{Fields: contactFields, ModifiedSince: base.Add(800 * time.Second)}, func(p crm.Page) error {
		n += len(p.Records)
		return nil
	})
	if err != nil || n == 0 || n >= len(ids) {
		t.Fatalf("If-Modified-Since listing: n=%d err=%v", n, err)
	}
}

func TestEmuWritesPerRecordResults(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res, err := e.client.Insert(ctx, "Contacts", []crm.Record{
		{Fields: map[string]any{"Last_Name": "Ok", "Email": "ok@example.test"}},
		{Fields: map[string]any{"First_Name": "NoLast"}},
		{Fields: map[string]any{"Last_Name": "Dup", "Email": "ok@example.test"}},
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if len(res) != 3 || !res[0].OK() || res[0].ID == "" {
		t.Fatalf("results = %+v", res)
	}
	if zoho.FailureCode(res[1].Err) != zoho.CodeMandatoryMissing || res[1].Err.APIName != "Last_Name" {
		t.Fatalf("record 1: %+v", res[1].Err)
	}
	id := res[0].ID
	got, err := e.client.Get(ctx, "Contacts", id, nil)
	if err != nil || got.String("Last_Name") != "Ok" || got.CreatedTime.IsZero() {
		t.Fatalf("get: %v %+v", err, got)
	}
	up, err := e.client.Update(ctx, "Contacts", []crm.Record{{ID: id, Fields: map[string]any{"First_Name": "Ana"}}})
	if err != nil || !up[0].OK() {
		t.Fatalf("update: %v %+v", err, up)
	}
	ups, err := e.client.Upsert(ctx, "Contacts", []crm.Record{
		{Fields: map[string]any{"Last_Name": "Ok2", "Email": "ok@example.test"}},
		{Fields: map[string]any{"Last_Name": "New", "Email": "new@example.test"}},
	}, []string{"Email"})
	if err != nil || !ups[0].OK() || !ups[1].OK() {
		t.Fatalf("upsert: %v %+v", err, ups)
	}
	if ups[0].Action != "update" || ups[0].ID != id || ups[1].Action != "insert" {
		t.Fatalf("upsert actions: %+v", ups)
	}
	del, err := e.client.Delete(ctx, "Contacts", []string{id, "1"})
	if err != nil || !del[0].OK() || del[1].OK() {
		t.Fatalf("delete: %v %+v", err, del)
	}
	var deleted []crm.DeletedRecord
	if err := e.client.Deleted(ctx, "Contacts", crm.DeletedOptions{}, func(d []crm.DeletedRecord) error {
		deleted = append(deleted, d...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 || deleted[0].ID != id || deleted[0].Type != "recycle" {
		t.Fatalf("deleted = %+v", deleted)
	}
	if _, err := e.client.Get(ctx, "Contacts", id, nil); zoho.FailureCode(err) != zoho.CodeRecordNotFound {
		t.Fatalf("get deleted: %v (%s)", err, zoho.FailureCode(err))
	}
}

func TestEmuSearch(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	loadContacts(t, e.emu, 2100, func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })
	if _, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Burns, (B)", "Email": "burns@example.test"}},
		{Fields: map[string]any{"Last_Name": `Back\slash\`, "Email": "back@example.test"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    crm.SearchQuery
		want int
	}{
		{"criteria with escaping", crm.SearchQuery{Criteria: crm.Cond("Last_Name", crm.OpEquals, "Burns, (B)")}, 1},
		{"backslashes", crm.SearchQuery{Criteria: crm.Cond("Last_Name", crm.OpEquals, `Back\slash\`)}, 1},
		// A value that would close its condition and add one matching everything, were a
		// backslash not escaped: it matches nothing.
		{"injection through a backslash", crm.SearchQuery{Criteria: crm.Cond("Email", crm.OpEquals, `x\)or(Last_Name:starts_with:Last`)}, 0},
		{"email", crm.SearchQuery{Email: "burns@example.test"}, 1},
		{"and", crm.SearchQuery{Criteria: crm.And(crm.Cond("Email", crm.OpEquals, "c000007@example.test"), crm.Cond("Last_Name", crm.OpStartsWith, "Last"))}, 1},
		{"no match", crm.SearchQuery{Email: "nobody@example.test"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			if err := e.client.Search(ctx, "Contacts", tc.q, func(p crm.Page) error { n += len(p.Records); return nil }); err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Fatalf("matches = %d, want %d", n, tc.want)
			}
		})
	}
	n := 0
	err := e.client.Search(ctx, "Contacts", crm.SearchQuery{Criteria: crm.Cond("Last_Name", crm.OpStartsWith, "Last")}, func(p crm.Page) error {
		n += len(p.Records)
		return nil
	})
	if !errors.Is(err, crm.ErrSearchLimit) || n != 2000 {
		t.Fatalf("search past 2,000: n=%d err=%v", n, err)
	}
}

func TestEmuFieldsAndRelated(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	fields, err := e.client.Fields(ctx, "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	var last *crm.Field
	for i := range fields {
		if fields[i].APIName == "Last_Name" {
			last = &fields[i]
		}
	}
	if last == nil || !last.SystemMandatory || last.DataType == "" {
		t.Fatalf("Last_Name metadata = %+v", last)
	}
	acc, err := e.client.Insert(ctx, "Accounts", []crm.Record{{Fields: map[string]any{"Account_Name": "Acme"}}})
	if err != nil || !acc[0].OK() {
		t.Fatalf("account: %v %+v", err, acc)
	}
	con, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Doe", "Account_Name": map[string]any{"id": acc[0].ID}}}})
	if err != nil || !con[0].OK() {
		t.Fatalf("contact: %v %+v", err, con)
	}
	deal, err := e.client.Insert(ctx, "Deals", []crm.Record{{Fields: map[string]any{"Deal_Name": "Big", "Stage": "Qualification",
		"Contact_Name": map[string]any{"id": con[0].ID}, "Account_Name": map[string]any{"id": acc[0].ID}}}})
	if err != nil || !deal[0].OK() {
		t.Fatalf("deal: %v %+v", err, deal)
	}
	for _, parent := range []struct{ module, id string }{{"Contacts", con[0].ID}, {"Accounts", acc[0].ID}} {
		var got []crm.Record
		err := e.client.Related(ctx, parent.module, parent.id, crm.RelatedDeals, crm.ListOptions{Fields: []string{"Deal_Name", "Stage"}}, func(p crm.Page) error {
			got = append(got, p.Records...)
			return nil
		})
		if err != nil || len(got) != 1 || got[0].ID != deal[0].ID {
			t.Fatalf("%s deals: %v %+v", parent.module, err, got)
		}
	}
	got, err := e.client.Get(ctx, "Contacts", con[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, name, ok := got.Lookup("Account_Name"); !ok || id != acc[0].ID || name != "Acme" {
		t.Fatalf("lookup = %q %q %v", id, name, ok)
	}
}

func TestEmuNotifications(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var mu sync.Mutex
	var got []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer recv.Close()
	ch := crm.WatchChannel{ChannelID: 1000000068001, Events: []string{"Contacts.all"}, NotifyURL: recv.URL + "/crm", Token: "secret-token",
		ChannelExpiry: time.Now().Add(time.Hour).Truncate(time.Second)}
	res, err := e.client.Watch(ctx, []crm.WatchChannel{ch})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("watch: %v %+v", err, res)
	}
	list, err := e.client.Watches(ctx, "")
	if err != nil || len(list) != 1 || list[0].ChannelID != "1000000068001" {
		t.Fatalf("watches: %v %+v", err, list)
	}
	ch.ChannelExpiry = time.Now().Add(48 * time.Hour).Truncate(time.Second)
	if res, err := e.client.RenewWatch(ctx, []crm.WatchChannel{ch}); err != nil || res[0].Err != nil {
		t.Fatalf("renew: %v %+v", err, res)
	}
	if _, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Watched"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if len(got) == 0 || got[0]["token"] != "secret-token" {
		t.Errorf("notification = %+v", got)
	}
	mu.Unlock()
	if err := e.client.Unwatch(ctx, []int64{ch.ChannelID}); err != nil {
		t.Fatal(err)
	}
	if list, err := e.client.Watches(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("after unwatch: %v %+v", err, list)
	}
}

func TestEmuBulkRead(t *testing.T) {
	e := newEnv(t, nil)
	base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	ids := loadContacts(t, e.emu, 1500, func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })
	seen := map[string]bool{}
	err := e.client.BulkRead(context.Background(), crm.BulkReadQuery{Module: "Contacts", Fields: []string{"Last_Name", "Email"}}, 10*time.Millisecond,
		func(header, row []string) error {
			for i, h := range header {
				if h == "Id" || h == "id" {
					seen[row[i]] = true
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("bulk read missed %s (saw %d rows)", id, len(seen))
		}
	}
}

func TestEmuCount(t *testing.T) {
	e := newEnv(t, nil)
	base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	loadContacts(t, e.emu, 300, func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) })
	ctx := context.Background()
	if n, err := e.client.Count(ctx, "Contacts", ""); err != nil || n != 300 {
		t.Fatalf("count all = %d, %v; want 300", n, err)
	}
	// Created in the first 100 minutes, both ends inclusive: records 0..100.
	c := crm.Cond("Created_Time", "between", crm.FormatTime(base), crm.FormatTime(base.Add(100*time.Minute)))
	if n, err := e.client.Count(ctx, "Contacts", c); err != nil || n != 101 {
		t.Fatalf("count between = %d, %v; want 101", n, err)
	}
}

func TestEmuFaults(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	eng := e.emu.Realism()
	res, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "A", "Email": "a@example.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].ID

	if _, err := eng.AddFault(realism.Fault{Method: "GET", Path: "/crm/v8/Contacts/*", Kind: realism.FaultStatus, Status: 500, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(ctx, "Contacts", id, nil); err != nil {
		t.Fatalf("get after two 500s: %v", err)
	}
	eng.ClearFaults()
	if _, err := eng.AddFault(realism.Fault{Method: "GET", Path: "/crm/v8/Contacts/*", Kind: realism.FaultStatus, Status: 429, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(ctx, "Contacts", id, nil); err != nil {
		t.Fatalf("get after a 429: %v", err)
	}
	eng.ClearFaults()

	// A lost insert: applied by the server, no answer to the client.
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Path: "/crm/v8/Contacts", Kind: realism.FaultLost, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Lost", "Email": "lost@example.test"}}})
	if !zoho.IsAmbiguousWrite(err) || !zoho.IsTransient(err) {
		t.Fatalf("lost insert: %v", err)
	}
	if f := eng.Faults(); f[0].Injected != 1 {
		t.Fatalf("insert retried: fault fired %d times", f[0].Injected)
	}
	eng.ClearFaults()
	n := 0
	if err := e.client.Search(ctx, "Contacts", crm.SearchQuery{Email: "lost@example.test"}, func(p crm.Page) error { n += len(p.Records); return nil }); err != nil || n != 1 {
		t.Fatalf("the lost insert should be findable: n=%d err=%v", n, err)
	}

	// An update by id is idempotent: a 503 and a lost response are retried in the client.
	if _, err := eng.AddFault(realism.Fault{Method: "PUT", Kind: realism.FaultStatus, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.AddFault(realism.Fault{Method: "PUT", Kind: realism.FaultLost, Count: 1}); err != nil {
		t.Fatal(err)
	}
	eng.ResetCalls()
	res, err = e.client.Update(ctx, "Contacts", []crm.Record{{ID: id, Fields: map[string]any{"First_Name": "x"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update after a 503 and a lost response: %v %+v", err, res)
	}
	if got := eng.Count("PUT /crm/v8/Contacts"); got != 3 {
		t.Fatalf("update sent %d times, want 3 (two transient failures, then the write)", got)
	}
}

func TestEmuTokenRefreshOnExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.client.Fields(ctx, "Contacts"); err != nil {
		t.Fatal(err)
	}
	e.emu.Auth().ExpireAll()
	if _, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "After expiry"}}}); err != nil {
		t.Fatalf("insert after expiry: %v", err)
	}
	if n := e.tokens.Refreshes(); n != 2 {
		t.Fatalf("refreshes = %d, want 2", n)
	}
}

func TestEmuCreditsTracked(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	recs := make([]crm.Record, 25)
	for i := range recs {
		recs[i] = crm.Record{Fields: map[string]any{"Last_Name": fmt.Sprint("C", i)}}
	}
	if _, err := e.client.Insert(ctx, "Contacts", recs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Fields(ctx, "Contacts"); err != nil {
		t.Fatal(err)
	}
	st := e.client.Credits()
	if st.Calls != 2 || st.Used != 4 {
		t.Fatalf("credits = %+v, want 2 calls costing 3+1", st)
	}
}
