package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecordMode makes the integration's row hold the mode and look-back the sync workflow holds:
// the workflow is authoritative and this row is its copy, so both are overwritten. The
// integration is created when missing, and made active again when it was deleted (a sync that
// starts after a delete begins afresh). A zero lookback keeps the stored one (365 days for a new
// integration).
func (s *Store) RecordMode(ctx context.Context, id, mode string, lookback time.Duration) (Integration, error) {
	var lb any
	if lookback > 0 {
		lb = lookback
	}
	_, err := s.Pool.Exec(ctx, `
		insert into integrations (id, mode, lookback) values ($1, $2, coalesce($3::interval, interval '365 days'))
		on conflict (id) do update set mode = excluded.mode, lookback = coalesce($3::interval, integrations.lookback),
			state = case when integrations.state = 'deleted' then 'active' else integrations.state end,
			deleted_at = null, updated_at = now()
		where integrations.mode <> excluded.mode or integrations.lookback <> coalesce($3::interval, integrations.lookback)
			or integrations.state = 'deleted'`, id, mode, lb)
	if err != nil {
		return Integration{}, fmt.Errorf("record integration %s mode %s: %w", id, mode, err)
	}
	return s.Integration(ctx, id)
}

// RunLine is one line of the history view: one run, or the sum of a UTC day's older runs of
// one kind, module and direction.
type RunLine struct {
	// Time is when the run started; for a day's total, 00:00 UTC of that day.
	Time time.Time `json:"time"`
	// DayTotal marks a line that sums a day's runs.
	DayTotal  bool   `json:"dayTotal,omitempty"`
	Runs      int    `json:"runs"` // how many runs the line sums: 1 for one run
	Kind      string `json:"kind"`
	Module    string `json:"module"`
	Direction string `json:"direction"`
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Failed    int    `json:"failed"`
}

// RunHistory returns the runs started since the given time as a bounded view, newest first:
// the newest runs one line each (at most newest of them), then the older ones summed per UTC
// day, kind, module and direction. Seven days of runs are at most newest + 8 days × 3 kinds ×
// 2 modules × 2 directions lines, however many runs there were.
func (s *Store) RunHistory(ctx context.Context, integrationID string, since time.Time, newest int) ([]RunLine, error) {
	rows, err := s.Pool.Query(ctx, `
		with ranked as (
			select started_at, kind, module, direction, added, updated, failed,
				row_number() over (order by started_at desc, id desc) as n
			from sync_runs where integration_id = $1 and started_at >= $2
		)
		select started_at, false, 1, kind, module, direction, added, updated, failed, n
		from ranked where n <= $3
		union all
		select date_trunc('day', started_at, 'UTC'), true, count(*)::int, kind, module, direction,
			sum(added)::int, sum(updated)::int, sum(failed)::int, min(n)
		from ranked where n > $3
		group by date_trunc('day', started_at, 'UTC'), kind, module, direction
		order by 1 desc, 10`, integrationID, since, newest)
	if err != nil {
		return nil, fmt.Errorf("run history of %s: %w", integrationID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunLine, error) {
		var x RunLine
		var n int64
		err := r.Scan(&x.Time, &x.DayTotal, &x.Runs, &x.Kind, &x.Module, &x.Direction, &x.Added, &x.Updated, &x.Failed, &n)
		return x, err
	})
}
