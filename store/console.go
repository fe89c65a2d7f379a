package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailureFilter selects entries of the failure log for the console.
type FailureFilter struct {
	// Module and Code keep only entries of that module and code ("" = any); an entry naming
	// several problems is kept for any of its codes.
	Module, Code string
	// ClosedSince also returns entries resolved since then (zero: open entries only).
	ClosedSince time.Time
	// Limit bounds the entries returned (0 = 200).
	Limit int
}

// FailureEntry is a failure-log entry as the console shows it.
type FailureEntry struct {
	Failure
	// Retrying is set once a retry was asked for and the next pass has not tried it yet.
	Retrying bool `json:"retrying"`
}

// FailureLog returns the open entries of an integration's failure log that match the
// filter, newest first, then (with ClosedSince) those resolved since then, most recently
// resolved first.
func (s *Store) FailureLog(ctx context.Context, integrationID string, f FailureFilter) ([]FailureEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var closedSince *time.Time
	if !f.ClosedSince.IsZero() {
		closedSince = &f.ClosedSince
	}
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, codes, message,
			attempts, first_at, last_at, resolved_at, retrying
		from sync_failures
		where integration_id = $1 and ($2 = '' or module = $2) and ($3 = '' or code = $3 or $3 = any (codes))
		  and (resolved_at is null or resolved_at >= $4::timestamptz)
		order by resolved_at is not null, coalesce(resolved_at, last_at) desc, id desc
		limit $5`, integrationID, f.Module, f.Code, closedSince, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("read the failure log of %s: %w", integrationID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailureEntry, error) {
		var e FailureEntry
		err := r.Scan(&e.ID, &e.Module, &e.Direction, &e.DeskID, &e.CRMID, &e.Code, &e.Codes, &e.Message, &e.Attempts, &e.FirstAt,
			&e.LastAt, &e.ResolvedAt, &e.Retrying)
		return e, err
	})
}

// FailureCodes lists the codes of an integration's open failures with how many entries each
// has, by code, and how many open entries there are in all (an entry naming several problems
// counts under each of its codes, and once in the total).
func (s *Store) FailureCodes(ctx context.Context, integrationID string) (codes map[string]int, total int, err error) {
	rows, err := s.Pool.Query(ctx, `select c, count(*) from sync_failures f, unnest(coalesce(f.codes, array[f.code])) c
		where f.integration_id = $1 and f.resolved_at is null group by c`, integrationID)
	if err != nil {
		return nil, 0, fmt.Errorf("count the failure codes of %s: %w", integrationID, err)
	}
	defer rows.Close()
	codes = map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, 0, err
		}
		codes[code] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("count the failure codes of %s: %w", integrationID, err)
	}
	if total, err = s.OpenFailureCount(ctx, integrationID); err != nil {
		return nil, 0, err
	}
	return codes, total, nil
}
