package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"deskcrm/store"
)

// The attack: a client that sends its headers and then its body a trickle at a time, to hold
// a connection and a handler forever. The read timeout cuts it off.
func TestSlowBodyIsCutOff(t *testing.T) {
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
		if err != nil {
			http.Error(w, "body not received in time", http.StatusRequestTimeout)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h, serverTimeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: time.Second, Idle: time.Second})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhooks/crm/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	// Trickle a byte now and then until the server gives up on us.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	if err := <-readErr; err == nil {
		t.Fatal("the handler read the whole slow body")
	}
	// The server answers (or hangs up) and closes the connection.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		if res.StatusCode < 400 {
			t.Fatalf("slow client got %d", res.StatusCode)
		}
		_, err = io.ReadAll(res.Body)
		if err == nil {
			var b [1]byte
			_, err = conn.Read(b[:])
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the slow client's connection open")
	}
}

func TestDefaultTimeoutsAreSet(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), defaultTimeouts)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("server %+v", srv)
	}
}

// /healthz is JSON built by encoding/json; what failed (hosts, ports) only for the admin.
func TestHealthzHidesDetailsWithoutTheAdminToken(t *testing.T) {
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(newHTTPServer(healthz(tc, store.New(pool), "health-admin-token"), defaultTimeouts).Handler)
	defer srv.Close()
	get := func(auth string) (int, health, http.Header, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var h health
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatalf("not JSON: %q", raw)
		}
		return res.StatusCode, h, res.Header, string(raw)
	}
	status, h, hdr, raw := get("")
	if status != http.StatusServiceUnavailable || h.Status != "unhealthy" || len(h.Problems) != 0 || strings.Contains(raw, "127.0.0.1") {
		t.Fatalf("anonymous: %d %s", status, raw)
	}
	if hdr.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("headers %v", hdr)
	}
	if _, h, _, raw = get("Bearer wrong"); len(h.Problems) != 0 {
		t.Fatalf("wrong token sees details: %s", raw)
	}
	status, h, _, raw = get("Bearer health-admin-token")
	if status != http.StatusServiceUnavailable || len(h.Problems) != 2 || !strings.HasPrefix(h.Problems[0], "temporal: ") ||
		!strings.HasPrefix(h.Problems[1], "postgres: ") {
		t.Fatalf("admin: %d %s", status, raw)
	}
}
