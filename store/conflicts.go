package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConflictKeep is how long the conflict log keeps an entry, as the sync history.
const ConflictKeep = 7 * 24 * time.Hour

// ConflictField is one field of a conflict: which side's edit the sync kept, and by which rule.
type ConflictField struct {
	// Field is the mapping's key of the field, "deskField=CRMField" (mapping.FieldMap.Key).
	Field string `json:"field"`
	// Kept is the side whose edit was kept and written to the other: "desk" or "crm".
	Kept string `json:"kept"`
	// Rule says why (reconcile.Conflict.Rule): "newest" (the record modified last),
	// "newest-tie" (both modified within one second: CRM's kept),
	// "crm-wins", "desk-wins", "one-way", "direction" (the field flows one way only), or the
	// rule's words when a clear met a value its side never held.
	Rule string `json:"rule"`
	// FirstSync is set when the field had not been synced for the pair before (newly mapped,
	// or the pair just matched) and the sides held different values: one of them was replaced.
	FirstSync bool `json:"firstSync,omitempty"`
}

// Words says which edit of a field the sync kept and why: "title ↔ Title: CRM's
// edit kept (newest: the record modified last)".
func (f ConflictField) Words() string {
	field := f.Field
	if desk, crm, ok := strings.Cut(f.Field, "="); ok {
		field = desk + " ↔ " + crm
	}
	rule := f.Rule
	switch rule {
	case "newest":
		rule = "newest: the record modified last"
	case "newest-tie":
		rule = "newest, but both were modified within the same second, which CRM's whole-second times cannot order: CRM's is kept"
	case "crm-wins", "desk-wins":
		rule = "the field's policy: " + rule
	case "direction":
		rule = "the field flows one way only"
	case "one-way":
		rule = "the sync is one-way CRM → Desk"
	}
	kept := "Desk"
	if f.Kept == "crm" {
		kept = "CRM"
	}
	if f.FirstSync {
		return fmt.Sprintf("%s: first synced with different values on each side; %s's kept (%s)", field, kept, rule)
	}
	return fmt.Sprintf("%s: %s's edit kept (%s)", field, kept, rule)
}

// Conflict is one entry of the conflict log: a linked pair with fields changed on both sides
// since the last sync, of which the sync kept one edit each by the field's rule. It holds ids,
// field names and rules, never values (customer data).
type Conflict struct {
	ID     int64           `json:"id"`
	Module string          `json:"module"`
	DeskID string          `json:"deskId"`
	CRMID  string          `json:"crmId"`
	Fields []ConflictField `json:"fields"`
	At     time.Time       `json:"at"`
}

// RecordConflicts adds cs to the integration's conflict log under key, the activity that
// decided them (workflow id/run id/activity id): its retries, which decide them again, record
// each pair once. Entries older than ConflictKeep are removed.
func (s *Store) RecordConflicts(ctx context.Context, integrationID, key string, cs []Conflict) error {
	if len(cs) == 0 {
		return nil
	}
	modules, desk, crm, fields := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		b, err := json.Marshal(c.Fields)
		if err != nil {
			return fmt.Errorf("record conflicts: %w", err)
		}
		modules[i], desk[i], crm[i], fields[i] = c.Module, c.DeskID, c.CRMID, string(b)
	}
	_, err := s.Pool.Exec(ctx, `insert into sync_conflicts (integration_id, key, module, desk_id, crm_id, fields)
		select $1, $2, m, d, c, f::jsonb from unnest($3::text[], $4::text[], $5::text[], $6::text[]) as t(m, d, c, f)
		on conflict (key, module, desk_id, crm_id) do nothing`, integrationID, key, modules, desk, crm, fields)
	if err != nil {
		return fmt.Errorf("record %d conflicts of %s: %w", len(cs), integrationID, err)
	}
	if _, err := s.Pool.Exec(ctx, `delete from sync_conflicts where integration_id = $1 and at < now() - make_interval(secs => $2)`,
		integrationID, ConflictKeep.Seconds()); err != nil {
		return fmt.Errorf("prune the conflict log of %s: %w", integrationID, err)
	}
	return nil
}

// RecentConflicts returns the integration's newest conflicts since since, at most limit
// (0: all), newest first, and how many there are since then.
func (s *Store) RecentConflicts(ctx context.Context, integrationID string, since time.Time, limit int) ([]Conflict, int, error) {
	var total int
	if err := s.Pool.QueryRow(ctx, `select count(*) from sync_conflicts where integration_id = $1 and at >= $2`,
		integrationID, since).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count the conflicts of %s: %w", integrationID, err)
	}
	q := `select id, module, desk_id, crm_id, fields, at from sync_conflicts
		where integration_id = $1 and at >= $2 order by at desc, id desc`
	args := []any{integrationID, since}
	if limit > 0 {
		q += ` limit $3`
		args = append(args, limit)
	}
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read the conflicts of %s: %w", integrationID, err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Conflict, error) {
		var c Conflict
		err := r.Scan(&c.ID, &c.Module, &c.DeskID, &c.CRMID, &c.Fields, &c.At)
		return c, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read the conflicts of %s: %w", integrationID, err)
	}
	return cs, total, nil
}
