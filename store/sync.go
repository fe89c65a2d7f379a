package store

import (
	"context"
	"encoding/json"
	"errors"
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

// ReplaceMapping stores the whole mapping of a module in one transaction, and bumps the
// integration's mapping version (see MappingVersion).
func (s *Store) ReplaceMapping(ctx context.Context, integrationID, module string, fields []MappingRow) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update integrations set mapping_version = mapping_version + 1, updated_at = now() where id = $1`, integrationID); err != nil {
			return fmt.Errorf("replace %s mapping: bump its version: %w", module, err)
		}
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

// MappingVersion returns the version of an integration's stored mapping: it changes with
// every ReplaceMapping, on any worker. An integration not stored yet is at version 0.
func (s *Store) MappingVersion(ctx context.Context, integrationID string) (int64, error) {
	var v int64
	err := s.Pool.QueryRow(ctx, `select coalesce((select mapping_version from integrations where id = $1), 0)`, integrationID).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read the mapping version of %s: %w", integrationID, err)
	}
	return v, nil
}

// IndexRow is one record of one side as the sync read it.
type IndexRow struct {
	RecordID     string
	MatchKey     string
	CreatedTime  time.Time
	ModifiedTime time.Time
	Values       map[string]any
	// Counterpart is the id its counterpart-id field held ("" when empty).
	Counterpart string
	// Problems are the values that did not fit their mapped type (JSON-encodable).
	Problems any
	// RawRefs are account references not translated yet (field key → the side's own id).
	RawRefs map[string]string
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

// indexBatch are index rows as column arrays (JSON columns as text).
type indexBatch struct {
	ids, keys, counterparts, vals, problems, rawRefs []*string
	created, modified                                []time.Time
}

func encodeIndexRows(sc Scope, rows []IndexRow) (indexBatch, error) {
	n := len(rows)
	c := indexBatch{ids: make([]*string, n), keys: make([]*string, n), counterparts: make([]*string, n),
		vals: make([]*string, n), problems: make([]*string, n), rawRefs: make([]*string, n),
		created: make([]time.Time, n), modified: make([]time.Time, n)}
	for i, r := range rows {
		c.ids[i] = &rows[i].RecordID
		c.keys[i], c.counterparts[i] = nonEmpty(r.MatchKey), nonEmpty(r.Counterpart)
		c.created[i], c.modified[i] = r.CreatedTime, r.ModifiedTime
		b, err := json.Marshal(r.Values)
		if err != nil {
			return c, fmt.Errorf("index %s %s: encode values: %w", sc.Side, sc.Module, err)
		}
		c.vals[i] = nonEmpty(string(b))
		if r.Problems != nil {
			b, err := json.Marshal(r.Problems)
			if err != nil {
				return c, fmt.Errorf("index %s %s: encode problems: %w", sc.Side, sc.Module, err)
			}
			c.problems[i] = nonEmpty(string(b))
		}
		if len(r.RawRefs) > 0 {
			b, err := json.Marshal(r.RawRefs)
			if err != nil {
				return c, fmt.Errorf("index %s %s: encode references: %w", sc.Side, sc.Module, err)
			}
			c.rawRefs[i] = nonEmpty(string(b))
		}
	}
	return c, nil
}

// indexUpsert is the conflict clause both index writes end with.
const indexUpsert = `
	on conflict (integration_id, module, side, record_id) do update set indexed_at = now(), match_key = excluded.match_key,
		created_time = excluded.created_time, modified_time = excluded.modified_time, vals = excluded.vals,
		counterpart_id = excluded.counterpart_id, problems = excluded.problems, raw_refs = excluded.raw_refs`

// UpsertIndex writes a page of indexed records in one statement. A record twice in rows is
// written once, as its last occurrence.
func (s *Store) UpsertIndex(ctx context.Context, sc Scope, rows []IndexRow) error {
	if len(rows) == 0 {
		return nil
	}
	c, err := encodeIndexRows(sc, rows)
	if err != nil {
		return err
	}
	_, err = s.Pool.Exec(ctx, `
		insert into index_records (integration_id, module, side, record_id, match_key, created_time, modified_time, vals, counterpart_id, problems, raw_refs)
		select distinct on (t.id) $1, $2, $3, t.id, t.key, t.created, t.modified, t.vals::jsonb, t.counterpart, t.problems::jsonb, t.raw_refs::jsonb
		from unnest($4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[])
			with ordinality as t(id, key, created, modified, vals, counterpart, problems, raw_refs, n)
		order by t.id, t.n desc`+indexUpsert,
		sc.IntegrationID, sc.Module, sc.Side, c.ids, c.keys, c.created, c.modified, c.vals, c.counterparts, c.problems, c.rawRefs)
	if err != nil {
		return fmt.Errorf("index %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// CopyIndex writes a large batch of indexed records (thousands, as a CRM Bulk Read delivers
// them) with COPY into a temporary table and one INSERT … ON CONFLICT from it, in one
// transaction. A record twice in rows is written once, as its last occurrence.
func (s *Store) CopyIndex(ctx context.Context, sc Scope, rows []IndexRow) error {
	if len(rows) == 0 {
		return nil
	}
	c, err := encodeIndexRows(sc, rows)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `create temporary table index_load (n int, id text, key text, created timestamptz,
			modified timestamptz, vals text, counterpart text, problems text, raw_refs text) on commit drop`); err != nil {
			return fmt.Errorf("index %s %s: %w", sc.Side, sc.Module, err)
		}
		cols := []string{"n", "id", "key", "created", "modified", "vals", "counterpart", "problems", "raw_refs"}
		src := pgx.CopyFromFunc(func() func() ([]any, error) {
			i := -1
			return func() ([]any, error) {
				if i++; i == len(rows) {
					return nil, nil
				}
				return []any{i, c.ids[i], c.keys[i], c.created[i], c.modified[i], c.vals[i], c.counterparts[i], c.problems[i], c.rawRefs[i]}, nil
			}
		}())
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"index_load"}, cols, src); err != nil {
			return fmt.Errorf("index %s %s: copy: %w", sc.Side, sc.Module, err)
		}
		_, err := tx.Exec(ctx, `
			insert into index_records (integration_id, module, side, record_id, match_key, created_time, modified_time, vals, counterpart_id, problems, raw_refs)
			select distinct on (t.id) $1, $2, $3, t.id, t.key, t.created, t.modified, t.vals::jsonb, t.counterpart, t.problems::jsonb, t.raw_refs::jsonb
			from index_load t order by t.id, t.n desc`+indexUpsert, sc.IntegrationID, sc.Module, sc.Side)
		if err != nil {
			return fmt.Errorf("index %s %s: %w", sc.Side, sc.Module, err)
		}
		return nil
	})
}

// IndexCount counts the indexed records of a scope.
func (s *Store) IndexCount(ctx context.Context, sc Scope) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from index_records where integration_id = $1 and module = $2 and side = $3`,
		sc.IntegrationID, sc.Module, sc.Side).Scan(&n)
	return n, err
}

