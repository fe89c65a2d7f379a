package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/crmspec"
)

var (
	specOnce sync.Once
	spec     *crmspec.Spec
	specErr  error
)

func loadSpec(t testing.TB) *crmspec.Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = crmspec.Load() })
	if specErr != nil {
		t.Fatalf("load CRM spec: %v", specErr)
	}
	return spec
}

// env is an emulator behind an httptest server plus a client holding a
// valid token. Every response is validated against the official spec.
type env struct {
	t     testing.TB
	s     *Server
	srv   *httptest.Server
	token string
	spec  *crmspec.Spec
}

// newEnv starts an emulator for cfg. A zero cfg.SearchLag becomes
// NoSearchLag: the unit tests search right after writing; TestSearchLag sets
// its own lag.
func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	if cfg.SearchLag == 0 {
		cfg.SearchLag = NoSearchLag
	}
	s := New(cfg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	tok, _ := s.Auth().Issue()
	return &env{t: t, s: s, srv: srv, token: tok, spec: loadSpec(t)}
}

// resp is a decoded API answer.
type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) data() []map[string]any {
	arr, _ := r.body["data"].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, a := range arr {
		m, _ := a.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r resp) info() map[string]any {
	m, _ := r.body["info"].(map[string]any)
	return m
}

// reqOpt adjusts a request.
type reqOpt func(*http.Request, *callOpts)

type callOpts struct {
	badRequest bool // the request is deliberately outside the spec
	notInSpec  bool // the endpoint is in none of the spec files: nothing is validated
	noAuth     bool
	authHeader string
}

// badReq marks a request that deliberately violates the spec (so only the
// response is validated).
func badReq(_ *http.Request, o *callOpts) { o.badRequest = true }

// notInSpec marks a call to an endpoint the loaded spec files lack, which the spec's router
// would match to another operation (POST /crm/v8/coql to insert records in module "coql"):
// nothing is validated against the spec.
func notInSpec(_ *http.Request, o *callOpts) { o.notInSpec = true }

func header(k, v string) reqOpt { return func(r *http.Request, _ *callOpts) { r.Header.Set(k, v) } }

func auth(h string) reqOpt {
	return func(r *http.Request, o *callOpts) { o.noAuth = true; o.authHeader = h }
}

func (e *env) call(method, path string, body any, opts ...reqOpt) resp {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var o callOpts
	for _, opt := range opts {
		opt(req, &o)
	}
	if o.noAuth {
		if o.authHeader != "" {
			req.Header.Set("Authorization", o.authHeader)
		}
	} else {
		req.Header.Set("Authorization", zohoauth.HeaderPrefix+e.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header}
	if out.raw, err = io.ReadAll(res.Body); err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(out.raw) > 0 {
		if err := json.Unmarshal(out.raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, out.raw)
		}
	}
	e.validate(req, raw, out, o)
	return out
}

// validate checks the exchange against the spec.
func (e *env) validate(req *http.Request, reqBody []byte, out resp, o callOpts) {
	e.t.Helper()
	if crmspec.Skipped(req.URL.Path) || o.notInSpec {
		return
	}
	if !o.badRequest {
		if err := e.spec.ValidateRequest(req, reqBody); err != nil {
			e.t.Errorf("request does not conform: %v", err)
		}
	}
	if err := e.spec.ValidateResponse(req, reqBody, out.status, out.header, out.raw); err != nil {
		if errors.Is(err, crmspec.ErrNotInSpec) && o.badRequest {
			return
		}
		e.t.Errorf("response does not conform: %v\nbody: %.600s", err, out.raw)
	}
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

func wantStatus(t testing.TB, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %.800s", r.status, status, r.raw)
	}
}

func wantCode(t testing.TB, r resp, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	if got, _ := r.body["code"].(string); got != code {
		t.Fatalf("code %q, want %q; body %.800s", got, code, r.raw)
	}
}

// insert creates records through the API and returns their ids.
func (e *env) insert(module string, recs ...map[string]any) []string {
	e.t.Helper()
	r := e.call("POST", "/crm/v8/"+module, map[string]any{"data": recs})
	if r.status != http.StatusCreated {
		e.t.Fatalf("insert %s: %d %s", module, r.status, r.raw)
	}
	var ids []string
	for _, d := range r.data() {
		ids = append(ids, d["details"].(map[string]any)["id"].(string))
	}
	return ids
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
