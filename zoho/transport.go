package zoho

import (
	"net/http"
	"time"
)

// NewHTTPClient returns the HTTP client a Zoho API client uses by default: timeout bounds a
// whole call, and the connection pool keeps as many idle connections to the API's host as
// calls may be in flight (concurrency), so that every call reuses a kept-alive connection.
// Go's default transport keeps two per host: with 15 or 25 calls in flight, every call beyond
// two closed its connection after its answer and a later call opened a new one — against
// Zoho, a TCP and TLS handshake across the internet for most calls. (On loopback, against
// the emulator, the difference is within noise: BenchmarkUpdatePipe in zoho/desk.)
func NewHTTPClient(timeout time.Duration, concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if concurrency > t.MaxIdleConnsPerHost {
		t.MaxIdleConnsPerHost = concurrency
	}
	if t.MaxIdleConns != 0 && t.MaxIdleConns < 2*concurrency {
		t.MaxIdleConns = 2 * concurrency
	}
	return &http.Client{Timeout: timeout, Transport: t}
}
