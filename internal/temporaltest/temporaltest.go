// Package temporaltest starts a real Temporal dev server for integration tests: the embedded
// one built from devserver/ (bin/temporal-dev), on free ports with its own in-memory store.
package temporaltest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"deskcrm/internal/devserverbin"
	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// BinaryPath finds the dev-server binary: $DESKCRM_TEMPORAL_DEV, or bin/temporal-dev at the
// module root, built there when it is missing (see devserverbin.Path).
func BinaryPath() (string, error) { return devserverbin.Path() }

// Start runs a dev server for the test and returns a client of it; both stop when t ends.
// deskcrm's search attributes are registered.
func Start(t testing.TB) client.Client {
	t.Helper()
	c, _ := StartWithAddress(t)
	return c
}

// StartWithAddress is Start that also returns the server's gRPC host:port.
func StartWithAddress(t testing.TB) (client.Client, string) {
	t.Helper()
	c, srv := StartWith(t, Options{})
	return c, srv.GRPC
}

// Options tune StartWith.
type Options struct {
	// ClientOptions are the test client's (Namespace, HostPort and Logger are set here); use
	// them for a DataConverter and FailureConverter.
	ClientOptions client.Options
	// HTTP serves the HTTP API on Server.HTTP.
	HTTP bool
	// UI serves the Web UI on Server.UI, with CodecEndpoint (and IncludeCredentials) as its
	// codec server when set. The codec settings need a dev server built from this
	// repository's devserver/.
	UI                 bool
	CodecEndpoint      string
	IncludeCredentials bool
}

// Server is where a dev server started by StartWith listens (host:port; empty when off).
type Server struct {
	GRPC, HTTP, UI string
}

// StartWith runs a dev server for the test as Options say and returns a client of it; both
// stop when t ends. deskcrm's search attributes are registered.
func StartWith(t testing.TB, o Options) (client.Client, Server) {
	t.Helper()
	path, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	copts := o.ClientOptions
	copts.Namespace = "default"
	copts.Logger = log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var out Server
	start := func() (*testsuite.DevServer, error) {
		opts := testsuite.DevServerOptions{
			ExistingPath: path,
			LogLevel:     "error",
			// Registered at start: registering them afterwards races the first workflow task.
			SearchAttributes: workflows.SearchAttributeDeclarations(),
			ClientOptions:    &copts,
		}
		out = Server{}
		if o.HTTP {
			out.HTTP = "127.0.0.1:" + freePort(t)
			opts.ExtraArgs = append(opts.ExtraArgs, "--http-port", out.HTTP[len("127.0.0.1:"):])
		}
		if o.UI {
			opts.EnableUI, opts.UIPort = true, freePort(t)
			out.UI = "127.0.0.1:" + opts.UIPort
			if o.CodecEndpoint != "" {
				opts.ExtraArgs = append(opts.ExtraArgs, "--ui-codec-endpoint", o.CodecEndpoint)
			}
			if o.IncludeCredentials {
				opts.ExtraArgs = append(opts.ExtraArgs, "--ui-codec-include-credentials")
			}
		}
		return testsuite.StartDevServer(ctx, opts)
	}
	// Ports are picked free and bound a moment later by the server: with tests of several
	// packages running at once, another process may take one in between ("bind: address
	// already in use") and the server exits. A second start picks new ports.
	srv, err := start()
	if err != nil {
		t.Logf("start dev server: %v; starting again on new ports", err)
		srv, err = start()
	}
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c := srv.Client()
	if _, err := tclient.EnsureSearchAttributes(ctx, c, "default", workflows.SearchAttributes()); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	out.GRPC = srv.FrontendHostPort()
	return c, out
}

// freePort returns a port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
