package zoho

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// RetryPolicy governs the retries of idempotent calls (reads and updates) on 5xx, 429 and
// network errors. Writes are never retried by the clients: Temporal's activity
// retries and the sync's idempotency rules handle them.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff (default 250ms), doubled each retry with
	// jitter up to MaxDelay (default 8s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxWait is the longest server-advised wait (Retry-After) the client sits
	// out itself; a longer one (exhausted credits) is returned to the caller.
	// Default 30s.
	MaxWait time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 8 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 30 * time.Second
	}
	return p
}

// Backoff returns the wait before retry number n (1-based): BaseDelay·2^(n-1)
// capped at MaxDelay, with up to 25% jitter taken off.
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// Request is one call for Caller.Do.
type Request struct {
	// Op names the operation for metrics ("list", "insert", ...).
	Op     string
	Method string
	// URL is absolute.
	URL    string
	Header http.Header
	// Body is sent as is (it is kept as bytes so that a retry can resend it).
	Body []byte
	// Complex marks calls Zoho counts against the complex-API sub-limit.
	Complex bool
	// Cost is the documented credit cost, used when the server sends no weight header.
	Cost int
	// Idempotent marks a write that may be sent twice with the same effect (an update by
	// id: it sets fields to values). Like reads, it is retried on transient failures —
	// a 5xx, a 429 or a lost response. Creates are not: a lost create may have been made.
	Idempotent bool
}

// Caller executes requests for one API and one org: it takes a concurrency
// slot, sets the Zoho-oauthtoken header, counts credits, retries idempotent
// calls (reads, Request.Idempotent updates) on transient failures, and on a 401 for an invalid token refreshes the
// token once and retries (for writes too: a 401 means nothing was applied).
// The crm and desk clients each hold one.
type Caller struct {
	// API labels metrics ("crm", "desk").
	API string
	// HTTP sends the requests (default http.DefaultClient).
	HTTP    *http.Client
	Tokens  *TokenSource
	Limiter *Limiter
	Credits *Credits
	Metrics *Metrics
	Retry   RetryPolicy
	// ParseError turns a response with status >= 400 into the API's error type.
	ParseError func(status int, h http.Header, body []byte) error
	// IsTokenError reports whether an error from ParseError means the access
	// token was rejected (expired or revoked) so a refresh may help.
	IsTokenError func(err error) bool
	// WeightHeader and RemainingHeader name the response headers that report
	// a call's credit cost and the credits left (empty if the API has none).
	WeightHeader    string
	RemainingHeader string
	// Sleep waits between retries; tests may replace it. Default honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Reserve is how many of the day's credits calls leave untouched for the org's other
	// integrations: once the server reports no more left than that, calls fail with a
	// ReserveError (exhausted credits) instead of being sent. 0 keeps no reserve.
	Reserve int64
}

// Do sends req. For a response with status < 400 it returns the response with
// its body unread; closing the body frees the concurrency slot, so callers must
// always close it. For status >= 400 (after any retries) it returns the response
// with its body fully buffered together with the API error from ParseError.
// With no response at all it returns a *TransportError.
func (c *Caller) Do(ctx context.Context, req Request) (*http.Response, error) {
	pol := c.Retry.withDefaults()
	idempotent := req.Idempotent || req.Method == http.MethodGet || req.Method == http.MethodHead
	refreshed := false
	for attempt := 1; ; attempt++ {
		resp, apiErr, err := c.once(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", req.Method, pathOf(req.URL), ctx.Err())
			}
			if idempotent && attempt < pol.MaxAttempts && IsTransient(err) {
				c.Metrics.retry(c.API, "network")
				if serr := c.sleep(ctx, pol.Backoff(attempt)); serr != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		if apiErr == nil {
			return resp, nil
		}
		if resp.StatusCode == http.StatusUnauthorized && !refreshed && c.IsTokenError != nil && c.IsTokenError(apiErr) {
			refreshed = true
			c.Metrics.forcedRefresh(c.API)
			c.Tokens.Invalidate(tokenOf(resp.Request))
			attempt-- // the refresh retry does not count against MaxAttempts
			continue
		}
		if idempotent && attempt < pol.MaxAttempts && IsTransient(apiErr) {
			wait := pol.Backoff(attempt)
			if d, ok := RetryAfter(apiErr); ok {
				if d > pol.MaxWait {
					return resp, apiErr
				}
				wait = max(wait, d)
			}
			c.Metrics.retry(c.API, statusClass(resp.StatusCode))
			if serr := c.sleep(ctx, wait); serr != nil {
				return resp, apiErr
			}
			continue
		}
		return resp, apiErr
	}
}

func (c *Caller) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once sends one attempt. err is a transport or auth failure; apiErr an HTTP error answer.
func (c *Caller) once(ctx context.Context, req Request) (resp *http.Response, apiErr error, err error) {
	if left, at := c.Credits.atReserve(c.Reserve); at {
		return nil, nil, &ReserveError{API: c.API, Remaining: left, Reserve: c.Reserve}
	}
	release, err := c.Limiter.Acquire(ctx, req.Complex)
	if err != nil {
		return nil, nil, err
	}
	tok, err := c.Tokens.TokenContext(ctx)
	if err != nil {
		release()
		return nil, nil, err
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("build %s request: %w", req.Op, err)
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	if req.Body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Authorization", AuthHeaderPrefix+tok.AccessToken)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	c.Metrics.inflightAdd(c.API, 1)
	start := time.Now()
	resp, err = hc.Do(hr)
	if err != nil {
		c.Metrics.inflightAdd(c.API, -1)
		release()
		c.Credits.calls.Add(1)
		meterOf(ctx).add(c.API, 0, time.Since(start))
		c.Metrics.observeCall(c.API, req.Op, 0, 0, time.Since(start), -1)
		return nil, nil, &TransportError{Method: req.Method, Path: pathOf(req.URL), Err: err}
	}
	cost := c.Credits.observe(resp.Header, resp.StatusCode, req.Cost, c.WeightHeader, c.RemainingHeader)
	meterOf(ctx).add(c.API, cost, time.Since(start))
	c.Metrics.observeCall(c.API, req.Op, resp.StatusCode, cost, time.Since(start), c.Credits.remaining.Load())
	done := func() { c.Metrics.inflightAdd(c.API, -1); release() }
	if resp.StatusCode < 400 {
		resp.Body = &releaseBody{ReadCloser: resp.Body, release: done}
		return resp, nil, nil
	}
	buf, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	done()
	if rerr != nil {
		// The status arrived but the body was cut: treat as a lost response.
		return nil, nil, &TransportError{Method: req.Method, Path: pathOf(req.URL), Err: fmt.Errorf("read %d error body: %w", resp.StatusCode, rerr)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	return resp, c.ParseError(resp.StatusCode, resp.Header, buf), nil
}

// releaseBody frees the concurrency slot when the body is closed.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func tokenOf(r *http.Request) string {
	if r == nil {
		return ""
	}
	h := r.Header.Get("Authorization")
	if len(h) > len(AuthHeaderPrefix) {
		return h[len(AuthHeaderPrefix):]
	}
	return ""
}

func pathOf(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			return u[:i]
		}
	}
	return u
}
