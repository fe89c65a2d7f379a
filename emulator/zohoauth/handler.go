package zohoauth

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenPath and RevokePath are the Zoho Accounts endpoints served by
// TokenHandler.
const (
	TokenPath  = "/oauth/v2/token"
	RevokePath = "/oauth/v2/token/revoke"
)

// Check checks the Authorization header of r.
func (s *Store) Check(r *http.Request) Status {
	return s.CheckHeader(r.Header.Get("Authorization"))
}

// TokenResponse is the JSON the token endpoint answers on success.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	APIDomain   string `json:"api_domain"`
	TokenType   string `json:"token_type"`
}

// TokenHandler serves POST /oauth/v2/token (refresh-token grant) and POST
// /oauth/v2/token/revoke. apiDomain is returned as api_domain; when empty it
// is derived from the request (scheme and Host).
func (s *Store) TokenHandler(apiDomain string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
			return
		}
		p := requestParams(w, r)
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case TokenPath:
			s.serveToken(w, r, p, apiDomain)
		case RevokePath:
			if p.Get("token") == s.cfg.RefreshToken && s.refreshAllowed() {
				s.revokeAll()
			}
			writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "invalid_request"})
		}
	})
}

func (s *Store) serveToken(w http.ResponseWriter, r *http.Request, p params, apiDomain string) {
	id, secret := p.Get("client_id"), p.Get("client_secret")
	if u, pw, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, pw
	}
	if e := s.grantError(p.Get("grant_type"), id, secret, p.Get("refresh_token")); e != "" {
		// Zoho Accounts answers errors with HTTP 200 and no access_token.
		writeJSON(w, http.StatusOK, map[string]string{"error": e})
		return
	}
	tok, exp := s.Issue()
	if apiDomain == "" {
		apiDomain = RequestBase(r)
	}
	writeJSON(w, http.StatusOK, TokenResponse{
		AccessToken: tok,
		ExpiresIn:   int(exp.Sub(s.cfg.Now()).Round(time.Second) / time.Second),
		APIDomain:   apiDomain,
		TokenType:   "Bearer",
	})
}

// grantError decides the Zoho Accounts error code for a token request, or ""
// when the request is good.
func (s *Store) grantError(grant, clientID, secret, refresh string) string {
	switch {
	case grant != "refresh_token":
		if grant == "" {
			return "invalid_request"
		}
		return "unsupported_grant_type"
	case clientID != s.cfg.ClientID || secret != s.cfg.ClientSecret:
		return "invalid_client"
	case refresh != s.cfg.RefreshToken || !s.refreshAllowed():
		return "invalid_code"
	}
	return ""
}

// params merges the parameters of a token request: the query string, then
// the body (the body wins).
type params map[string]string

// Get returns the value of a parameter or "".
func (m params) Get(k string) string { return m[k] }

// maxTokenBody bounds a token request's body; a refresh request is a few
// hundred bytes.
const maxTokenBody = 64 << 10

// requestParams reads a token request's parameters from every place Zoho
// Accounts takes them (zoho-api.md A2; Zoho's OAuth protocol pages send them
// as query parameters, curl examples as a form body): the query string, an
// application/x-www-form-urlencoded body, and a multipart/form-data body —
// the encoding Zoho's official SDKs use (zohocrm-nodejs-sdk-8.0
// models/authenticator/oauth_token.js refreshAccessToken builds a FormData).
// A body in any other encoding contributes nothing.
func requestParams(w http.ResponseWriter, r *http.Request) params {
	out := params{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body url.Values
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxTokenBody); err == nil && r.MultipartForm != nil {
			body = r.MultipartForm.Value
		}
	default:
		if err := r.ParseForm(); err == nil {
			body = r.PostForm
		}
	}
	for k, v := range body {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// RequestBase returns "scheme://host" of the request as the client saw it.
func RequestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
