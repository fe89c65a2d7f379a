package desk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
	"deskcrm/zoho"
	"deskcrm/zoho/desk"
)

const testSource = "7d3c8a52-1f0e-4c1a-9a57-0f3e5b2c9d11"

// env is a Desk emulator behind an httptest server and a client talking to it.
type env struct {
	emu    *deskemu.Server
	srv    *httptest.Server
	tokens *zoho.TokenSource
	client *desk.Client
}

func newEnv(t testing.TB, mod func(*desk.Config)) *env {
	t.Helper()
	emu := deskemu.New(deskemu.Config{Realism: realism.New(realism.Config{})})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{
		ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client(),
		EarlyExpiry: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := desk.Config{
		BaseURL: srv.URL, OrgID: deskemu.DefaultOrgID, Tokens: ts, HTTPClient: srv.Client(),
		SourceID: testSource, Retry: zoho.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := desk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, srv: srv, tokens: ts, client: c}
}

func contact(i int) desk.Record {
	return desk.Record{
		Fields: map[string]any{"lastName": fmt.Sprintf("Last%05d", i), "email": fmt.Sprintf("c%05d@example.test", i)},
		CF:     map[string]any{"cf_crm_id": fmt.Sprintf("90000%05d", i)},
	}
}

func TestCRUDAndRecycleBin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	created, err := e.client.Create(ctx, desk.Contacts, contact(1))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.CreatedTime.IsZero() || created.CFString("cf_crm_id") != "9000000001" {
		t.Fatalf("created record incomplete: %+v", created)
	}
	upd, err := e.client.Update(ctx, desk.Contacts, created.ID, desk.Record{Fields: map[string]any{"firstName": "Ana"}})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.String("firstName") != "Ana" || upd.String("lastName") != "Last00001" {
		t.Fatalf("PATCH should keep lastName and set firstName: %+v", upd.Fields)
	}
	got, err := e.client.Get(ctx, desk.Contacts, created.ID)
	if err != nil || got.String("firstName") != "Ana" {
		t.Fatalf("get: %v %+v", err, got)
	}
	if err := e.client.Trash(ctx, desk.Contacts, []string{created.ID}); err != nil {
		t.Fatalf("trash: %v", err)
	}
	var bin []desk.TrashItem
	if err := e.client.RecycleBin(ctx, desk.RecycleBinOptions{}, func(items []desk.TrashItem) error {
		bin = append(bin, items...)
		return nil
	}); err != nil {
		t.Fatalf("recycle bin: %v", err)
	}
	if len(bin) != 1 || bin[0].ID != created.ID {
		t.Fatalf("recycle bin = %+v, want the trashed contact", bin)
	}
	res, err := e.client.Restore(ctx, []string{created.ID})
	if err != nil || len(res) != 1 || !res[0].Success {
		t.Fatalf("restore: %v %+v", err, res)
	}
	if _, err := e.client.Get(ctx, desk.Contacts, created.ID); err != nil {
		t.Fatalf("get after restore: %v", err)
	}
}

func TestErrorsMapToFailureCodes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"missing lastName", func() error {
			_, err := e.client.Create(ctx, desk.Contacts, desk.Record{Fields: map[string]any{"firstName": "x"}})
			return err
		}, zoho.CodeMandatoryMissing},
		{"unknown id", func() error {
			_, err := e.client.Get(ctx, desk.Contacts, "1892000999999999")
			return err
		}, zoho.CodeRecordNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var de *desk.Error
			if !errors.As(err, &de) {
				t.Fatalf("want *desk.Error, got %v", err)
			}
			if got := zoho.FailureCode(err); got != tc.code {
				t.Fatalf("FailureCode = %s, want %s (%v)", got, tc.code, err)
			}
			if !zoho.IsPermanent(err) {
				t.Fatalf("%v should be permanent", err)
			}
		})
	}
}

// loadContacts stores n contacts whose createdTime and modifiedTime come from ts(i).
func loadContacts(t testing.TB, emu *deskemu.Server, n int, created, modified func(i int) time.Time) []string {
	t.Helper()
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{
			"lastName": fmt.Sprintf("Last%06d", i), "email": fmt.Sprintf("c%06d@example.test", i),
			"createdTime": created(i), "modifiedTime": modified(i),
			"cf": map[string]any{"cf_crm_id": fmt.Sprintf("8%09d", i)},
		}
	}
	ids, err := emu.Load(deskemu.ModuleContacts, recs)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return ids
}

