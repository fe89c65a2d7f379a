package desk

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
)

// DefaultOrgID is the organization (portal) id of the emulated Desk.
const DefaultOrgID = "1000000001"

// DefaultOwnerID is the agent id set as ownerId when a create gives none.
const DefaultOwnerID = "1892000000042001"

// SourceIDHeader is the request header that carries the caller's source id
// on writes. A webhook whose ignoreSourceId equals it is not fired for that
// write (Desk calls the header sourceId).
const SourceIDHeader = "sourceId"

// maxBody is the largest request body accepted (413 beyond).
const maxBody = 4 << 20

// Config configures a Server. The zero value is usable.
type Config struct {
	// OrgID is the organization id every call must name (default
	// DefaultOrgID).
	OrgID string
	// Auth is the token store; share one with the CRM emulator so one OAuth
	// client serves both. Nil creates a store with zohoauth defaults.
	Auth *zohoauth.Store
	// Realism adds latency, limits, credits, faults and the call log. Nil
	// creates an engine with everything off.
	Realism *realism.Engine
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// CustomFields are extra custom fields per module ("contacts",
	// "accounts"), added after the defaults.
	CustomFields map[string][]Field
	// NoDefaultCustomFields leaves out DefaultCustomFields (cf_crm_id is
	// always present).
	NoDefaultCustomFields bool
	// Webhooks tunes webhook delivery; zero values take the defaults.
	Webhooks WebhookConfig
	// SigningKey signs webhook JWTs; nil generates a 2048-bit RSA key.
	SigningKey *rsa.PrivateKey
	// AgentTokens holds the agents' own access tokens that GET /api/v1/myinfo resolves; nil
	// creates an empty store (see AgentToken).
	AgentTokens *zohoauth.AgentTokens
}

// Server is the Zoho Desk v1 emulator. It is an http.Handler serving the
// Desk REST API under /api/v1/, the token endpoint /oauth/v2/token, the
// webhook signing keys at /.well-known/jwks.json and the admin API under
// /_emulator/. It is safe for concurrent use.
type Server struct {
	cfg    Config
	orgID  string
	now    func() time.Time
	auth   *zohoauth.Store
	agents *zohoauth.AgentTokens
	engine *realism.Engine
	api    http.Handler
	token  http.Handler
	admin  http.Handler

	mu      sync.RWMutex
	mods    map[string]*moduleStore
	nextID  uint64
	seq     uint64
	tickets *ticketStore

	hooks *hookManager

	// agentList and profiles are the organization's agents and profiles (under mu).
	agentList []Agent
	profiles  []Profile
}

// idBase is the first id the emulator hands out; ids look like Desk's
// 16-digit ids.
const idBase = 1892000000100000

// New returns a Desk emulator configured by cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, orgID: cfg.OrgID, now: cfg.Now, auth: cfg.Auth, engine: cfg.Realism}
	if s.orgID == "" {
		s.orgID = DefaultOrgID
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.auth == nil {
		s.auth = zohoauth.NewStore(zohoauth.Config{})
	}
	s.agentList, s.profiles = slices.Clone(Agents), slices.Clone(Profiles)
	s.agents = cfg.AgentTokens
	if s.agents == nil {
		s.agents = zohoauth.NewAgentTokens(s.now)
	}
	if s.engine == nil {
		s.engine = realism.New(realism.Config{})
	}
	key := cfg.SigningKey
	if key == nil {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("desk emulator: generate signing key: %v", err))
		}
	}
	s.reset()
	s.hooks = newHookManager(s, cfg.Webhooks, key)
	s.api = s.engine.Handler(s.classify, realism.Responses{
		TooManyRequests:  tooManyRequests,
		CreditsExhausted: creditsExhausted,
		ServerError:      serverError,
		CreditHeaders:    realism.DeskCreditHeaders,
	}, http.HandlerFunc(s.serveAPI))
	s.token = s.auth.TokenHandler("")
	s.admin = s.engine.AdminHandler(s.auth)
	return s
}

// reset (re)creates the empty data set; it panics only on invalid
// Config.CustomFields, which is a programming error.
func (s *Server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	mods := map[string]*moduleStore{}
	for i, m := range []string{ModuleContacts, ModuleAccounts} {
		var custom []Field
		if s.cfg.NoDefaultCustomFields {
			custom = DefaultCustomFields(m)[:1]
		} else {
			custom = DefaultCustomFields(m)
		}
		custom = append(custom, s.cfg.CustomFields[m]...)
		sch, err := newSchema(m, custom, 1892000000010000+uint64(i)*1000)
		if err != nil {
			panic(fmt.Sprintf("desk emulator: %v", err))
		}
		mods[m] = newModuleStore(sch)
	}
	s.mods = mods
	s.nextID = idBase
	s.seq = 0
	s.tickets = newTicketStore()
}

