// Package console serves the admin's pages of deskcrm under /console/: the overview (state,
// mode, progress, credits, open failures, pause/resume, sync type, delete), the field mapping,
// the sync history, the failure log with Retry, the agent panel's permissions and handshake
// mode, and the dry-run plan. The worker mounts it on its HTTP server, beside the API it
// calls through the same code: the sync workflow's signals, queries and updates, the store,
// the activities' Zoho clients, and the panel's delete endpoint.
//
// The pages are server-rendered html/template pages; a little JavaScript (assets/console.js)
// checks the mapping as it changes and follows a running plan, and every page works without
// it. The admin signs in once with the admin token (POST /console/login, field "token") and
// gets a signed, expiring session cookie (HttpOnly, SameSite=Strict, path /console/); every
// POST carries a CSRF token bound to that session (see auth.go). Pages may not be framed, and
// load nothing but the console's own script and style sheet. Customer values (plan samples,
// failure messages) are shown to the signed-in admin only and never logged.
//
// Routes (all under Prefix; ?integration=ID selects an integration, "default" by default):
//
//	GET  /console/login, POST /console/login, POST /console/logout
//	GET  /console/                       overview          POST /console/sync (pause|resume|sync-now)
//	POST /console/mode (set-mode / switch-to-sync)          POST /console/delete
//	GET  /console/mapping?module=        field mapping     POST /console/mapping (check|save)
//	POST /console/mapping/check          the preflight of a mapping being edited (JSON)
//	GET  /console/history                seven days of runs, table and chart
//	GET  /console/failures?module=&code= failure log       POST /console/failures/retry
//	GET  /console/permissions            per Desk profile  POST /console/permissions, /console/handshake
//	GET  /console/plan                   dry-run plan      POST /console/plan
//	GET  /console/plan/progress          the running plan's progress (JSON)
//	GET  /console/assets/...             style sheet and script
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/store"
)

// Prefix is where the worker mounts the console.
const Prefix = "/console/"

