// Package panel serves what agents and admins see besides the sync itself: the CRM panel an
// agent opens beside a Desk ticket (JSON and an HTML page), the per-profile permissions that
// decide what the panel shows, handshake mode (open tickets ranked by CRM customer type), and
// deleting an integration.
//
// Routes (the worker mounts the handler at "/"):
//
//	GET  /api/v1/panel/contacts/{deskContactId}?profile=NAME&integration=default   panel token
//	GET  /api/v1/panel/accounts/{deskAccountId}?profile=NAME&integration=default   panel token
//	GET  /panel/contacts/{id}, /panel/accounts/{id}  (HTML; token also as ?token=) panel token
//	GET  /api/v1/handshake/tickets?integration=default&limit=100                   panel token
//	GET  /api/v1/permissions?integration=default                                   admin token
//	GET  /api/v1/permissions/{profile}?integration=default                         admin token
//	PUT  /api/v1/permissions/{profile}?integration=default                         admin token
//	GET  /api/v1/handshake?integration=default                                     admin token
//	PUT  /api/v1/handshake?integration=default                                     admin token
//	POST /api/v1/integrations/{id}/delete                                          admin token
//
// Tokens come as "Authorization: Bearer <token>"; the admin token is accepted wherever the
// panel token is. A request without a valid token gets 401 and no data.
package panel

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Desk lists tickets for handshake mode (required for handshake).
	Desk *desk.Client
	// AdminToken protects the admin endpoints, PanelToken the agent panel (both required).
	AdminToken, PanelToken string
	// Logger logs failures (never tokens or customer data). Default: no logging.
	Logger *zap.Logger
	// CacheTTL is how long CRM answers are reused (default 30s; negative: no cache).
	CacheTTL time.Duration
	// Deleter stops an integration's sync and unsubscribes its webhooks; it must be
	// idempotent. Called by the delete endpoint before the integration is marked deleted.
	Deleter func(ctx context.Context, integrationID string) error
}

// DefaultCacheTTL is the cache lifetime of CRM answers when Config.CacheTTL is zero.
const DefaultCacheTTL = 30 * time.Second

type handler struct {
	cfg   Config
	log   *zap.Logger
	admin [32]byte
	panel [32]byte
	cache *cache
	mux   *http.ServeMux
}

// New returns the panel's HTTP handler. It panics when Store, CRM or a token is missing,
// since the worker cannot serve the panel safely without them.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.CRM == nil {
		panic("panel: Config.Store and Config.CRM are required")
	}
	if cfg.AdminToken == "" || cfg.PanelToken == "" {
		panic("panel: Config.AdminToken and Config.PanelToken are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	h := &handler{
		cfg: cfg, log: cfg.Logger.Named("panel"),
		admin: sha256.Sum256([]byte(cfg.AdminToken)), panel: sha256.Sum256([]byte(cfg.PanelToken)),
		cache: newCache(ttl, time.Now), mux: http.NewServeMux(),
	}
	h.mux.HandleFunc("GET /api/v1/panel/{module}/{id}", h.agent(false, h.panelJSON))
	h.mux.HandleFunc("GET /panel/{module}/{id}", h.agent(true, h.panelPage))
	h.mux.HandleFunc("GET /api/v1/handshake/tickets", h.agent(false, h.handshakeTickets))
	h.mux.HandleFunc("GET /api/v1/permissions", h.adminOnly(h.listPermissions))
	h.mux.HandleFunc("GET /api/v1/permissions/{profile}", h.adminOnly(h.getPermissions))
	h.mux.HandleFunc("PUT /api/v1/permissions/{profile}", h.adminOnly(h.putPermissions))
	h.mux.HandleFunc("GET /api/v1/handshake", h.adminOnly(h.getHandshake))
	h.mux.HandleFunc("PUT /api/v1/handshake", h.adminOnly(h.putHandshake))
	h.mux.HandleFunc("POST /api/v1/integrations/{id}/delete", h.adminOnly(h.deleteIntegration))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

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

// agent guards a panel endpoint: the panel or admin token as a Bearer header, or as ?token=
// when query is set (the HTML page, opened from a link).
func (h *handler) agent(query bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" && query {
			tok = r.URL.Query().Get("token")
		}
		if !is(tok, h.panel) && !is(tok, h.admin) {
			unauthorized(w, "the panel token is missing or wrong: send it as \"Authorization: Bearer <token>\""+
				map[bool]string{true: " or ?token=", false: ""}[query])
			return
		}
		next(w, r)
	}
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

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

