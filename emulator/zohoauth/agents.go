package zohoauth

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// DefaultAgentTokenLifetime is how long an agent's access token lives.
const DefaultAgentTokenLifetime = time.Hour

// AgentTokens issues and checks the access tokens of individual agents: what the accounts
// server grants to an agent's own connection (a Desk extension's), as opposed to the
// integration's OAuth client of Store. Each token belongs to one agent of one organization,
// as a real Zoho token is bound to the org it was consented for. It is safe for concurrent
// use.
type AgentTokens struct {
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]AgentGrant
}

// AgentGrant is what an agent token stands for.
type AgentGrant struct {
	// AgentID is the agent's id in its organization.
	AgentID string
	// OrgID is the organization the token was granted for.
	OrgID string
	// Expires is when the token stops working.
	Expires time.Time
}

// NewAgentTokens returns an empty agent-token store; now defaults to time.Now.
func NewAgentTokens(now func() time.Time) *AgentTokens {
	if now == nil {
		now = time.Now
	}
	return &AgentTokens{now: now, tokens: map[string]AgentGrant{}}
}

// Issue mints a token for an agent of an organization, valid for lifetime (default
// DefaultAgentTokenLifetime).
func (a *AgentTokens) Issue(agentID, orgID string, lifetime time.Duration) (string, time.Time) {
	if lifetime <= 0 {
		lifetime = DefaultAgentTokenLifetime
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := "1000." + hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	exp := now.Add(lifetime)
	a.tokens[tok] = AgentGrant{AgentID: agentID, OrgID: orgID, Expires: exp}
	for t, g := range a.tokens {
		if now.Sub(g.Expires) > 24*time.Hour {
			delete(a.tokens, t)
		}
	}
	return tok, exp
}

// Revoke makes a token unknown; it reports whether it existed.
func (a *AgentTokens) Revoke(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.tokens[token]
	delete(a.tokens, token)
	return ok
}

// CheckHeader checks an "Authorization: Zoho-oauthtoken <token>" value and returns the
// grant of a Valid token.
func (a *AgentTokens) CheckHeader(authorization string) (AgentGrant, Status) {
	tok, ok := strings.CutPrefix(authorization, HeaderPrefix)
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return AgentGrant{}, Missing
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.tokens[tok]
	switch {
	case !ok:
		return AgentGrant{}, Unknown
	case !a.now().Before(g.Expires):
		return AgentGrant{}, Expired
	}
	return g, Valid
}
