package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Failure is one entry of the failure log: a record that failed for a reason retrying cannot fix.
type Failure struct {
	ID         int64      `json:"id"`
	Module     string     `json:"module"`
	Direction  string     `json:"direction"`
	DeskID     string     `json:"deskId,omitempty"`
	CRMID      string     `json:"crmId,omitempty"`
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Attempts   int        `json:"attempts"`
	FirstAt    time.Time  `json:"firstAt"`
	LastAt     time.Time  `json:"lastAt"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// RecordFailures adds failures to the log; a record that already has an open failure for the
// same direction gets its code, message and attempt count updated instead. It returns the
// entries with their ids.
func (s *Store) RecordFailures(ctx context.Context, integrationID string, fs []Failure) ([]Failure, error) {
	out := make([]Failure, 0, len(fs))
	for _, f := range fs {
		err := s.Pool.QueryRow(ctx, `
			insert into sync_failures (integration_id, module, direction, desk_id, crm_id, code, message)
			values ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6, $7)
			on conflict (integration_id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, '')) where resolved_at is null
			do update set code = excluded.code, message = excluded.message, attempts = sync_failures.attempts + 1, last_at = now(), retrying = false
			returning id, attempts, first_at, last_at`,
			integrationID, f.Module, f.Direction, f.DeskID, f.CRMID, f.Code, f.Message).Scan(&f.ID, &f.Attempts, &f.FirstAt, &f.LastAt)
		if err != nil {
			return out, fmt.Errorf("record failure of %s %s%s: %w", f.Module, f.DeskID, f.CRMID, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// OpenFailures lists unresolved failures, newest first, at most limit (0 = all), and the total.
func (s *Store) OpenFailures(ctx context.Context, integrationID string, limit int) ([]Failure, int, error) {
	var total int
	if err := s.Pool.QueryRow(ctx, `select count(*) from sync_failures where integration_id = $1 and resolved_at is null`, integrationID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count failures: %w", err)
	}
	if limit <= 0 {
		limit = total + 1
	}
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, message, attempts, first_at, last_at, resolved_at
		from sync_failures where integration_id = $1 and resolved_at is null order by last_at desc, id desc limit $2`, integrationID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list failures: %w", err)
	}
	fs, err := pgx.CollectRows(rows, scanFailure)
	return fs, total, err
}

func scanFailure(r pgx.CollectableRow) (Failure, error) {
	var f Failure
	err := r.Scan(&f.ID, &f.Module, &f.Direction, &f.DeskID, &f.CRMID, &f.Code, &f.Message, &f.Attempts, &f.FirstAt, &f.LastAt, &f.ResolvedAt)
	return f, err
}

// MarkRetrying lets the next pass try the records of these failures again (ids empty: all
// open failures). It returns how many entries were marked.
func (s *Store) MarkRetrying(ctx context.Context, integrationID string, ids []int64) (int, error) {
	tag, err := s.Pool.Exec(ctx, `update sync_failures set retrying = true where integration_id = $1 and resolved_at is null
		and (cardinality($2::bigint[]) = 0 or id = any($2))`, integrationID, ids)
	if err != nil {
		return 0, fmt.Errorf("mark failures for retry: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ResolveRecordFailures closes the open failures of records that have now synced.
func (s *Store) ResolveRecordFailures(ctx context.Context, integrationID, module, side string, ids []string) error {
	col := "desk_id"
	if side == "crm" {
		col = "crm_id"
	}
	_, err := s.Pool.Exec(ctx, `update sync_failures set resolved_at = now() where integration_id = $1 and module = $2
		and resolved_at is null and `+col+` = any($3)`, integrationID, module, ids)
	if err != nil {
		return fmt.Errorf("resolve failures of synced records: %w", err)
	}
	return nil
}

// Run is one sync pass of one module in one direction.
type Run struct {
	ID         int64      `json:"id"`
	WorkflowID string     `json:"workflowId"`
	RunID      string     `json:"runId"`
	Kind       string     `json:"kind"`
	Module     string     `json:"module"`
	Direction  string     `json:"direction"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Added      int        `json:"added"`
	Updated    int        `json:"updated"`
	Failed     int        `json:"failed"`
}

// RecordRun appends a finished run to the history.
func (s *Store) RecordRun(ctx context.Context, integrationID string, r Run) (int64, error) {
	var id int64
	err := s.Pool.QueryRow(ctx, `insert into sync_runs (integration_id, workflow_id, run_id, kind, module, direction, started_at, finished_at, added, updated, failed)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id`,
		integrationID, r.WorkflowID, r.RunID, r.Kind, r.Module, r.Direction, r.StartedAt, r.FinishedAt, r.Added, r.Updated, r.Failed).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return id, nil
}

// RecentRuns lists runs started since the given time, newest first.
func (s *Store) RecentRuns(ctx context.Context, integrationID string, since time.Time) ([]Run, error) {
	rows, err := s.Pool.Query(ctx, `select id, workflow_id, run_id, kind, module, direction, started_at, finished_at, added, updated, failed
		from sync_runs where integration_id = $1 and started_at >= $2 order by started_at desc, id desc`, integrationID, since)
	if err != nil {
		return nil, fmt.Errorf("recent runs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) {
		var x Run
		err := r.Scan(&x.ID, &x.WorkflowID, &x.RunID, &x.Kind, &x.Module, &x.Direction, &x.StartedAt, &x.FinishedAt, &x.Added, &x.Updated, &x.Failed)
		return x, err
	})
}
