// Package desk is a typed client for the Zoho Desk REST API v1: contacts and
// accounts (list, search in time windows, get, create, update, trash), the
// recycle bin, organization fields, webhooks, tickets and profiles.
//
// Paging calls stream pages to a callback. Reads (GET) are retried on 5xx, 429
// and network errors; writes are never retried (see zoho.TransportError).
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
	"time"

	"deskcrm/zoho"

	"github.com/google/uuid"
)

// Modules the record calls accept.
const (
	Contacts = "contacts"
	Accounts = "accounts"
)

// Limits of the Desk API.
const (
	MaxLimit      = 100 // records per page
	MaxSearchFrom = 999 // largest "from" a search accepts
)

// Headers Desk reads or sends.
const (
	orgIDHeader     = "orgId"
	sourceIDHeader  = "sourceId"
	weightHeader    = "X-Rate-Limit-Request-Weight-v3"
	remainingHeader = "X-Rate-Limit-Remaining-v3"
)

// Config configures a Client.
type Config struct {
	// BaseURL overrides the Desk host, e.g. an emulator's http://127.0.0.1:8092.
	BaseURL string
	DC      zoho.DataCenter
	// OrgID is the Desk organization id, sent as the orgId header (required).
	OrgID string
	// Tokens supplies access tokens (required).
	Tokens *zoho.TokenSource
	// HTTPClient sends requests (default: zoho.NewHTTPClient with a 60 s timeout, keeping a
	// kept-alive connection per call the limiter allows in flight).
	HTTPClient *http.Client
	// Limiter bounds concurrent calls; share one per org. Default: a new
	// limiter of Concurrency (default zoho.DefaultDeskConcurrency).
	Limiter *zoho.Limiter
	// CreditReserve is how many of the day's credits to leave untouched (see zoho.Caller.Reserve).
	CreditReserve int64
	Concurrency   int
	Metrics       *zoho.Metrics
	Retry         zoho.RetryPolicy
	// SourceID is sent as the sourceId header on writes so that webhooks
	// created with the same ignoreSourceId don't echo our own changes. Desk
	// wants a UUID; empty sends no header.
	SourceID string
}

// Client talks to one Desk org. It is safe for concurrent use.
type Client struct {
	base     string // https://host/api/v1
	orgID    string
	sourceID string
	caller   *zoho.Caller
	credits  *zoho.Credits
	limiter  *zoho.Limiter
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("desk: Config.Tokens is required")
	}
	if cfg.OrgID == "" {
		return nil, errors.New("desk: Config.OrgID is required")
	}
	if cfg.SourceID != "" {
		if _, err := uuid.Parse(cfg.SourceID); err != nil {
			return nil, fmt.Errorf("desk: Config.SourceID must be a UUID (Desk's ignoreSourceId format): %w", err)
		}
	}
	host := cfg.BaseURL
	if host == "" {
		ep, err := cfg.DC.Endpoints()
		if err != nil {
			return nil, fmt.Errorf("desk: %w", err)
		}
		host = ep.Desk
	}
	lim := cfg.Limiter
	if lim == nil {
		n := cfg.Concurrency
		if n <= 0 {
			n = zoho.DefaultDeskConcurrency
		}
		lim = zoho.NewLimiter(n, 0)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = zoho.NewHTTPClient(60*time.Second, lim.Max())
	}
	cr := zoho.NewCredits()
	c := &Client{base: strings.TrimRight(host, "/") + "/api/v1", orgID: cfg.OrgID, sourceID: cfg.SourceID, credits: cr, limiter: lim}
	c.caller = &zoho.Caller{
		Reserve: cfg.CreditReserve,
		API:     "desk", HTTP: hc, Tokens: cfg.Tokens, Limiter: lim, Credits: cr, Metrics: cfg.Metrics,
		Retry: cfg.Retry, ParseError: parseError, IsTokenError: isTokenError,
		WeightHeader: weightHeader, RemainingHeader: remainingHeader,
	}
	return c, nil
}

// Credits reports the credits used (from Desk's weight header) and remaining.
func (c *Client) Credits() zoho.CreditStats { return c.credits.Stats() }

// Limiter returns the concurrency limiter the client uses.
func (c *Client) Limiter() *zoho.Limiter { return c.limiter }

func (c *Client) request(op, method, path string, q url.Values, body any) (zoho.Request, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req := zoho.Request{Op: op, Method: method, URL: u, Cost: 1, Header: http.Header{orgIDHeader: {c.orgID}}}
	if method != http.MethodGet && c.sourceID != "" {
		req.Header.Set(sourceIDHeader, c.sourceID)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return req, fmt.Errorf("%s: encode body: %w", op, err)
		}
		req.Body = b
	}
	return req, nil
}

