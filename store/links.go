package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Link joins a Desk record and a CRM record of one module.
type Link struct {
	ID     int64
	Module string
	DeskID string
	CRMID  string
	State  string
	// Base holds the merge base values both sides share; BaseDesk and BaseCRM the values where
	// that side differs (see reconcile.Base). All nil for a link never reconciled.
	Base         map[string]any
	BaseDesk     map[string]any
	BaseCRM      map[string]any
	BaseHash     string
	DeskModified *time.Time
	CRMModified  *time.Time
	DeskDeleted  string
	CRMDeleted   string
}

// AddPendingLinks records, before a create call, that the records of side sc.Side with these
// ids are about to be created on the other side. A retried create finds them and looks for
// what a lost response may already have created instead of creating again.
func (s *Store) AddPendingLinks(ctx context.Context, sc Scope, ids []string) error {
	col, state := "desk_id", "pending-crm"
	if sc.Side == "crm" {
		col, state = "crm_id", "pending-desk"
	}
	_, err := s.Pool.Exec(ctx, `insert into links (integration_id, module, `+col+`, state, pending_at)
		select $1, $2, unnest($3::text[]), $4, now() on conflict do nothing`, sc.IntegrationID, sc.Module, ids, state)
	if err != nil {
		return fmt.Errorf("pending links %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// PendingLinks returns up to limit source ids of side sc.Side whose create on the other side may
// or may not have happened, and when the oldest of them became pending (zero when unknown:
// links pending since before that was recorded).
func (s *Store) PendingLinks(ctx context.Context, sc Scope, limit int) ([]string, time.Time, error) {
	col, state := "desk_id", "pending-crm"
	if sc.Side == "crm" {
		col, state = "crm_id", "pending-desk"
	}
	rows, err := s.Pool.Query(ctx, `select `+col+`, pending_at from links where integration_id = $1 and module = $2 and state = $3
		order by `+col+` limit $4`, sc.IntegrationID, sc.Module, state, limit)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("pending links %s %s: %w", sc.Side, sc.Module, err)
	}
	defer rows.Close()
	var ids []string
	var oldest time.Time
	unknown := false
	for rows.Next() {
		var id string
		var at *time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, time.Time{}, err
		}
		ids = append(ids, id)
		switch {
		case at == nil:
			unknown = true
		case oldest.IsZero() || at.Before(oldest):
			oldest = *at
		}
	}
	if unknown {
		oldest = time.Time{}
	}
	return ids, oldest, rows.Err()
}

// Completion finishes a pending link: the source record (of the scope's side) now has a
// counterpart with TargetID; Base, BaseDesk and BaseCRM are the new link's merge base (as in
// Link).
type Completion struct {
	SourceID       string
	TargetID       string
	Base           map[string]any
	BaseDesk       map[string]any
	BaseCRM        map[string]any
	BaseHash       string
	SourceModified time.Time
	TargetModified time.Time
}

// CompleteLinks turns pending links into links, and adds the counts in the same transaction.
// The source records (of the scope's side) are recorded as due their counterpart's id
// (DueCounterparts) until ClearCounterpartsDue.
func (s *Store) CompleteLinks(ctx context.Context, sc Scope, done []Completion, counts ...Count) error {
	if len(done) == 0 {
		return nil
	}
	// One statement for the batch (a statement per link cost Postgres as much again); a source
	// given twice is completed as its last occurrence.
	last := map[string]int{}
	for i, c := range done {
		last[c.SourceID] = i
	}
	var a baseArrays
	var deskIDs, crmIDs []string
	for i, c := range done {
		if last[c.SourceID] != i {
			continue
		}
		deskID, crmID, deskMod, crmMod := c.SourceID, c.TargetID, c.SourceModified, c.TargetModified
		if sc.Side == "crm" {
			deskID, crmID, deskMod, crmMod = c.TargetID, c.SourceID, c.TargetModified, c.SourceModified
		}
		if err := a.add(c.Base, c.BaseDesk, c.BaseCRM, c.BaseHash, deskMod, crmMod); err != nil {
			return fmt.Errorf("complete links: %w", err)
		}
		deskIDs, crmIDs = append(deskIDs, deskID), append(crmIDs, crmID)
	}
	source := "desk_id"
	if sc.Side == "crm" {
		source = "crm_id"
	}
	batch := &pgx.Batch{}
	batch.Queue(`update links l set desk_id = t.d, crm_id = t.c, state = 'linked', base = t.b::jsonb, base_desk = t.bd::jsonb,
			base_crm = t.bc::jsonb, base_hash = t.h, desk_modified = t.dm, crm_modified = t.cm, synced_at = now(), counterpart_due = $3
		from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[])
			as t(d, c, b, bd, bc, h, dm, cm)
		where l.integration_id = $1 and l.module = $2 and l.`+source+` = t.`+source[:1]+``,
		sc.IntegrationID, sc.Module, sc.Side, deskIDs, crmIDs, a.base, a.baseDesk, a.baseCRM, a.hash, a.deskMod, a.crmMod)
	// The counts last: their rows are written when the links are.
	for _, c := range counts {
		c.queue(batch)
	}
	if err := s.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("complete %d %s links: %w", len(done), sc.Module, err)
	}
	return nil
}

