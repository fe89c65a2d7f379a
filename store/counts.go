package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Count adds N to the counter Name of the activity Key (its workflow run and activity id). The
// writes of the sync pass one to the store functions that commit what it counts, which add it
// in the same transaction: a count is there exactly when its write is. A zero Key counts
// nothing.
type Count struct {
	Key  string
	Name string
	N    int
}

// queue adds the counter update to a batch (sent as one implicit transaction). Counts are
// appended rows, summed by Counts: concurrent transactions of one activity never wait for
// each other's commit on a shared counter row.
func (c Count) queue(b *pgx.Batch) {
	if c.Key == "" || c.N == 0 {
		return
	}
	b.Queue(`insert into activity_counts (key, name, n) values ($1, $2, $3)`, c.Key, c.Name, c.N)
}

// AddCounts adds counts on their own (for what is committed elsewhere).
func (s *Store) AddCounts(ctx context.Context, counts ...Count) error {
	b := &pgx.Batch{}
	for _, c := range counts {
		c.queue(b)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("add counts: %w", err)
	}
	return nil
}

// Counts returns the counters of an activity key, by name.
func (s *Store) Counts(ctx context.Context, key string) (map[string]int, error) {
	rows, err := s.Pool.Query(ctx, `select name, sum(n)::bigint from activity_counts where key = $1 group by name`, key)
	if err != nil {
		return nil, fmt.Errorf("read counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

// PruneCounts deletes the counters of activities older than a week.
func (s *Store) PruneCounts(ctx context.Context) error {
	if _, err := s.Pool.Exec(ctx, `delete from activity_counts where created_at < now() - interval '7 days'`); err != nil {
		return fmt.Errorf("prune counts: %w", err)
	}
	return nil
}
