package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"deskcrm/codec"
	"deskcrm/store"
)

// serverTimeouts bound what one client may hold of the worker's HTTP server.
type serverTimeouts struct {
	// ReadHeader and Read bound reading the headers and the whole request (a slow body is
	// cut off), Write the whole answer (the panel reads CRM within it), Idle a kept-alive
	// connection between requests.
	ReadHeader, Read, Write, Idle time.Duration
}

// defaultTimeouts are the worker's: generous for Zoho's callbacks and the panel, short
// enough that slow or idle clients cannot pile up connections.
var defaultTimeouts = serverTimeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 2 * time.Minute}

// maxHeaderBytes bounds a request's headers.
const maxHeaderBytes = 64 << 10

// newHTTPServer returns the worker's HTTP server for h, with timeouts and security headers.
func newHTTPServer(h http.Handler, t serverTimeouts) *http.Server {
	return &http.Server{Handler: securityHeaders(h), ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle, MaxHeaderBytes: maxHeaderBytes}
}

// securityHeaders sets headers every answer carries: no MIME sniffing, no referrer, and a
// content security policy that loads nothing and may not be framed, which pages that need
// more (the agent panel, the codec sign-in) replace with their own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// health is the body of /healthz. Problems (which may name hosts) are shown only to a caller
// with the admin token.
type health struct {
	Status   string   `json:"status"`
	Problems []string `json:"problems,omitempty"`
	Hint     string   `json:"hint,omitempty"`
}

// healthz answers 200 when Temporal and Postgres are reachable, 503 otherwise; the admin token
// (Bearer) also gets what failed.
func healthz(tc client.Client, st *store.Store, adminToken string) http.HandlerFunc {
	admin := sha256.Sum256([]byte(adminToken))
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var problems []string
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			problems = append(problems, "temporal: "+err.Error())
		}
		if err := st.Ping(ctx); err != nil {
			problems = append(problems, "postgres: "+err.Error())
		}
		out, status := health{Status: "ok"}, http.StatusOK
		if len(problems) > 0 {
			out, status = health{Status: "unhealthy"}, http.StatusServiceUnavailable
			if isAdmin(r, admin) {
				out.Problems = problems
			} else {
				out.Hint = "send the admin token as \"Authorization: Bearer <token>\" to see what failed"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	}
}

func isAdmin(r *http.Request, admin [32]byte) bool {
	v := r.Header.Get("Authorization")
	if len(v) <= 7 || !strings.EqualFold(v[:7], "bearer ") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(v[7:])))
	return subtle.ConstantTimeCompare(got[:], admin[:]) == 1
}

// noCodec answers the codec paths when no payload key is set.
func noCodec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "no_codec",
		"message": "payloads are not encrypted: set DESKCRM_PAYLOAD_KEY to encrypt them and serve this codec"})
}

// codecHandler is the codec server of the worker's payload key, or noCodec without one.
func codecHandler(c *codec.Codec, adminToken string, origins []string) http.Handler {
	if c == nil {
		return http.HandlerFunc(noCodec)
	}
	return codec.Server(c, codec.ServerOptions{AdminToken: adminToken, Origins: origins})
}
