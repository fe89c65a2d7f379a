package store

// This file holds what the incremental sync needs from Postgres: its cursors, and the batch
// reads and writes of links (deletion marks, re-creates) it makes per page of changes.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cursor is how far the incremental sync has read one side of one module: Position is the
// newest modified time processed, Deleted the newest deletion time processed. Both are UTC;
// a zero time means "not read yet".
type Cursor struct {
	Position time.Time
	Deleted  time.Time
	// MappingVersion is the integration's mapping version the cursor's reads were planned with
	// (MappingVersion); -1 when unknown (saved before it was kept). Saving -1 keeps the stored one.
	MappingVersion int64
}

// Cursor reads the cursor of a scope; ok is false when none was saved yet.
func (s *Store) Cursor(ctx context.Context, sc Scope) (c Cursor, ok bool, err error) {
	var del *time.Time
	err = s.Pool.QueryRow(ctx, `select position, deleted_position, coalesce(mapping_version, -1) from cursors
		where integration_id = $1 and module = $2 and side = $3`,
		sc.IntegrationID, sc.Module, sc.Side).Scan(&c.Position, &del, &c.MappingVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, false, nil
	}
	if err != nil {
		return Cursor{}, false, fmt.Errorf("read %s %s cursor: %w", sc.Side, sc.Module, err)
	}
	c.Position = c.Position.UTC()
	if del != nil {
		c.Deleted = del.UTC()
	}
	return c, true, nil
}

