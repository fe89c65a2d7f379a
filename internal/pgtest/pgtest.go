// Package pgtest gives each test a throwaway Postgres database: a fresh database on
// DATABASE_URL when it is set, otherwise one in a cluster of the test binary's own, started
// in a temporary directory and stopped when the package's tests end.
//
// A package that uses it calls pgtest.Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"deskcrm/internal/pgcluster"
	"deskcrm/schema"
)

var (
	mainCalled atomic.Bool
	once       sync.Once
	cluster    *pgcluster.Cluster
	adminURL   string
	startErr   error
	counter    atomic.Int64
)

// Main runs the package's tests and stops the cluster afterwards.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop cluster:", err)
		}
		os.RemoveAll(cluster.Dir)
	}
	os.Exit(code)
}

func start() {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		adminURL = u
		return
	}
	dir, err := os.MkdirTemp("", "deskcrm-pgtest-")
	if err != nil {
		startErr = err
		return
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		startErr = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, startErr = pgcluster.Start(ctx, dir, port)
	if startErr == nil {
		adminURL = cluster.URL("postgres")
	}
}

// URL creates an empty database for t and returns its URL; the database is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain")
	}
	once.Do(start)
	if startErr != nil {
		t.Fatalf("pgtest: start postgres: %v", startErr)
	}
	name := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "drop database if exists "+name+" with (force)")
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("pgtest: parse DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool returns a pool on a fresh database with deskcrm's schema applied.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := schema.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return pool
}

// Redact hides the password of a database URL for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparseable url>"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return strings.TrimSpace(u.String())
}