// baseArrays are merge bases as columns, for one statement over many links.
type baseArrays struct {
	base, baseDesk, baseCRM []*string
	hash                    []string
	deskMod, crmMod         []time.Time
}

func (a *baseArrays) add(shared, desk, crm map[string]any, hash string, deskMod, crmMod time.Time) error {
	b, bd, bc, err := encodeBase(shared, desk, crm)
	if err != nil {
		return err
	}
	text := func(j []byte) *string {
		if j == nil {
			return nil
		}
		s := string(j)
		return &s
	}
	a.base, a.baseDesk, a.baseCRM = append(a.base, text(b)), append(a.baseDesk, text(bd)), append(a.baseCRM, text(bc))
	a.hash, a.deskMod, a.crmMod = append(a.hash, hash), append(a.deskMod, deskMod), append(a.crmMod, crmMod)
	return nil
}

// DropPendingLinks removes pending links whose create failed for good.
func (s *Store) DropPendingLinks(ctx context.Context, sc Scope, ids []string) error {
	col := "desk_id"
	if sc.Side == "crm" {
		col = "crm_id"
	}
	_, err := s.Pool.Exec(ctx, `delete from links where integration_id = $1 and module = $2 and state <> 'linked'
		and `+col+` = any($3)`, sc.IntegrationID, sc.Module, ids)
	if err != nil {
		return fmt.Errorf("drop pending links: %w", err)
	}
	return nil
}

// Pair is a linked pair with both sides' indexed records, for its first reconcile.
type Pair struct {
	LinkID int64
	DeskID string
	CRMID  string
	Desk   IndexRow
	CRM    IndexRow
}

// UnreconciledPairs returns linked pairs that have no base yet (matched, never reconciled)
// and both sides indexed, after link id afterID, skipping pairs with an open failure that is
// not marked for retry. The failure is looked for once per id, so that each is an anti-join
// probed through the failures' index of that id: "desk_id = … or crm_id = …" was a filter
// over every open failure of the integration for each pair.
func (s *Store) UnreconciledPairs(ctx context.Context, integrationID, module string, afterID int64, limit int) ([]Pair, error) {
	cols := func(a string) string {
		return strings.ReplaceAll(indexColumns, "i.", a+".")
	}
	rows, err := s.Pool.Query(ctx, `
		select l.id, l.desk_id, l.crm_id, `+cols("d")+`, `+cols("c")+`
		from links l
		join index_records d on d.integration_id = l.integration_id and d.module = l.module and d.side = 'desk' and d.record_id = l.desk_id
		join index_records c on c.integration_id = l.integration_id and c.module = l.module and c.side = 'crm' and c.record_id = l.crm_id
		where l.integration_id = $1 and l.module = $2 and l.state = 'linked' and l.base is null and l.id > $3
		  and not exists (select 1 from sync_failures f where f.integration_id = $1 and f.module = $2 and f.resolved_at is null and not f.retrying
		      and f.desk_id = l.desk_id)
		  and not exists (select 1 from sync_failures f where f.integration_id = $1 and f.module = $2 and f.resolved_at is null and not f.retrying
		      and f.crm_id = l.crm_id)
		order by l.id limit $4`, integrationID, module, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("unreconciled %s pairs: %w", module, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Pair, error) {
		var p Pair
		var dv, dp, dr, cv, cp, cr []byte
		if err := r.Scan(&p.LinkID, &p.DeskID, &p.CRMID,
			&p.Desk.RecordID, &p.Desk.MatchKey, &p.Desk.CreatedTime, &p.Desk.ModifiedTime, &dv, &p.Desk.Counterpart, &dp, &dr,
			&p.CRM.RecordID, &p.CRM.MatchKey, &p.CRM.CreatedTime, &p.CRM.ModifiedTime, &cv, &p.CRM.Counterpart, &cp, &cr); err != nil {
			return p, err
		}
		if err := p.Desk.decode(dv, dp, dr); err != nil {
			return p, err
		}
		return p, p.CRM.decode(cv, cp, cr)
	})
}

