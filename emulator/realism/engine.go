package realism

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Config is the initial configuration of an Engine. Zero values mean "off"
// (no latency, no limits, unlimited credits).
type Config struct {
	// Latency is the fixed delay added to every call.
	Latency time.Duration
	// Jitter is the maximum extra delay, drawn uniformly in [0, Jitter).
	Jitter time.Duration
	// Seed seeds the RNG used for jitter and fault rates (0 means 1).
	Seed uint64
	// Limits are the concurrency and credit limits.
	Limits Limits
	// CreditWindow is how long a credit allowance lasts (default 24h).
	CreditWindow time.Duration
	// Now returns the current time (default time.Now); tests may override.
	Now func() time.Time
}

// Limits are the concurrency and daily credit limits. Zero means unlimited.
type Limits struct {
	// MaxInFlight is the number of calls allowed in flight at once.
	MaxInFlight int `json:"max_in_flight"`
	// MaxComplexInFlight is the sub-limit for calls classified as complex.
	MaxComplexInFlight int `json:"max_complex_in_flight"`
	// DailyCredits is the credit allowance per window.
	DailyCredits int64 `json:"daily_credits"`
}

// Call is what an emulator's Classifier says about one request.
type Call struct {
	// Endpoint is the method and path template, e.g. "POST /crm/v8/Contacts"
	// or "GET /crm/v8/Contacts/{id}". It keys the call log.
	Endpoint string
	// Cost is the number of credits the call consumes.
	Cost int
	// Complex marks calls subject to the complex-API sub-limit.
	Complex bool
}

// Classifier describes a request. It may read r.Body but must then replace it
// so the API handler can read it again.
type Classifier func(r *http.Request) Call

// Credits is the state of the credit allowance.
type Credits struct {
	// Limit is the allowance per window (0 = unlimited).
	Limit int64 `json:"limit"`
	// Used is what has been consumed in the current window.
	Used int64 `json:"used"`
	// Remaining is Limit-Used (or -1 when unlimited).
	Remaining int64 `json:"remaining"`
	// WindowStart is when the current window began.
	WindowStart time.Time `json:"window_start"`
}

// Responses holds the API-specific answers the engine needs. Nil functions
// fall back to a plain-text response with the given status.
type Responses struct {
	// TooManyRequests writes the 429 body for a concurrency-limit rejection
	// (also used for injected 429 faults).
	TooManyRequests func(w http.ResponseWriter, r *http.Request)
	// CreditsExhausted writes the answer when the credit allowance is spent.
	CreditsExhausted func(w http.ResponseWriter, r *http.Request)
	// ServerError writes the body of an injected 5xx fault.
	ServerError func(w http.ResponseWriter, r *http.Request, status int)
	// CreditHeaders sets credit headers on a successful (charged) response.
	CreditHeaders func(h http.Header, c Call, credits Credits)
}

// TokenExpirer is implemented by token stores that can expire every issued
// token at once (zohoauth.Store).
type TokenExpirer interface {
	ExpireAll() int
}

// Engine applies latency, limits, credits and faults to an API handler and
// records every call. It is safe for concurrent use.
type Engine struct {
	now    func() time.Time
	window time.Duration

	mu            sync.Mutex
	rng           *rand.Rand
	fixed, jitter time.Duration
	limits        Limits
	inFlight      int
	complexFlight int
	creditsUsed   int64
	windowStart   time.Time
	faults        []*faultState
	nextFaultID   int
	stats         statsState
}

// New returns an Engine configured by cfg.
func New(cfg Config) *Engine {
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	window := cfg.CreditWindow
	if window <= 0 {
		window = 24 * time.Hour
	}
	e := &Engine{
		now:    now,
		window: window,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		fixed:  cfg.Latency,
		jitter: cfg.Jitter,
		limits: cfg.Limits,
	}
	e.windowStart = now()
	e.stats.reset()
	return e
}

// SetLatency sets the fixed delay and jitter added to every call.
func (e *Engine) SetLatency(fixed, jitter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fixed, e.jitter = max(fixed, 0), max(jitter, 0)
}

// Latency returns the current fixed delay and jitter.
func (e *Engine) Latency() (fixed, jitter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fixed, e.jitter
}

// SetLimits replaces the concurrency and credit limits. Credits already used
// in the current window are kept.
func (e *Engine) SetLimits(l Limits) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = l
}

// Limits returns the current limits.
func (e *Engine) Limits() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// Credits returns the state of the credit allowance.
func (e *Engine) Credits() Credits {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rollWindowLocked()
	return e.creditsLocked()
}

// ResetCredits starts a new credit window with nothing used.
func (e *Engine) ResetCredits() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creditsUsed = 0
	e.windowStart = e.now()
}

// SetCreditsUsed sets the credits consumed in the current window (for tests
// of near-exhaustion behaviour).
func (e *Engine) SetCreditsUsed(n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rollWindowLocked()
	e.creditsUsed = max(n, 0)
}

