package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionCookie holds the console's session after a sign-in.
const SessionCookie = "deskcrm_console"

// DefaultSessionTTL is how long a console sign-in lasts.
const DefaultSessionTTL = 8 * time.Hour

// maxFormBody bounds a console form (the mapping form is the largest).
const maxFormBody = 1 << 20

// session is a signed-in admin's session: a random id and its expiry.
type session struct {
	id  string
	exp time.Time
}

// sessions signs and checks session cookies and the CSRF tokens bound to them. A session is
// "<random id>.<expiry, unix base 36>.<HMAC-SHA256 of both, base64url>"; the key is derived
// from the admin token, so every worker with the same token accepts it and a new token ends
// every session. A sign-out revokes its session on this worker; sessions also expire.
type sessions struct {
	key   []byte
	admin [32]byte
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session id → its expiry (dropped once expired)
}

func newSessions(adminToken string, ttl time.Duration, now func() time.Time) sessions {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("deskcrm console session key"))
	return sessions{key: m.Sum(nil), admin: sha256.Sum256([]byte(adminToken)), ttl: ttl, now: now, revoked: map[string]time.Time{}}
}

// isAdminToken compares a typed token with the admin token in constant time.
func (s *sessions) isAdminToken(token string) bool {
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.admin[:]) == 1
}

func (s *sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// issue makes a new session.
func (s *sessions) issue() (session, string) {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	sess := session{id: base64.RawURLEncoding.EncodeToString(b), exp: s.now().Add(s.ttl)}
	exp := strconv.FormatInt(sess.exp.Unix(), 36)
	return sess, sess.id + "." + exp + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", sess.id, exp))
}

// parse checks a cookie value: signed by this key, not expired, not signed out.
func (s *sessions) parse(v string) (session, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return session{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, s.mac("session", parts[0], parts[1])) {
		return session{}, false
	}
	n, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || !s.now().Before(time.Unix(n, 0)) {
		return session{}, false
	}
	s.mu.Lock()
	_, out := s.revoked[parts[0]]
	s.mu.Unlock()
	return session{id: parts[0], exp: time.Unix(n, 0)}, !out
}

// revoke signs a session out on this worker.
func (s *sessions) revoke(sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.revoked {
		if now.After(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[sess.id] = sess.exp
}

// fromRequest returns the request's valid session, if any.
func (s *sessions) fromRequest(r *http.Request) (session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return session{}, false
	}
	return s.parse(c.Value)
}

// csrf is the CSRF token of a session: every console form posts it back.
func (s *sessions) csrf(sess session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.id))
}

// validCSRF reports whether a posted token is the session's.
func (s *sessions) validCSRF(sess session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, s.mac("csrf", sess.id))
}

// cookie is the session cookie: HttpOnly, SameSite=Strict, for the console's paths only,
// Secure over HTTPS.
func cookie(r *http.Request, value string, exp time.Time) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: Prefix, Expires: exp, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// sameOrigin refuses a request a browser sent from another site: Sec-Fetch-Site, when sent,
// must be same-origin, and Origin, when sent, this host. (The CSRF token is the defence; this
// is a second one. Console pages set Referrer-Policy same-origin, so that browsers send
// their Origin with the console's own posts.)
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// get guards a page: without a valid session the browser is sent to sign in.
func (h *handler) get(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.sessions.fromRequest(r); !ok {
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r)
	}
}

// post guards an action: a valid session, a same-site request, and the session's CSRF token
// in the form's "csrf" field. Anything else is refused and nothing is done.
func (h *handler) post(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := h.sessions.fromRequest(r)
		if !ok {
			http.Error(w, "sign in to the console first: "+Prefix+"login", http.StatusUnauthorized)
			return
		}
		if !sameOrigin(r) {
			http.Error(w, "refused: the request did not come from the console's own pages", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form could not be read: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !h.sessions.validCSRF(sess, r.PostForm.Get("csrf")) {
			http.Error(w, "refused: the form's CSRF token is missing or belongs to another session; reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// loginData is the sign-in page's data.
type loginData struct {
	Next   string
	Failed bool
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.sessions.fromRequest(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// login checks the typed admin token; right, it sets the session cookie and goes on to the
// page asked for.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !sameOrigin(r) {
		http.Error(w, "refused: the sign-in did not come from the console's own page", http.StatusForbidden)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if !h.sessions.isAdminToken(r.PostFormValue("token")) {
		h.log.Info("console sign-in refused: wrong admin token")
		h.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Problem: "That is not the admin token (DESKCRM_ADMIN_TOKEN).",
			Data: loginData{Next: next, Failed: true}})
		return
	}
	sess, value := h.sessions.issue()
	http.SetCookie(w, cookie(r, value, sess.exp))
	h.log.Info("console sign-in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := h.sessions.fromRequest(r); ok {
		h.sessions.revoke(sess)
	}
	http.SetCookie(w, cookie(r, "", time.Unix(0, 0)))
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in destination within the console; anything else is the overview.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return Prefix
	}
	return next
}
