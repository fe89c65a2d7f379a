package codec

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
)

// Paths of the codec server. The Temporal UI is given Prefix as its codec endpoint and
// appends /encode and /decode.
const (
	Prefix     = "/codec"
	LoginPath  = Prefix + "/login"
	LogoutPath = Prefix + "/logout"
	// SessionCookie holds a signed session after a login, for the Temporal UI's requests
	// (its codec setting "include credentials").
	SessionCookie = "deskcrm_codec"
)

// DefaultSessionTTL is how long a codec login lasts.
const DefaultSessionTTL = 12 * time.Hour

// maxCodecBody bounds a request to encode or decode.
const maxCodecBody = 16 << 20

// ServerOptions configure the codec server.
type ServerOptions struct {
	// AdminToken authenticates callers (required): "Authorization: Bearer <token>" (the
	// temporal CLI's --codec-auth), or the session cookie that typing the token into
	// /codec/login sets (the Temporal UI in a browser).
	AdminToken string
	// Origins are the browser origins allowed to call the server (the Temporal UI's).
	Origins []string
	// SessionTTL is how long a login lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// server is the codec server's handler.
type server struct {
	opts    ServerOptions
	admin   [32]byte
	session []byte // key signing session cookies, derived from the admin token
	codec   http.Handler
}

// Server returns the codec server, mounted at Prefix ("/codec/"):
//
//	POST    /codec/encode, /codec/decode   Temporal's remote codec protocol (JSON Payloads)
//	OPTIONS /codec/encode, /codec/decode   CORS preflight for Origins
//	GET     /codec/login                   a form to type the admin token into
//	POST    /codec/login                   checks it and sets the session cookie
//	POST    /codec/logout                  drops the cookie
//
// Encode and decode answer 401 without a valid token or session, 403 to a browser origin
// not in Origins. It panics without an admin token.
func Server(c *Codec, opts ServerOptions) http.Handler {
	if opts.AdminToken == "" {
		panic("codec: ServerOptions.AdminToken is required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := hmac.New(sha256.New, []byte(opts.AdminToken))
	m.Write([]byte("deskcrm codec session key"))
	s := &server{opts: opts, admin: sha256.Sum256([]byte(opts.AdminToken)), session: m.Sum(nil),
		codec: converter.NewPayloadCodecHTTPHandler(c)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Prefix+"/encode", s.serveCodec)
	mux.HandleFunc("POST "+Prefix+"/decode", s.serveCodec)
	mux.HandleFunc("OPTIONS "+Prefix+"/encode", s.preflight)
	mux.HandleFunc("OPTIONS "+Prefix+"/decode", s.preflight)
	mux.HandleFunc("GET "+LoginPath, s.loginForm)
	mux.HandleFunc("POST "+LoginPath, s.login)
	mux.HandleFunc("POST "+LogoutPath, s.logout)
	return mux
}

// allowedOrigin reports whether a request's Origin may call the server; a request without
// one (not from a browser page) may.
func (s *server) allowedOrigin(r *http.Request) (origin string, ok bool) {
	origin = r.Header.Get("Origin")
	return origin, origin == "" || slices.Contains(s.opts.Origins, origin)
}

// cors adds the CORS answer headers for an allowed browser origin.
func (s *server) cors(w http.ResponseWriter, origin string) {
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
}

func (s *server) preflight(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.allowedOrigin(r)
	if !ok || origin == "" {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	s.cors(w, origin)
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Authorization-Extras")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) serveCodec(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.allowedOrigin(r)
	if !ok {
		http.Error(w, "origin not allowed: add it to DESKCRM_CODEC_ORIGINS", http.StatusForbidden)
		return
	}
	s.cors(w, origin)
	w.Header().Set("Cache-Control", "no-store")
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="deskcrm codec"`)
		http.Error(w, "send the admin token as \"Authorization: Bearer <token>\", or sign in at "+LoginPath, http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCodecBody)
	s.codec.ServeHTTP(w, r)
}

// authorized accepts the admin token as a Bearer header or a valid session cookie.
func (s *server) authorized(r *http.Request) bool {
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		got := sha256.Sum256([]byte(strings.TrimSpace(v[7:])))
		return subtle.ConstantTimeCompare(got[:], s.admin[:]) == 1
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && s.validSession(c.Value)
}

// sessionValue is "<expiry unix, base 36>.<HMAC of it, base64url>".
func (s *server) sessionValue(exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 36)
	return e + "." + base64.RawURLEncoding.EncodeToString(s.sessionMAC(e))
}

func (s *server) sessionMAC(exp string) []byte {
	m := hmac.New(sha256.New, s.session)
	m.Write([]byte("session\x00" + exp))
	return m.Sum(nil)
}

func (s *server) validSession(v string) bool {
	e, mac, ok := strings.Cut(v, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err != nil || !hmac.Equal(got, s.sessionMAC(e)) {
		return false
	}
	n, err := strconv.ParseInt(e, 36, 64)
	return err == nil && s.opts.Now().Before(time.Unix(n, 0))
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>deskcrm · codec sign-in</title>
<style>body{font:15px system-ui,sans-serif;margin:3em auto;max-width:34em;color:#1f2933}
input{font:inherit;padding:.4em;width:100%;box-sizing:border-box}button{font:inherit;padding:.4em 1em;margin-top:.8em}
.bad{color:#b42318}.ok{color:#146c2e}</style></head><body>
<h1>Decode workflow history</h1>
{{if .Done}}<p class="ok" id="signed-in">Signed in. The Temporal UI{{with .UI}} (<a href="{{.}}">{{.}}</a>){{end}} now shows deskcrm's
encrypted payloads decoded, in this browser, for {{.Hours}} hours.</p>
{{else}}<p>deskcrm encrypts customer data in Temporal's history. Type the worker's admin token
(<code>DESKCRM_ADMIN_TOKEN</code>) to let the Temporal UI in this browser decode it.</p>
{{if .Failed}}<p class="bad" id="failed">That is not the admin token.</p>{{end}}
<form method="post" action="{{.Action}}"><label>Admin token <input type="password" name="token" id="token" autocomplete="off" autofocus></label>
<button type="submit" id="sign-in">Sign in</button></form>{{end}}
</body></html>`))

type loginData struct {
	Done, Failed bool
	UI, Action   string
	Hours        int
}

func (s *server) page(w http.ResponseWriter, status int, d loginData) {
	d.Action, d.Hours = LoginPath, int(s.opts.SessionTTL.Hours())
	if len(s.opts.Origins) > 0 {
		d.UI = s.opts.Origins[0]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, d)
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.page(w, http.StatusOK, loginData{})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	got := sha256.Sum256([]byte(strings.TrimSpace(r.PostFormValue("token"))))
	if subtle.ConstantTimeCompare(got[:], s.admin[:]) != 1 {
		s.page(w, http.StatusUnauthorized, loginData{Failed: true})
		return
	}
	exp := s.opts.Now().Add(s.opts.SessionTTL)
	http.SetCookie(w, s.cookie(r, s.sessionValue(exp), exp))
	s.page(w, http.StatusOK, loginData{Done: true})
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, "", time.Unix(0, 0)))
	w.WriteHeader(http.StatusNoContent)
}

// cookie is the session cookie: HttpOnly, for the codec paths only. Over HTTPS it is
// SameSite=None; Secure, so that a UI on another site can send it; over plain HTTP (local
// development, UI and worker on the same host) SameSite=Strict.
func (s *server) cookie(r *http.Request, value string, exp time.Time) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: Prefix, Expires: exp, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	return c
}