// BaseUpdate sets a link's merge base (as in Link) after both sides were written.
type BaseUpdate struct {
	LinkID       int64
	Base         map[string]any
	BaseDesk     map[string]any
	BaseCRM      map[string]any
	BaseHash     string
	DeskModified time.Time
	CRMModified  time.Time
}

// SetBases records the merge bases of several links, and adds the counts in the same
// transaction.
func (s *Store) SetBases(ctx context.Context, ups []BaseUpdate, counts ...Count) error {
	if len(ups) == 0 {
		return nil
	}
	// One statement for the batch; a link given twice gets its last base.
	last := map[int64]int{}
	for i, u := range ups {
		last[u.LinkID] = i
	}
	var a baseArrays
	var ids []int64
	for i, u := range ups {
		if last[u.LinkID] != i {
			continue
		}
		if err := a.add(u.Base, u.BaseDesk, u.BaseCRM, u.BaseHash, u.DeskModified, u.CRMModified); err != nil {
			return fmt.Errorf("set base: %w", err)
		}
		ids = append(ids, u.LinkID)
	}
	batch := &pgx.Batch{}
	batch.Queue(`update links l set base = t.b::jsonb, base_desk = t.bd::jsonb, base_crm = t.bc::jsonb, base_hash = t.h,
			desk_modified = t.dm, crm_modified = t.cm, synced_at = now()
		from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
			as t(id, b, bd, bc, h, dm, cm)
		where l.id = t.id`, ids, a.base, a.baseDesk, a.baseCRM, a.hash, a.deskMod, a.crmMod)
	for _, c := range counts {
		c.queue(batch)
	}
	if err := s.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("set %d bases: %w", len(ups), err)
	}
	return nil
}

// CounterpartIDs translates ids of side sc.Side into their linked ids on the other side.
// Unlinked ids, and those of pairs with a record deleted, are absent from the result: a
// reference cannot be written to a record that is gone.
func (s *Store) CounterpartIDs(ctx context.Context, sc Scope, ids []string) (map[string]string, error) {
	from, to := "desk_id", "crm_id"
	if sc.Side == "crm" {
		from, to = "crm_id", "desk_id"
	}
	rows, err := s.Pool.Query(ctx, `select `+from+`, `+to+` from links where integration_id = $1 and module = $2
		and state = 'linked' and desk_deleted is null and crm_deleted is null and `+from+` = any($3)`, sc.IntegrationID, sc.Module, ids)
	if err != nil {
		return nil, fmt.Errorf("counterparts of %s %s: %w", sc.Side, sc.Module, err)
	}
	defer rows.Close()
	out := make(map[string]string, len(ids))
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out[a] = b
	}
	return out, rows.Err()
}

// LinkByDesk finds the link of a Desk record.
func (s *Store) LinkByDesk(ctx context.Context, integrationID, module, deskID string) (Link, error) {
	return s.linkWhere(ctx, `desk_id = $3`, integrationID, module, deskID)
}