// KeyMember is one indexed record of a key group.
type KeyMember struct {
	Key    string
	Side   string
	ID     string
	Linked bool
}

// KeyGroups returns the indexed records of up to limit match keys after afterKey (in key
// order) that records of both sides carry, with whether each is linked: the match step's
// input. Keys carried by one side only are left to the create steps. The records of the page's
// keys are fetched as "match_key = any (array (…))", an index probe per key: joined to the
// keys instead, Postgres hashed them and scanned the whole module for every page.
func (s *Store) KeyGroups(ctx context.Context, integrationID, module, afterKey string, limit int) ([]KeyMember, error) {
	rows, err := s.Pool.Query(ctx, `
		with keys as (
			select match_key from index_records
			where integration_id = $1 and module = $2 and match_key is not null and match_key > $3
			group by match_key
			having count(*) filter (where side = 'desk') > 0 and count(*) filter (where side = 'crm') > 0
			order by match_key limit $4)
		select i.match_key, i.side, i.record_id, `+isLinked+`
		from index_records i
		where i.integration_id = $1 and i.module = $2 and i.match_key = any (array (select match_key from keys))
		order by i.match_key, i.side, i.record_id`, integrationID, module, afterKey, limit)
	if err != nil {
		return nil, fmt.Errorf("key groups of %s: %w", module, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyMember, error) {
		var m KeyMember
		err := r.Scan(&m.Key, &m.Side, &m.ID, &m.Linked)
		return m, err
	})
}

