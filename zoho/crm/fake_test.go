package crm_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/internal/crmspec"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
)

var (
	specOnce sync.Once
	spec     *crmspec.Spec
	specErr  error
)

// loadSpec loads the official CRM v8 spec once per test binary.
func loadSpec(t testing.TB) *crmspec.Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = crmspec.Load() })
	if specErr != nil {
		t.Fatalf("load CRM spec: %v", specErr)
	}
	return spec
}

// fakeCRM is a small scripted CRM used to unit-test paging decisions and
// error handling. Every request it receives is validated against the
// official spec.
type fakeCRM struct {
	t      testing.TB
	n      int // records in the Contacts module
	mu     sync.Mutex
	calls  []string
	status map[string][]int // scripted statuses per "METHOD path", consumed in order
	header http.Header      // extra headers for scripted answers
}

func (f *fakeCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := loadSpec(f.t).ValidateRequest(r, body); err != nil && !knownSpecQuirk(err) {
		f.t.Errorf("request not valid against the CRM spec: %v", err)
	}
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	var scripted int
	if s := f.status[key]; len(s) > 0 {
		scripted, f.status[key] = s[0], s[1:]
	}
	f.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ") {
		f.t.Errorf("Authorization header = %q", r.Header.Get("Authorization"))
	}
	if scripted != 0 {
		for k, v := range f.header {
			w.Header()[k] = v
		}
		code := map[int]string{401: "INVALID_TOKEN", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR"}[scripted]
		writeJSON(w, scripted, map[string]any{"code": code, "details": map[string]any{}, "message": "scripted", "status": "error"})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/crm/v8/Contacts":
		f.list(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/crm/v8/Contacts":
		var in struct {
			Data []map[string]any `json:"data"`
		}
		_ = json.Unmarshal(body, &in)
		out := make([]map[string]any, len(in.Data))
		for i, d := range in.Data {
			if d["Last_Name"] == nil {
				out[i] = map[string]any{"code": "MANDATORY_NOT_FOUND", "status": "error", "message": "required field not found",
					"details": map[string]any{"api_name": "Last_Name", "json_path": fmt.Sprintf("$.data[%d].Last_Name", i)}}
				continue
			}
			out[i] = map[string]any{"code": "SUCCESS", "status": "success", "message": "record added",
				"details": map[string]any{"id": strconv.Itoa(5000 + i), "Created_Time": "2025-01-02T03:04:05+00:00", "Modified_Time": "2025-01-02T03:04:05+00:00",
					"Created_By": map[string]any{"id": "1", "name": "u"}, "Modified_By": map[string]any{"id": "1", "name": "u"}}}
		}
		writeJSON(w, http.StatusMultiStatus, map[string]any{"data": out})
	case r.Method == http.MethodGet && r.URL.Path == "/crm/bulk/v8/read/42/result":
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(bulkZip(f.t, f.n))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// list pages f.n records, honouring the 2,000-record cap of page numbers and
// handing out page tokens of the form "t<offset>".
func (f *fakeCRM) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Header.Get("If-Modified-Since") != "" {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	off := 0
	if tok := q.Get("page_token"); tok != "" {
		if q.Get("page") != "" {
			writeJSON(w, 400, map[string]any{"code": "INVALID_REQUEST", "details": map[string]any{}, "message": "page with page_token", "status": "error"})
			return
		}
		off, _ = strconv.Atoi(strings.TrimPrefix(tok, "t"))
	} else {
		page, _ := strconv.Atoi(q.Get("page"))
		off = (page - 1) * per
		if off+per > 2000 {
			writeJSON(w, 400, map[string]any{"code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED", "details": map[string]any{"limit": 2000}, "message": "only first 2000 records without page_token", "status": "error"})
			return
		}
	}
	if off >= f.n {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(off+per, f.n)
	data := make([]map[string]any, 0, end-off)
	for i := off; i < end; i++ {
		data = append(data, map[string]any{"id": strconv.Itoa(1000000 + i), "Last_Name": "L" + strconv.Itoa(i),
			"Account_Name": map[string]any{"id": "4150868000000002175", "name": "Acme"}, "Employees": json.Number("12"),
			"Created_Time": "2025-01-02T03:04:05+00:00", "Modified_Time": "2025-01-02T03:04:05+05:30"})
	}
	info := map[string]any{"per_page": per, "count": len(data), "more_records": end < f.n, "sort_by": "Modified_Time", "sort_order": "asc"}
	if end < f.n {
		info["next_page_token"] = "t" + strconv.Itoa(end)
	}
	writeJSON(w, 200, map[string]any{"data": data, "info": info})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func bulkZip(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("42.csv")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "Id,Last_Name,Email")
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, "%d,\"Doe, %d\",d%d@example.test\n", 1000000+i, i, i)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newFake(t *testing.T, n int) (*fakeCRM, *crm.Client) {
	f := &fakeCRM{t: t, n: n, status: map[string][]int{}, header: http.Header{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := crm.New(crm.Config{BaseURL: srv.URL, Tokens: zoho.StaticTokenSource("tok"), HTTPClient: srv.Client(),
		Trigger: crm.NoTriggers, Retry: zoho.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxWait: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestListSwitchesToPageTokenAfter2000(t *testing.T) {
	f, c := newFake(t, 2450)
	var got int
	var pages []crm.Cursor
	err := c.List(context.Background(), "Contacts", crm.ListOptions{Fields: []string{"Last_Name", "Account_Name"}}, func(p crm.Page) error {
		got += len(p.Records)
		pages = append(pages, p.Next)
		r := p.Records[0]
		if r.ID == "" || r.ModifiedTime.IsZero() || r.Fields["id"] != nil || r.Fields["Modified_Time"] != nil {
			t.Fatalf("record not split into typed fields: %+v", r)
		}
		if id, name, ok := r.Lookup("Account_Name"); !ok || id != "4150868000000002175" || name != "Acme" {
			t.Fatalf("lookup = %q %q %v", id, name, ok)
		}
		if _, ok := r.Fields["Employees"].(json.Number); !ok {
			t.Fatalf("numbers must decode as json.Number, got %T", r.Fields["Employees"])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != 2450 {
		t.Fatalf("got %d records, want 2450", got)
	}
	if pages[8] != (crm.Cursor{Page: 10}) || pages[9] != (crm.Cursor{PageToken: "t2000"}) {
		t.Fatalf("cursors = %+v", pages)
	}
	if !strings.Contains(f.calls[0], "sort_by=Modified_Time") || !strings.Contains(f.calls[0], "sort_order=asc") {
		t.Fatalf("first call %s should sort by Modified_Time asc", f.calls[0])
	}
}

func TestListResumesFromCursorAndHonours304(t *testing.T) {
	_, c := newFake(t, 2450)
	n := 0
	err := c.List(context.Background(), "Contacts", crm.ListOptions{Fields: []string{"Last_Name"}, Start: crm.Cursor{PageToken: "t2400"}}, func(p crm.Page) error {
		n += len(p.Records)
		return nil
	})
	if err != nil || n != 50 {
		t.Fatalf("resume: n=%d err=%v", n, err)
	}
	called := false
	err = c.List(context.Background(), "Contacts", crm.ListOptions{Fields: []string{"Last_Name"}, ModifiedSince: time.Now()}, func(crm.Page) error {
		called = true
		return nil
	})
	if err != nil || called {
		t.Fatalf("304 should end the scan quietly: err=%v called=%v", err, called)
	}
}

func TestListRefusesBadFieldSelections(t *testing.T) {
	_, c := newFake(t, 1)
	many := make([]string, 51)
	for i := range many {
		many[i] = "F" + strconv.Itoa(i)
	}
	for _, fields := range [][]string{nil, many} {
		if err := c.List(context.Background(), "Contacts", crm.ListOptions{Fields: fields}, func(crm.Page) error { return nil }); err == nil {
			t.Fatalf("fields %d accepted", len(fields))
		}
	}
}

func TestInsertPerRecordResultsInOrder(t *testing.T) {
	_, c := newFake(t, 0)
	recs := []crm.Record{
		{Fields: map[string]any{"Last_Name": "A"}},
		{Fields: map[string]any{"First_Name": "no last name"}},
		{Fields: map[string]any{"Last_Name": "C"}},
	}
	res, err := c.Insert(context.Background(), "Contacts", recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || !res[0].OK() || res[1].OK() || !res[2].OK() {
		t.Fatalf("results = %+v", res)
	}
	if res[0].ID != "5000" || res[2].ID != "5002" || res[0].CreatedTime.IsZero() {
		t.Fatalf("ids/times = %+v", res)
	}
	if zoho.FailureCode(res[1].Err) != zoho.CodeMandatoryMissing || res[1].Err.APIName != "Last_Name" || res[1].Err.Index != 1 {
		t.Fatalf("record 1 error = %+v", res[1].Err)
	}
	big := make([]crm.Record, 101)
	if _, err := c.Insert(context.Background(), "Contacts", big); !errors.Is(err, zoho.ErrBatchTooLarge) {
		t.Fatalf("101 records: %v", err)
	}
}

func TestRetriesAndRateLimits(t *testing.T) {
	cases := []struct {
		name      string
		statuses  []int
		header    http.Header
		wantErr   bool
		wantCode  string
		wantCalls int
	}{
		{"5xx then success", []int{500, 500}, nil, false, "", 3},
		{"concurrency 429 then success", []int{429}, nil, false, "", 2},
		{"credits exhausted is returned", []int{429}, http.Header{"X-Api-Credits-Remaining": {"0"}}, true, zoho.CodeCreditsExhausted, 1},
		{"persistent 5xx gives up", []int{500, 500, 500, 500}, nil, true, zoho.CodeServerError, 4},
		{"401 with static token fails after one retry", []int{401, 401}, nil, true, zoho.CodeAuthRevoked, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, 3)
			f.status["GET /crm/v8/Contacts"] = tc.statuses
			f.header = tc.header
			err := c.List(context.Background(), "Contacts", crm.ListOptions{Fields: []string{"Last_Name"}}, func(crm.Page) error { return nil })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr && zoho.FailureCode(err) != tc.wantCode {
				t.Fatalf("code = %s, want %s (%v)", zoho.FailureCode(err), tc.wantCode, err)
			}
			if len(f.calls) != tc.wantCalls {
				t.Fatalf("calls = %d, want %d: %v", len(f.calls), tc.wantCalls, f.calls)
			}
		})
	}
}

func TestWritesAreNotRetried(t *testing.T) {
	f, c := newFake(t, 0)
	f.status["POST /crm/v8/Contacts"] = []int{500}
	_, err := c.Insert(context.Background(), "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "A"}}})
	if err == nil || !zoho.IsTransient(err) || len(f.calls) != 1 {
		t.Fatalf("err=%v calls=%v", err, f.calls)
	}
}

func TestDownloadBulkReadStreamsRows(t *testing.T) {
	_, c := newFake(t, 1234)
	rows := 0
	err := c.DownloadBulkRead(context.Background(), "42", func(header, row []string) error {
		if len(header) != 3 || header[1] != "Last_Name" {
			t.Fatalf("header = %v", header)
		}
		if rows == 0 && row[1] != "Doe, 0" {
			t.Fatalf("row = %v", row)
		}
		rows++
		return nil
	})
	if err != nil || rows != 1234 {
		t.Fatalf("rows=%d err=%v", rows, err)
	}
}

func TestEveryCallBuildsASpecValidRequest(t *testing.T) {
	f, c := newFake(t, 0)
	ctx := context.Background()
	yes := true
	calls := map[string]func() error{
		"get": func() error {
			_, err := c.Get(ctx, "Contacts", "1000001", []string{"Last_Name"})
			return ignore204(err)
		},
		"search criteria": func() error {
			return c.Search(ctx, "Contacts", crm.SearchQuery{Criteria: crm.And(crm.Cond("Email", crm.OpEquals, "a@b.c"), crm.Cond("Last_Name", crm.OpStartsWith, "O(k)"))}, noop)
		},
		"search email": func() error {
			return c.Search(ctx, "Contacts", crm.SearchQuery{Email: "a@b.c", Fields: []string{"Email"}}, noop)
		},
		"deleted": func() error {
			return c.Deleted(ctx, "Contacts", crm.DeletedOptions{ModifiedSince: time.Now().Add(-time.Hour)}, func([]crm.DeletedRecord) error { return nil })
		},
		"update": func() error {
			_, err := c.Update(ctx, "Contacts", []crm.Record{{ID: "1000001", Fields: map[string]any{"Last_Name": "B"}}})
			return ignoreDecode(err)
		},
		"upsert": func() error {
			_, err := c.Upsert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "B", "Email": "b@x.test"}}}, []string{"Email"})
			return ignoreDecode(err)
		},
		"delete":        func() error { _, err := c.Delete(ctx, "Contacts", []string{"1", "2"}); return ignoreDecode(err) },
		"fields":        func() error { _, err := c.Fields(ctx, "Contacts"); return err },
		"related lists": func() error { _, err := c.RelatedLists(ctx, "Contacts"); return err },
		"related": func() error {
			return c.Related(ctx, "Contacts", "1000001", crm.RelatedDeals, crm.ListOptions{Fields: []string{"Deal_Name"}}, noop)
		},
		"watches":     func() error { _, err := c.Watches(ctx, "Contacts"); return err },
		"unwatch":     func() error { return c.Unwatch(ctx, []int64{1000000068001}) },
		"bulk status": func() error { _, err := c.BulkReadJob(ctx, "42"); return ignoreEmpty(err) },
		"watch": func() error {
			_, err := c.Watch(ctx, []crm.WatchChannel{{ChannelID: 1000000068001, Events: []string{"Contacts.all"},
				NotifyURL: "https://www.abcdezoho.com/hook", Token: "t", ChannelExpiry: time.Now().Add(time.Hour), NotifyOnRelatedAction: &yes}})
			return ignoreDecode(err)
		},
		"bulk create": func() error {
			_, err := c.CreateBulkRead(ctx, crm.BulkReadQuery{Module: "Contacts", Fields: []string{"Last_Name"}}, "")
			return ignoreEmpty(err)
		},
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_ = f
}

func noop(crm.Page) error { return nil }

// The fake answers 204 to everything it does not script; these helpers accept
// the resulting "no body" errors so that the test checks the requests only.
func ignore204(err error) error {
	if zoho.FailureCode(err) == zoho.CodeRecordNotFound {
		return nil
	}
	return err
}

func ignoreDecode(err error) error {
	if err != nil && (strings.Contains(err.Error(), "decode response") || strings.Contains(err.Error(), "results for")) {
		return nil
	}
	return err
}

func ignoreEmpty(err error) error {
	if err != nil && (strings.Contains(err.Error(), "no job") || strings.Contains(err.Error(), "empty response")) {
		return nil
	}
	return err
}
