package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Failure is one entry of the failure log: a record that failed for a reason retrying cannot fix.
type Failure struct {
	ID        int64  `json:"id"`
	Module    string `json:"module"`
	Direction string `json:"direction"`
	DeskID    string `json:"deskId,omitempty"`
	CRMID     string `json:"crmId,omitempty"`
	Code      string `json:"code"`
	// Codes are every code of an entry naming several problems (Code is the first); nil for one.
	Codes      []string   `json:"codes,omitempty"`
	Message    string     `json:"message"`
	Attempts   int        `json:"attempts"`
	FirstAt    time.Time  `json:"firstAt"`
	LastAt     time.Time  `json:"lastAt"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// AllCodes returns the entry's codes: Codes, or Code alone.
func (f Failure) AllCodes() []string {
	if len(f.Codes) > 0 {
		return f.Codes
	}
	return []string{f.Code}
}

// RecordFailures adds failures to the log; a record that already has an open failure for the
// same direction gets its code and message updated instead. Failures of one record and
// direction in fs are one entry that names each problem (mergeFailures): the log holds one open
// failure per record and direction, and the last would otherwise hide the others. key names the activity recording
// them (its workflow run and activity id; "" for none): a failure counts one more attempt, and
// is counted under FailedCount(direction) for key, only when another activity recorded it last,
// so that an activity's retries neither add attempts nor count a record's failure twice. It
// returns the entries with their ids.
func (s *Store) RecordFailures(ctx context.Context, integrationID, key string, fs []Failure) ([]Failure, error) {
	fs = mergeFailures(fs)
	out := make([]Failure, 0, len(fs))
	if len(fs) == 0 {
		return out, nil
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		counts := map[string]int{}
		for _, f := range fs {
			var prev *string
			err := tx.QueryRow(ctx, `select last_key from sync_failures where integration_id = $1 and module = $2 and direction = $3
				and coalesce(desk_id, '') = $4 and coalesce(crm_id, '') = $5 and resolved_at is null for update`,
				integrationID, f.Module, f.Direction, f.DeskID, f.CRMID).Scan(&prev)
			repeat := err == nil && key != "" && prev != nil && *prev == key
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("record failure of %s %s%s: %w", f.Module, f.DeskID, f.CRMID, err)
			}
			err = tx.QueryRow(ctx, `
				insert into sync_failures (integration_id, module, direction, desk_id, crm_id, code, codes, message, last_key)
				values ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6, $10, $7, nullif($8, ''))
				on conflict (integration_id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, '')) where resolved_at is null
				do update set code = excluded.code, codes = excluded.codes, message = excluded.message, last_at = now(), retrying = false,
					attempts = sync_failures.attempts + $9, last_key = excluded.last_key
				returning id, attempts, first_at, last_at`,
				integrationID, f.Module, f.Direction, f.DeskID, f.CRMID, f.Code, f.Message, key, boolInt(!repeat), f.Codes).Scan(&f.ID, &f.Attempts, &f.FirstAt, &f.LastAt)
			if err != nil {
				return fmt.Errorf("record failure of %s %s%s: %w", f.Module, f.DeskID, f.CRMID, err)
			}
			out = append(out, f)
			if !repeat {
				counts[f.Direction]++
			}
		}
		b := &pgx.Batch{}
		for dir, n := range counts {
			Count{Key: key, Name: FailedCount(dir), N: n}.queue(b)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return out, err
}

// mergeFailures returns fs with the failures of one record and direction made one, in the
// place of the first: its code, every distinct code in Codes, and the distinct messages joined by "; " (each message names
// its problem: "Mandatory field missing: …; … holds at most 30 characters …"). A record
// whose value did not fit its type and whose write was then refused for another field had
// only the refusal logged; fixing it showed the next problem only on the next pass.
func mergeFailures(fs []Failure) []Failure {
	type recordKey struct{ module, direction, deskID, crmID string }
	at := make(map[recordKey]int, len(fs))
	var parts [][]Failure // the failures of each record, in the order of its first
	for _, f := range fs {
		k := recordKey{f.Module, f.Direction, f.DeskID, f.CRMID}
		i, ok := at[k]
		if !ok {
			at[k] = len(parts)
			parts = append(parts, []Failure{f})
			continue
		}
		if !slices.ContainsFunc(parts[i], func(g Failure) bool { return g.Code == f.Code && g.Message == f.Message }) {
			parts[i] = append(parts[i], f)
		}
	}
	if len(parts) == len(fs) {
		return fs
	}
	out := make([]Failure, len(parts))
	for i, p := range parts {
		out[i] = p[0]
		if len(p) == 1 {
			continue
		}
		msgs := make([]string, len(p))
		for j, g := range p {
			msgs[j] = g.Message
			if !slices.Contains(out[i].Codes, g.Code) {
				out[i].Codes = append(out[i].Codes, g.Code)
			}
		}
		out[i].Message = strings.Join(msgs, "; ")
		if len(out[i].Codes) == 1 {
			out[i].Codes = nil
		}
	}
	return out
}

// FailedCount names the counter of failures in a direction (desk-to-crm, crm-to-desk).
func FailedCount(direction string) string { return "failed-" + direction }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// OpenFailures lists unresolved failures, newest first, at most limit (0 = all), and the total.
func (s *Store) OpenFailures(ctx context.Context, integrationID string, limit int) ([]Failure, int, error) {
	total, err := s.OpenFailureCount(ctx, integrationID)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = total + 1
	}
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, codes, message, attempts, first_at, last_at, resolved_at
		from sync_failures where integration_id = $1 and resolved_at is null order by last_at desc, id desc limit $2`, integrationID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list failures: %w", err)
	}
	fs, err := pgx.CollectRows(rows, scanFailure)
	return fs, total, err
}

