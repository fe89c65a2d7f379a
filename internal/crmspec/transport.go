package crmspec

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Transport wraps base (http.DefaultTransport when nil) so that every
// request and response passing through is validated against spec; failures
// are reported with t.Errorf and the call proceeds unchanged. Requests to
// Skipped paths are passed through without validation.
func Transport(t testing.TB, spec *Spec, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, spec: spec, base: base}
}

type transport struct {
	t    testing.TB
	spec *Spec
	base http.RoundTripper
}

// RoundTrip validates the request, performs it, and validates the response.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if Skipped(req.URL.Path) {
		return tr.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("crmspec: read request body: %w", err)
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	if err := tr.spec.ValidateRequest(req, reqBody); err != nil {
		tr.t.Errorf("crmspec: %v", err)
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("crmspec: read response body: %w", err)
	}
	if err := tr.spec.ValidateResponse(req, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		tr.t.Errorf("crmspec: %v", err)
	}
	return resp, nil
}
