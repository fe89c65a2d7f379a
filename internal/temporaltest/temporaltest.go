// Package temporaltest starts a real Temporal dev server for integration tests: the embedded
// one built from devserver/ (bin/temporal-dev), on free ports with its own in-memory store.
package temporaltest

import (
	"context"
	"io"
	"log/slog"
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
	path, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path,
		LogLevel:     "error",
		// Registered at start: registering them afterwards races the first workflow task.
		SearchAttributes: workflows.SearchAttributeDeclarations(),
		ClientOptions:    &client.Options{Namespace: "default", Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))},
	})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c := srv.Client()
	if _, err := tclient.EnsureSearchAttributes(ctx, c, "default", workflows.SearchAttributes()); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	return c, srv.FrontendHostPort()
}
