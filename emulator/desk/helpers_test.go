package desk

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// env is an emulator behind an httptest server with a valid token.
type env struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	token string
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	if cfg.SigningKey == nil {
		cfg.SigningKey = testKey
	}
	s := New(cfg)
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	tok, _ := s.Auth().Issue()
	return &env{t: t, srv: s, http: hs, token: tok}
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return m
}

func (r resp) data(t *testing.T) []map[string]any {
	t.Helper()
	raw, ok := r.json(t)["data"].([]any)
	if !ok {
		t.Fatalf("no data array in %s", r.body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

// do sends an API call with the env's token and orgId header.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	h := map[string]string{"Authorization": "Zoho-oauthtoken " + e.token, "orgId": DefaultOrgID}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			delete(h, hdr[i])
		} else {
			h[hdr[i]] = hdr[i+1]
		}
	}
	return e.raw(method, path, body, h)
}

func (e *env) raw(method, path string, body any, h map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		bs, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(bs)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// expectError checks a Desk error answer: status, errorCode and, when given,
// the first error's fieldName and errorType.
func expectError(t *testing.T, r resp, status int, code string, field, typ string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["errorCode"] != code {
		t.Fatalf("errorCode = %v, want %s; body %s", m["errorCode"], code, r.body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Fatalf("error without message: %s", r.body)
	}
	if field == "" {
		return
	}
	errs, _ := m["errors"].([]any)
	for _, x := range errs {
		fe := x.(map[string]any)
		if fe["fieldName"] == field && fe["errorType"] == typ {
			return
		}
	}
	t.Fatalf("no error {fieldName:%s errorType:%s} in %s", field, typ, r.body)
}

var (
	idRE   = regexp.MustCompile(`^[0-9]{16,19}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// checkShape checks a contact or account object against zoho-api.md B2/B3:
// string ids, ISO .SSSZ timestamps, cf object, CRM link field present.
func checkShape(t *testing.T, module string, m map[string]any) {
	t.Helper()
	id, _ := m["id"].(string)
	if !idRE.MatchString(id) {
		t.Errorf("id %v is not a 16-19 digit string", m["id"])
	}
	for _, k := range []string{"createdTime", "modifiedTime"} {
		if s, _ := m[k].(string); !timeRE.MatchString(s) {
			t.Errorf("%s = %v, want yyyy-MM-ddTHH:mm:ss.SSSZ", k, m[k])
		}
	}
	if _, ok := m["cf"].(map[string]any); !ok {
		t.Errorf("cf is not an object: %v", m["cf"])
	}
	link := "zohoCRMContact"
	required := []string{"lastName", "firstName", "email", "phone", "mobile", "accountId", "ownerId", "isTrashed", "isDeleted"}
	if module == ModuleAccounts {
		link = "zohoCRMAccount"
		required = []string{"accountName", "email", "website", "phone", "industry", "ownerId", "isTrashed", "isDeleted"}
	}
	if v, ok := m[link]; !ok || v != nil {
		t.Errorf("%s = %v (present %v), want null", link, v, ok)
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			t.Errorf("field %s missing from %s object", k, module)
		}
	}
	if owner, ok := m["ownerId"].(string); ok && !idRE.MatchString(owner) {
		t.Errorf("ownerId %q is not an id", owner)
	}
}

func ms(t time.Time) string { return t.UTC().Format(timeLayout) }