// SaveCursor checkpoints a scope's cursor after the writes it covers are committed. It may
// move a cursor backwards: a switch to two-way sync rewinds Desk's to read again the changes
// one-way mode left alone.
func (s *Store) SaveCursor(ctx context.Context, sc Scope, c Cursor) error {
	var del *time.Time
	if !c.Deleted.IsZero() {
		d := c.Deleted.UTC()
		del = &d
	}
	_, err := s.Pool.Exec(ctx, `
		insert into cursors (integration_id, module, side, position, deleted_position, mapping_version)
		values ($1, $2, $3, $4, $5, case when $6::bigint >= 0 then $6::bigint end)
		on conflict (integration_id, module, side) do update set
			position = excluded.position,
			deleted_position = coalesce(excluded.deleted_position, cursors.deleted_position),
			mapping_version = coalesce(excluded.mapping_version, cursors.mapping_version),
			updated_at = now()`,
		sc.IntegrationID, sc.Module, sc.Side, c.Position.UTC(), del, c.MappingVersion)
	if err != nil {
		return fmt.Errorf("save %s %s cursor: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// LinksOf returns the links (any state) of records of side sc.Side, keyed by that side's id.
// Records with no link are absent.
func (s *Store) LinksOf(ctx context.Context, sc Scope, ids []string) (map[string]Link, error) {
	out := make(map[string]Link, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	col := "desk_id"
	if sc.Side == "crm" {
		col = "crm_id"
	}
	rows, err := s.Pool.Query(ctx, `select `+linkColumns+`
		from links where integration_id = $1 and module = $2 and `+col+` = any($3)`, sc.IntegrationID, sc.Module, ids)
	if err != nil {
		return nil, fmt.Errorf("links of %s %s: %w", sc.Side, sc.Module, err)
	}
	list, err := pgx.CollectRows(rows, scanLink)
	if err != nil {
		return nil, fmt.Errorf("links of %s %s: %w", sc.Side, sc.Module, err)
	}
	for _, l := range list {
		if sc.Side == "crm" {
			out[l.CRMID] = l
		} else {
			out[l.DeskID] = l
		}
	}
	return out, nil
}

// Deletion marks one record of side Side as deleted: Kind is "trash" or "permanent".
type Deletion struct {
	ID   string
	Kind string
}

// MarkDeleted records on the links that records of side sc.Side were deleted. A permanent
// deletion replaces a trash mark; a trash mark never replaces a permanent one. It returns how
// many links changed.
func (s *Store) MarkDeleted(ctx context.Context, sc Scope, ds []Deletion) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	col, mark := "desk_id", "desk_deleted"
	if sc.Side == "crm" {
		col, mark = "crm_id", "crm_deleted"
	}
	ids := make([]string, len(ds))
	kinds := make([]string, len(ds))
	for i, d := range ds {
		ids[i], kinds[i] = d.ID, d.Kind
	}
	tag, err := s.Pool.Exec(ctx, `update links l set `+mark+` = t.kind
		from unnest($3::text[], $4::text[]) as t(id, kind)
		where l.integration_id = $1 and l.module = $2 and l.state = 'linked' and l.`+col+` = t.id
		  and (l.`+mark+` is null or (l.`+mark+` = 'trash' and t.kind = 'permanent'))`,
		sc.IntegrationID, sc.Module, ids, kinds)
	if err != nil {
		return 0, fmt.Errorf("mark deleted %s %s: %w", sc.Side, sc.Module, err)
	}
	return int(tag.RowsAffected()), nil
}

// ClearDeletion removes the deletion mark of side ("desk" or "crm") from links: the record
// was restored.
func (s *Store) ClearDeletion(ctx context.Context, side string, linkIDs []int64) error {
	if len(linkIDs) == 0 {
		return nil
	}
	mark := "desk_deleted"
	if side == "crm" {
		mark = "crm_deleted"
	}
	if _, err := s.Pool.Exec(ctx, `update links set `+mark+` = null where id = any($1)`, linkIDs); err != nil {
		return fmt.Errorf("clear %s deletion marks: %w", side, err)
	}
	return nil
}

// PrepareRecreate turns links whose record on side target ("desk" or "crm") is gone into
// pending links of their source record, so that the record is created again on target with
// the create protocol (pending link, counterpart id field, recovery after a lost response).
// Deletion marks and the base are cleared.
func (s *Store) PrepareRecreate(ctx context.Context, target string, linkIDs []int64) error {
	if len(linkIDs) == 0 {
		return nil
	}
	set := `crm_id = null, state = 'pending-crm', pending_at = now()`
	if target == "desk" {
		set = `desk_id = null, state = 'pending-desk', pending_at = now()`
	}
	_, err := s.Pool.Exec(ctx, `update links set `+set+`, base = null, base_desk = null, base_crm = null, base_hash = null, desk_deleted = null, crm_deleted = null
		where id = any($1) and state = 'linked'`, linkIDs)
	if err != nil {
		return fmt.Errorf("prepare %d re-creates in %s: %w", len(linkIDs), target, err)
	}
	return nil
}

// LinkPairs links unlinked records matched by key: deskIDs[i] with crmIDs[i]. Pairs of which
// either record is linked already (or pending) are left out: links_desk and links_crm are unique,
// and "on conflict do nothing" without a target skips a row that conflicts with either. (A
// "not exists (… desk_id = d or crm_id = c)" guard did the same through a plan that could use
// neither index: from statistics taken while links was empty, Postgres re-scanned links for
// every pair: the match of 100,000 accounts per side took 16 s, 29 times that of 10,000.) It
// returns the ids of the links created, keyed by Desk id, and counts how many under name (one
// transaction).
func (s *Store) LinkPairs(ctx context.Context, integrationID, module string, deskIDs, crmIDs []string, count ...Count) (map[string]int64, error) {
	out := map[string]int64{}
	if len(deskIDs) == 0 {
		return out, nil
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `insert into links (integration_id, module, desk_id, crm_id, state)
			select $1, $2, t.d, t.c, 'linked' from unnest($3::text[], $4::text[]) as t(d, c)
			on conflict do nothing
			returning desk_id, id`, integrationID, module, deskIDs, crmIDs)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
			d  string
			id int64
		}, error) {
			var x struct {
				d  string
				id int64
			}
			err := r.Scan(&x.d, &x.id)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, x := range ids {
			out[x.d] = x.id
		}
		b := &pgx.Batch{}
		for _, c := range count {
			c.N = len(ids)
			c.queue(b)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("link %d matched %s pairs: %w", len(deskIDs), module, err)
	}
	return out, nil
}

// isLinked is a SQL expression over an index row i: whether its record has a link, whole
// or pending. It is one probe of a unique index (links_desk or links_crm) per row, whatever
// the size of links: written as one EXISTS with "desk_id = … or crm_id = …" it could use
// neither index, and from statistics taken while links was nearly empty Postgres scanned
// links for every row; written as EXISTS per side, Postgres hashed the whole of links for
// each batch while links fit in work_mem. A scalar subquery is neither.
const isLinked = `coalesce(case i.side
	when 'desk' then (select true from links l where l.integration_id = i.integration_id and l.module = i.module and l.desk_id = i.record_id limit 1)
	else (select true from links l where l.integration_id = i.integration_id and l.module = i.module and l.crm_id = i.record_id limit 1) end, false)`

// KeyCandidate is an indexed record carrying a match key being matched.
type KeyCandidate struct {
	Side   string
	Row    IndexRow
	Linked bool
}

// Candidates returns the indexed records of both sides whose match key is one of keys, with
// whether each is linked (or pending), in side and id order.
func (s *Store) Candidates(ctx context.Context, integrationID, module string, keys []string) ([]KeyCandidate, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `select i.side, `+indexColumns+`,
			`+isLinked+`
		from index_records i where i.integration_id = $1 and i.module = $2 and i.match_key = any($3)
		order by i.side, i.record_id`, integrationID, module, keys)
	if err != nil {
		return nil, fmt.Errorf("match candidates of %s: %w", module, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyCandidate, error) {
		var c KeyCandidate
		var vals, problems, refs []byte
		if err := r.Scan(&c.Side, &c.Row.RecordID, &c.Row.MatchKey, &c.Row.CreatedTime, &c.Row.ModifiedTime, &vals, &c.Row.Counterpart, &problems, &refs, &c.Linked); err != nil {
			return c, err
		}
		return c, c.Row.decode(vals, problems, refs)
	})
}

// DeleteIndexRows removes records from the index (they were deleted on their side, so they
// must not be matched any more).
func (s *Store) DeleteIndexRows(ctx context.Context, sc Scope, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.Pool.Exec(ctx, `delete from index_records where integration_id = $1 and module = $2 and side = $3 and record_id = any($4)`,
		sc.IntegrationID, sc.Module, sc.Side, ids)
	if err != nil {
		return fmt.Errorf("drop deleted %s %s from the index: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// RetryingRecords returns the ids of side sc.Side's records whose open failure the admin
// asked to retry and which are linked: the incremental pass reads them again.
func (s *Store) RetryingRecords(ctx context.Context, sc Scope, limit int) ([]string, error) {
	col, dir := "desk_id", "desk-to-crm"
	if sc.Side == "crm" {
		col, dir = "crm_id", "crm-to-desk"
	}
	rows, err := s.Pool.Query(ctx, `select distinct f.`+col+` from sync_failures f
		join links l on l.integration_id = f.integration_id and l.module = f.module and l.`+col+` = f.`+col+` and l.state = 'linked'
		where f.integration_id = $1 and f.module = $2 and f.resolved_at is null and f.retrying and f.direction = $4
		  and f.`+col+` is not null
		order by 1 limit $3`, sc.IntegrationID, sc.Module, limit, dir)
	if err != nil {
		return nil, fmt.Errorf("retrying %s %s records: %w", sc.Side, sc.Module, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// deskBaseOf is the Desk side's merge base value of link l's field $3: base_desk holds it where
// the sides differ, base where they agree (store.Link).
const deskBaseOf = "(case when l.base_desk ? $3 then l.base_desk ->> $3 else l.base ->> $3 end)"

// AccountFollowers returns up to limit linked CRM records of module sc.Module to plan again
// because an account reference of theirs that could not be carried to Desk, its account
// having no Desk counterpart then, can be now: pairs whose merge base holds on the CRM side,
// under key (the reference's field, mapping.FieldMap.Key), an account that the Desk side does
// not hold and that is linked now (store.Link's bases: a side's base holds a field only where
// it differs from the other's). Without this a contact moved to, or created on, such an
// account kept its old account, or none, in Desk until it was edited again. The pairs are
// found through links_base_crm, which holds the pairs whose sides differ.
func (s *Store) AccountFollowers(ctx context.Context, sc Scope, key string, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `select l.crm_id from links l
		join links a on a.integration_id = l.integration_id and a.module = 'accounts' and a.state = 'linked'
			and a.crm_id = l.base_crm ->> $3
		where l.integration_id = $1 and l.module = $2 and l.state = 'linked' and l.base_crm is not null and l.base_crm ? $3
		  and `+deskBaseOf+` is distinct from (l.base_crm ->> $3)
		order by l.crm_id limit $4`, sc.IntegrationID, sc.Module, key, limit)
	if err != nil {
		return nil, fmt.Errorf("%s records whose account can be carried now: %w", sc.Module, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DeskAccountFollowers returns up to limit linked Desk records of module sc.Module to plan
// again because the Desk account they were read with (index_records.raw_refs under key, kept
// when it had no CRM counterpart) is linked now, while their pair's merge base holds another:
// a contact moved in Desk to such an account kept its old account in CRM until it was edited
// again. Only accounts linked since the module's last Desk pass (its cursor's save, less a
// margin for a link committed after a transaction that began before it) are looked at, each
// probed through index_records_raw_ref.
func (s *Store) DeskAccountFollowers(ctx context.Context, sc Scope, key string, limit int) ([]string, error) {
	// The key as a literal, so that the expression matches index_records_raw_ref's in every plan.
	rows, err := s.Pool.Query(ctx, `select i.record_id
		from links a
		join index_records i on i.integration_id = a.integration_id and i.module = $2 and i.side = 'desk'
			and i.raw_refs is not null and (i.raw_refs ->> `+quoteLiteral(key)+`) = a.desk_id
		join links l on l.integration_id = i.integration_id and l.module = i.module and l.state = 'linked' and l.desk_id = i.record_id
		where a.integration_id = $1 and a.module = 'accounts' and a.state = 'linked'
		  and a.created_at > (select c.updated_at - interval '10 minutes' from cursors c
			where c.integration_id = $1 and c.module = $2 and c.side = 'desk')
		  and `+deskBaseOf+` is distinct from a.crm_id
		order by i.record_id limit $4`, sc.IntegrationID, sc.Module, key, limit)
	if err != nil {
		return nil, fmt.Errorf("%s records whose Desk account can be carried now: %w", sc.Module, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings, on since
// PostgreSQL 9.1: only the quote is doubled).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// FailedSince returns, for records of side sc.Side among ids, when their open failure in the
// direction from that side was last recorded (failures marked for retry are left out): a
// change no newer than that is the version that already failed.
func (s *Store) FailedSince(ctx context.Context, sc Scope, ids []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	col, dir := "desk_id", "desk-to-crm"
	if sc.Side == "crm" {
		col, dir = "crm_id", "crm-to-desk"
	}
	rows, err := s.Pool.Query(ctx, `select `+col+`, max(last_at) from sync_failures
		where integration_id = $1 and module = $2 and direction = $3 and resolved_at is null and not retrying and `+col+` = any($4)
		group by 1`, sc.IntegrationID, sc.Module, dir, ids)
	if err != nil {
		return nil, fmt.Errorf("failed %s %s records: %w", sc.Side, sc.Module, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}
