// Package temporaltest starts a real Temporal dev server for integration tests: the embedded
// one built from devserver/ (bin/temporal-dev), on free ports with its own in-memory store.
package temporaltest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// BinaryPath finds the dev-server binary: $DESKCRM_TEMPORAL_DEV, or bin/temporal-dev at the
// module root.
func BinaryPath() (string, error) {
	if p := os.Getenv("DESKCRM_TEMPORAL_DEV"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "temporal-dev")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("the dev server %s is not built: run `make test` (or `make devserver`) first", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

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