func (s *Store) linkWhere(ctx context.Context, cond string, args ...any) (Link, error) {
	rows, err := s.Pool.Query(ctx, `select `+linkColumns+` from links where integration_id = $1 and module = $2 and `+cond, args...)
	if err != nil {
		return Link{}, fmt.Errorf("read link: %w", err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, scanLink)
	if err == pgx.ErrNoRows {
		return l, fmt.Errorf("link: %w", ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("read link: %w", err)
	}
	return l, nil
}

// linkColumns are the columns scanLink reads.
const linkColumns = `id, module, desk_id, crm_id, state, base, base_desk, base_crm, base_hash, desk_modified, crm_modified, desk_deleted, crm_deleted`

func scanLink(r pgx.CollectableRow) (Link, error) {
	var l Link
	var deskID, crmID, hash, dd, cd *string
	var base, bd, bc []byte
	if err := r.Scan(&l.ID, &l.Module, &deskID, &crmID, &l.State, &base, &bd, &bc, &hash, &l.DeskModified, &l.CRMModified, &dd, &cd); err != nil {
		return l, err
	}
	l.DeskID, l.CRMID, l.BaseHash, l.DeskDeleted, l.CRMDeleted = deref(deskID), deref(crmID), deref(hash), deref(dd), deref(cd)
	for _, x := range []struct {
		b    []byte
		into *map[string]any
	}{{base, &l.Base}, {bd, &l.BaseDesk}, {bc, &l.BaseCRM}} {
		if err := decodeValues(x.b, x.into); err != nil {
			return l, err
		}
	}
	return l, nil
}

// encodeBase encodes a merge base for the base, base_desk and base_crm columns (nil maps
// become SQL nulls).
func encodeBase(shared, desk, crm map[string]any) (b, bd, bc []byte, err error) {
	enc := func(v map[string]any) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return json.Marshal(v)
	}
	if b, err = enc(shared); err != nil {
		return nil, nil, nil, fmt.Errorf("encode base: %w", err)
	}
	if bd, err = enc(desk); err != nil {
		return nil, nil, nil, fmt.Errorf("encode Desk base: %w", err)
	}
	if bc, err = enc(crm); err != nil {
		return nil, nil, nil, fmt.Errorf("encode CRM base: %w", err)
	}
	return b, bd, bc, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// DueCounterparts returns up to limit links whose record of side sc.Side is still due its
// counterpart's id, as (Desk id, CRM id) pairs.
func (s *Store) DueCounterparts(ctx context.Context, sc Scope, limit int) ([][2]string, error) {
	rows, err := s.Pool.Query(ctx, `select desk_id, crm_id from links where integration_id = $1 and module = $2
		and counterpart_due = $3 and state = 'linked' order by id limit $4`, sc.IntegrationID, sc.Module, sc.Side, limit)
	if err != nil {
		return nil, fmt.Errorf("counterpart ids due in %s %s: %w", sc.Side, sc.Module, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var p [2]string
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
}

// ClearCounterpartsDue records that records of side sc.Side (by id) hold their counterpart's
// id now.
func (s *Store) ClearCounterpartsDue(ctx context.Context, sc Scope, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	col := "desk_id"
	if sc.Side == "crm" {
		col = "crm_id"
	}
	if _, err := s.Pool.Exec(ctx, `update links set counterpart_due = null where integration_id = $1 and module = $2
		and counterpart_due = $3 and `+col+` = any($4)`, sc.IntegrationID, sc.Module, sc.Side, ids); err != nil {
		return fmt.Errorf("clear counterpart ids due in %s %s: %w", sc.Side, sc.Module, err)
	}
	return nil
}

// LinkCount counts the linked pairs of a module (pending creates left out).
func (s *Store) LinkCount(ctx context.Context, integrationID, module string) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from links where integration_id = $1 and module = $2 and state = 'linked'`,
		integrationID, module).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the links of %s %s: %w", integrationID, module, err)
	}
	return n, nil
}
