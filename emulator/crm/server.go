// Package crm is a local emulator of the Zoho CRM REST API v8: records
// (list, get, insert, update, upsert, delete, search, deleted, count, merge, COQL),
// field metadata, users, related lists, the Notification (watch) API and
// Bulk Read, with Zoho's limits, error shapes, credits and concurrency rules
// (through emulator/realism) and OAuth (through emulator/zohoauth).
//
// Use it in-process with httptest.NewServer(crm.New(crm.Config{})) or run it
// from emulator/main.go. Go API for tests and seeding:
//
//	crm.New(crm.Config) *crm.Server                      // an http.Handler
//	(*Server).Load(module string, recs []map[string]any) ([]string, error)
//	(*Server).Record(module, id string) (map[string]any, bool)
//	(*Server).Records(module string) []map[string]any
//	(*Server).Count(module string) int
//	(*Server).AddField(module string, f Field) error
//	(*Server).SetUnique(module, field string, unique bool) error
//	(*Server).SetSearchLag(d time.Duration); SearchLag() time.Duration
//	(*Server).Purge(module string, ids ...string) int
//	(*Server).Reset()
//	(*Server).Realism() *realism.Engine
//	(*Server).Auth() *zohoauth.Store
//	(*Server).SaveSnapshot(*gob.Encoder) error; LoadSnapshot(*gob.Decoder) error // snapshot.go
//
// Admin HTTP API (besides emulator/realism's): POST /_emulator/load
// {"module":"Contacts","records":[...]} -> {"ids":[...]}, POST
// /_emulator/reset, POST /_emulator/fields {"module":..,"field":{...}},
// POST /_emulator/unique {"module":"Contacts","field":"Email","unique":true},
// GET/PUT /_emulator/search-lag {"lag_ms":2000}.
//
// Default custom fields (DefaultCustomFields) are created unless
// Config.NoDefaultCustomFields is set: Contacts Desk_ID, Customer_Tier,
// Seats, Renewal_Date, VIP, Lifetime_Value, Health_Score, Last_Login,
// Billing_Email; Accounts Desk_ID.
package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
)

// Config configures the emulator. The zero value is a working emulator.
type Config struct {
	// BaseURL is the API domain reported in token responses and resource
	// URIs (e.g. "http://127.0.0.1:8091"); empty = derived from each
	// request's Host.
	BaseURL string
	// Auth is the token store; share one with the Desk emulator so one
	// token works for both. Nil creates a store with the default client.
	Auth *zohoauth.Store
	// Realism configures latency, limits and credits. Zero = none. With
	// MaxInFlight set and MaxComplexInFlight zero, the complex sub-limit
	// defaults to DefaultComplexLimit (10).
	Realism realism.Config
	// Location is the time zone of rendered timestamps (default UTC).
	Location *time.Location
	// NoDefaultCustomFields skips DefaultCustomFields.
	NoDefaultCustomFields bool
	// CustomFields adds custom fields per module at start.
	CustomFields map[string][]Field
	// UniqueFields marks fields unique per module at start, e.g.
	// {"Contacts": {"Email"}} (see SetUnique). Accounts.Account_Name is
	// always unique. New panics on a module or field that cannot be unique.
	UniqueFields map[string][]string
	// PageTokenTTL is how long a page_token stays valid (default 24 h).
	PageTokenTTL time.Duration
	// PageTokenLimit is how many records page tokens can walk (default
	// 100,000 as in Zoho).
	PageTokenLimit int
	// NotifyWindow is how long notifications are coalesced per channel
	// (default 100 ms).
	NotifyWindow time.Duration
	// NotifyClient posts notifications (default: 5 s timeout client).
	NotifyClient *http.Client
	// BulkStep is how long a bulk read job stays in each state before
	// moving on (default 20 ms).
	BulkStep time.Duration
	// BulkPageSize is how many records one bulk read job exports (default
	// 200,000, as in Zoho; tests set fewer to page through small modules).
	BulkPageSize int
	// SearchLag is how long a record created or edited through the API
	// stays out of /search results, like Zoho's search index ("newly
	// created or edited records may be missing from search for a while",
	// zoho-api.md A6). 0 means DefaultSearchLag; NoSearchLag (any negative
	// value) turns the lag off. Records given to Load are searchable at
	// once. Change it at run time with SetSearchLag or PUT
	// /_emulator/search-lag.
	SearchLag time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Server is the CRM emulator. It is safe for concurrent use.
type Server struct {
	cfg    Config
	loc    *time.Location
	now    func() time.Time
	auth   *zohoauth.Store
	engine *realism.Engine
	api    http.Handler
	token  http.Handler

	mu      sync.RWMutex
	modules map[string]*module
	lastID  uint64
	seq     uint64
	fieldID uint64

	notify    *notifier
	bulk      *bulkReads
	merges    mergeJobs
	searchLag atomic.Int64 // nanoseconds; 0 = off
}

// DefaultComplexLimit is CRM's concurrency sub-limit for complex calls
// (writes of more than 10 records, search), applied whenever a concurrency
// limit is configured without its own sub-limit.
const DefaultComplexLimit = 10

// idBase is the first record id the emulator hands out (19 digits).
const idBase uint64 = 5725767000001000000

// New returns a CRM emulator.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, loc: cfg.Location, now: cfg.Now, auth: cfg.Auth}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.auth == nil {
		s.auth = zohoauth.NewStore(zohoauth.Config{})
	}
	if s.cfg.PageTokenTTL <= 0 {
		s.cfg.PageTokenTTL = 24 * time.Hour
	}
	if s.cfg.PageTokenLimit <= 0 {
		s.cfg.PageTokenLimit = 100000
	}
	if s.cfg.BulkStep <= 0 {
		s.cfg.BulkStep = 20 * time.Millisecond
	}
	if s.cfg.BulkPageSize <= 0 {
		s.cfg.BulkPageSize = bulkPageSize
	}
	switch {
	case cfg.SearchLag == 0:
		s.SetSearchLag(DefaultSearchLag)
	case cfg.SearchLag > 0:
		s.SetSearchLag(cfg.SearchLag)
	}
	rc := cfg.Realism
	if rc.Now == nil {
		rc.Now = s.now
	}
	if rc.Limits.MaxInFlight > 0 && rc.Limits.MaxComplexInFlight == 0 {
		// Zoho's sub-concurrency for complex APIs applies to every edition.
		rc.Limits.MaxComplexInFlight = DefaultComplexLimit
	}
	s.engine = realism.New(rc)
	s.notify = newNotifier(s, cfg.NotifyWindow, cfg.NotifyClient)
	s.bulk = newBulkReads()
	s.resetData()
	s.api = s.engine.Handler(s.classify, realism.Responses{
		TooManyRequests:  writeTooMany,
		CreditsExhausted: writeCreditsExhausted,
		ServerError:      writeServerError,
		CreditHeaders:    realism.CRMCreditHeaders,
	}, http.HandlerFunc(s.serveAPI))
	s.token = s.auth.TokenHandler(cfg.BaseURL)
	return s
}

