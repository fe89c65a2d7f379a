package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MappingRow is one stored field pair of an integration's mapping.
type MappingRow struct {
	DeskField string `json:"desk"`
	CRMField  string `json:"crm"`
	Direction string `json:"direction"`
	Policy    string `json:"policy"`
}

// Mapping returns the admin's stored mapping for a module, or nil when none was saved
// (the default mapping then applies).
func (s *Store) Mapping(ctx context.Context, integrationID, module string) ([]MappingRow, error) {
	rows, err := s.Pool.Query(ctx, `select desk_field, crm_field, direction, policy from field_mappings
		where integration_id = $1 and module = $2 order by position, desk_field`, integrationID, module)
	if err != nil {
		return nil, fmt.Errorf("read %s mapping: %w", module, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (MappingRow, error) {
		var m MappingRow
		err := r.Scan(&m.DeskField, &m.CRMField, &m.Direction, &m.Policy)
		return m, err
	})
}

// ReplaceMapping stores the whole mapping of a module in one transaction.
func (s *Store) ReplaceMapping(ctx context.Context, integrationID, module string, fields []MappingRow) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from field_mappings where integration_id = $1 and module = $2`, integrationID, module); err != nil {
			return fmt.Errorf("replace %s mapping: %w", module, err)
		}
		for i, f := range fields {
			if _, err := tx.Exec(ctx, `insert into field_mappings (integration_id, module, desk_field, crm_field, direction, policy, position)
				values ($1, $2, $3, $4, $5, $6, $7)`, integrationID, module, f.DeskField, f.CRMField, f.Direction, f.Policy, i); err != nil {
				return fmt.Errorf("replace %s mapping: field %s↔%s: %w", module, f.DeskField, f.CRMField, err)
			}
		}
		return nil
	})
}

// IndexRow is one record of one side as seen by the initial sync.
type IndexRow struct {
	RecordID     string
	MatchKey     string
	CreatedTime  time.Time
	ModifiedTime time.Time
	Values       map[string]any
}

// Scope names an integration, module and side.
type Scope struct {
	IntegrationID string
	Module        string
	Side          string // "desk" or "crm"
}

// Other returns the scope of the opposite side.
func (sc Scope) Other() Scope {
	o := sc
	if sc.Side == "desk" {
		o.Side = "crm"
	} else {
		o.Side = "desk"
	}
	return o
}

// UpsertIndex writes a page of indexed records in one statement.
func (s *Store) UpsertIndex(ctx context.Context, sc Scope, rows []IndexRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	keys := make([]*string, len(rows))
	created := make([]time.Time, len(rows))
	modified := make([]time.Time, len(rows))
	vals := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RecordID
		if r.MatchKey != "" {
			k := r.MatchKey
			keys[i] = &k
		}
		created[i], modified[i] = r.CreatedTime, r.ModifiedTime
		b, err := json.Marshal(r.Values)
		if err != nil {
			return fmt.Errorf("index %s %s: encode values: %w", sc.Side, sc.Module, err)
		}
		vals[i] = string(b)
	}
	_, err := s.Pool.Exec(ctx, `
		insert into index_records (integration_id, module, side, record_id, match_key, created_time, modified_time, vals)
		select $1, $2, $3, t.id, t.key, t.created, t.modified, t.vals::jsonb
		from unnest($4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[]) as t(id, key, created, modified, vals)
		on conflict (integration_id, module, side, record_id) do update set match_key = excluded.match_key,
			created_time = excluded.created_time, modified_time = excluded.modified_time, vals = excluded.vals`,
		sc.IntegrationID, sc.Module, sc.Side, ids, keys, created, modified, vals)
	if err != nil {
		return fmt.Errorf("index %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// IndexCount counts the indexed records of a scope.
func (s *Store) IndexCount(ctx context.Context, sc Scope) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from index_records where integration_id = $1 and module = $2 and side = $3`,
		sc.IntegrationID, sc.Module, sc.Side).Scan(&n)
	return n, err
}

// Ambiguous is an unlinked indexed record that cannot be matched safely: its key is shared by
// more than one candidate, or its only candidates are already linked to another record.
type Ambiguous struct {
	Side          string
	RecordID      string
	Candidates    int  // unlinked records on the other side with the same key
	Peers         int  // unlinked records on its own side with the same key
	AlreadyMapped bool // every candidate on the other side is already linked
}