// Config configures the console.
type Config struct {
	// Store reads and writes the integration's settings, history and failure log (required).
	Store *store.Store
	// Temporal signals, queries and updates the sync workflow and starts the plan (required);
	// give it the worker's converters so that it works with the payload codec on.
	Temporal client.Client
	// FailureConverter decodes the failures of steps Temporal is retrying, for the overview:
	// the one Temporal was given (nil: Temporal's default, which cannot open failures the
	// payload codec sealed).
	FailureConverter converter.FailureConverter
	// Activities holds the Zoho clients: field metadata, Desk profiles (required).
	Activities *activities.Activities
	// AdminToken signs the admin in (required).
	AdminToken string
	// AdminAPI is the worker's admin HTTP API (the panel handler): the console deletes an
	// integration through its POST /api/v1/integrations/{id}/delete, as `starter delete`
	// does (required).
	AdminAPI http.Handler
	// TaskQueue is the task queue the plan workflow is started on (required).
	TaskQueue string
	// Namespace and TemporalUI make the link to the workflow in the Temporal UI (TemporalUI
	// is the UI's base URL, e.g. http://127.0.0.1:8233; empty: no link).
	Namespace, TemporalUI string
	// RecordURL returns the web address of a record ("desk" or "crm", "contacts" or
	// "accounts", its id) for the failure log's links; nil or "": no link.
	RecordURL func(side, module, id string) string
	// Logger logs failures of the console's calls (never customer values). Default: none.
	Logger *zap.Logger
	// SessionTTL is how long a sign-in lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// MetadataTTL is how long Zoho field metadata and profiles are reused (default 1 minute).
	MetadataTTL time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// handler is the console's HTTP handler.
type handler struct {
	cfg      Config
	log      *zap.Logger
	sessions sessions
	meta     *metaCache
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New returns the console's handler, to be mounted at Prefix. It panics when a required
// field of cfg is missing.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Temporal == nil || cfg.Activities == nil || cfg.AdminAPI == nil || cfg.AdminToken == "" || cfg.TaskQueue == "" {
		panic("console: Config.Store, Temporal, Activities, AdminAPI, AdminToken and TaskQueue are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = time.Minute
	}
	h := &handler{cfg: cfg, log: cfg.Logger.Named("console"), sessions: newSessions(cfg.AdminToken, cfg.SessionTTL, cfg.Now),
		meta: newMetaCache(cfg.Activities, cfg.MetadataTTL, cfg.Now), pages: parsePages(), mux: http.NewServeMux()}
	assets, _ := fs.Sub(assetFS, "assets")
	h.mux.Handle("GET "+Prefix+"assets/", http.StripPrefix(Prefix+"assets/", http.FileServerFS(assets)))
	h.mux.HandleFunc("GET "+Prefix+"login", h.loginForm)
	h.mux.HandleFunc("POST "+Prefix+"login", h.login)
	h.mux.HandleFunc("POST "+Prefix+"logout", h.post(h.logout))
	h.mux.HandleFunc("GET "+Prefix+"{$}", h.get(h.overview))
	h.mux.HandleFunc("POST "+Prefix+"sync", h.post(h.syncAction))
	h.mux.HandleFunc("POST "+Prefix+"mode", h.post(h.setMode))
	h.mux.HandleFunc("POST "+Prefix+"delete", h.post(h.deleteIntegration))
	h.mux.HandleFunc("GET "+Prefix+"mapping", h.get(h.mappingPage))
	h.mux.HandleFunc("POST "+Prefix+"mapping", h.post(h.mappingSubmit))
	h.mux.HandleFunc("POST "+Prefix+"mapping/check", h.post(h.mappingCheck))
	h.mux.HandleFunc("GET "+Prefix+"history", h.get(h.historyPage))
	h.mux.HandleFunc("GET "+Prefix+"failures", h.get(h.failuresPage))
	h.mux.HandleFunc("POST "+Prefix+"failures/retry", h.post(h.retry))
	h.mux.HandleFunc("GET "+Prefix+"permissions", h.get(h.permissionsPage))
	h.mux.HandleFunc("POST "+Prefix+"permissions", h.post(h.savePermissions))
	h.mux.HandleFunc("POST "+Prefix+"handshake", h.post(h.saveHandshake))
	h.mux.HandleFunc("GET "+Prefix+"plan", h.get(h.planPage))
	h.mux.HandleFunc("POST "+Prefix+"plan", h.post(h.startPlan))
	h.mux.HandleFunc("GET "+Prefix+"plan/progress", h.get(h.planProgressJSON))
	return h
}

// contentSecurityPolicy lets console pages load their own script and style sheet and
// nothing else, post forms to themselves only, and never be framed.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// integrationIDPattern is an integration id, as the workflows and the panel accept it.
var integrationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// integrationOf reads ?integration= (or the form's integration field), "default" when absent.
func integrationOf(r *http.Request) (string, error) {
	id := r.FormValue("integration")
	if id == "" {
		id = "default"
	}
	if !integrationIDPattern.MatchString(id) {
		return "", errors.New("the integration id must be 1 to 64 letters, digits, _ . or -")
	}
	return id, nil
}

// view is what every page template receives: the layout's data and the page's own.
type view struct {
	Title, Active, Integration, CSRF string
	// Integrations lists the integrations to switch between (when more than one).
	Integrations []string
	// Notice and Problem are shown at the top of the page (a done action; a refusal).
	Notice, Problem string
	// Data is the page's own data.
	Data any
}

// Link returns a console path with the page's integration (when not the default) and the
// given query pairs.
func (v view) Link(path string, pairs ...string) string {
	q := url.Values{}
	if v.Integration != "" && v.Integration != "default" {
		q.Set("integration", v.Integration)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// notices are the messages a redirect after a done action shows (?ok=<key>): fixed texts, so
// that a link cannot put words in the console's mouth.
var notices = map[string]string{
	"paused":         "Sync paused: no Zoho API is called until you resume. Nothing that changes meanwhile is lost.",
	"resumed":        "Sync resumed: it carries on where it stopped.",
	"not-paused":     "The sync is not paused: nothing was sent (it runs).",
	"already-paused": "The sync is already paused: nothing was sent (Resume resumes it).",
	"sync-now":       "A pass was asked for: it runs now (or after the step under way).",
	"mode":           "Sync type changed: the next pass runs in the new mode (a pass under way finishes in the old one); back in two-way, it sends to CRM the Desk records and edits one-way held back.",
	"switched":       "Switched from the legacy import to sync. This cannot be reverted.",
	"deleted":        "Integration deleted: the sync stopped, webhooks were unsubscribed, the CRM panel and handshake mode are off. History and failure log are kept.",
	"deleted-webhooks-left": "Integration deleted: the sync stopped, the CRM panel and handshake mode are off. History and failure log are kept. " +
		"Its webhooks could not be unsubscribed (the worker's log says why): remove the deskcrm webhooks in Zoho Desk (Setup → Developer Space → Webhooks); CRM's notification channel expires by itself (it is no longer renewed).",
	"mapping":     "Mapping saved: the sync uses it from its next step.",
	"retry":       "Retry asked for: the next pass tries the record again; this page shows the failure closed once it synced.",
	"retry-all":   "Retry of every open failure asked for: the next pass tries them again.",
	"permissions": "Permissions saved: the agent panel applies them from the next page it opens.",
	"handshake":   "Handshake mode saved.",
	"plan":        "Plan started: nothing is written to Zoho.",
}

// render writes a page with the layout; status 0 is 200.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.pages[name]
	if !ok {
		panic("console: no page template " + name)
	}
	if v.Integration == "" {
		v.Integration, _ = integrationOf(r)
	}
	if v.Notice == "" {
		v.Notice = notices[r.URL.Query().Get("ok")]
	}
	if s, ok := h.sessions.fromRequest(r); ok {
		v.CSRF = h.sessions.csrf(s)
	}
	if ids, err := h.cfg.Store.IntegrationIDs(r.Context()); err == nil && len(ids) > 1 {
		v.Integrations = ids
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", v); err != nil {
		h.log.Error("render page", zap.String("page", name), zap.Error(err))
	}
}

// redirect answers a done POST with a redirect to a page (303: the browser GETs it).
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, path, okKey string, pairs ...string) {
	id, _ := integrationOf(r)
	v := view{Integration: id}
	http.Redirect(w, r, v.Link(path, append([]string{"ok", okKey}, pairs...)...), http.StatusSeeOther)
}

// fail logs what went wrong (the error names ids and operations, never customer values) and
// returns the text the page shows.
func (h *handler) fail(what string, err error, fields ...zap.Field) string {
	h.log.Warn(what, append(fields, zap.Error(err))...)
	return fmt.Sprintf("%s: %v", what, err)
}

// timeout bounds one call the console makes for a page.
func timeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// templateFuncs are the helpers the page templates use.
var templateFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"arrow":    directionLabel,
	"dash":     func(s string) string { return orDash(s) },
	"title":    func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	"duration": func(d time.Duration) string { return d.Round(time.Second).String() },
	"pct": func(n, of int) int {
		if of <= 0 {
			return 0
		}
		return min(100, n*100/of)
	},
	"dict":  func(id, url string) recordLink { return recordLink{ID: id, URL: url} },
	"deref": func(t *time.Time) time.Time { return *t },
	"list":  func(s ...string) []string { return s },
	"access": func(p store.Permissions, section string) string {
		return map[string]string{"info": p.Info, "deals": p.Deals, "notes": p.Notes}[section]
	},
	"value": valueText,
}

// recordLink is a record's id and its web address ("" when unknown).
type recordLink struct{ ID, URL string }

// valueText shows a record value of the plan's sample: text as is, nothing as a dash, the
// rest as JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pageNames are the console's pages (templates/<name>.html, each with templates/layout.html).
var pageNames = []string{"login", "overview", "mapping", "history", "failures", "permissions", "plan"}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// directionLabel names a direction as the seed's history does: source → destination.
func directionLabel(direction string) string {
	switch direction {
	case activities.DeskToCRM:
		return "Desk → CRM"
	case activities.CRMToDesk:
		return "CRM → Desk"
	}
	return direction
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