// resetData recreates every module with its fields and no records.
func (s *Server) resetData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modules = map[string]*module{}
	s.lastID = idBase
	s.seq = 0
	s.fieldID = 5725767000000500000
	for i, name := range moduleNames {
		fs := newFieldSet()
		for _, f := range systemFields {
			s.addFieldLocked(fs, f)
		}
		for _, f := range standardFields[name] {
			s.addFieldLocked(fs, f)
		}
		if !s.cfg.NoDefaultCustomFields {
			for _, f := range DefaultCustomFields[name] {
				s.addFieldLocked(fs, f)
			}
		}
		for _, f := range s.cfg.CustomFields[name] {
			f.Custom = true
			s.addFieldLocked(fs, f)
		}
		m := newModule(name, uint8(i), fs)
		for _, f := range s.cfg.UniqueFields[name] {
			if err := setUniqueLocked(m, f, true); err != nil {
				panic(fmt.Sprintf("crm.Config.UniqueFields: %v", err))
			}
		}
		s.modules[name] = m
	}
}

func (s *Server) addFieldLocked(fs *fieldSet, f Field) error {
	s.fieldID++
	_, err := fs.add(f, formatID(s.fieldID))
	return err
}

// AddField adds a custom field to a module (custom_field is forced true).
func (s *Server) AddField(module string, f Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[module]
	if !ok {
		return fmt.Errorf("add field: unknown module %q", module)
	}
	f.Custom = true
	if err := s.addFieldLocked(m.fields, f); err != nil {
		return fmt.Errorf("add field to %s: %w", module, err)
	}
	m.reindexFields()
	return nil
}

// Fields returns a module's field definitions.
func (s *Server) Fields(module string) []Field {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[module]
	if !ok {
		return nil
	}
	out := make([]Field, 0, len(m.fields.list))
	for _, f := range m.fields.list {
		out = append(out, *f)
	}
	return out
}

// Reset removes every record, custom field added at run time, watch
// channel and bulk job, and clears the call log, faults and credits.
func (s *Server) Reset() {
	s.resetData()
	s.notify.reset()
	s.bulk.reset()
	s.merges.reset()
	s.engine.ResetCalls()
	s.engine.ClearFaults()
	s.engine.ResetCredits()
}

