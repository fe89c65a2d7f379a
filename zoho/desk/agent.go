package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"deskcrm/zoho"
)

// Agent is the Desk agent an access token belongs to, as GET /api/v1/myinfo answers.
type Agent struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	EmailID   string `json:"emailId"`
	ProfileID string `json:"profileId"`
	RoleID    string `json:"roleId"`
	// Status is ACTIVE for an agent who may work.
	Status string `json:"status"`
}

// ErrMalformedToken is returned by CurrentAgent for a token that cannot be one (empty, too
// long, or with spaces); Desk is not asked.
var ErrMalformedToken = errors.New("malformed access token")

// maxAgentToken bounds the length of an agent token passed to CurrentAgent.
const maxAgentToken = 1024

// CurrentAgent asks Desk whose token accessToken is: GET /api/v1/myinfo sent with that token
// (not the client's own) and the client's orgId, so a token granted for another organization
// is refused by Desk (403 OAUTH_ORG_MISMATCH). The call shares the client's concurrency
// limiter and is not retried on 401. Errors are *Error for Desk's answers.
func (c *Client) CurrentAgent(ctx context.Context, accessToken string) (Agent, error) {
	const op = "my info"
	if accessToken == "" || len(accessToken) > maxAgentToken || strings.ContainsAny(accessToken, " \t\r\n") {
		return Agent{}, fmt.Errorf("%s: %w", op, ErrMalformedToken)
	}
	caller := *c.caller
	caller.Tokens = zoho.StaticTokenSource(accessToken)
	caller.IsTokenError = nil
	req, _ := c.request(op, http.MethodGet, "/myinfo", nil, nil)
	var a Agent
	resp, err := caller.Do(ctx, req)
	if err != nil {
		return Agent{}, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return Agent{}, fmt.Errorf("%s: decode response: %w", op, err)
	}
	if a.ID == "" || a.ProfileID == "" {
		return Agent{}, errors.New(op + ": answer without agent id or profile id")
	}
	return a, nil
}

// Profile returns one agent profile by id (GET /api/v1/profiles/{id}), with the client's own
// token.
func (c *Client) Profile(ctx context.Context, id string) (Profile, error) {
	req, _ := c.request("get profile", http.MethodGet, "/profiles/"+url.PathEscape(id), nil, nil)
	var p Profile
	if _, err := c.call(ctx, req, &p); err != nil {
		return Profile{}, err
	}
	if p.ID == "" {
		return Profile{}, errors.New("get profile: answer without id")
	}
	return p, nil
}
