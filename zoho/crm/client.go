// Package crm is a typed client for the Zoho CRM REST API v8: records (list,
// get, search, deleted, insert/update/upsert/delete), field metadata, related
// records, the Notification (watch) API and Bulk Read.
//
// Paging calls stream: they hand each page to a callback and never hold more
// than one page. Reads (GET) are retried on 5xx, 429 and network errors; writes
// are never retried (see zoho.TransportError for lost responses).
package crm

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

// Credit and rate headers CRM sends.
const (
	remainingHeader = "X-API-CREDITS-REMAINING"
)

// Limits of the CRM API that the client enforces or relies on.
const (
	MaxPerPage       = 200    // records per list/search page
	MaxWriteBatch    = 100    // records per insert/update/upsert/delete call
	MaxFields        = 50     // field API names per list call
	DiscretePageCap  = 2000   // records reachable with page/per_page alone
	MaxPageTokenRecs = 100000 // records reachable with page_token
	ComplexThreshold = 10     // writes of more records count as "complex" calls
)

// Config configures a Client.
type Config struct {
	// BaseURL overrides the API domain, e.g. an emulator's http://127.0.0.1:8091.
	// Default: the CRM host of DC.
	BaseURL string
	DC      zoho.DataCenter
	// Version is the API version path element (default "v8").
	Version string
	// Tokens supplies access tokens (required).
	Tokens *zoho.TokenSource
	// HTTPClient sends requests (default: zoho.NewHTTPClient with a 60 s timeout, keeping a
	// kept-alive connection per call the limiter allows in flight).
	HTTPClient *http.Client
	// Limiter bounds concurrent calls; share one per org. Default: a new
	// limiter with Concurrency and ComplexConcurrency.
	Limiter            *zoho.Limiter
	Concurrency        int // default zoho.DefaultCRMConcurrency
	ComplexConcurrency int // default zoho.DefaultCRMComplexConcurrency
	// CreditReserve is how many of the day's credits to leave untouched (see zoho.Caller.Reserve).
	CreditReserve int64
	// Metrics, when set, receives call, credit and retry metrics.
	Metrics *zoho.Metrics
	// Retry governs retries of reads.
	Retry zoho.RetryPolicy
	// Trigger is sent as "trigger" on insert/update/upsert: nil omits it (Zoho
	// runs workflows, approvals and blueprints), an empty non-nil slice sends []
	// so no automation fires on our writes (use NoTriggers). It also sets
	// wf_trigger=false on deletes when empty.
	Trigger []string
}

// NoTriggers is the Trigger value that stops CRM automation on the client's writes.
var NoTriggers = []string{}

// Client talks to one CRM org. It is safe for concurrent use.
type Client struct {
	base    string // https://host/crm/v8
	bulk    string // https://host/crm/bulk/v8
	caller  *zoho.Caller
	credits *zoho.Credits
	limiter *zoho.Limiter
	trigger []string
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("crm: Config.Tokens is required")
	}
	host := cfg.BaseURL
	if host == "" {
		ep, err := cfg.DC.Endpoints()
		if err != nil {
			return nil, fmt.Errorf("crm: %w", err)
		}
		host = ep.CRM
	}
	host = strings.TrimRight(host, "/")
	ver := cfg.Version
	if ver == "" {
		ver = "v8"
	}
	lim := cfg.Limiter
	if lim == nil {
		n, cx := cfg.Concurrency, cfg.ComplexConcurrency
		if n <= 0 {
			n = zoho.DefaultCRMConcurrency
		}
		if cx <= 0 {
			cx = zoho.DefaultCRMComplexConcurrency
		}
		lim = zoho.NewLimiter(n, cx)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = zoho.NewHTTPClient(defaultTimeout, lim.Max())
	}
	cr := zoho.NewCredits()
	c := &Client{
		base:    host + "/crm/" + ver,
		bulk:    host + "/crm/bulk/" + ver,
		credits: cr,
		limiter: lim,
		trigger: cfg.Trigger,
	}
	c.caller = &zoho.Caller{
		Reserve: cfg.CreditReserve,
		API:     "crm", HTTP: hc, Tokens: cfg.Tokens, Limiter: lim, Credits: cr, Metrics: cfg.Metrics,
		Retry: cfg.Retry, ParseError: parseError, IsTokenError: isTokenError,
		RemainingHeader: remainingHeader,
	}
	return c, nil
}

// Credits reports the credits this client has used and, when CRM said so, how
// many remain.
func (c *Client) Credits() zoho.CreditStats { return c.credits.Stats() }

// Limiter returns the concurrency limiter the client uses.
func (c *Client) Limiter() *zoho.Limiter { return c.limiter }

// call sends a request and decodes a JSON answer into out (when out != nil and
// the status has a body). It reports the status; 204 and 304 leave out untouched.
func (c *Client) call(ctx context.Context, req zoho.Request, out any) (int, error) {
	resp, err := c.caller.Do(ctx, req)
	if err != nil {
		return statusOf(resp), fmt.Errorf("%s: %w", req.Op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified || out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: decode response: %w", req.Op, err)
	}
	return resp.StatusCode, nil
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

func (c *Client) get(op, path string, q url.Values) zoho.Request {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return zoho.Request{Op: op, Method: http.MethodGet, URL: u, Cost: 1}
}

func (c *Client) jsonRequest(op, method, u string, body any) (zoho.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return zoho.Request{}, fmt.Errorf("%s: encode body: %w", op, err)
	}
	return zoho.Request{Op: op, Method: method, URL: u, Body: b, Cost: 1}, nil
}

// pathEscape escapes one path segment (module names, ids).
func pathEscape(s string) string { return url.PathEscape(s) }