// OpenFailuresWithIDs lists the open failures among ids (nil or empty: every open failure),
// newest first, at most limit.
func (s *Store) OpenFailuresWithIDs(ctx context.Context, integrationID string, ids []int64, limit int) ([]Failure, error) {
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, codes, message, attempts, first_at, last_at, resolved_at
		from sync_failures where integration_id = $1 and resolved_at is null and (coalesce(cardinality($2::bigint[]), 0) = 0 or id = any($2))
		order by last_at desc, id desc limit $3`, integrationID, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	return pgx.CollectRows(rows, scanFailure)
}

// OpenFailureCount counts an integration's open failures (entries, however many problems each
// names).
func (s *Store) OpenFailureCount(ctx context.Context, integrationID string) (int, error) {
	var n int
	if err := s.Pool.QueryRow(ctx, `select count(*) from sync_failures where integration_id = $1 and resolved_at is null`,
		integrationID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the open failures of %s: %w", integrationID, err)
	}
	return n, nil
}

// OpenFailuresByDirection counts an integration's open failures per module and direction,
// keyed "module/direction" (for example "contacts/desk-to-crm"): the records failing to reach
// each side now. A record retried and failing again is one entry, however many attempts.
func (s *Store) OpenFailuresByDirection(ctx context.Context, integrationID string) (map[string]int, error) {
	rows, err := s.Pool.Query(ctx, `select module || '/' || direction, count(*) from sync_failures
		where integration_id = $1 and resolved_at is null group by 1`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("count the open failures of %s per module and direction: %w", integrationID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count the open failures of %s per module and direction: %w", integrationID, err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count the open failures of %s per module and direction: %w", integrationID, err)
	}
	return out, nil
}

func scanFailure(r pgx.CollectableRow) (Failure, error) {
	var f Failure
	err := r.Scan(&f.ID, &f.Module, &f.Direction, &f.DeskID, &f.CRMID, &f.Code, &f.Codes, &f.Message, &f.Attempts, &f.FirstAt, &f.LastAt, &f.ResolvedAt)
	return f, err
}

// OpenFailuresOf returns the open failures naming the Desk record deskID of module, newest
// first.
func (s *Store) OpenFailuresOf(ctx context.Context, integrationID, module, deskID string) ([]Failure, error) {
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, codes, message, attempts, first_at, last_at, resolved_at
		from sync_failures where integration_id = $1 and module = $2 and desk_id = $3 and resolved_at is null order by last_at desc, id desc`,
		integrationID, module, deskID)
	if err != nil {
		return nil, fmt.Errorf("open failures of Desk %s %s: %w", module, deskID, err)
	}
	return pgx.CollectRows(rows, scanFailure)
}