func scanAll(t *testing.T, c *desk.Client, q desk.ScanQuery) (map[string]int, error) {
	t.Helper()
	seen := map[string]int{}
	err := c.Scan(context.Background(), desk.Contacts, q, func(p desk.Page) error {
		for _, r := range p.Records {
			seen[r.ID]++
		}
		return nil
	})
	return seen, err
}

func TestScanPastSearchCapWithEqualTimestamps(t *testing.T) {
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		n        int
		created  func(i int) time.Time
		modified func(i int) time.Time
		field    string
		wantErr  error
	}{
		{"groups of 7 share a millisecond", 2600,
			func(i int) time.Time { return base.Add(time.Duration(i/7) * time.Millisecond) },
			func(i int) time.Time { return base.Add(time.Hour + time.Duration(i/7)*time.Second) },
			desk.CreatedTime, nil},
		{"modifiedTime window", 2100,
			func(i int) time.Time { return base },
			func(i int) time.Time { return base.Add(time.Duration(i/3) * time.Second) },
			desk.ModifiedTime, nil},
		{"1500 created at one instant, modified apart", 1500,
			func(i int) time.Time { return base },
			func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) },
			desk.CreatedTime, nil},
		{"1100 identical timestamps", 1100,
			func(i int) time.Time { return base },
			func(i int) time.Time { return base },
			desk.CreatedTime, desk.ErrDenseTimestamps},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ids := loadContacts(t, e.emu, tc.n, tc.created, tc.modified)
			seen, err := scanAll(t, e.client, desk.ScanQuery{Field: tc.field, From: base.Add(-time.Hour), To: base.Add(48 * time.Hour)})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			for _, id := range ids {
				if seen[id] != 1 {
					t.Fatalf("record %s delivered %d times", id, seen[id])
				}
			}
			if len(seen) != len(ids) {
				t.Fatalf("delivered %d distinct records, want %d", len(seen), len(ids))
			}
		})
	}
}

func TestPlainListAndSearchCap(t *testing.T) {
	e := newEnv(t, nil)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := loadContacts(t, e.emu, 1150, func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) },
		func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })
	n := 0
	if err := e.client.List(context.Background(), desk.Contacts, desk.ListOptions{SortBy: "createdTime"}, func(p desk.Page) error {
		n += len(p.Records)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) {
		t.Fatalf("list delivered %d, want %d", n, len(ids))
	}
	n = 0
	err := e.client.Search(context.Background(), desk.Contacts, desk.SearchQuery{Params: url.Values{"email": {"*@example.test"}}}, func(p desk.Page) error {
		n += len(p.Records)
		return nil
	})
	if !errors.Is(err, desk.ErrSearchLimit) || n != 1000 {
		t.Fatalf("search past the cap: err=%v n=%d, want ErrSearchLimit after 1000", err, n)
	}
}