// Reset deletes every record, ticket and webhook and clears the call log;
// custom fields added with AddField are dropped too.
func (s *Server) Reset() {
	s.reset()
	s.hooks.reset()
	s.engine.ResetCalls()
}

// OrgID returns the organization id the server expects.
func (s *Server) OrgID() string { return s.orgID }

// Auth returns the token store.
func (s *Server) Auth() *zohoauth.Store { return s.auth }

// Realism returns the realism engine (latency, limits, faults, call log).
func (s *Server) Realism() *realism.Engine { return s.engine }

// Close stops webhook delivery workers. Pending deliveries are dropped.
func (s *Server) Close() { s.hooks.close() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == zohoauth.TokenPath || p == zohoauth.RevokePath:
		s.token.ServeHTTP(w, r)
	case p == "/.well-known/jwks.json":
		s.hooks.serveJWKS(w, r)
	case p == "/_emulator/load" || p == "/_emulator/reset" || strings.HasPrefix(p, "/_emulator/tickets") ||
		p == "/_emulator/webhooks" || p == "/_emulator/fields":
		s.serveAdmin(w, r)
	case p == "/_emulator/agents" || p == "/_emulator/agents/token":
		s.serveAgentsAdmin(w, r)
	case strings.HasPrefix(p, realism.AdminPrefix):
		s.admin.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/api/v1/"):
		s.api.ServeHTTP(w, r)
	default:
		writeError(w, errNotFound())
	}
}

func tooManyRequests(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, &apiError{ErrorCode: CodeTooManyRequests,
		Message: "Too many requests are in progress at the same time. Please try again after some time."})
}

func creditsExhausted(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", "3600")
	writeJSON(w, http.StatusTooManyRequests, &apiError{ErrorCode: CodeThresholdExceeded,
		Message: "The API credits allotted for your organization for the day have been exhausted."})
}

func serverError(w http.ResponseWriter, _ *http.Request, status int) {
	writeJSON(w, status, &apiError{ErrorCode: CodeInternalServerError, Message: "An internal server error occurred."})
}

// authorize checks the access token and the orgId of an API call.
func (s *Server) authorize(r *http.Request) *apiError {
	switch s.auth.Check(r) {
	case zohoauth.Valid:
	case zohoauth.Missing:
		return &apiError{Status: http.StatusUnauthorized, ErrorCode: CodeInvalidOAuth, Message: "The OAuth Token you provided is invalid."}
	default:
		return &apiError{Status: http.StatusUnauthorized, ErrorCode: CodeInvalidOAuth, Message: "The OAuth Token you provided is invalid."}
	}
	org, e := orgIDOf(r)
	if e != nil {
		return e
	}
	if org != s.orgID {
		return &apiError{Status: http.StatusForbidden, ErrorCode: CodeOrgMismatch, Message: "The OAuth token does not belong to the organization given in orgId."}
	}
	return nil
}

// orgIDOf returns a call's organization: the orgId header, else the orgId query parameter;
// 422 when neither is given.
func orgIDOf(r *http.Request) (string, *apiError) {
	org := r.Header.Get("orgId")
	if org == "" {
		org = r.URL.Query().Get("orgId")
	}
	if org == "" {
		return "", &apiError{Status: http.StatusUnprocessableEntity, ErrorCode: CodeInvalidData, Message: messageInvalidData,
			Errors: []FieldError{{FieldName: "orgId", ErrorType: ErrMissing, ErrorMessage: "The orgId header is required"}}}
	}
	return org, nil
}

// readBody reads a request body up to maxBody.
func readBody(r *http.Request) ([]byte, *apiError) { return readBodyTo(nil, r) }

// readBodyTo reads a request body up to maxBody into buf's array (grown as needed), as
// io.ReadAll does into a new one: the record writes read into a buffer from bufPool, since
// their decoding copies what it keeps.
func readBodyTo(buf []byte, r *http.Request) ([]byte, *apiError) {
	lr := io.LimitedReader{R: r.Body, N: maxBody + 1}
	b := buf[:0]
	if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errBadRequest("could not read the request body")
		}
	}
	if len(b) > maxBody {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, ErrorCode: CodeSizeExceeded, Message: "The request body is too large"}
	}
	return b, nil
}

// newID hands out the next record id. Caller holds s.mu.
func (s *Server) newID() uint64 {
	s.nextID++
	return s.nextID
}

// nextSeq hands out the next write sequence number. Caller holds s.mu.
func (s *Server) nextSeq() uint64 {
	s.seq++
	return s.seq
}

// nowMS is the current time in unix milliseconds.
func (s *Server) nowMS() int64 { return s.now().UnixMilli() }

func idString(id uint64) string { return strconv.FormatUint(id, 10) }