// Realism returns the engine that applies latency, limits and faults.
func (s *Server) Realism() *realism.Engine { return s.engine }

// Auth returns the token store.
func (s *Server) Auth() *zohoauth.Store { return s.auth }

// ServeHTTP routes Zoho API paths, the OAuth token endpoint and the admin
// API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, realism.AdminPrefix):
		s.serveAdmin(w, r)
	case strings.HasPrefix(r.URL.Path, "/oauth/v2/token"):
		s.token.ServeHTTP(w, r)
	default:
		s.api.ServeHTTP(w, r)
	}
}

// baseURL is the API domain as the client sees it.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	return zohoauth.RequestBase(r)
}

// --- auth and classification ---

// checkAuth answers 401 unless the request has a valid token.
func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request) bool {
	switch s.auth.Check(r) {
	case zohoauth.Valid:
		return true
	case zohoauth.Missing:
		writeError(w, &apiError{status: http.StatusUnauthorized, code: "AUTHENTICATION_FAILURE", message: "Authentication failed"})
	default:
		writeError(w, &apiError{status: http.StatusUnauthorized, code: "INVALID_TOKEN", message: "invalid oauth token"})
	}
	return false
}

// maxBody bounds request bodies (Zoho answers 413 beyond its limits).
const maxBody = 16 << 20

// classify names the endpoint of a request and computes its credit cost
// (zoho-api.md A10): writes 1 per 10 records (max 10), deleted-records 2,
// bulk read 50, COQL 1-3 by its LIMIT (coqlCost), everything else 1; unauthenticated calls
// cost nothing.
func (s *Server) classify(r *http.Request) realism.Call {
	ep := endpointOf(r.Method, r.URL.Path)
	c := realism.Call{Endpoint: ep.name, Cost: 1}
	if s.auth.Check(r) != zohoauth.Valid {
		c.Cost = 0
		return c
	}
	switch ep.kind {
	case epWrite:
		n := countRecords(r)
		c.Cost = min(max((n+9)/10, 1), 10)
		c.Complex = n > 10
	case epSearch:
		c.Complex = true
	case epDeleted:
		c.Cost = 2
	case epBulkCreate:
		c.Cost = 50
	case epCOQL:
		c.Cost = coqlCost(r)
		c.Complex = true
	}
	return c
}