func (h *handler) listPermissions(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	all, err := h.cfg.Store.AllPermissions(r.Context(), id)
	if err != nil {
		p := h.storeProblem(err, "list permissions")
		writeJSON(w, p.status, p.body())
		return
	}
	if all == nil {
		all = []store.Permissions{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"integration": id, "profiles": all,
		"default": store.DefaultPermissions("")})
}

func (h *handler) getPermissions(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	perm, err := h.cfg.Store.Permissions(r.Context(), id, r.PathValue("profile"))
	if err != nil {
		p := h.storeProblem(err, "read permissions")
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, perm)
}

func (h *handler) putPermissions(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read the body: "+err.Error())
		return
	}
	var patch PermissionsPatch
	if err := decodeStrict(body, &patch); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "the body must be a JSON object with any of panelVisible, modules, "+
			"info, deals, notes, calls, events, tasks (or activities: {calls, events, tasks}): "+err.Error())
		return
	}
	profile := r.PathValue("profile")
	cur, err := h.cfg.Store.Permissions(r.Context(), id, profile)
	if err != nil {
		p := h.storeProblem(err, "read permissions")
		writeJSON(w, p.status, p.body())
		return
	}
	next := patch.Apply(cur)
	next.Profile = strings.TrimSpace(profile)
	if err := next.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_permissions", err.Error())
		return
	}
	saved, err := h.cfg.Store.SetPermissions(r.Context(), id, next)
	if err != nil {
		p := h.storeProblem(err, "store permissions")
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

func (h *handler) getHandshake(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	hs, err := h.cfg.Store.Handshake(r.Context(), id)
	if err != nil {
		p := h.storeProblem(err, "read handshake settings")
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, hs)
}

func (h *handler) putHandshake(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read the body: "+err.Error())
		return
	}
	var in struct {
		Enabled *bool    `json:"enabled"`
		Order   []string `json:"order"`
	}
	if err := decodeStrict(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", `the body must be {"order": ["Customer", ...], "enabled": true}: `+err.Error())
		return
	}
	cur, err := h.cfg.Store.Handshake(r.Context(), id)
	if err != nil {
		p := h.storeProblem(err, "read handshake settings")
		writeJSON(w, p.status, p.body())
		return
	}
	if in.Enabled != nil {
		cur.Enabled = *in.Enabled
	}
	if in.Order != nil {
		cur.Order = in.Order
	}
	if err := cur.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_handshake", err.Error())
		return
	}
	saved, err := h.cfg.Store.SetHandshake(r.Context(), id, cur)
	if err != nil {
		p := h.storeProblem(err, "store handshake settings")
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

func (h *handler) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !integrationIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("%q is not a valid integration id", id))
		return
	}
	in, err := h.cfg.Store.Integration(r.Context(), id)
	if err != nil {
		p := h.storeProblem(err, "read integration")
		writeJSON(w, p.status, p.body())
		return
	}
	if in.State != "deleted" && h.cfg.Deleter != nil {
		if err := h.cfg.Deleter(r.Context(), id); err != nil {
			h.log.Error("delete integration: stop sync and webhooks", zap.String("integration", id), zap.Error(err))
			writeError(w, http.StatusBadGateway, "delete_failed", "could not stop the sync or unsubscribe the webhooks; "+
				"nothing was marked deleted, try again: "+err.Error())
			return
		}
	}
	already, err := h.cfg.Store.DeleteIntegration(r.Context(), id)
	if err != nil {
		p := h.storeProblem(err, "delete integration")
		writeJSON(w, p.status, p.body())
		return
	}
	h.cache.forget(id)
	h.log.Info("integration deleted", zap.String("integration", id), zap.Bool("alreadyDeleted", already))
	writeJSON(w, http.StatusOK, map[string]any{"integration": id, "deleted": true, "alreadyDeleted": already,
		"message": "sync stopped, webhooks unsubscribed, CRM panel and handshake mode turned off; history and failure log kept"})
}