func TestFindByCustomField(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := e.client.Create(ctx, desk.Contacts, contact(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.client.FindByCustomField(ctx, desk.Contacts, "cf_crm_id", "9000000002")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].String("lastName") != "Last00002" {
		t.Fatalf("FindByCustomField = %+v", got)
	}
	none, err := e.client.FindByCustomField(ctx, desk.Contacts, "cf_crm_id", "123")
	if err != nil || len(none) != 0 {
		t.Fatalf("no match: %v %+v", err, none)
	}
}

// An update by id is idempotent: the client sends it again after a 503 and after a lost
// response, and the record ends as written.
func TestUpdateIsRetriedAfterTransientFailures(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rec, err := e.client.Create(ctx, desk.Contacts, contact(8))
	if err != nil {
		t.Fatal(err)
	}
	eng := e.emu.Realism()
	for _, f := range []realism.Fault{{Method: "PATCH", Kind: realism.FaultStatus, Status: 503, Count: 1}, {Method: "PATCH", Kind: realism.FaultLost, Count: 1}} {
		if _, err := eng.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.client.Update(ctx, desk.Contacts, rec.ID, desk.Record{Fields: map[string]any{"firstName": "Retried"}})
	if err != nil || got.Fields["firstName"] != "Retried" {
		t.Fatalf("update after a 503 and a lost response: %v %+v", err, got.Fields)
	}
	if n := eng.Count("PATCH /api/v1/contacts/{id}"); n != 3 {
		t.Fatalf("update sent %d times, want 3 (two transient failures, then the write)", n)
	}
}

func TestLostCreateIsAmbiguousAndRecoverable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.emu.Realism().AddFault(realism.Fault{Method: "POST", Path: "/api/v1/contacts", Kind: realism.FaultLost, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Create(ctx, desk.Contacts, contact(7))
	if err == nil {
		t.Fatal("create with a lost response succeeded")
	}
	if !zoho.IsTransient(err) || !zoho.IsAmbiguousWrite(err) || zoho.FailureCode(err) != zoho.CodeNetworkError {
		t.Fatalf("lost write: transient=%v ambiguous=%v code=%s (%v)", zoho.IsTransient(err), zoho.IsAmbiguousWrite(err), zoho.FailureCode(err), err)
	}
	if got := e.emu.Realism().Count("POST /api/v1/contacts"); got != 1 {
		t.Fatalf("write sent %d times, want 1 (writes are not retried)", got)
	}
	found, err := e.client.FindByCustomField(ctx, desk.Contacts, "cf_crm_id", "9000000007")
	if err != nil || len(found) != 1 {
		t.Fatalf("the lost create should be findable by cf_crm_id: %v %+v", err, found)
	}
}

func TestReadsRetryOn5xxAnd429CreatesDoNot(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rec, err := e.client.Create(ctx, desk.Contacts, contact(1))
	if err != nil {
		t.Fatal(err)
	}
	eng := e.emu.Realism()
	if _, err := eng.AddFault(realism.Fault{Method: "GET", Path: "/api/v1/contacts/*", Kind: realism.FaultStatus, Status: 503, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(ctx, desk.Contacts, rec.ID); err != nil {
		t.Fatalf("get should succeed after two 503s: %v", err)
	}
	eng.ClearFaults()
	if _, err := eng.AddFault(realism.Fault{Method: "GET", Path: "/api/v1/contacts/*", Kind: realism.FaultStatus, Status: 429, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(ctx, desk.Contacts, rec.ID); err != nil {
		t.Fatalf("get should succeed after a 429: %v", err)
	}
	if got := e.client.Credits().RateLimited; got != 1 {
		t.Fatalf("RateLimited = %d, want 1", got)
	}
	eng.ClearFaults()
	if _, err := eng.AddFault(realism.Fault{Method: "POST", Kind: realism.FaultStatus, Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Create(ctx, desk.Contacts, contact(99))
	if err == nil || !zoho.IsTransient(err) || zoho.FailureCode(err) != zoho.CodeServerError {
		t.Fatalf("500 on POST: %v", err)
	}
	if f := eng.Faults(); f[0].Injected != 1 {
		t.Fatalf("POST retried: fault fired %d times", f[0].Injected)
	}
}

func TestCreditsExhaustedIsNotRetriedAndSaysWhenToComeBack(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.emu.Realism().SetLimits(realism.Limits{DailyCredits: 10})
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = e.client.Create(ctx, desk.Contacts, contact(i))
	}
	if zoho.FailureCode(err) != zoho.CodeCreditsExhausted {
		t.Fatalf("FailureCode = %s (%v), want CREDITS_EXHAUSTED", zoho.FailureCode(err), err)
	}
	d, ok := zoho.RetryAfter(err)
	if !ok || d < time.Minute {
		t.Fatalf("RetryAfter = %v %v, want the reset time", d, ok)
	}
	st := e.client.Credits()
	if !st.RemainingKnown || st.Remaining != 0 || st.Used == 0 {
		t.Fatalf("credit stats = %+v", st)
	}
	// A read is not retried inside the client for an hour-long wait either.
	calls := e.emu.Realism().Calls()
	_, err = e.client.Get(ctx, desk.Contacts, "1892000000100000")
	if zoho.FailureCode(err) != zoho.CodeCreditsExhausted {
		t.Fatalf("get: %v", err)
	}
	if after := e.emu.Realism().Calls(); after.Total-calls.Total != 1 {
		t.Fatalf("get was sent %d times, want 1", after.Total-calls.Total)
	}
}

func TestTokenRefreshOnExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.client.Create(ctx, desk.Contacts, contact(1)); err != nil {
		t.Fatal(err)
	}
	if n := e.tokens.Refreshes(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	if n := e.emu.Auth().ExpireAll(); n == 0 {
		t.Fatal("no token to expire")
	}
	// The cached token looks valid to the client; the 401 forces one refresh.
	if _, err := e.client.Create(ctx, desk.Contacts, contact(2)); err != nil {
		t.Fatalf("create after expiry: %v", err)
	}
	if n := e.tokens.Refreshes(); n != 2 {
		t.Fatalf("refreshes = %d, want 2", n)
	}
}

func TestRevokedRefreshTokenIsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	bad, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: "revoked", AccountsURL: e.srv.URL, HTTPClient: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := desk.New(desk.Config{BaseURL: e.srv.URL, OrgID: deskemu.DefaultOrgID, Tokens: bad, HTTPClient: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), desk.Contacts, "1")
	if zoho.FailureCode(err) != zoho.CodeAuthRevoked || !zoho.IsPermanent(err) {
		t.Fatalf("revoked refresh token: code=%s permanent=%v (%v)", zoho.FailureCode(err), zoho.IsPermanent(err), err)
	}
}

func TestMetadataWebhooksTicketsProfiles(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	fields, err := e.client.Fields(ctx, desk.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	var hasCRMID bool
	for _, f := range fields {
		if f.APIName == "cf_crm_id" && f.IsCustomField {
			hasCRMID = true
		}
	}
	if !hasCRMID {
		t.Fatalf("fields lack cf_crm_id: %+v", fields)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer receiver.Close()
	wh, err := e.client.CreateWebhook(ctx, desk.Webhook{URL: receiver.URL, Name: "sync",
		Subscriptions: map[string]any{"Contact_Add": nil, "Contact_Update": nil}, IgnoreSourceID: testSource})
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	list, err := e.client.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != wh.ID {
		t.Fatalf("webhooks = %+v, %v", list, err)
	}
	if err := e.client.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	if list, err = e.client.Webhooks(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after delete: %+v %v", list, err)
	}
	profiles, err := e.client.Profiles(ctx)
	if err != nil || len(profiles) == 0 {
		t.Fatalf("profiles: %v %+v", err, profiles)
	}
	if err := e.client.Tickets(ctx, desk.TicketOptions{}, func([]desk.Ticket) error { return nil }); err != nil {
		t.Fatalf("tickets: %v", err)
	}
}

// Write creates (no id) and updates (an id) as Create and Update do, and returns the record's
// id and the modifiedTime Desk gave it.
func TestWriteReturnsTheIDAndModifiedTime(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	w, err := e.client.Write(ctx, desk.Contacts, "", contact(3))
	if err != nil {
		t.Fatalf("write (create): %v", err)
	}
	got, err := e.client.Get(ctx, desk.Contacts, w.ID)
	if err != nil {
		t.Fatalf("get %q: %v", w.ID, err)
	}
	if !got.ModifiedTime.Equal(w.ModifiedTime) || got.CFString("cf_crm_id") != "9000000003" {
		t.Fatalf("created %+v, stored %+v", w, got)
	}
	time.Sleep(2 * time.Millisecond) // Desk times have milliseconds
	u, err := e.client.Write(ctx, desk.Contacts, w.ID, desk.Record{Fields: map[string]any{"firstName": "Bea"}})
	if err != nil {
		t.Fatalf("write (update): %v", err)
	}
	got, err = e.client.Get(ctx, desk.Contacts, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != w.ID || !u.ModifiedTime.After(w.ModifiedTime) || !got.ModifiedTime.Equal(u.ModifiedTime) || got.String("firstName") != "Bea" {
		t.Fatalf("updated %+v (created %+v), stored %+v", u, w, got)
	}
	if _, err := e.client.Write(ctx, "tickets", "", contact(4)); err == nil {
		t.Error("a write to an unknown module was sent")
	}
}
