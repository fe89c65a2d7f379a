package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailureFilter selects entries of the failure log for the console.
type FailureFilter struct {
	// Module and Code keep only entries of that module and code ("" = any).
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
	rows, err := s.Pool.Query(ctx, `select id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code, message,
			attempts, first_at, last_at, resolved_at, retrying
		from sync_failures
		where integration_id = $1 and ($2 = '' or module = $2) and ($3 = '' or code = $3)
		  and (resolved_at is null or resolved_at >= $4::timestamptz)
		order by resolved_at is not null, coalesce(resolved_at, last_at) desc, id desc
		limit $5`, integrationID, f.Module, f.Code, closedSince, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("read the failure log of %s: %w", integrationID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailureEntry, error) {
		var e FailureEntry
		err := r.Scan(&e.ID, &e.Module, &e.Direction, &e.DeskID, &e.CRMID, &e.Code, &e.Message, &e.Attempts, &e.FirstAt,
			&e.LastAt, &e.ResolvedAt, &e.Retrying)
		return e, err
	})
}

// FailureCodes lists the codes of an integration's open failures with how many entries each
// has, by code.
func (s *Store) FailureCodes(ctx context.Context, integrationID string) (map[string]int, error) {
	rows, err := s.Pool.Query(ctx, `select code, count(*) from sync_failures where integration_id = $1 and resolved_at is null
		group by code`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("count the failure codes of %s: %w", integrationID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}
