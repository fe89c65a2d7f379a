package desk

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"deskcrm/emulator/realism"
	"deskcrm/emulator/zohoauth"
)

// Agent is a Desk agent as GET /api/v1/myinfo renders it (the fields deskcrm reads, and a
// few more of Desk's).
type Agent struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Name      string `json:"name"`
	EmailID   string `json:"emailId"`
	ProfileID string `json:"profileId"`
	RoleID    string `json:"roleId"`
	// Status is ACTIVE or DISABLED; a disabled agent's token is refused.
	Status      string `json:"status"`
	IsConfirmed bool   `json:"isConfirmed"`
	LangCode    string `json:"langCode"`
	TimeZone    string `json:"timeZone"`
}

// Seeded agent ids, one per profile of Profiles (and a disabled one).
const (
	AgentAdmin    = DefaultOwnerID
	AgentAgent    = "1892000000042002"
	AgentManager  = "1892000000042003"
	AgentNewbie   = "1892000000042004"
	AgentLight    = "1892000000042005"
	AgentDisabled = "1892000000042009"
)

// Agents are the agents every emulated organization starts with, one per profile of
// Profiles (AddAgent adds more to one server).
var Agents = []Agent{
	agent(AgentAdmin, "Alex", "Admin", "1892000000005701"),
	agent(AgentAgent, "Ana", "Agent", "1892000000005702"),
	agent(AgentManager, "Mia", "Manager", "1892000000005703"),
	agent(AgentNewbie, "Ned", "Newbie", "1892000000005704"),
	agent(AgentLight, "Lea", "Light", "1892000000005705"),
	func() Agent {
		a := agent(AgentDisabled, "Dan", "Departed", "1892000000005702")
		a.Status = "DISABLED"
		return a
	}(),
}

func agent(id, first, last, profileID string) Agent {
	return Agent{ID: id, FirstName: first, LastName: last, Name: first + " " + last,
		EmailID: fmt.Sprintf("%s.%s@zylker.example", lower(first), lower(last)), ProfileID: profileID,
		RoleID: "1892000000005801", Status: "ACTIVE", IsConfirmed: true, LangCode: "en_US", TimeZone: "Europe/Lisbon"}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// findAgent returns an agent of the organization by id.
func (s *Server) findAgent(id string) (Agent, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := slices.IndexFunc(s.agentList, func(a Agent) bool { return a.ID == id })
	if i < 0 {
		return Agent{}, false
	}
	return s.agentList[i], true
}

// profileList returns the organization's profiles.
func (s *Server) profileList() []Profile {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.profiles)
}

// AddAgent adds an agent to the organization, and its profile when the organization has no
// profile with p.ID yet (p may be zero when a.ProfileID is a known profile). Status defaults
// to ACTIVE. Agents and profiles survive Reset.
func (s *Server) AddAgent(a Agent, p Profile) error {
	if a.ID == "" || a.ProfileID == "" {
		return fmt.Errorf("add agent: id and profileId are required")
	}
	if a.Status == "" {
		a.Status = "ACTIVE"
	}
	if a.Name == "" {
		a.Name = strings.TrimSpace(a.FirstName + " " + a.LastName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.agentList, func(x Agent) bool { return x.ID == a.ID }) {
		return fmt.Errorf("add agent: %s exists", a.ID)
	}
	if !slices.ContainsFunc(s.profiles, func(x Profile) bool { return x.ID == a.ProfileID }) {
		if p.ID != a.ProfileID || p.Name == "" {
			return fmt.Errorf("add agent: profile %s is unknown; give it with its name", a.ProfileID)
		}
		s.profiles = append(s.profiles, p)
	}
	s.agentList = append(s.agentList, a)
	return nil
}

// AgentTokens returns the store of the agents' own access tokens.
func (s *Server) AgentTokens() *zohoauth.AgentTokens { return s.agents }

// AgentToken issues an access token for a seeded agent of this organization, as the accounts
// server grants one to the agent's own connection (a Desk extension's).
func (s *Server) AgentToken(agentID string, lifetime time.Duration) (string, error) {
	if _, ok := s.findAgent(agentID); !ok {
		return "", fmt.Errorf("no agent %s", agentID)
	}
	tok, _ := s.agents.Issue(agentID, s.orgID, lifetime)
	return tok, nil
}

// serveMyInfo serves GET /api/v1/myinfo ("Get my information"): the agent who owns the
// request's access token, for any valid token of the organization. Every Zoho OAuth token is
// some Zoho user's: an agent's own token (a Desk extension's connection) is that agent's, and
// the integration's token is the user's who granted it — the organization's admin,
// DefaultOwnerID, whom the emulator also names as the owner of records created without
// ownerId and as the one who deletes. The token must be granted for the organization the
// orgId header names, else 403 OAUTH_ORG_MISMATCH; an unknown or expired token, or a disabled
// agent's, is 401 INVALID_OAUTH.
func (s *Server) serveMyInfo(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	if rt.sub != "" {
		return errNotFound()
	}
	if r.Method != http.MethodGet {
		return errMethod()
	}
	invalid := &apiError{Status: http.StatusUnauthorized, ErrorCode: CodeInvalidOAuth, Message: "The OAuth Token you provided is invalid."}
	var agentID string
	if grant, st := s.agents.CheckHeader(r.Header.Get("Authorization")); st == zohoauth.Valid {
		org, e := orgIDOf(r)
		if e != nil {
			return e
		}
		if org != grant.OrgID || org != s.orgID {
			return &apiError{Status: http.StatusForbidden, ErrorCode: CodeOrgMismatch, Message: "The OAuth token does not belong to the organization given in orgId."}
		}
		agentID = grant.AgentID
	} else {
		// The integration's token: checked as on every other endpoint.
		if e := s.authorize(r); e != nil {
			return e
		}
		agentID = DefaultOwnerID
	}
	a, ok := s.findAgent(agentID)
	if !ok || a.Status != "ACTIVE" {
		return invalid
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// AgentTokenRequest is the body of POST /_emulator/agents/token.
type AgentTokenRequest struct {
	AgentID string `json:"agentId"`
	// OrgID defaults to the emulated organization; another one makes a token of a foreign
	// organization's agent.
	OrgID string `json:"orgId,omitempty"`
	// LifetimeSeconds defaults to an hour.
	LifetimeSeconds int `json:"lifetimeSeconds,omitempty"`
}

// serveAgentsAdmin serves
//
//	GET  /_emulator/agents        -> {"agents":[...]}
//	POST /_emulator/agents/token  {"agentId","orgId","lifetimeSeconds"} -> {"access_token","expires_in","agent"}
func (s *Server) serveAgentsAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_emulator/agents" && r.Method == http.MethodGet:
		s.mu.RLock()
		agents := slices.Clone(s.agentList)
		s.mu.RUnlock()
		realism.WriteJSON(w, http.StatusOK, map[string]any{"agents": agents, "profiles": s.profileList()})
	case r.URL.Path == "/_emulator/agents/token" && r.Method == http.MethodPost:
		var req AgentTokenRequest
		if err := decodeAdmin(r, &req); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		a, ok := s.findAgent(req.AgentID)
		if !ok {
			realism.AdminError(w, http.StatusNotFound, fmt.Errorf("no agent %q", req.AgentID))
			return
		}
		org := req.OrgID
		if org == "" {
			org = s.orgID
		}
		life := time.Duration(req.LifetimeSeconds) * time.Second
		tok, exp := s.agents.Issue(a.ID, org, life)
		realism.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok,
			"expires_in": int(time.Until(exp).Round(time.Second).Seconds()), "agent": a, "orgId": org})
	default:
		realism.AdminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}
