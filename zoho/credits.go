package zoho

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CreditStats is a snapshot of one client's API usage.
type CreditStats struct {
	// Calls is the number of HTTP requests sent (retries included).
	Calls int64
	// Used is the credits those calls cost: the server's weight header when it
	// sends one, else the documented cost of the call.
	Used int64
	// Remaining is the credits left today as last reported by the server;
	// meaningful only when RemainingKnown.
	Remaining      int64
	RemainingKnown bool
	// RateLimited counts 429 answers received.
	RateLimited int64
}

// Credits accumulates the credit use of one client. It is safe for concurrent use.
type Credits struct {
	calls, used, limited atomic.Int64
	remaining            atomic.Int64 // -1 until a header reports it
}

// NewCredits returns an empty meter.
func NewCredits() *Credits {
	c := &Credits{}
	c.remaining.Store(-1)
	return c
}

// Stats returns a snapshot.
func (c *Credits) Stats() CreditStats {
	r := c.remaining.Load()
	return CreditStats{
		Calls: c.calls.Load(), Used: c.used.Load(), Remaining: r, RemainingKnown: r >= 0,
		RateLimited: c.limited.Load(),
	}
}

// observe records one call and returns the cost charged.
func (c *Credits) observe(h http.Header, status int, cost int, weightHeader, remainingHeader string) int {
	c.calls.Add(1)
	if status == http.StatusTooManyRequests {
		c.limited.Add(1)
	}
	if weightHeader != "" {
		if w, err := strconv.Atoi(h.Get(weightHeader)); err == nil && w >= 0 {
			cost = w
		}
	}
	if status == http.StatusTooManyRequests {
		cost = 0 // a refused call costs nothing; other failures are charged
	}
	c.used.Add(int64(cost))
	if remainingHeader != "" {
		if v := h.Get(remainingHeader); v != "" {
			if r, err := strconv.ParseInt(v, 10, 64); err == nil && r >= 0 {
				c.remaining.Store(r)
			}
		}
	}
	return cost
}

// Metrics are the Prometheus collectors of the Zoho clients. Create one with
// NewMetrics, pass it to the clients' configs, and register it (it is a
// prometheus.Collector) on the worker's registry. Nothing is registered at import.
type Metrics struct {
	calls     *prometheus.CounterVec
	credits   *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	retries   *prometheus.CounterVec
	inflight  *prometheus.GaugeVec
	duration  *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
}

// NewMetrics returns unregistered collectors under the "zoho_" prefix.
func NewMetrics() *Metrics {
	return &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_api_calls_total", Help: "Zoho API calls by API, operation and HTTP status class.",
		}, []string{"api", "op", "status"}),
		credits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_api_credits_used_total", Help: "Zoho API credits consumed.",
		}, []string{"api"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoho_api_credits_remaining", Help: "Zoho API credits left today, as last reported by the server.",
		}, []string{"api"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_api_retries_total", Help: "Zoho API calls retried inside the client, by reason.",
		}, []string{"api", "reason"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoho_api_inflight", Help: "Zoho API calls in flight.",
		}, []string{"api"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zoho_api_call_seconds", Help: "Zoho API call latency until response headers.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"api", "op"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoho_oauth_forced_refreshes_total", Help: "Access tokens dropped after a 401 from the API.",
		}, []string{"api"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.credits, m.remaining, m.retries, m.inflight, m.duration, m.refreshes}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func statusClass(status int) string {
	switch {
	case status == 0:
		return "error"
	case status == http.StatusTooManyRequests:
		return "429"
	case status < 300:
		return "2xx"
	case status < 400:
		return "3xx"
	case status < 500:
		return "4xx"
	default:
		return "5xx"
	}
}

func (m *Metrics) observeCall(api, op string, status, cost int, d time.Duration, remaining int64) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(api, op, statusClass(status)).Inc()
	if cost > 0 {
		m.credits.WithLabelValues(api).Add(float64(cost))
	}
	if remaining >= 0 {
		m.remaining.WithLabelValues(api).Set(float64(remaining))
	}
	m.duration.WithLabelValues(api, op).Observe(d.Seconds())
}

func (m *Metrics) retry(api, reason string) {
	if m != nil {
		m.retries.WithLabelValues(api, reason).Inc()
	}
}

func (m *Metrics) inflightAdd(api string, d float64) {
	if m != nil {
		m.inflight.WithLabelValues(api).Add(d)
	}
}

func (m *Metrics) forcedRefresh(api string) {
	if m != nil {
		m.refreshes.WithLabelValues(api).Inc()
	}
}

// ReserveError is a call not sent because the API's credits left today reached the reserve
// kept for the org's other integrations (Zoho's own CRM sync, other apps). It classifies as
// exhausted credits, so the sync pauses until they return.
type ReserveError struct {
	API       string
	Remaining int64
	Reserve   int64
}

// Error implements error.
func (e *ReserveError) Error() string {
	return fmt.Sprintf("zoho %s: %d credits left today, at the reserve of %d kept for the org's other integrations", e.API, e.Remaining, e.Reserve)
}

// Classify implements Classifier.
func (e *ReserveError) Classify() Class {
	return Class{FailureCode: CodeCreditsExhausted, RetryAfter: DefaultCreditsWait, HasRetryAfter: true}
}

// atReserve reports whether the credits left, as the server last reported them, are at or
// under reserve (never when either is unknown).
func (c *Credits) atReserve(reserve int64) (int64, bool) {
	if reserve <= 0 {
		return 0, false
	}
	r := c.remaining.Load()
	return r, r >= 0 && r <= reserve
}