// OpenFailureIDs returns which of ids are open failures of the integration, in ids' order.
func (s *Store) OpenFailureIDs(ctx context.Context, integrationID string, ids []int64) ([]int64, error) {
	rows, err := s.Pool.Query(ctx, `select id from unnest($2::bigint[]) with ordinality as t(id, n)
		where exists (select 1 from sync_failures f where f.id = t.id and f.integration_id = $1 and f.resolved_at is null)
		order by n`, integrationID, ids)
	if err != nil {
		return nil, fmt.Errorf("read open failures: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// MarkRetrying lets the next pass try the records of these failures again (ids nil or empty:
// all open failures). It returns how many entries were marked.
func (s *Store) MarkRetrying(ctx context.Context, integrationID string, ids []int64) (int, error) {
	// pgx sends a nil slice as NULL, whose cardinality is NULL, not 0: "retry all" arrives as
	// nil (RetryInput.IDs is omitted from JSON when empty).
	tag, err := s.Pool.Exec(ctx, `update sync_failures set retrying = true where integration_id = $1 and resolved_at is null
		and (coalesce(cardinality($2::bigint[]), 0) = 0 or id = any($2))`, integrationID, ids)
	if err != nil {
		return 0, fmt.Errorf("mark failures for retry: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ResolveRecordFailures closes the open failures of records of one side ("desk" or "crm")
// that have now synced: the failures about those records' values, whose direction leads from
// that side. A failure of a pair about the other record's value (a CRM value too long for
// Desk names the Desk id too) stays open until that record syncs. It returns how many
// failures it closed.
func (s *Store) ResolveRecordFailures(ctx context.Context, integrationID, module, side string, ids []string) (int, error) {
	direction := "desk-to-crm"
	if side == "crm" {
		direction = "crm-to-desk"
	}
	n, err := s.resolveFailures(ctx, integrationID, module, side, direction, ids)
	if err != nil {
		return 0, fmt.Errorf("resolve failures of synced records: %w", err)
	}
	return n, nil
}

// ResolveFailuresOfDeleted closes the open failures, in either direction, that name records
// of side ("desk" or "crm") deleted there: nothing is left to sync, and a Retry of them did
// nothing while they stayed open and counted for ever. It returns how many it closed.
func (s *Store) ResolveFailuresOfDeleted(ctx context.Context, integrationID, module, side string, ids []string) (int, error) {
	n, err := s.resolveFailures(ctx, integrationID, module, side, "", ids)
	if err != nil {
		return 0, fmt.Errorf("resolve failures of deleted records: %w", err)
	}
	return n, nil
}

// resolveFailures closes the open failures naming records ids of side, in direction ("" for
// either), and returns how many it closed.
func (s *Store) resolveFailures(ctx context.Context, integrationID, module, side, direction string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	col := "desk_id"
	if side == "crm" {
		col = "crm_id"
	}
	tag, err := s.Pool.Exec(ctx, `update sync_failures set resolved_at = now() where integration_id = $1 and module = $2
		and resolved_at is null and ($4 = '' or direction = $4) and `+col+` = any($3)`, integrationID, module, ids, direction)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
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
	// Key is the activity that recorded the run ("" for none): recording it again under the
	// same key replaces it.
	Key string `json:"-"`
}

// RecordRun appends a finished run to the history.
func (s *Store) RecordRun(ctx context.Context, integrationID string, r Run) (int64, error) {
	var id int64
	err := s.Pool.QueryRow(ctx, `insert into sync_runs (integration_id, workflow_id, run_id, kind, module, direction, started_at, finished_at, added, updated, failed, activity_key)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, ''))
		on conflict (activity_key, module, direction) where activity_key is not null
		do update set finished_at = excluded.finished_at, added = excluded.added, updated = excluded.updated, failed = excluded.failed
		returning id`,
		integrationID, r.WorkflowID, r.RunID, r.Kind, r.Module, r.Direction, r.StartedAt, r.FinishedAt, r.Added, r.Updated, r.Failed, r.Key).Scan(&id)
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
