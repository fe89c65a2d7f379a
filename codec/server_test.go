package codec

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	testAdmin = "codec-test-admin-token"
	uiOrigin  = "http://127.0.0.1:8233"
)

type codecEnv struct {
	srv   *httptest.Server
	c     *Codec
	clock atomic.Int64
}

func newCodecEnv(t *testing.T) *codecEnv {
	t.Helper()
	c, err := New(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &codecEnv{c: c}
	e.clock.Store(time.Now().UnixNano())
	e.srv = httptest.NewServer(Server(c, ServerOptions{AdminToken: testAdmin, Origins: []string{uiOrigin},
		Now: func() time.Time { return time.Unix(0, e.clock.Load()) }}))
	t.Cleanup(e.srv.Close)
	return e
}

// sealedBody is a decode request of one sealed payload, as the UI sends it.
func (e *codecEnv) sealedBody(t *testing.T) string {
	t.Helper()
	sealed, err := e.c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data: []byte(`"` + secretValue + `"`)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	return string(b)
}

func (e *codecEnv) post(t *testing.T, client *http.Client, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The attack: anyone who can reach the worker asks it to decrypt history. Without the admin
// token or a session, or from a browser origin that is not the UI's, it refuses.
func TestCodecServerRefusesStrangers(t *testing.T) {
	e := newCodecEnv(t)
	body := e.sealedBody(t)
	cl := e.srv.Client()
	for name, hdr := range map[string]map[string]string{
		"no credentials":      nil,
		"wrong token":         {"Authorization": "Bearer nope"},
		"forged cookie":       {"Cookie": SessionCookie + "=zzzz.AAAA"},
		"UI origin, no token": {"Origin": uiOrigin},
	} {
		res, got := e.post(t, cl, "/codec/decode", body, hdr)
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(got, secretValue) {
			t.Errorf("%s: %d %s", name, res.StatusCode, got)
		}
	}
	res, got := e.post(t, cl, "/codec/decode", body, map[string]string{"Origin": "http://evil.example", "Authorization": "Bearer " + testAdmin})
	if res.StatusCode != http.StatusForbidden || strings.Contains(got, secretValue) || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin: %d %s", res.StatusCode, got)
	}
	// Preflight: the UI origin gets CORS with credentials, another origin nothing.
	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/codec/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if r := pre(uiOrigin); r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != uiOrigin ||
		r.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Errorf("preflight from the UI: %d %v", r.StatusCode, r.Header)
	}
	if r := pre("http://evil.example"); r.StatusCode != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from elsewhere: %d %v", r.StatusCode, r.Header)
	}
	// A body over the limit is refused, not buffered.
	if res, _ := e.post(t, cl, "/codec/decode", strings.Repeat(" ", maxCodecBody+10), map[string]string{"Authorization": "Bearer " + testAdmin}); res.StatusCode < 400 {
		t.Errorf("huge body: %d", res.StatusCode)
	}
}

func TestCodecServerDecodesForTheAdmin(t *testing.T) {
	e := newCodecEnv(t)
	body := e.sealedBody(t)
	res, got := e.post(t, e.srv.Client(), "/codec/decode", body, map[string]string{"Authorization": "Bearer " + testAdmin})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("bearer: %d %s", res.StatusCode, got)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal([]byte(got), &out); err != nil || string(out.Payloads[0].Data) != `"`+secretValue+`"` {
		t.Fatalf("decoded = %v %v", &out, err)
	}
	// Encode too: the UI encodes what an admin types in (signal input).
	res, got = e.post(t, e.srv.Client(), "/codec/encode", `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IngiIg=="}]}`,
		map[string]string{"Authorization": "Bearer " + testAdmin})
	if res.StatusCode != http.StatusOK || !strings.Contains(got, "YmluYXJ5L2VuY3J5cHRlZA") { // base64 of binary/encrypted
		t.Fatalf("encode: %d %s", res.StatusCode, got)
	}

	// A browser signs in once with the admin token; its cookie then opens the codec.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	form := func(token string) *http.Response {
		res, err := browser.PostForm(e.srv.URL+LoginPath, url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if r := form("wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token: %d", r.StatusCode)
	}
	if r := form(testAdmin); r.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", r.StatusCode)
	}
	res, got = e.post(t, browser, "/codec/decode", body, map[string]string{"Origin": uiOrigin, "X-Namespace": "default"})
	if res.StatusCode != http.StatusOK || !strings.Contains(got, "anNvbi9wbGFpbg==") || res.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Fatalf("with the session: %d %s %v", res.StatusCode, got, res.Header)
	}
	// Sessions end.
	e.clock.Add(int64(DefaultSessionTTL + time.Minute))
	if res, _ := e.post(t, browser, "/codec/decode", body, map[string]string{"Origin": uiOrigin}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the session: %d", res.StatusCode)
	}
}