func (e *Engine) rollWindowLocked() {
	if now := e.now(); now.Sub(e.windowStart) >= e.window {
		e.windowStart = now
		e.creditsUsed = 0
	}
}

func (e *Engine) creditsLocked() Credits {
	c := Credits{Limit: e.limits.DailyCredits, Used: e.creditsUsed, Remaining: -1, WindowStart: e.windowStart}
	if c.Limit > 0 {
		c.Remaining = max(c.Limit-c.Used, 0)
	}
	return c
}

// delay draws the latency for one call.
func (e *Engine) delay() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.fixed
	if e.jitter > 0 {
		d += time.Duration(e.rng.Int64N(int64(e.jitter)))
	}
	return d
}

// admit reserves an in-flight slot; ok is false when a limit is reached.
func (e *Engine) admit(c Call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.limits.MaxInFlight > 0 && e.inFlight >= e.limits.MaxInFlight {
		return false
	}
	if c.Complex && e.limits.MaxComplexInFlight > 0 && e.complexFlight >= e.limits.MaxComplexInFlight {
		return false
	}
	e.inFlight++
	if c.Complex {
		e.complexFlight++
	}
	if e.inFlight > e.stats.maxInFlight {
		e.stats.maxInFlight = e.inFlight
	}
	return true
}

func (e *Engine) release(c Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inFlight--
	if c.Complex {
		e.complexFlight--
	}
}

// charge consumes the call's credits; ok is false when the allowance cannot
// cover it.
func (e *Engine) charge(c Call) (Credits, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rollWindowLocked()
	if e.limits.DailyCredits > 0 && e.creditsUsed+int64(c.Cost) > e.limits.DailyCredits {
		return e.creditsLocked(), false
	}
	e.creditsUsed += int64(c.Cost)
	return e.creditsLocked(), true
}

// Handler wraps next, the emulator's API handler, with latency, limits,
// credits, faults and the call log. classify describes each request and resp
// supplies the API's error bodies and credit headers.
func (e *Engine) Handler(classify Classifier, resp Responses, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := classify(r)
		e.serve(w, r, c, resp, next)
	})
}

func (e *Engine) serve(w http.ResponseWriter, r *http.Request, c Call, resp Responses, next http.Handler) {
	admitted := e.admit(c)
	if !sleepCtx(r.Context(), e.delay()) {
		if admitted {
			e.release(c)
		}
		e.record(c, outcomeDropped, 0)
		return
	}
	if !admitted {
		writeOr(w, r, resp.TooManyRequests, http.StatusTooManyRequests)
		e.record(c, http.StatusTooManyRequests, 0)
		return
	}
	released := false
	release := func() {
		if !released {
			released = true
			e.release(c)
		}
	}
	defer release()

	f := e.matchFault(r)
	if f != nil {
		switch f.Kind {
		case FaultStatus:
			release()
			if f.Status == http.StatusTooManyRequests {
				writeOr(w, r, resp.TooManyRequests, f.Status)
			} else if resp.ServerError != nil {
				resp.ServerError(w, r, f.Status)
			} else {
				http.Error(w, http.StatusText(f.Status), f.Status)
			}
			e.record(c, f.Status, 0)
			return
		case FaultReset:
			release()
			e.record(c, outcomeDropped, 0)
			dropConn(w)
			return
		case FaultTimeout:
			release()
			sleepCtx(r.Context(), f.holdDuration())
			e.record(c, outcomeDropped, 0)
			dropConn(w)
			return
		}
	}

	credits, ok := e.charge(c)
	if !ok {
		release()
		writeOr(w, r, resp.CreditsExhausted, http.StatusTooManyRequests)
		e.record(c, http.StatusTooManyRequests, 0)
		return
	}

	rec := newRecorder()
	next.ServeHTTP(rec, r)
	release()

	if f != nil && f.Kind == FaultLost {
		e.record(c, outcomeDropped, c.Cost)
		dropConn(w)
		return
	}
	if resp.CreditHeaders != nil && rec.status < 300 {
		resp.CreditHeaders(rec.header, c, credits)
	}
	rec.flushTo(w)
	e.record(c, rec.status, c.Cost)
}

func writeOr(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request), status int) {
	if fn != nil {
		fn(w, r)
		return
	}
	http.Error(w, http.StatusText(status), status)
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait
// happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropConn closes the client connection abruptly (TCP RST where possible).
// When the connection cannot be hijacked (HTTP/2, recorders) the handler
// panics with http.ErrAbortHandler, which makes net/http drop the stream.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// recorder buffers a handler's response so the engine can release the
// in-flight slot, add headers or drop it before the client sees anything.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status = status
		r.wroteHeader = true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.body.Write(p)
}

func (r *recorder) flushTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.body.Len() > 0 && h.Get("Content-Length") == "" && r.status != http.StatusNoContent && r.status != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(r.body.Len()))
	}
	w.WriteHeader(r.status)
	if r.status != http.StatusNoContent && r.status != http.StatusNotModified {
		_, _ = w.Write(r.body.Bytes())
	}
}