// call sends req and decodes a JSON body into out; it returns the status.
func (c *Client) call(ctx context.Context, req zoho.Request, out any) (int, error) {
	resp, err := c.caller.Do(ctx, req)
	if err != nil {
		return statusOf(resp), fmt.Errorf("%s: %w", req.Op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		if err == io.EOF {
			return resp.StatusCode, nil
		}
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

func checkModule(m string) error {
	if m != Contacts && m != Accounts {
		return fmt.Errorf("module %q: want %q or %q", m, Contacts, Accounts)
	}
	return nil
}

// Get returns one record. A missing record is an *Error (URL_NOT_FOUND,
// failure code RECORD_NOT_FOUND).
func (c *Client) Get(ctx context.Context, module, id string) (Record, error) {
	op := "get " + module
	if err := checkModule(module); err != nil {
		return Record{}, fmt.Errorf("%s: %w", op, err)
	}
	req, _ := c.request(op, http.MethodGet, "/"+module+"/"+url.PathEscape(id), nil, nil)
	var m map[string]any
	if _, err := c.call(ctx, req, &m); err != nil {
		return Record{}, err
	}
	r, err := fromMap(m)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

// Create creates a record from rec.Fields and rec.CF (ID and times are
// ignored) and returns it as stored. A lost response (zoho.IsAmbiguousWrite)
// may still have created it: look it up with FindByCustomField before
// creating again.
func (c *Client) Create(ctx context.Context, module string, rec Record) (Record, error) {
	return c.write(ctx, "create "+module, http.MethodPost, module, "/"+module, rec)
}

// Update changes the given fields of a record (PATCH: absent fields are kept).
func (c *Client) Update(ctx context.Context, module, id string, rec Record) (Record, error) {
	return c.write(ctx, "update "+module, http.MethodPatch, module, "/"+module+"/"+url.PathEscape(id), rec)
}

// Written is what the sync keeps of a write's answer: the record's id and its new
// modifiedTime. The answer carries the whole record (Desk API, "Create contact" / "Update
// contact"); decoding only these two spares a map per call, which at a million records was
// the larger part of the worker's decoding.
type Written struct {
	ID           string
	ModifiedTime time.Time
}

// Write creates a record (id "") or changes the given fields of record id, as Create and
// Update do, and returns only its id and modifiedTime.
func (c *Client) Write(ctx context.Context, module, id string, rec Record) (Written, error) {
	op, method, path := "create "+module, http.MethodPost, "/"+module
	if id != "" {
		op, method, path = "update "+module, http.MethodPatch, "/"+module+"/"+url.PathEscape(id)
	}
	var w struct {
		ID           any `json:"id"`
		ModifiedTime any `json:"modifiedTime"`
	}
	if err := c.send(ctx, op, method, module, path, rec, &w); err != nil {
		return Written{}, err
	}
	r, err := fromMap(map[string]any{"id": w.ID, "modifiedTime": w.ModifiedTime})
	if err != nil {
		return Written{}, fmt.Errorf("%s: %w", op, err)
	}
	return Written{ID: r.ID, ModifiedTime: r.ModifiedTime}, nil
}

// idempotentWrite reports whether a write may be sent again after a transient failure: an
// update by id (PATCH) sets the same fields to the same values; a create would make two.
func idempotentWrite(method string) bool { return method == http.MethodPatch }

func (c *Client) write(ctx context.Context, op, method, module, path string, rec Record) (Record, error) {
	var m map[string]any
	if err := c.send(ctx, op, method, module, path, rec, &m); err != nil {
		return Record{}, err
	}
	out, err := fromMap(m)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// send sends a write of rec and decodes the answer into out.
func (c *Client) send(ctx context.Context, op, method, module, path string, rec Record, out any) error {
	if err := checkModule(module); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req, err := c.request(op, method, path, nil, rec.body())
	if err != nil {
		return err
	}
	req.Idempotent = idempotentWrite(method)
	_, err = c.call(ctx, req, out)
	return err
}

// Trash moves records to the recycle bin (Desk has no hard delete here).
func (c *Client) Trash(ctx context.Context, module string, ids []string) error {
	op := "trash " + module
	if err := checkModule(module); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(ids) == 0 {
		return nil
	}
	key := "contactIds"
	if module == Accounts {
		key = "accountIds"
	}
	req, err := c.request(op, http.MethodPost, "/"+module+"/moveToTrash", nil, map[string][]string{key: ids})
	if err != nil {
		return err
	}
	_, err = c.call(ctx, req, nil)
	return err
}
