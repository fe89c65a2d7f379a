// Package schema holds deskcrm's SQL migrations, embedded in the binaries, and applies them.
//
// Migrations are numbered files (001_core.sql, 002_...) applied in order by jackc/tern. Tern
// holds a Postgres advisory lock while it migrates, so several workers starting at once are
// safe: one migrates, the others wait and then find nothing left to do.
package schema

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

// VersionTable is the table in which tern records the applied version.
const VersionTable = "deskcrm_schema_version"

// Migrate brings the database up to the newest schema and returns the version it reached.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int32, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), VersionTable)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return 0, fmt.Errorf("migrate: load embedded migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return v, nil
}

// Latest returns the number of migrations embedded, i.e. the version Migrate reaches.
func Latest() (int32, error) {
	names, err := migrate.FindMigrations(files)
	if err != nil {
		return 0, err
	}
	return int32(len(names)), nil
}
