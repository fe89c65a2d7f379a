package panel

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"deskcrm/zoho/desk"
)

// Agent is who calls the agent panel: a Desk agent as Desk itself resolved their token.
type Agent struct {
	// ID is the agent's Desk id.
	ID string
	// ProfileID and Profile are the agent's Desk profile: its id and its name, under which
	// the profile's panel permissions are stored.
	ProfileID, Profile string
}

// Defaults of the identity cache.
const (
	// DefaultIdentityTTL is how long a resolved agent token is trusted before Desk is asked again.
	DefaultIdentityTTL = 5 * time.Minute
	// refusedTTL is how long a token Desk refused is refused without asking again.
	refusedTTL = time.Minute
	// maxIdentities bounds the identity and profile caches.
	maxIdentities = 10000
	// maxLookups bounds the Desk lookups in flight, so that a flood of unknown tokens takes
	// at most this many of the org's Desk concurrency slots.
	maxLookups = 2
)

// identities resolves agent tokens through Desk (GET /api/v1/myinfo, then the profile's
// name) and caches the answers by the token's SHA-256, never the token itself.
type identities struct {
	desk *desk.Client
	ttl  time.Duration
	now  func() time.Time
	log  *zap.Logger
	sem  chan struct{}

	mu       sync.Mutex
	agents   map[[32]byte]identity
	profiles map[string]profileName
	inflight map[[32]byte]*lookup
}

// identity is a cached resolution: an agent, or the refusal to answer again.
type identity struct {
	agent   Agent
	refusal *problem
	expires time.Time
}

type profileName struct {
	name    string
	expires time.Time
}

// lookup is one resolution in flight that concurrent requests with the same token share.
type lookup struct {
	done  chan struct{}
	agent Agent
	p     *problem
}

func newIdentities(d *desk.Client, ttl time.Duration, now func() time.Time, log *zap.Logger) *identities {
	return &identities{desk: d, ttl: ttl, now: now, log: log, sem: make(chan struct{}, maxLookups),
		agents: map[[32]byte]identity{}, profiles: map[string]profileName{}, inflight: map[[32]byte]*lookup{}}
}

// agentToken reads the agent's Desk OAuth token from "Authorization: Zoho-oauthtoken <token>"
// (what a Desk extension's connection sends) or "Authorization: Bearer <token>".
func agentToken(r *http.Request) string {
	v := r.Header.Get("Authorization")
	for _, scheme := range []string{"zoho-oauthtoken ", "bearer "} {
		if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
			return strings.TrimSpace(v[len(scheme):])
		}
	}
	return ""
}

// resolve returns the agent who owns token, from the cache or from Desk.
func (ids *identities) resolve(ctx context.Context, token string) (Agent, *problem) {
	key := sha256.Sum256([]byte(token))
	ids.mu.Lock()
	if e, ok := ids.agents[key]; ok && ids.now().Before(e.expires) {
		ids.mu.Unlock()
		return e.agent, e.refusal
	}
	l := ids.inflight[key]
	if l == nil {
		l = &lookup{done: make(chan struct{})}
		ids.inflight[key] = l
		go ids.run(context.WithoutCancel(ctx), key, token, l)
	}
	ids.mu.Unlock()
	select {
	case <-l.done:
		return l.agent, l.p
	case <-ctx.Done():
		return Agent{}, &problem{status: 499, code: "canceled", msg: "request canceled"}
	}
}

// run performs one lookup and caches its outcome (refusals for a short while; Desk or
// network failures not at all).
func (ids *identities) run(ctx context.Context, key [32]byte, token string, l *lookup) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	l.agent, l.p = ids.ask(ctx, token)
	ids.mu.Lock()
	defer ids.mu.Unlock()
	delete(ids.inflight, key)
	now := ids.now()
	switch {
	case l.p == nil:
		ids.put(key, identity{agent: l.agent, expires: now.Add(ids.ttl)})
	case l.p.status == http.StatusUnauthorized || l.p.status == http.StatusForbidden:
		ids.put(key, identity{refusal: l.p, expires: now.Add(min(refusedTTL, ids.ttl))})
	}
	close(l.done)
}

