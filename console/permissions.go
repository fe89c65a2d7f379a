package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"deskcrm/panel"
	"deskcrm/store"
)

// permissionRow is one Desk profile's permissions on the page.
type permissionRow struct {
	store.Permissions
	// InDesk is false for stored permissions of a profile Desk does not list (renamed or
	// removed).
	InDesk   bool
	Contacts bool
	Accounts bool
}

// permissionsData is the permissions page's data.
type permissionsData struct {
	Rows      []permissionRow
	Handshake store.Handshake
	// Order is the handshake order, one customer type a line.
	Order string
}

func (h *handler) permissionsPage(w http.ResponseWriter, r *http.Request) {
	h.renderPermissions(w, r, http.StatusOK, "")
}

// renderPermissions lists every Desk profile (from Desk) with its permissions (from Postgres;
// the restricted default when none are stored), then handshake mode's settings.
func (h *handler) renderPermissions(w http.ResponseWriter, r *http.Request, status int, problem string) {
	v := view{Title: "Permissions", Active: "permissions", Problem: problem}
	var d permissionsData
	id, err := integrationOf(r)
	if err != nil {
		v.Problem, v.Data = err.Error(), d
		h.render(w, r, http.StatusBadRequest, "permissions", v)
		return
	}
	ctx, cancel := timeout(r, 20*time.Second)
	defer cancel()
	profiles, err := h.meta.Profiles(ctx)
	if err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("list Desk's profiles", err))
	}
	seen := map[string]bool{}
	for _, p := range profiles {
		perm, err := h.cfg.Store.Permissions(ctx, id, p.Name)
		if err != nil {
			v.Problem = joinProblems(v.Problem, h.fail("read permissions", err, zap.String("integration", id)))
			break
		}
		seen[store.ProfileKey(p.Name)] = true
		d.Rows = append(d.Rows, newPermissionRow(perm, true))
	}
	stored, err := h.cfg.Store.AllPermissions(ctx, id)
	if err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("read permissions", err, zap.String("integration", id)))
	}
	for _, p := range stored {
		if !seen[store.ProfileKey(p.Profile)] {
			d.Rows = append(d.Rows, newPermissionRow(p, false))
		}
	}
	if d.Handshake, err = h.cfg.Store.Handshake(ctx, id); err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("read handshake settings", err, zap.String("integration", id)))
	}
	d.Order = strings.Join(d.Handshake.Order, "\n")
	v.Integration, v.Data = id, d
	h.render(w, r, status, "permissions", v)
}

func newPermissionRow(p store.Permissions, inDesk bool) permissionRow {
	return permissionRow{Permissions: p, InDesk: inDesk,
		Contacts: p.Modules == store.PanelContacts || p.Modules == store.PanelBoth,
		Accounts: p.Modules == store.PanelAccounts || p.Modules == store.PanelBoth}
}

// savePermissions stores one profile's permissions as the row's form gives them (a checkbox
// left out is off).
func (h *handler) savePermissions(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderPermissions(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f := r.PostForm
	on := func(name string) bool { return f.Get(name) == "on" }
	p := store.Permissions{Profile: strings.TrimSpace(f.Get("profile")), PanelVisible: on("panel"),
		Info: f.Get("info"), Deals: f.Get("deals"), Notes: f.Get("notes"), Calls: on("calls"), Events: on("events"), Tasks: on("tasks")}
	switch {
	case on("contacts") && on("accounts"):
		p.Modules = store.PanelBoth
	case on("contacts"):
		p.Modules = store.PanelContacts
	case on("accounts"):
		p.Modules = store.PanelAccounts
	default:
		h.renderPermissions(w, r, http.StatusBadRequest, "Not saved: profile "+p.Profile+" must see the panel for contacts, accounts or both "+
			"(untick Visible to hide the panel)")
		return
	}
	if err := p.Validate(); err != nil {
		h.renderPermissions(w, r, http.StatusBadRequest, "Not saved: "+err.Error())
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	// Permissions of a name Desk has no profile of would apply to nobody, while the profile
	// meant (a typo away) keeps its defaults.
	profiles, err := h.meta.Profiles(ctx)
	if err != nil {
		h.renderPermissions(w, r, http.StatusBadGateway, "Not saved: the profile could not be checked against Desk's: "+
			h.fail("list Desk's profiles", err)+"; try again")
		return
	}
	var names []string
	for _, dp := range profiles {
		names = append(names, dp.Name)
	}
	if store.MatchProfile(names, p.Profile) == "" {
		h.renderPermissions(w, r, http.StatusBadRequest, fmt.Sprintf("Not saved: Desk has no profile %q; its profiles are %s",
			p.Profile, strings.Join(names, ", ")))
		return
	}
	if _, err := h.cfg.Store.SetPermissions(ctx, id, p); err != nil {
		h.renderPermissions(w, r, http.StatusConflict, h.fail("store the permissions", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: permissions saved", zap.String("integration", id), zap.String("profile", p.Profile))
	h.redirect(w, r, Prefix+"permissions", "permissions")
}

// saveHandshake stores handshake mode's settings: on or off, and the customer types in order
// (one a line).
func (h *handler) saveHandshake(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderPermissions(w, r, http.StatusBadRequest, err.Error())
		return
	}
	hs := store.Handshake{Enabled: r.PostForm.Get("enabled") == "on"}
	for _, line := range strings.Split(r.PostForm.Get("order"), "\n") {
		if t := strings.TrimSpace(line); t != "" {
			hs.Order = append(hs.Order, t)
		}
	}
	if err := hs.Validate(); err != nil {
		h.renderPermissions(w, r, http.StatusBadRequest, "Handshake mode not saved: "+err.Error())
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	// A type CRM's Account_Type lacks (a typo) would rank no ticket.
	var unknown *panel.UnknownTypesError
	switch err := panel.CheckCustomerTypes(ctx, h.cfg.Activities.CRM, &hs); {
	case errors.As(err, &unknown):
		h.renderPermissions(w, r, http.StatusBadRequest, "Handshake mode not saved: "+unknown.Error())
		return
	case err != nil:
		h.renderPermissions(w, r, http.StatusBadGateway, "Handshake mode not saved: "+h.fail("read CRM's Account_Type values", err, zap.String("integration", id)))
		return
	}
	if _, err := h.cfg.Store.SetHandshake(ctx, id, hs); err != nil {
		h.renderPermissions(w, r, http.StatusConflict, h.fail("store the handshake settings", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: handshake settings saved", zap.String("integration", id))
	h.redirect(w, r, Prefix+"permissions", "handshake")
}