// Unlinked returns up to limit indexed records of a scope, ordered by id after afterID, that
// have no link (not even a pending one), no open failure, and no candidate with the same key
// on the other side (those are matched, or logged as ambiguous by MatchIndexed). A record
// without a key has no candidate (o.match_key = null is never true). The three conditions
// are plain anti-joins, probed through their indexes for each row of the id-ordered scan, so
// a batch costs the same at any size: written as "match_key is null or not exists (…)" the
// last one became a subplan, which Postgres hashes over every key of the other side when
// work_mem holds them — a scan of the whole side per batch. (store.Open turns parallel
// plans off: with them this batch cost twice as much on a 2-core server.)
func (s *Store) Unlinked(ctx context.Context, sc Scope, afterID string, limit int) ([]IndexRow, error) {
	idCol, otherSide := "desk_id", "crm"
	if sc.Side == "crm" {
		idCol, otherSide = "crm_id", "desk"
	}
	rows, err := s.Pool.Query(ctx, `
		select `+indexColumns+` from index_records i
		where i.integration_id = $1 and i.module = $2 and i.side = $3 and i.record_id > $4
		  and not exists (select 1 from links l where l.integration_id = $1 and l.module = $2 and l.`+idCol+` = i.record_id)
		  and not exists (select 1 from sync_failures f where f.integration_id = $1 and f.module = $2 and f.resolved_at is null and not f.retrying
		      and f.`+idCol+` = i.record_id)
		  and not exists (select 1 from index_records o where o.integration_id = $1 and o.module = $2
		      and o.side = $5 and o.match_key = i.match_key)
		order by i.record_id limit $6`, sc.IntegrationID, sc.Module, sc.Side, afterID, otherSide, limit)
	if err != nil {
		return nil, fmt.Errorf("unlinked %s %s: %w", sc.Side, sc.Module, err)
	}
	return pgx.CollectRows(rows, scanIndexRow)
}

// indexColumns are the columns scanIndexRow reads, of index_records aliased i.
const indexColumns = `i.record_id, coalesce(i.match_key, ''), i.created_time, i.modified_time, i.vals, coalesce(i.counterpart_id, ''), i.problems, i.raw_refs`

func scanIndexRow(r pgx.CollectableRow) (IndexRow, error) {
	var row IndexRow
	var vals, problems, refs []byte
	if err := r.Scan(&row.RecordID, &row.MatchKey, &row.CreatedTime, &row.ModifiedTime, &vals, &row.Counterpart, &problems, &refs); err != nil {
		return row, err
	}
	return row, row.decode(vals, problems, refs)
}

// decode fills the row's JSON columns.
func (row *IndexRow) decode(vals, problems, refs []byte) error {
	if len(problems) > 0 {
		row.Problems = json.RawMessage(problems)
	}
	if len(refs) > 0 {
		if err := json.Unmarshal(refs, &row.RawRefs); err != nil {
			return fmt.Errorf("decode references: %w", err)
		}
	}
	return decodeValues(vals, &row.Values)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func decodeValues(b []byte, into *map[string]any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, into)
}