// MatchIndexed links unlinked records whose match key identifies exactly one record on each
// side, and returns the unlinked records that cannot be matched safely: those whose key several
// candidates share, and those whose only candidates are already linked to another record.
func (s *Store) MatchIndexed(ctx context.Context, integrationID, module string) (linked int, ambiguous []Ambiguous, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// The index was just filled: fresh statistics keep the planner off nested loops.
		if _, err := tx.Exec(ctx, "analyze index_records, links"); err != nil {
			return fmt.Errorf("match %s: analyze: %w", module, err)
		}
		// Every unlinked record with its key's candidate counts on each side. Window counts
		// instead of self-joins keep this O(n log n); one branch per side lets each anti-join
		// use its unique index on links.
		const keyed = `
			with unlinked as (
				select i.side, i.record_id, i.match_key from index_records i
				where i.integration_id = $1 and i.module = $2 and i.side = 'desk' and i.match_key is not null
				  and not exists (select 1 from links l where l.integration_id = $1 and l.module = $2 and l.desk_id = i.record_id)
				union all
				select i.side, i.record_id, i.match_key from index_records i
				where i.integration_id = $1 and i.module = $2 and i.side = 'crm' and i.match_key is not null
				  and not exists (select 1 from links l where l.integration_id = $1 and l.module = $2 and l.crm_id = i.record_id)
			), keyed as (
				select side, record_id, match_key,
					count(*) filter (where side = 'desk') over (partition by match_key) as d,
					count(*) filter (where side = 'crm') over (partition by match_key) as c
				from unlinked
			)`
		tag, err := tx.Exec(ctx, keyed+`
			insert into links (integration_id, module, desk_id, crm_id, state)
			select $1, $2, max(record_id) filter (where side = 'desk'), max(record_id) filter (where side = 'crm'), 'linked'
			from keyed where d = 1 and c = 1 group by match_key`, integrationID, module)
		if err != nil {
			return fmt.Errorf("match %s: link pairs: %w", module, err)
		}
		linked = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, "analyze links"); err != nil {
			return fmt.Errorf("match %s: analyze: %w", module, err)
		}
		rows, err := tx.Query(ctx, keyed+`
			select side, record_id, case when side = 'desk' then c else d end, case when side = 'desk' then d else c end
			from keyed where d >= 1 and c >= 1 and (d > 1 or c > 1)
			order by side, record_id`, integrationID, module)
		if err != nil {
			return fmt.Errorf("match %s: find ambiguous: %w", module, err)
		}
		ambiguous, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ambiguous, error) {
			var a Ambiguous
			err := r.Scan(&a.Side, &a.RecordID, &a.Candidates, &a.Peers)
			return a, err
		})
		if err != nil {
			return fmt.Errorf("match %s: read ambiguous: %w", module, err)
		}
		rows, err = tx.Query(ctx, keyed+`
			select u.side, u.record_id from keyed u
			where (u.side = 'desk' and u.c = 0 or u.side = 'crm' and u.d = 0)
			  and exists (select 1 from index_records o where o.integration_id = $1 and o.module = $2
			      and o.side = case when u.side = 'desk' then 'crm' else 'desk' end and o.match_key = u.match_key)
			order by u.side, u.record_id`, integrationID, module)
		if err != nil {
			return fmt.Errorf("match %s: find already mapped: %w", module, err)
		}
		mapped, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ambiguous, error) {
			a := Ambiguous{AlreadyMapped: true}
			err := r.Scan(&a.Side, &a.RecordID)
			return a, err
		})
		ambiguous = append(ambiguous, mapped...)
		return err
	})
	return linked, ambiguous, err
}

// Unlinked returns up to limit indexed records of a scope, ordered by id after afterID, that
// have no link (not even a pending one), no open failure, and no candidate with the same key
// on the other side (those are matched, or logged as ambiguous by MatchIndexed).
func (s *Store) Unlinked(ctx context.Context, sc Scope, afterID string, limit int) ([]IndexRow, error) {
	idCol, otherSide := "desk_id", "crm"
	if sc.Side == "crm" {
		idCol, otherSide = "crm_id", "desk"
	}
	rows, err := s.Pool.Query(ctx, `
		select i.record_id, coalesce(i.match_key, ''), i.created_time, i.modified_time, i.vals from index_records i
		where i.integration_id = $1 and i.module = $2 and i.side = $3 and i.record_id > $4
		  and not exists (select 1 from links l where l.integration_id = $1 and l.module = $2 and l.`+idCol+` = i.record_id)
		  and not exists (select 1 from sync_failures f where f.integration_id = $1 and f.module = $2 and f.resolved_at is null and not f.retrying
		      and f.`+idCol+` = i.record_id)
		  and (i.match_key is null or not exists (select 1 from index_records o where o.integration_id = $1 and o.module = $2
		      and o.side = $5 and o.match_key = i.match_key))
		order by i.record_id limit $6`, sc.IntegrationID, sc.Module, sc.Side, afterID, otherSide, limit)
	if err != nil {
		return nil, fmt.Errorf("unlinked %s %s: %w", sc.Side, sc.Module, err)
	}
	return pgx.CollectRows(rows, scanIndexRow)
}

func scanIndexRow(r pgx.CollectableRow) (IndexRow, error) {
	var row IndexRow
	var vals []byte
	if err := r.Scan(&row.RecordID, &row.MatchKey, &row.CreatedTime, &row.ModifiedTime, &vals); err != nil {
		return row, err
	}
	return row, decodeValues(vals, &row.Values)
}

func decodeValues(b []byte, into *map[string]any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, into)
}

// IndexRows reads indexed records of a scope by id.
func (s *Store) IndexRows(ctx context.Context, sc Scope, ids []string) (map[string]IndexRow, error) {
	rows, err := s.Pool.Query(ctx, `select record_id, coalesce(match_key, ''), created_time, modified_time, vals from index_records
		where integration_id = $1 and module = $2 and side = $3 and record_id = any($4)`, sc.IntegrationID, sc.Module, sc.Side, ids)
	if err != nil {
		return nil, fmt.Errorf("read %s %s index rows: %w", sc.Side, sc.Module, err)
	}
	list, err := pgx.CollectRows(rows, scanIndexRow)
	if err != nil {
		return nil, err
	}
	out := make(map[string]IndexRow, len(list))
	for _, r := range list {
		out[r.RecordID] = r
	}
	return out, nil
}
