// Package panel serves what agents and admins see besides the sync itself: the CRM panel an
// agent opens beside a Desk ticket (JSON and an HTML page), the per-profile permissions that
// decide what the panel shows, handshake mode (open tickets ranked by CRM customer type), and
// deleting an integration.
//
// Routes (the worker mounts the handler at "/"):
//
//	GET  /api/v1/panel/contacts/{deskContactId}?integration=default        agent's Desk token
//	GET  /api/v1/panel/accounts/{deskAccountId}?integration=default        agent's Desk token
//	POST /api/v1/panel/{contacts|accounts}/{id}/link?integration=default   agent's Desk token → signed page link
//	GET  /panel/{contacts|accounts}/{id}?integration=&agent=&profile=&exp=&sig=   signed link (HTML)
//	GET  /api/v1/handshake/tickets?integration=default&limit=100           agent's Desk token
//	GET  /api/v1/permissions?integration=default                           admin token
//	GET  /api/v1/permissions/{profile}?integration=default                 admin token
//	PUT  /api/v1/permissions/{profile}?integration=default                 admin token (a profile Desk has)
//	DELETE /api/v1/permissions/{profile}?integration=default               admin token
//	GET  /api/v1/handshake?integration=default                             admin token
//	PUT  /api/v1/handshake?integration=default                             admin token
//	POST /api/v1/integrations/{id}/delete                                  admin token
//
// Agents are who Desk says they are: the caller sends the agent's own Desk OAuth token as
// "Authorization: Zoho-oauthtoken <token>" (what a Desk extension's connection sends); the
// panel asks Desk (GET /api/v1/myinfo with the integration's orgId) for the agent and their
// profile, and caches the answer for a few minutes. The profile is never taken from the
// request. The HTML page cannot carry a header, so it opens from a short-lived link signed
// (HMAC-SHA256) over the integration, record, agent, profile and expiry, minted by the link
// endpoint after the same check. The admin token comes as "Authorization: Bearer <token>".
// A request without valid credentials gets 401 and no data.
package panel

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Config configures the panel handler.
type Config struct {
	// Store reads links, permissions and handshake settings (required).
	Store *store.Store
	// CRM reads the panel's records live (required).
	CRM *crm.Client
	// Desk resolves agents' tokens (GET /api/v1/myinfo) and their profiles, and lists tickets
	// for handshake mode (required).
	Desk *desk.Client
	// AdminToken protects the admin endpoints (required).
	AdminToken string
	// LinkKey signs the page links (required; at least 16 bytes).
	LinkKey string
	// Logger logs failures (never tokens or customer data). Default: no logging.
	Logger *zap.Logger
	// CacheTTL is how long CRM answers are reused (default 30s; negative: no cache).
	CacheTTL time.Duration
	// IdentityTTL is how long an agent token resolved by Desk is trusted (default
	// DefaultIdentityTTL).
	IdentityTTL time.Duration
	// LinkTTL is how long a signed page link opens the page (default DefaultLinkTTL).
	LinkTTL time.Duration
	// FrameAncestors are the origins that may show the page in a frame (the Desk web origin,
	// e.g. https://desk.zoho.com); none: the page may not be framed.
	FrameAncestors []string
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Deleter stops an integration's sync and unsubscribes its webhooks; it must be
	// idempotent. Called by the delete endpoint before the integration is marked deleted. An
	// error wrapping an *UnsubscribeError says the sync stopped but the webhooks could not be
	// unsubscribed: the integration is deleted all the same, with a warning.
	Deleter func(ctx context.Context, integrationID string) error
}

// UnsubscribeError is a Deleter's error when the sync stopped but removing the webhooks failed
// (Zoho refused the call: a wrong org id or token, an outage). The delete goes through — its
// sync is stopped, so a failed unsubscribe must not leave it half deleted for good (a trial:
// with a wrong ZOHO_DESK_ORG_ID every delete answered 502 after the sync had been stopped) —
// and the answer says which webhooks to remove by hand.
type UnsubscribeError struct{ Err error }

func (e *UnsubscribeError) Error() string { return "unsubscribe the webhooks: " + e.Err.Error() }

func (e *UnsubscribeError) Unwrap() error { return e.Err }

// DefaultCacheTTL is the cache lifetime of CRM answers when Config.CacheTTL is zero.
const DefaultCacheTTL = 30 * time.Second

type handler struct {
	cfg   Config
	log   *zap.Logger
	admin [32]byte
	cache *cache
	ids   *identities
	// profiles checks profile names against Desk's for the permissions endpoints.
	profiles *deskProfiles
	links    linker
	mux      *http.ServeMux
}

