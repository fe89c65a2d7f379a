package crmspec

import (
	"fmt"

	"errors"
	"github.com/getkin/kin-openapi/openapi3"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

var (
	specOnce sync.Once
	spec     *Spec
	specErr  error
)

func loadSpec(t testing.TB) *Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = Load() })
	if specErr != nil {
		t.Fatalf("load spec: %v", specErr)
	}
	return spec
}

func TestRouteOf(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/crm/v8/Contacts", "/crm/v8/{module_api_name}"},
		{"GET", "/crm/v8/Contacts/123", "/crm/v8/{module_api_name}/{id}"},
		{"GET", "/crm/v8/Contacts/search", "/crm/v8/{module}/search"},
		{"GET", "/crm/v8/Contacts/deleted", "/crm/v8/{module_api_name}/deleted"},
		{"GET", "/crm/v8/Contacts/actions/count", "/crm/v8/{module_api_name}/actions/count"},
		{"POST", "/crm/v8/Contacts/upsert", "/crm/v8/{module_api_name}/upsert"},
		{"GET", "/crm/v8/Notes", "/crm/v8/Notes"},
		{"GET", "/crm/v8/settings/fields", "/crm/v8/settings/fields"},
		{"POST", "/crm/v8/actions/watch", "/crm/v8/actions/watch"},
		{"GET", "/crm/v8/Accounts/1/Deals", "/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}"},
		{"POST", "/crm/bulk/v8/read", "/crm/bulk/v8/read"},
		{"GET", "/crm/bulk/v8/read/5/result", "/crm/bulk/v8/read/{job_id}/result"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, err := s.RouteOf(httptest.NewRequest(tt.method, tt.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RouteOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		name, method, target, body string
		wantErr                    bool
		notInSpec                  bool
	}{
		{name: "list", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name,Email&per_page=200"},
		{name: "insert", method: "POST", target: "/crm/v8/Contacts", body: `{"data":[{"Last_Name":"Doe"}],"trigger":[]}`},
		{name: "insert with data not an array", method: "POST", target: "/crm/v8/Contacts", body: `{"data":{"Last_Name":"Doe"}}`, wantErr: true},
		{name: "search without per_page (quirk 5)", method: "GET", target: "/crm/v8/Contacts/search?email=a@b.c", wantErr: true},
		{name: "search", method: "GET", target: "/crm/v8/Contacts/search?email=a@b.c&per_page=200"},
		{name: "token endpoint skipped", method: "POST", target: "/oauth/v2/token?grant_type=refresh_token"},
		{name: "admin skipped", method: "GET", target: "/_emulator/calls"},
		{name: "unknown path", method: "GET", target: "/crm/v9/Contacts", wantErr: true, notInSpec: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			err := s.ValidateRequest(req, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateRequest err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.notInSpec && !errors.Is(err, ErrNotInSpec) {
				t.Errorf("err = %v, want ErrNotInSpec", err)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	s := loadSpec(t)
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, target string
		status               int
		body                 string
		wantErr              bool
	}{
		{name: "list page", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 200,
			body: `{"data":[{"id":"1","Last_Name":"Doe","Created_Time":"2023-10-15T10:30:00+00:00"}],"info":{"per_page":200,"count":1,"page":1,"more_records":false,"sort_by":"id","sort_order":"desc"}}`},
		{name: "list with bad info type", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 200,
			body: `{"data":[{"id":"1"}],"info":{"count":"one"}}`, wantErr: true},
		{name: "null page token is not allowed by the spec", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 200,
			body: `{"data":[{"id":"1"}],"info":{"count":1,"previous_page_token":null}}`, wantErr: true},
		{name: "empty list 204", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 204},
		{name: "204 with a body", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 204, body: `{}`, wantErr: true},
		{name: "insert 201 falls back to 200 schema", method: "POST", target: "/crm/v8/Contacts", status: 201,
			body: `{"data":[{"code":"SUCCESS","status":"success","message":"record added","details":{"id":"1","Created_Time":"2023-05-10T01:10:47-07:00","Created_By":{"name":"A","id":"2"}}}]}`},
		{name: "insert 400 per-record error", method: "POST", target: "/crm/v8/Contacts", status: 400,
			body: `{"data":[{"code":"MANDATORY_NOT_FOUND","status":"error","message":"required field not found","details":{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"}}]}`},
		{name: "insert per-record error with a message outside the enum", method: "POST", target: "/crm/v8/Contacts", status: 400,
			body: `{"data":[{"code":"MANDATORY_NOT_FOUND","status":"error","message":"nope","details":{}}]}`, wantErr: true},
		{name: "401 envelope", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 401,
			body: `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`},
		{name: "401 without details", method: "GET", target: "/crm/v8/Contacts?fields=Last_Name", status: 401,
			body: `{"code":"INVALID_TOKEN","message":"invalid oauth token","status":"error"}`, wantErr: true},
		{name: "deleted records (quirk 4)", method: "GET", target: "/crm/v8/Contacts/deleted", status: 200,
			body: `{"data":[{"id":"1","display_name":"Doe","type":"recycle","deleted_time":"2023-10-15T10:30:00+00:00","deleted_by":{"name":"A","id":"2"},"created_by":{"name":"A","id":"2"}}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}}`},
		{name: "admin skipped", method: "GET", target: "/_emulator/calls", status: 200, body: `not json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			err := s.ValidateResponse(req, nil, tt.status, jsonHdr, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateResponse err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

// fakeT records Errorf calls so the Transport's reporting can be checked.
type fakeT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, format)
}

func TestTransport(t *testing.T) {
	s := loadSpec(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("bad") != "" {
			_, _ = w.Write([]byte(`{"data":[{"id":"1"}],"info":{"count":"x"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":[{"id":"1"}],"info":{"count":1}}`))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		query    string
		wantErrs int
	}{{"?fields=Email", 0}, {"?fields=Email&bad=1", 1}} {
		ft := &fakeT{TB: t}
		c := &http.Client{Transport: Transport(ft, s, nil)}
		resp, err := c.Get(srv.URL + "/crm/v8/Contacts" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if len(ft.errs) != tt.wantErrs {
			t.Errorf("%s: %d errors reported (%v), want %d", tt.query, len(ft.errs), ft.errs, tt.wantErrs)
		}
	}
}

func TestFilterOneOf(t *testing.T) {
	ambiguous := &openapi3.SchemaError{SchemaField: "oneOf", Reason: `value matches more than one schema from "oneOf" (matches schemas at indices [0 1])`}
	none := &openapi3.SchemaError{SchemaField: "oneOf", Reason: `value doesn't match any schema from "oneOf"`}
	tests := []struct {
		name string
		err  error
		want bool // error kept
	}{
		{"nil", nil, false},
		{"ambiguous", ambiguous, false},
		{"wrapped ambiguous", fmt.Errorf("response body: %w", ambiguous), false},
		{"no branch", none, true},
		{"multi with one real error", openapi3.MultiError{ambiguous, none}, true},
		{"multi all ambiguous", openapi3.MultiError{ambiguous, ambiguous}, false},
		{"other error", errors.New("boom"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterOneOf(tt.err) != nil; got != tt.want {
				t.Errorf("filterOneOf(%v) kept = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
