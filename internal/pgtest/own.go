package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"deskcrm/internal/pgcluster"
	"deskcrm/schema"
)

// Server is a Postgres cluster of one test's own, for a test that stops and restarts the
// server under the code it tests (the shared cluster of URL and Pool must stay up for the
// other tests). It holds one database, "deskcrm", with deskcrm's schema applied.
type Server struct {
	t       testing.TB
	cluster *pgcluster.Cluster
}

// Own starts a cluster for t alone, from the server binaries installed on the machine (also
// when DATABASE_URL is set: a server the test does not own cannot be stopped), on a port that
// stays free while it is down, with durable commits (pgcluster.Options). The cluster is
// stopped and removed when t ends. Without server binaries the test is skipped, saying why.
func Own(t testing.TB) *Server {
	t.Helper()
	if _, err := pgcluster.BinDir(); err != nil {
		t.Skipf("pgtest: this test stops and restarts Postgres, so it needs a cluster of its own: %v", err)
	}
	dir, err := os.MkdirTemp("", "deskcrm-pgown-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := pgcluster.FreeStablePort()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Acknowledged commits survive -m immediate, as with a production server.
	c, err := pgcluster.StartWith(ctx, dir, port, pgcluster.Options{DurableCommits: true})
	if err != nil {
		t.Fatalf("pgtest: start own cluster: %v", err)
	}
	s := &Server{t: t, cluster: c}
	t.Cleanup(func() { _ = c.StopWith(pgcluster.StopImmediate) })
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "create database deskcrm"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	pool, err := pgxpool.New(ctx, s.URL())
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// URL is the URL of the cluster's deskcrm database.
func (s *Server) URL() string { return s.cluster.URL("deskcrm") }

// Pool returns a pool on the deskcrm database, closed when the test ends. Its connections
// break when the server stops; pgx replaces them once it is back.
func (s *Server) Pool() *pgxpool.Pool {
	s.t.Helper()
	pool, err := pgxpool.New(context.Background(), s.URL())
	if err != nil {
		s.t.Fatalf("pgtest: pool: %v", err)
	}
	s.t.Cleanup(pool.Close)
	return pool
}

// Stop shuts the server down in the given mode (pgcluster.StopFast or StopImmediate) and
// waits until it is gone. It is safe to call from any goroutine; a failure is reported with
// t.Errorf.
func (s *Server) Stop(mode pgcluster.StopMode) {
	if err := s.cluster.StopWith(mode); err != nil {
		s.t.Errorf("pgtest: stop -m %s: %v", mode, err)
	}
}

// Start starts the stopped server again on the same data and port, and waits until it
// accepts connections. It is safe to call from any goroutine; a failure is reported with
// t.Errorf.
func (s *Server) Start() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.cluster.Restart(ctx); err != nil {
		s.t.Errorf("pgtest: restart: %v", err)
	}
}