// New returns the panel's HTTP handler. It panics when Store, CRM, Desk, the admin token or
// the link key is missing, since the worker cannot serve the panel safely without them.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.CRM == nil || cfg.Desk == nil {
		panic("panel: Config.Store, Config.CRM and Config.Desk are required")
	}
	if cfg.AdminToken == "" || len(cfg.LinkKey) < 16 {
		panic("panel: Config.AdminToken and Config.LinkKey (16 bytes or more) are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if cfg.IdentityTTL <= 0 {
		cfg.IdentityTTL = DefaultIdentityTTL
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	h := &handler{
		cfg: cfg, log: cfg.Logger.Named("panel"),
		admin: sha256.Sum256([]byte(cfg.AdminToken)),
		cache: newCache(ttl, cfg.Now), mux: http.NewServeMux(),
		links: linker{key: []byte(cfg.LinkKey), ttl: cfg.LinkTTL, now: cfg.Now},
	}
	h.ids = newIdentities(cfg.Desk, cfg.IdentityTTL, cfg.Now, h.log)
	h.profiles = newDeskProfiles(cfg.Desk, cfg.Now)
	h.mux.HandleFunc("GET /api/v1/panel/{module}/{id}", h.record(h.asAgent(h.panelJSON)))
	h.mux.HandleFunc("POST /api/v1/panel/{module}/{id}/link", h.record(h.asAgent(h.panelLink)))
	h.mux.HandleFunc("GET /panel/{module}/{id}", h.record(h.panelPage))
	h.mux.HandleFunc("GET /api/v1/handshake/tickets", h.asAgent(h.handshakeTickets))
	h.mux.HandleFunc("GET /api/v1/permissions", h.adminOnly(h.listPermissions))
	h.mux.HandleFunc("GET /api/v1/permissions/{profile}", h.adminOnly(h.getPermissions))
	h.mux.HandleFunc("PUT /api/v1/permissions/{profile}", h.adminOnly(h.putPermissions))
	h.mux.HandleFunc("DELETE /api/v1/permissions/{profile}", h.adminOnly(h.deletePermissions))
	h.mux.HandleFunc("GET /api/v1/handshake", h.adminOnly(h.getHandshake))
	h.mux.HandleFunc("PUT /api/v1/handshake", h.adminOnly(h.putHandshake))
	h.mux.HandleFunc("POST /api/v1/integrations/{id}/delete", h.adminOnly(h.deleteIntegration))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// recordIDPattern is a Desk record id: digits, as Zoho's ids are.
var recordIDPattern = regexp.MustCompile(`^[0-9]{1,30}$`)

// record checks the module and record id of a panel path before anything else is done:
// an unknown module is 404, an id that cannot be a Desk id 400.
func (h *handler) record(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := crmModule(r.PathValue("module")); !ok {
			writeError(w, http.StatusNotFound, "not_found", "the panel serves contacts and accounts")
			return
		}
		if !recordIDPattern.MatchString(r.PathValue("id")) {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "the record id must be a Desk id: 1 to 30 digits")
			return
		}
		next(w, r)
	}
}

