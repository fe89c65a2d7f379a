package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Access levels of a panel section.
const (
	AccessFull       = "full"
	AccessRestricted = "restricted"
)

// Panel module choices of a profile.
const (
	PanelContacts = "contacts"
	PanelAccounts = "accounts"
	PanelBoth     = "both"
)

// Permissions say what the agent panel shows to one Desk profile of an integration.
// Restricted sections and activities switched off are left out of the panel's answers.
type Permissions struct {
	// Profile is the Desk profile name (matched case-insensitively).
	Profile string `json:"profile"`
	// PanelVisible hides the whole CRM panel when false.
	PanelVisible bool `json:"panelVisible"`
	// Modules is contacts, accounts or both: which Desk records show the panel.
	Modules string `json:"modules"`
	// Info, Deals and Notes are full or restricted (restricted: not shown).
	Info  string `json:"info"`
	Deals string `json:"deals"`
	Notes string `json:"notes"`
	// Calls, Events and Tasks switch each kind of activity on or off.
	Calls  bool `json:"calls"`
	Events bool `json:"events"`
	Tasks  bool `json:"tasks"`
	// Stored is false when no row exists and these are the defaults.
	Stored    bool      `json:"stored"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// DefaultPermissions are a profile's permissions until an admin changes them: the restricted
// default — the panel with the CRM record's info only (no deals, notes or activities), so a
// profile nobody configured (a new or renamed Desk profile) sees the least.
func DefaultPermissions(profile string) Permissions {
	return Permissions{Profile: profile, PanelVisible: true, Modules: PanelBoth, Info: AccessFull, Deals: AccessRestricted,
		Notes: AccessRestricted, Calls: false, Events: false, Tasks: false}
}

// validName reports whether s is valid UTF-8 without control characters, 1 to max
// characters once trimmed.
func validName(s string, max int) bool {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// ProfileKey is the normalised form under which a profile's permissions are stored.
func ProfileKey(profile string) string { return strings.ToLower(strings.TrimSpace(profile)) }

// MatchProfile returns the name among names (Desk's profiles) that profile names as
// permissions are stored (ProfileKey: trimmed, in any case), or "" when none does.
func MatchProfile(names []string, profile string) string {
	key := ProfileKey(profile)
	for _, n := range names {
		if ProfileKey(n) == key {
			return n
		}
	}
	return ""
}

// Validate reports the first invalid value, naming the field and the values allowed.
func (p Permissions) Validate() error {
	if !validName(p.Profile, 100) {
		return errors.New("profile must be a Desk profile name of 1 to 100 characters (valid UTF-8, no control characters)")
	}
	if !slices.Contains([]string{PanelContacts, PanelAccounts, PanelBoth}, p.Modules) {
		return fmt.Errorf("modules must be contacts, accounts or both, not %q", p.Modules)
	}
	for name, v := range map[string]string{"info": p.Info, "deals": p.Deals, "notes": p.Notes} {
		if v != AccessFull && v != AccessRestricted {
			return fmt.Errorf("%s must be full or restricted, not %q", name, v)
		}
	}
	return nil
}

const permColumns = `profile, panel_visible, modules, info, deals, notes, calls, events, tasks, updated_at`

func scanPermissions(r pgx.Row) (Permissions, error) {
	var p Permissions
	err := r.Scan(&p.Profile, &p.PanelVisible, &p.Modules, &p.Info, &p.Deals, &p.Notes, &p.Calls, &p.Events, &p.Tasks, &p.UpdatedAt)
	p.Stored = err == nil
	return p, err
}

// Permissions returns the permissions of one profile, or DefaultPermissions when none are stored.
func (s *Store) Permissions(ctx context.Context, integrationID, profile string) (Permissions, error) {
	p, err := scanPermissions(s.Pool.QueryRow(ctx, `select `+permColumns+` from panel_permissions
		where integration_id = $1 and profile_key = $2`, integrationID, ProfileKey(profile)))
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultPermissions(strings.TrimSpace(profile)), nil
	}
	if err != nil {
		return p, fmt.Errorf("read permissions of %s: %w", integrationID, err)
	}
	return p, nil
}

// AllPermissions returns the stored permissions of every profile of an integration, by name.
func (s *Store) AllPermissions(ctx context.Context, integrationID string) ([]Permissions, error) {
	rows, err := s.Pool.Query(ctx, `select `+permColumns+` from panel_permissions where integration_id = $1
		order by profile_key`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("list permissions of %s: %w", integrationID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Permissions, error) { return scanPermissions(r) })
}

// SetPermissions stores a profile's permissions, replacing what was stored. The integration
// must exist and not be deleted.
func (s *Store) SetPermissions(ctx context.Context, integrationID string, p Permissions) (Permissions, error) {
	if err := p.Validate(); err != nil {
		return p, err
	}
	if err := s.liveIntegration(ctx, integrationID); err != nil {
		return p, err
	}
	p.Profile = strings.TrimSpace(p.Profile)
	out, err := scanPermissions(s.Pool.QueryRow(ctx, `
		insert into panel_permissions (integration_id, profile_key, profile, panel_visible, modules, info, deals, notes, calls, events, tasks)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		on conflict (integration_id, profile_key) do update set profile = excluded.profile,
			panel_visible = excluded.panel_visible, modules = excluded.modules, info = excluded.info,
			deals = excluded.deals, notes = excluded.notes, calls = excluded.calls, events = excluded.events,
			tasks = excluded.tasks, updated_at = now()
		returning `+permColumns,
		integrationID, ProfileKey(p.Profile), p.Profile, p.PanelVisible, p.Modules, p.Info, p.Deals, p.Notes, p.Calls, p.Events, p.Tasks))
	if err != nil {
		return p, fmt.Errorf("store permissions of %s/%s: %w", integrationID, p.Profile, err)
	}
	return out, nil
}

// DeletePermissions removes the stored permissions of one profile (matched as ProfileKey
// matches), so that the profile gets DefaultPermissions again. It reports whether a row was
// removed; removing what was never stored is not an error.
func (s *Store) DeletePermissions(ctx context.Context, integrationID, profile string) (deleted bool, err error) {
	tag, err := s.Pool.Exec(ctx, `delete from panel_permissions where integration_id = $1 and profile_key = $2`,
		integrationID, ProfileKey(profile))
	if err != nil {
		return false, fmt.Errorf("delete permissions of %s/%s: %w", integrationID, strings.TrimSpace(profile), err)
	}
	return tag.RowsAffected() > 0, nil
}

// ErrIntegrationDeleted is returned for changes to an integration that was deleted.
var ErrIntegrationDeleted = errors.New("integration deleted")

// liveIntegration checks that an integration exists and is not deleted.
func (s *Store) liveIntegration(ctx context.Context, integrationID string) error {
	in, err := s.Integration(ctx, integrationID)
	if err != nil {
		return err
	}
	if in.State == "deleted" {
		return fmt.Errorf("integration %q: %w", integrationID, ErrIntegrationDeleted)
	}
	return nil
}

// DefaultHandshakeOrder is the customer-type order of handshake mode until an admin changes it.
var DefaultHandshakeOrder = []string{"Customer", "Partner", "Reseller", "Prospect", "Vendor", "Other"}

// Handshake holds the handshake-mode settings of an integration.
type Handshake struct {
	// Enabled turns handshake mode on.
	Enabled bool `json:"enabled"`
	// Order ranks CRM Account_Type values, highest priority first.
	Order []string `json:"order"`
	// Stored is false when these are the defaults.
	Stored    bool      `json:"stored"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Validate reports an empty, blank or repeated customer type.
func (h Handshake) Validate() error {
	if len(h.Order) == 0 || len(h.Order) > 100 {
		return errors.New("order must list 1 to 100 customer types (CRM Account_Type values)")
	}
	seen := map[string]bool{}
	for _, t := range h.Order {
		k := strings.ToLower(strings.TrimSpace(t))
		if k == "" {
			return errors.New("order has an empty customer type")
		}
		if !validName(t, 100) {
			return errors.New("order has a customer type that is not 1 to 100 characters of valid UTF-8 without control characters")
		}
		if seen[k] {
			return fmt.Errorf("order names %q twice", t)
		}
		seen[k] = true
	}
	return nil
}

// SameCustomerType reports whether two customer types are one as the ranking compares them:
// case and surrounding spaces ignored.
func SameCustomerType(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// SpellAs writes each type of the order as known spells it (the values of CRM's Account_Type
// picklist: "customer " is stored as "Customer") and returns the types known lacks. A type CRM
// does not have matches no ticket: a typo ranked every customer of the type meant last.
func (h *Handshake) SpellAs(known []string) (unknown []string) {
	for i, t := range h.Order {
		j := slices.IndexFunc(known, func(k string) bool { return SameCustomerType(k, t) })
		if j < 0 {
			unknown = append(unknown, t)
			continue
		}
		h.Order[i] = known[j]
	}
	return unknown
}

// Handshake returns an integration's handshake settings (the defaults when none are stored).
func (s *Store) Handshake(ctx context.Context, integrationID string) (Handshake, error) {
	var h Handshake
	err := s.Pool.QueryRow(ctx, `select enabled, type_order, updated_at from handshake_settings where integration_id = $1`,
		integrationID).Scan(&h.Enabled, &h.Order, &h.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Handshake{Enabled: true, Order: slices.Clone(DefaultHandshakeOrder)}, nil
	}
	if err != nil {
		return h, fmt.Errorf("read handshake settings of %s: %w", integrationID, err)
	}
	h.Stored = true
	return h, nil
}

// SetHandshake stores an integration's handshake settings. The integration must exist and not
// be deleted.
func (s *Store) SetHandshake(ctx context.Context, integrationID string, h Handshake) (Handshake, error) {
	if err := h.Validate(); err != nil {
		return h, err
	}
	if err := s.liveIntegration(ctx, integrationID); err != nil {
		return h, err
	}
	order := make([]string, len(h.Order))
	for i, t := range h.Order {
		order[i] = strings.TrimSpace(t)
	}
	var out Handshake
	err := s.Pool.QueryRow(ctx, `
		insert into handshake_settings (integration_id, enabled, type_order) values ($1, $2, $3)
		on conflict (integration_id) do update set enabled = excluded.enabled, type_order = excluded.type_order, updated_at = now()
		returning enabled, type_order, updated_at`, integrationID, h.Enabled, order).Scan(&out.Enabled, &out.Order, &out.UpdatedAt)
	if err != nil {
		return h, fmt.Errorf("store handshake settings of %s: %w", integrationID, err)
	}
	out.Stored = true
	return out, nil
}

// DeleteIntegration marks an integration deleted: the panel and handshake mode answer that it
// is (their settings are not read while it is). Its panel permissions and handshake settings
// stay, as do links, run history and the failure log: a later start of the same integration
// applies them again (they were dropped, and a restart opened the panel to every profile with
// the default's full access). It reports whether the
// integration was already deleted; ErrNotFound when there is no such integration.
func (s *Store) DeleteIntegration(ctx context.Context, integrationID string) (alreadyDeleted bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `select state from integrations where id = $1 for update`, integrationID).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("integration %q: %w", integrationID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		alreadyDeleted = state == "deleted"
		if !alreadyDeleted {
			if _, err := tx.Exec(ctx, `update integrations set state = 'deleted', paused_reason = null, deleted_at = now(),
				updated_at = now() where id = $1`, integrationID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("delete integration %s: %w", integrationID, err)
	}
	return alreadyDeleted, err
}