// peekBody reads a request's body (up to maxBody+1 bytes) and puts it back for the handler;
// ok is false without a body or when it could not be read.
func peekBody(r *http.Request) (b []byte, ok bool) {
	if r.Body == nil {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err == nil
}

// countRecords counts the records in a write body, restoring the body.
func countRecords(r *http.Request) int {
	b, ok := peekBody(r)
	if !ok {
		return 0
	}
	var v struct {
		Data []anyValue `json:"data"`
	}
	if json.Unmarshal(b, &v) != nil {
		return 0
	}
	return len(v.Data)
}

// anyValue accepts any JSON value and keeps nothing, as a json.RawMessage would accept it
// without copying it: countRecords counts the records of a write without a copy of each.
type anyValue struct{}

func (*anyValue) UnmarshalJSON([]byte) error { return nil }

type epKind int

const (
	epOther epKind = iota
	epWrite
	epSearch
	epDeleted
	epBulkCreate
	epCOQL
)

type endpoint struct {
	name string
	kind epKind
}

// endpointOf names a request's endpoint (method + path template with the
// module name kept) for the call log.
func endpointOf(method, path string) endpoint {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	name := func(tmpl string) string { return method + " " + tmpl }
	if len(segs) >= 3 && segs[0] == "crm" && segs[1] == "bulk" {
		switch {
		case len(segs) == 4 && segs[3] == "read" && method == http.MethodPost:
			return endpoint{name("/crm/bulk/v8/read"), epBulkCreate}
		case len(segs) == 5:
			return endpoint{name("/crm/bulk/v8/read/{id}"), epOther}
		case len(segs) == 6:
			return endpoint{name("/crm/bulk/v8/read/{id}/result"), epOther}
		}
		return endpoint{name(path), epOther}
	}
	if len(segs) < 3 || segs[0] != "crm" || segs[1] != "v8" {
		return endpoint{name(path), epOther}
	}
	rest := segs[2:]
	base := "/crm/v8/" + rest[0]
	switch {
	case rest[0] == "coql" && len(rest) == 1:
		k := epOther
		if method == http.MethodPost {
			k = epCOQL
		}
		return endpoint{name("/crm/v8/coql"), k}
	case rest[0] == "settings" || rest[0] == "actions":
		return endpoint{name("/crm/v8/" + strings.Join(rest, "/")), epOther}
	case len(rest) == 1:
		k := epOther
		if method == http.MethodPost || method == http.MethodPut {
			k = epWrite
		}
		return endpoint{name(base), k}
	case len(rest) == 2 && rest[1] == "upsert":
		return endpoint{name(base + "/upsert"), epWrite}
	case len(rest) == 2 && rest[1] == "search":
		return endpoint{name(base + "/search"), epSearch}
	case len(rest) == 2 && rest[1] == "deleted":
		return endpoint{name(base + "/deleted"), epDeleted}
	case len(rest) == 3 && rest[1] == "actions":
		return endpoint{name(base + "/actions/" + rest[2]), epOther}
	case len(rest) == 2:
		k := epOther
		if method == http.MethodPut {
			k = epWrite
		}
		return endpoint{name(base + "/{id}"), k}
	case len(rest) == 3:
		return endpoint{name(base + "/{id}/" + rest[2]), epOther}
	case len(rest) == 4 && rest[2] == "actions":
		k := epOther
		if method == http.MethodPost {
			k = epWrite // a merge costs what a one-record write costs
		}
		return endpoint{name(base + "/{id}/actions/" + rest[3]), k}
	}
	return endpoint{name(path), epOther}
}

// serveAPI routes an authenticated-or-not Zoho API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) >= 4 && segs[0] == "crm" && segs[1] == "bulk" && segs[2] == "v8" && segs[3] == "read" {
		if !s.checkAuth(w, r) {
			return
		}
		s.serveBulk(w, r, segs[4:])
		return
	}
	if len(segs) < 3 || segs[0] != "crm" || segs[1] != "v8" {
		writeError(w, errInvalidURL)
		return
	}
	if !s.checkAuth(w, r) {
		return
	}
	rest := segs[2:]
	switch {
	case rest[0] == "settings":
		if len(rest) == 2 && rest[1] == "fields" && r.Method == http.MethodGet {
			s.serveFields(w, r)
			return
		}
		writeError(w, errInvalidURL)
		return
	case rest[0] == "users" && len(rest) == 1:
		s.serveUsers(w, r)
		return
	case rest[0] == "coql" && len(rest) == 1:
		s.serveCOQL(w, r)
		return
	case rest[0] == "actions":
		if len(rest) == 2 && rest[1] == "watch" {
			s.serveWatch(w, r)
			return
		}
		writeError(w, errInvalidURL)
		return
	}
	s.mu.RLock()
	_, known := s.modules[rest[0]]
	s.mu.RUnlock()
	if !known {
		writeError(w, errInvalidModule(0))
		return
	}
	mod := rest[0]
	switch {
	case len(rest) == 1:
		switch r.Method {
		case http.MethodGet:
			s.serveList(w, r, mod)
		case http.MethodPost:
			s.serveWrite(w, r, mod, writeInsert, "")
		case http.MethodPut:
			s.serveWrite(w, r, mod, writeUpdate, "")
		case http.MethodDelete:
			s.serveDelete(w, r, mod, r.URL.Query().Get("ids"), false)
		default:
			writeError(w, errMethod)
		}
	case len(rest) == 2 && rest[1] == "upsert":
		if r.Method != http.MethodPost {
			writeError(w, errMethod)
			return
		}
		s.serveWrite(w, r, mod, writeUpsert, "")
	case len(rest) == 2 && rest[1] == "search":
		if r.Method != http.MethodGet {
			writeError(w, errMethod)
			return
		}
		s.serveSearch(w, r, mod)
	case len(rest) == 2 && rest[1] == "deleted":
		if r.Method != http.MethodGet {
			writeError(w, errMethod)
			return
		}
		s.serveDeleted(w, r, mod)
	case len(rest) == 3 && rest[1] == "actions" && rest[2] == "count":
		if r.Method != http.MethodGet {
			writeError(w, errMethod)
			return
		}
		s.serveCount(w, r, mod)
	case len(rest) == 2:
		switch r.Method {
		case http.MethodGet:
			s.serveGet(w, r, mod, rest[1])
		case http.MethodPut:
			s.serveWrite(w, r, mod, writeUpdate, rest[1])
		case http.MethodDelete:
			s.serveDelete(w, r, mod, rest[1], true)
		default:
			writeError(w, errMethod)
		}
	case len(rest) == 3:
		if r.Method != http.MethodGet {
			writeError(w, errMethod)
			return
		}
		s.serveRelated(w, r, mod, rest[1], rest[2])
	case len(rest) == 4 && rest[2] == "actions" && rest[3] == "merge":
		s.serveMerge(w, r, mod, rest[1])
	default:
		writeError(w, errInvalidURL)
	}
}
