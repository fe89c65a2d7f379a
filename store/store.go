// Package store is deskcrm's Postgres access: integrations, field mappings, links, the
// initial-sync index, cursors, run history and the failure log. Only activities, the worker's
// HTTP handlers and the starter call it; workflows never do.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"deskcrm/schema"
)

// Store wraps a pgx connection pool.
type Store struct {
	Pool *pgxpool.Pool
}

// Open connects to databaseURL, migrates the schema, and returns the store.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, parseConfigError(err)
	}
	// Every query the sync runs reads a keyset batch of at most a few thousand rows: a parallel
	// plan only adds the start-up of its workers (new processes) to each batch — on a 2-core
	// server it doubled the cost of a batch of the first sync's creates and reconciles.
	if _, set := cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"]; !set {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres at %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	if _, err := schema.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Pool: pool}, nil
}

// parseConfigError says what is wrong with DATABASE_URL and the libpq environment variables
// pgx reads beside it (PGHOST, PGSSLMODE, …; PostgreSQL docs, "Environment Variables"),
// without the connection string, which may hold a password: pgx's own message quotes it
// ("cannot parse `…`: <what>"), redacted only on a best-effort basis.
func parseConfigError(err error) error {
	what := "not a valid Postgres connection string"
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		msg := pe.Error()
		if i := strings.Index(msg, "`: "); i >= 0 {
			what = msg[i+3:]
		}
	}
	var set []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PG") {
			set = append(set, name)
		}
	}
	if len(set) == 0 {
		return fmt.Errorf("DATABASE_URL: %s (the form is postgres://user:password@host:5432/database?sslmode=require)", what)
	}
	slices.Sort(set)
	return fmt.Errorf("DATABASE_URL with the environment's %s: %s (the form is postgres://user:password@host:5432/database?sslmode=require)",
		strings.Join(set, ", "), what)
}

// New wraps an existing pool whose schema is already migrated.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool} }

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping reports whether Postgres answers.
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// Integration is one Desk–CRM integration.
type Integration struct {
	ID           string
	Mode         string
	State        string
	PausedReason string
	Lookback     time.Duration
	CreatedAt    time.Time
	DeletedAt    *time.Time
}

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// EnsureIntegration creates the integration if it does not exist (or was deleted, in which
// case it becomes active again with the given mode) and returns it.
func (s *Store) EnsureIntegration(ctx context.Context, id, mode string, lookback time.Duration) (Integration, error) {
	_, err := s.Pool.Exec(ctx, `
		insert into integrations (id, mode, lookback) values ($1, $2, $3)
		on conflict (id) do update set state = 'active', deleted_at = null, mode = excluded.mode,
			lookback = excluded.lookback, updated_at = now()
		where integrations.state = 'deleted'`, id, mode, lookback)
	if err != nil {
		return Integration{}, fmt.Errorf("ensure integration %s: %w", id, err)
	}
	return s.Integration(ctx, id)
}

// Integration reads one integration.
func (s *Store) Integration(ctx context.Context, id string) (Integration, error) {
	var in Integration
	var reason *string
	err := s.Pool.QueryRow(ctx, `select id, mode, state, paused_reason, lookback, created_at, deleted_at from integrations where id = $1`, id).
		Scan(&in.ID, &in.Mode, &in.State, &reason, &in.Lookback, &in.CreatedAt, &in.DeletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, fmt.Errorf("integration %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return in, fmt.Errorf("read integration %s: %w", id, err)
	}
	if reason != nil {
		in.PausedReason = *reason
	}
	return in, nil
}

// SetMode records the integration's sync mode.
func (s *Store) SetMode(ctx context.Context, id, mode string) error {
	_, err := s.Pool.Exec(ctx, `update integrations set mode = $2, updated_at = now() where id = $1`, id, mode)
	if err != nil {
		return fmt.Errorf("set integration %s mode: %w", id, err)
	}
	return nil
}

// Analyze refreshes the planner's statistics of the sync tables. Each first-sync step calls
// it when it starts: without it, the planner may take a just-filled table for empty and pick
// nested loops that turn a second's query into minutes.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.Pool.Exec(ctx, "analyze index_records, links, sync_failures"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// RefreshStatistics analyzes each sync table (index_records, links, sync_failures) that grew
// by more than half since its planner statistics were taken (its size in pages now against
// pg_class.relpages, plus 8 pages), and leaves the others. The match step calls it before each
// batch: links grows from nothing under it, and planned from the statistics of a nearly
// empty table, Postgres picks per-row scans of it, which turn a batch's milliseconds into a
// second. Autovacuum's analyze comes too late for a step of seconds, and the modification
// counters of pg_stat_user_tables lag by up to a second; a table's size does not. Cheap when
// nothing grew: one catalog query.
func (s *Store) RefreshStatistics(ctx context.Context) error {
	rows, err := s.Pool.Query(ctx, `select c.relname from pg_class c
		where c.relnamespace = current_schema()::regnamespace and c.relname in ('index_records', 'links', 'sync_failures')
		  and pg_relation_size(c.oid) / current_setting('block_size')::int > c.relpages * 1.5 + 8
		order by c.relname`)
	if err != nil {
		return fmt.Errorf("planner statistics: %w", err)
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("planner statistics: %w", err)
	}
	for _, table := range stale {
		if _, err := s.Pool.Exec(ctx, "analyze "+pgx.Identifier{table}.Sanitize()); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
	}
	return nil
}