// IndexRows reads indexed records of a scope by id.
func (s *Store) IndexRows(ctx context.Context, sc Scope, ids []string) (map[string]IndexRow, error) {
	rows, err := s.Pool.Query(ctx, `select `+indexColumns+` from index_records i
		where i.integration_id = $1 and i.module = $2 and i.side = $3 and i.record_id = any($4)`, sc.IntegrationID, sc.Module, sc.Side, ids)
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

// IndexScan is the last complete scan of one side of a module into the index.
type IndexScan struct {
	// ScannedAt is the scan's "now": records created after it were left to the sync.
	ScannedAt      time.Time
	Lookback       time.Duration
	MappingVersion int64
	Mode           string
}

// SaveIndexScan records a complete scan of sc, replacing the one before.
func (s *Store) SaveIndexScan(ctx context.Context, sc Scope, scan IndexScan) error {
	_, err := s.Pool.Exec(ctx, `
		insert into index_scans (integration_id, module, side, scanned_at, lookback, mapping_version, mode)
		values ($1, $2, $3, $4, $5, $6, $7)
		on conflict (integration_id, module, side) do update set scanned_at = excluded.scanned_at,
			lookback = excluded.lookback, mapping_version = excluded.mapping_version, mode = excluded.mode`,
		sc.IntegrationID, sc.Module, sc.Side, scan.ScannedAt, scan.Lookback, scan.MappingVersion, scan.Mode)
	if err != nil {
		return fmt.Errorf("record the scan of %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// ForgetIndexScan removes the record of sc's last scan (a new scan is under way: until it
// completes, the index is not one scan's).
func (s *Store) ForgetIndexScan(ctx context.Context, sc Scope) error {
	_, err := s.Pool.Exec(ctx, `delete from index_scans where integration_id = $1 and module = $2 and side = $3`,
		sc.IntegrationID, sc.Module, sc.Side)
	if err != nil {
		return fmt.Errorf("forget the scan of %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// LastIndexScan returns sc's last complete scan; ok is false when there is none.
func (s *Store) LastIndexScan(ctx context.Context, sc Scope) (scan IndexScan, ok bool, err error) {
	err = s.Pool.QueryRow(ctx, `select scanned_at, lookback, mapping_version, mode from index_scans
		where integration_id = $1 and module = $2 and side = $3`, sc.IntegrationID, sc.Module, sc.Side).
		Scan(&scan.ScannedAt, &scan.Lookback, &scan.MappingVersion, &scan.Mode)
	if errors.Is(err, pgx.ErrNoRows) {
		return scan, false, nil
	}
	if err != nil {
		return scan, false, fmt.Errorf("read the scan of %s %s: %w", sc.Side, sc.Module, err)
	}
	return scan, true, nil
}

// Now returns Postgres's clock (the time index rows are stamped with).
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.Pool.QueryRow(ctx, `select now()`).Scan(&t); err != nil {
		return t, fmt.Errorf("read the database clock: %w", err)
	}
	return t, nil
}

// PruneIndex removes sc's index rows last written before since: at the end of a complete scan
// that started at since (Store.Now), the records the scan no longer found.
func (s *Store) PruneIndex(ctx context.Context, sc Scope, since time.Time) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `delete from index_records where integration_id = $1 and module = $2 and side = $3 and indexed_at < $4`,
		sc.IntegrationID, sc.Module, sc.Side, since)
	if err != nil {
		return 0, fmt.Errorf("prune the %s %s index: %w", sc.Side, sc.Module, err)
	}
	return tag.RowsAffected(), nil
}

// DropIndexCreatedBefore removes sc's index rows created before cutoff (they fell out of the
// look-back since the scan).
func (s *Store) DropIndexCreatedBefore(ctx context.Context, sc Scope, cutoff time.Time) error {
	_, err := s.Pool.Exec(ctx, `delete from index_records where integration_id = $1 and module = $2 and side = $3 and created_time < $4`,
		sc.IntegrationID, sc.Module, sc.Side, cutoff)
	if err != nil {
		return fmt.Errorf("drop %s %s index rows older than the look-back: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// RetryPeersOfKeysLeft marks for retry, and returns per side ("desk", "crm"), the indexed
// records whose match failure (AMBIGUOUS_MATCH, CRM_ID_ALREADY_MAPPED) is open and whose match
// key one of rows — records of sc.Side about to be indexed with new values — carries now and
// will not carry after: a record renamed, or whose email changed, left the key group that made
// its peers ambiguous or duplicates, so they are to be matched again, as a Retry would. Call it
// before UpsertIndex writes rows.
func (s *Store) RetryPeersOfKeysLeft(ctx context.Context, sc Scope, rows []IndexRow) (map[string][]string, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids, keys := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], keys[i] = r.RecordID, r.MatchKey
	}
	rs, err := s.Pool.Query(ctx, `
		with left_keys as (
			select distinct i.match_key from index_records i
			join unnest($4::text[], $5::text[]) as t(id, key) on t.id = i.record_id
			where i.integration_id = $1 and i.module = $2 and i.side = $3
			  and i.match_key is not null and i.match_key <> '' and i.match_key <> coalesce(t.key, '')),
		peers as (
			select p.side, p.record_id from index_records p
			where p.integration_id = $1 and p.module = $2 and p.match_key in (select match_key from left_keys))
		update sync_failures f set retrying = true
		from peers p
		where f.integration_id = $1 and f.module = $2 and f.resolved_at is null
		  and (f.code in ('AMBIGUOUS_MATCH', 'CRM_ID_ALREADY_MAPPED') or f.codes && array['AMBIGUOUS_MATCH', 'CRM_ID_ALREADY_MAPPED'])
		  and ((p.side = 'desk' and f.desk_id = p.record_id) or (p.side = 'crm' and f.crm_id = p.record_id))
		returning p.side, p.record_id`,
		sc.IntegrationID, sc.Module, sc.Side, ids, keys)
	if err != nil {
		return nil, fmt.Errorf("retry the peers of the keys %s %s records left: %w", sc.Side, sc.Module, err)
	}
	defer rs.Close()
	out := map[string][]string{}
	for rs.Next() {
		var side, id string
		if err := rs.Scan(&side, &id); err != nil {
			return nil, err
		}
		out[side] = append(out[side], id)
	}
	return out, rs.Err()
}