// asAgent guards an agent endpoint: the caller's Desk token is resolved by Desk into an
// agent and profile, which the endpoint receives.
func (h *handler) asAgent(next func(http.ResponseWriter, *http.Request, Agent)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := agentToken(r)
		if tok == "" {
			unauthorized(w, "send the agent's own Desk OAuth token as \"Authorization: Zoho-oauthtoken <token>\" "+
				"(what a Desk extension's connection sends)")
			return
		}
		a, p := h.ids.resolve(r.Context(), tok)
		if p != nil {
			if p.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Zoho-oauthtoken realm="deskcrm"`)
			}
			writeJSON(w, p.status, p.body())
			return
		}
		next(w, r, a)
	}
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// is compares a token with a configured one in constant time (both hashed, so that the
// comparison does not leak the length either).
func is(token string, want [32]byte) bool {
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// adminOnly guards an admin endpoint: the admin token as a Bearer header.
func (h *handler) adminOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !is(bearer(r), h.admin) {
			unauthorized(w, "the admin token is missing or wrong: send it as \"Authorization: Bearer <token>\"")
			return
		}
		next(w, r)
	}
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="deskcrm"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", msg)
}

// apiError is the JSON body of every error answer.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	// Code, HTTPStatus and Section describe a Zoho error (502 answers).
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"zohoHttpStatus,omitempty"`
	Section    string `json:"section,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a page link's "&" stays readable; the answer is JSON, never HTML
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

var integrationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// integrationParam reads ?integration= (default "default").
func integrationParam(r *http.Request) (string, error) {
	id := r.URL.Query().Get("integration")
	if id == "" {
		id = "default"
	}
	if !integrationIDPattern.MatchString(id) {
		return "", fmt.Errorf("integration %q is not a valid integration id (letters, digits, _ . -; at most 64)", id)
	}
	return id, nil
}

// problem is an error answer decided before any data is written.
type problem struct {
	status int
	code   string
	msg    string
	zoho   *apiError
}

func (p *problem) Error() string { return p.msg }

func (p *problem) body() apiError {
	if p.zoho != nil {
		return *p.zoho
	}
	return apiError{Error: p.code, Message: p.msg}
}

// liveIntegration checks that an integration exists and is not deleted.
// liveIntegrationParam reads the integration a request names and checks it exists and is not
// deleted; otherwise it answers the request and reports false.
func (h *handler) liveIntegrationParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := integrationParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_parameter", err.Error())
		return "", false
	}
	if _, p := h.liveIntegration(r.Context(), id); p != nil {
		writeJSON(w, p.status, p.body())
		return "", false
	}
	return id, true
}

func (h *handler) liveIntegration(ctx context.Context, id string) (store.Integration, *problem) {
	in, err := h.cfg.Store.Integration(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, &problem{status: http.StatusNotFound, code: "integration_not_found", msg: fmt.Sprintf("integration %q not found", id)}
	}
	if err != nil {
		h.log.Error("read integration", zap.Error(err))
		return in, &problem{status: http.StatusInternalServerError, code: "internal", msg: "could not read the integration from Postgres"}
	}
	if in.State == "deleted" {
		return in, &problem{status: http.StatusNotFound, code: "integration_deleted", msg: fmt.Sprintf("integration deleted: %q was deleted; start a new sync to create it again", id)}
	}
	return in, nil
}

// storeProblem turns a store error into an answer.
func (h *handler) storeProblem(err error, what string) *problem {
	switch {
	case errors.Is(err, store.ErrIntegrationDeleted):
		return &problem{status: http.StatusNotFound, code: "integration_deleted", msg: "integration deleted"}
	case errors.Is(err, store.ErrNotFound):
		return &problem{status: http.StatusNotFound, code: "integration_not_found", msg: err.Error()}
	}
	h.log.Error(what, zap.Error(err))
	return &problem{status: http.StatusInternalServerError, code: "internal", msg: what + " failed"}
}

// writeStoreProblem answers a store error (see storeProblem).
func (h *handler) writeStoreProblem(w http.ResponseWriter, err error, what string) {
	p := h.storeProblem(err, what)
	writeJSON(w, p.status, p.body())
}

func (h *handler) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !integrationIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("%q is not a valid integration id", id))
		return
	}
	in, err := h.cfg.Store.Integration(r.Context(), id)
	if err != nil {
		h.writeStoreProblem(w, err, "read integration")
		return
	}
	warning := ""
	if in.State != "deleted" && h.cfg.Deleter != nil {
		err := h.cfg.Deleter(r.Context(), id)
		var unsub *UnsubscribeError
		switch {
		case errors.As(err, &unsub):
			h.log.Warn("delete integration: webhooks not unsubscribed", zap.String("integration", id), zap.Error(err))
			warning = "the webhooks could not be unsubscribed (" + unsub.Err.Error() + "): remove the deskcrm webhooks in Zoho Desk " +
				"(Setup → Developer Space → Webhooks); CRM's notification channel expires by itself (it is no longer renewed)"
		case err != nil:
			h.log.Error("delete integration: stop the sync", zap.String("integration", id), zap.Error(err))
			writeError(w, http.StatusBadGateway, "delete_failed", "could not stop the sync; nothing was marked deleted, try again: "+err.Error())
			return
		}
	}
	already, err := h.cfg.Store.DeleteIntegration(r.Context(), id)
	if err != nil {
		h.writeStoreProblem(w, err, "delete integration")
		return
	}
	h.cache.forget(id)
	h.log.Info("integration deleted", zap.String("integration", id), zap.Bool("alreadyDeleted", already))
	answer := map[string]any{"integration": id, "deleted": true, "alreadyDeleted": already,
		"message": "sync stopped, webhooks unsubscribed, CRM panel and handshake mode turned off; history and failure log kept"}
	if warning != "" {
		answer["message"] = "sync stopped, CRM panel and handshake mode turned off; history and failure log kept"
		answer["warning"] = warning
	}
	writeJSON(w, http.StatusOK, answer)
}
