package crm

import (
	"net/http"
	"testing"
	"time"

	"deskcrm/zoho"
)

func TestParseErrorFailureCodes(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		code      string
		transient bool
		wait      time.Duration
	}{
		{"type mismatch", 400, nil, `{"code":"INVALID_DATA","details":{"api_name":"Employees","json_path":"$.data[0].Employees","expected_data_type":"integer"},"message":"invalid data","status":"error"}`, zoho.CodeTypeMismatch, false, 0},
		{"too long", 400, nil, `{"code":"INVALID_DATA","details":{"api_name":"Phone","maximum_length":30},"message":"invalid data","status":"error"}`, zoho.CodeValueTooLong, false, 0},
		{"bad id", 400, nil, `{"code":"INVALID_DATA","details":{"id":"1"},"message":"the id given seems to be invalid","status":"error"}`, zoho.CodeRecordNotFound, false, 0},
		{"mandatory", 400, nil, `{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"}`, zoho.CodeMandatoryMissing, false, 0},
		{"duplicate", 400, nil, `{"code":"DUPLICATE_DATA","details":{"api_name":"Email","duplicate_record":{"id":"9"}},"message":"duplicate data","status":"error"}`, zoho.CodeDuplicateData, false, 0},
		{"missing param", 400, nil, `{"code":"REQUIRED_PARAM_MISSING","details":{"param_name":"fields"},"message":"One of the expected parameter is missing","status":"error"}`, zoho.CodeMissingParameter, false, 0},
		{"bad module", 400, nil, `{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"the module name given seems to be invalid","status":"error"}`, zoho.CodeInvalidParameter, false, 0},
		{"invalid token", 401, nil, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`, zoho.CodeAuthRevoked, false, 0},
		{"scope", 401, nil, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"Unauthorized","status":"error"}`, zoho.CodePermissionDenied, false, 0},
		{"concurrency 429", 429, nil, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"concurrency limit exceeded","status":"error"}`, zoho.CodeRateLimited, true, time.Second},
		{"credits by message", 429, nil, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"number of API requests for the 24 hour period is exceeded","status":"error"}`, zoho.CodeCreditsExhausted, true, zoho.DefaultCreditsWait},
		{"credits by header", 429, http.Header{"X-Api-Credits-Remaining": {"0"}, "Retry-After": {"600"}}, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"x","status":"error"}`, zoho.CodeCreditsExhausted, true, 10 * time.Minute},
		{"server", 500, nil, `{"code":"INTERNAL_ERROR","details":{},"message":"x","status":"error"}`, zoho.CodeServerError, true, 0},
		{"html 502", 502, nil, `<html>bad gateway</html>`, zoho.CodeServerError, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			err := parseError(tc.status, h, []byte(tc.body))
			if got := zoho.FailureCode(err); got != tc.code {
				t.Fatalf("code = %s, want %s (%v)", got, tc.code, err)
			}
			if zoho.IsTransient(err) != tc.transient {
				t.Fatalf("transient = %v", zoho.IsTransient(err))
			}
			d, ok := zoho.RetryAfter(err)
			if ok != (tc.wait > 0) || d != tc.wait {
				t.Fatalf("RetryAfter = %v %v, want %v", d, ok, tc.wait)
			}
		})
	}
}

func TestCriteriaEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"Burns,B", `Burns\,B`},
		{"(Acme)", `\(Acme\)`},
		{`ends\`, `ends\\`},
		{`mid\dle`, `mid\\dle`},
		{`x\)`, `x\\\)`},
		{`a\,(Email:equals:b)`, `a\\\,\(Email:equals:b\)`},
	}
	for _, tc := range cases {
		if got := EscapeCriteriaValue(tc.in); got != tc.want {
			t.Errorf("EscapeCriteriaValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := And(Cond("Email", OpEquals, "a@b.c"), Cond("Last_Name", OpIn, "O,K", "X")); got != `((Email:equals:a@b.c)and(Last_Name:in:O\,K,X))` {
		t.Errorf("And = %s", got)
	}
	if got := Or(Cond("A", OpEquals, "1")); got != "(A:equals:1)" {
		t.Errorf("single Or = %s", got)
	}
}

func TestNextCursor(t *testing.T) {
	cases := []struct {
		name string
		cur  Cursor
		info Info
		per  int
		want Cursor
		err  bool
	}{
		{"first page", Cursor{}, Info{NextPageToken: "x"}, 200, Cursor{Page: 2}, false},
		{"page 9 to 10", Cursor{Page: 9}, Info{}, 200, Cursor{Page: 10}, false},
		{"page 10 switches to token", Cursor{Page: 10}, Info{NextPageToken: "tok"}, 200, Cursor{PageToken: "tok"}, false},
		{"small pages", Cursor{Page: 19}, Info{}, 100, Cursor{Page: 20}, false},
		{"no token at the cap", Cursor{Page: 10}, Info{}, 200, Cursor{}, true},
		{"token to token", Cursor{PageToken: "a"}, Info{NextPageToken: "b"}, 200, Cursor{PageToken: "b"}, false},
	}
	for _, tc := range cases {
		got, err := nextCursor(tc.cur, tc.info, tc.per)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %+v %v, want %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestMaxLengthAndDuplicateShapes: maximum_length arrives as a string (the
// spec) or a number (Zoho's createRecords example); DUPLICATE_DATA names the
// existing record in details.id or only in duplicate_record.id (the v8
// example has both).
func TestMaxLengthAndDuplicateShapes(t *testing.T) {
	for _, body := range []string{
		`{"code":"INVALID_DATA","details":{"api_name":"Number_1","maximum_length":2,"json_path":"$.data[0].Number_1"},"message":"invalid data","status":"error"}`,
		`{"code":"INVALID_DATA","details":{"api_name":"Number_1","maximum_length":"2","json_path":"$.data[0].Number_1"},"message":"invalid data","status":"error"}`,
	} {
		e := parseError(400, http.Header{}, []byte(body)).(*Error)
		if n, ok := e.MaxLength(); !ok || n != 2 || e.APIName != "Number_1" {
			t.Errorf("MaxLength of %s = %d, %v", body, n, ok)
		}
	}
	if _, ok := (&Error{Code: "INVALID_DATA"}).MaxLength(); ok {
		t.Error("MaxLength without maximum_length")
	}
	e := parseError(400, http.Header{}, []byte(`{"code":"DUPLICATE_DATA","details":{"api_name":"Unique_1","duplicate_record":{"id":"9","module":{"api_name":"Leads","id":"1"}},"more_records":true},"message":"duplicate data","status":"error"}`))
	d, ok := zoho.DuplicateDetails(e)
	if !ok || d != (zoho.Duplicate{Field: "Unique_1", ExistingID: "9", ExistingModule: "Leads", MoreRecords: true}) {
		t.Errorf("DuplicateDetails = %+v, %v", d, ok)
	}
}
