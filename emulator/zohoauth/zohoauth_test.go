package zohoauth

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	APIDomain   string `json:"api_domain"`
	TokenType   string `json:"token_type"`
	Error       string `json:"error"`
}

func postToken(t *testing.T, srvURL string, query, form url.Values, basicUser, basicPass string) (int, tokenReply) {
	t.Helper()
	return postTokenAs(t, srvURL, "urlencoded", query, form, basicUser, basicPass)
}

// postTokenAs posts a token request with the body encoded as enc:
// "urlencoded" (application/x-www-form-urlencoded) or "multipart"
// (multipart/form-data, as Zoho's SDKs send it).
func postTokenAs(t *testing.T, srvURL, enc string, query, form url.Values, basicUser, basicPass string) (int, tokenReply) {
	t.Helper()
	u := srvURL + TokenPath
	if query != nil {
		u += "?" + query.Encode()
	}
	var body bytes.Buffer
	ctype := "application/x-www-form-urlencoded"
	switch enc {
	case "urlencoded":
		body.WriteString(form.Encode())
	case "multipart":
		mw := multipart.NewWriter(&body)
		for k, vs := range form {
			for _, v := range vs {
				if err := mw.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		ctype = mw.FormDataContentType()
	default:
		t.Fatalf("unknown encoding %q", enc)
	}
	req, _ := http.NewRequest(http.MethodPost, u, &body)
	req.Header.Set("Content-Type", ctype)
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokenReply
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func good() url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "refresh_token": {DefaultRefreshToken}}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	if val == "" {
		out.Del(k)
	} else {
		out.Set(k, val)
	}
	return out
}

func TestTokenEndpoint(t *testing.T) {
	s := NewStore(Config{})
	srv := httptest.NewServer(s.TokenHandler(""))
	defer srv.Close()
	tests := []struct {
		name        string
		query, form url.Values
		user, pass  string
		wantError   string
	}{
		{name: "form body", form: good()},
		{name: "query string", query: good()},
		{name: "basic auth", form: with(with(good(), "client_id", ""), "client_secret", ""), user: DefaultClientID, pass: DefaultClientSecret},
		{name: "wrong client id", form: with(good(), "client_id", "x"), wantError: "invalid_client"},
		{name: "wrong secret", form: with(good(), "client_secret", "x"), wantError: "invalid_client"},
		{name: "wrong basic secret", form: with(with(good(), "client_id", ""), "client_secret", ""), user: DefaultClientID, pass: "x", wantError: "invalid_client"},
		{name: "wrong refresh token", form: with(good(), "refresh_token", "x"), wantError: "invalid_code"},
		{name: "unsupported grant", form: with(good(), "grant_type", "password"), wantError: "unsupported_grant_type"},
	}
	for _, enc := range []string{"urlencoded", "multipart"} {
		for _, tt := range tests {
			t.Run(enc+"/"+tt.name, func(t *testing.T) {
				code, out := postTokenAs(t, srv.URL, enc, tt.query, tt.form, tt.user, tt.pass)
				if code != http.StatusOK {
					t.Errorf("HTTP %d, want 200 (Zoho answers errors with 200 too)", code)
				}
				if out.Error != tt.wantError {
					t.Fatalf("error = %q, want %q", out.Error, tt.wantError)
				}
				if tt.wantError != "" {
					if out.AccessToken != "" {
						t.Errorf("error reply carries an access_token")
					}
					return
				}
				if out.ExpiresIn != 3600 || out.TokenType != "Bearer" || out.APIDomain != srv.URL {
					t.Errorf("reply = %+v", out)
				}
				if st := s.CheckHeader(HeaderPrefix + out.AccessToken); st != Valid {
					t.Errorf("issued token checks as %v", st)
				}
			})
		}
	}
}

func TestConfiguredClientAndDomain(t *testing.T) {
	s := NewStore(Config{ClientID: "c", ClientSecret: "s", RefreshToken: "r", Lifetime: 10 * time.Minute})
	srv := httptest.NewServer(s.TokenHandler("https://www.zohoapis.test"))
	defer srv.Close()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"c"}, "client_secret": {"s"}, "refresh_token": {"r"}}
	_, out := postToken(t, srv.URL, nil, form, "", "")
	if out.APIDomain != "https://www.zohoapis.test" || out.ExpiresIn != 600 {
		t.Errorf("reply = %+v", out)
	}
	if _, out := postToken(t, srv.URL, nil, good(), "", ""); out.Error != "invalid_client" {
		t.Errorf("default credentials accepted by a configured store: %+v", out)
	}
}

func TestCheckStatuses(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s := NewStore(Config{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	tok, _ := s.Issue()
	tests := []struct {
		name, header string
		advance      time.Duration
		want         Status
	}{
		{"valid", HeaderPrefix + tok, 0, Valid},
		{"missing", "", 0, Missing},
		{"wrong scheme", "Bearer " + tok, 0, Missing},
		{"empty token", HeaderPrefix, 0, Missing},
		{"unknown", HeaderPrefix + "1000.nope", 0, Unknown},
		{"expired after lifetime", HeaderPrefix + tok, time.Hour, Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			now = now.Add(tt.advance)
			mu.Unlock()
			if got := s.CheckHeader(tt.header); got != tt.want {
				t.Errorf("CheckHeader = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpireAllAndSharedStore(t *testing.T) {
	s := NewStore(Config{})
	// Two emulators sharing one store accept each other's tokens.
	crm := httptest.NewServer(s.TokenHandler(""))
	defer crm.Close()
	desk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Check(r) != Valid {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer desk.Close()
	_, out := postToken(t, crm.URL, nil, good(), "", "")
	call := func() int {
		req, _ := http.NewRequest(http.MethodGet, desk.URL, nil)
		req.Header.Set("Authorization", HeaderPrefix+out.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call(); code != 200 {
		t.Fatalf("desk rejected a token issued by the crm token endpoint: %d", code)
	}
	if n := s.ExpireAll(); n != 1 {
		t.Errorf("ExpireAll = %d, want 1", n)
	}
	if code := call(); code != 401 {
		t.Errorf("expired token accepted: %d", code)
	}
	if st := s.CheckHeader(HeaderPrefix + out.AccessToken); st != Expired {
		t.Errorf("status after ExpireAll = %v", st)
	}
	// Refreshing gives a working token again.
	_, out = postToken(t, crm.URL, nil, good(), "", "")
	if code := call(); code != 200 {
		t.Errorf("fresh token rejected: %d", code)
	}
}

func TestRevoke(t *testing.T) {
	s := NewStore(Config{})
	srv := httptest.NewServer(s.TokenHandler(""))
	defer srv.Close()
	_, out := postToken(t, srv.URL, nil, good(), "", "")
	resp, err := http.PostForm(srv.URL+RevokePath, url.Values{"token": {DefaultRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := s.CheckHeader(HeaderPrefix + out.AccessToken); st != Unknown {
		t.Errorf("token after revoke = %v, want unknown", st)
	}
	if _, out := postToken(t, srv.URL, nil, good(), "", ""); out.Error != "invalid_code" {
		t.Errorf("refresh after revoke = %+v, want invalid_code", out)
	}
}

func TestSetLifetime(t *testing.T) {
	s := NewStore(Config{})
	s.SetLifetime(2 * time.Minute)
	if s.Lifetime() != 2*time.Minute {
		t.Fatalf("Lifetime = %v", s.Lifetime())
	}
	_, exp := s.Issue()
	if d := time.Until(exp); d > 2*time.Minute || d < time.Minute {
		t.Errorf("token expires in %v, want about 2m", d)
	}
}