// put stores an entry, dropping expired ones (or all) when the cache is full. Caller holds mu.
func (ids *identities) put(key [32]byte, e identity) {
	if len(ids.agents) >= maxIdentities {
		now := ids.now()
		for k, v := range ids.agents {
			if !now.Before(v.expires) {
				delete(ids.agents, k)
			}
		}
		if len(ids.agents) >= maxIdentities {
			clear(ids.agents)
		}
	}
	ids.agents[key] = e
}

// ask resolves a token with Desk: who the agent is, then their profile's name.
func (ids *identities) ask(ctx context.Context, token string) (Agent, *problem) {
	select {
	case ids.sem <- struct{}{}:
		defer func() { <-ids.sem }()
	case <-ctx.Done():
		return Agent{}, &problem{status: http.StatusServiceUnavailable, code: "busy", msg: "too many agent lookups at once; try again"}
	}
	a, err := ids.desk.CurrentAgent(ctx, token)
	if err != nil {
		return Agent{}, ids.refusal(err)
	}
	if !strings.EqualFold(a.Status, "ACTIVE") {
		return Agent{}, &problem{status: http.StatusForbidden, code: "agent_inactive",
			msg: "your Desk agent account is not active"}
	}
	name, err := ids.profileName(ctx, a.ProfileID)
	if err != nil {
		ids.log.Warn("read the agent's Desk profile", zap.String("profileId", a.ProfileID), zap.Error(err))
		return Agent{}, &problem{status: http.StatusBadGateway, code: "desk_error",
			msg: "could not read your Desk profile from Zoho Desk; try again"}
	}
	return Agent{ID: a.ID, ProfileID: a.ProfileID, Profile: name}, nil
}

// refusal turns a failed myinfo call into an answer: Desk's refusals are the caller's fault
// (401, 403), anything else is Desk's or the network's (502).
func (ids *identities) refusal(err error) *problem {
	var de *desk.Error
	if errors.As(err, &de) {
		switch {
		case de.HTTPStatus == http.StatusForbidden || de.Code == "OAUTH_ORG_MISMATCH":
			return &problem{status: http.StatusForbidden, code: "wrong_organization",
				msg: "the Desk token does not belong to this integration's Desk organization"}
		case de.HTTPStatus == http.StatusUnauthorized:
			return &problem{status: http.StatusUnauthorized, code: "unauthorized",
				msg: "Zoho Desk does not accept this token: send the agent's own Desk OAuth token as \"Authorization: Zoho-oauthtoken <token>\""}
		}
		ids.log.Warn("desk myinfo failed", zap.String("code", de.Code), zap.Int("status", de.HTTPStatus))
		return &problem{status: http.StatusBadGateway, code: "desk_error", msg: fmt.Sprintf("Zoho Desk answered %s when asked who you are", de.Code)}
	}
	if errors.Is(err, desk.ErrMalformedToken) {
		return &problem{status: http.StatusUnauthorized, code: "unauthorized", msg: "the Desk token is malformed"}
	}
	ids.log.Warn("desk myinfo unreachable", zap.Error(err))
	return &problem{status: http.StatusBadGateway, code: "desk_unreachable", msg: "Zoho Desk could not be reached to check who you are"}
}

// profileName returns the name of a Desk profile, cached like identities.
func (ids *identities) profileName(ctx context.Context, profileID string) (string, error) {
	ids.mu.Lock()
	if p, ok := ids.profiles[profileID]; ok && ids.now().Before(p.expires) {
		ids.mu.Unlock()
		return p.name, nil
	}
	ids.mu.Unlock()
	p, err := ids.desk.Profile(ctx, profileID)
	if err != nil {
		return "", err
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if len(ids.profiles) >= maxIdentities {
		clear(ids.profiles)
	}
	ids.profiles[profileID] = profileName{name: p.Name, expires: ids.now().Add(ids.ttl)}
	return p.Name, nil
}
