package schema_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"deskcrm/internal/pgtest"
	"deskcrm/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// dump lists every column of every table in public, in order, as a fingerprint of the schema.
func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		select table_name || '.' || column_name || ':' || data_type || ':' || coalesce(column_default, '')
		from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out += s + "\n"
	}
	return out
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	latest, err := schema.Latest()
	if err != nil || latest < 1 {
		t.Fatalf("latest = %d, %v", latest, err)
	}
	v1, err := schema.Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	first := dump(t, pool)
	v2, err := schema.Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != latest || v2 != latest {
		t.Errorf("versions %d, %d; want %d", v1, v2, latest)
	}
	if second := dump(t, pool); second != first {
		t.Errorf("second migration changed the schema:\n%s\nvs\n%s", first, second)
	}
	for _, table := range []string{"integrations", "field_mappings", "links", "sync_runs", "sync_failures"} {
		var ok bool
		if err := pool.QueryRow(ctx, "select to_regclass($1) is not null", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

// Several workers starting at once all succeed and leave one schema.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			_, err = schema.Migrate(ctx, pool)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migrate: %v", err)
		}
	}
}
