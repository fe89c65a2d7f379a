package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// maxSettingsBody bounds the body of a permissions or handshake change.
const maxSettingsBody = 64 << 10

// readBody reads a settings body; a larger one is an error (answered 400).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSettingsBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("the body exceeds %d bytes", maxSettingsBody)
	}
	return b, err
}

// maxProfileName is the longest Desk profile name accepted, in characters.
const maxProfileName = 100

// ValidProfileName reports whether name can be a Desk profile name: valid UTF-8 without
// control characters, 1 to 100 characters once trimmed.
func ValidProfileName(name string) bool {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxProfileName {
		return false
	}
	return strings.IndexFunc(name, unicode.IsControl) < 0
}

// profileParam reads the {profile} of a permissions path, or answers 400.
func profileParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := r.PathValue("profile")
	if !ValidProfileName(p) {
		writeError(w, http.StatusBadRequest, "invalid_parameter",
			"the profile must be a Desk profile name: 1 to 100 characters of valid UTF-8, no control characters")
		return "", false
	}
	return p, true
}

func (h *handler) listPermissions(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	all, err := h.cfg.Store.AllPermissions(r.Context(), id)
	if err != nil {
		h.writeStoreProblem(w, err, "list permissions")
		return
	}
	if all == nil {
		all = []store.Permissions{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"integration": id, "profiles": all,
		"default": store.DefaultPermissions("")})
}

func (h *handler) getPermissions(w http.ResponseWriter, r *http.Request) {
	profile, id, ok := h.profileAndIntegration(w, r)
	if !ok {
		return
	}
	perm, err := h.cfg.Store.Permissions(r.Context(), id, profile)
	if err != nil {
		h.writeStoreProblem(w, err, "read permissions")
		return
	}
	ans := profilePermissions{Permissions: perm}
	ctx, cancel := context.WithTimeout(r.Context(), profileCheckTimeout)
	defer cancel()
	if found, _, err := h.profiles.find(ctx, profile); err != nil {
		h.log.Warn("list Desk's profiles for a permissions answer", zap.Error(err))
	} else {
		inDesk := found != ""
		ans.InDesk = &inDesk
	}
	writeJSON(w, http.StatusOK, ans)
}

// profilePermissions is the answer to GET /api/v1/permissions/{profile}.
type profilePermissions struct {
	store.Permissions
	// InDesk says whether Desk has a profile of that name (a false one's permissions never
	// apply to any agent); null when Desk could not be asked.
	InDesk *bool `json:"inDesk"`
}

// profileCheckTimeout bounds the Desk call that checks a profile's name.
const profileCheckTimeout = 15 * time.Second

// unknownProfileError is the answer to a change of the permissions of a profile Desk does not
// have.
type unknownProfileError struct {
	apiError
	// Profile is the name asked for; Profiles are the names of Desk's profiles.
	Profile  string   `json:"profile"`
	Profiles []string `json:"profiles"`
}

// deskHasProfile checks with Desk that it has a profile named profile; otherwise it answers
// the request — 400 unknown_profile naming Desk's profiles, or 502 when Desk could not be
// asked — and reports false.
func (h *handler) deskHasProfile(w http.ResponseWriter, r *http.Request, profile string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), profileCheckTimeout)
	defer cancel()
	found, names, err := h.profiles.find(ctx, profile)
	if err != nil {
		h.log.Warn("list Desk's profiles to check a permissions change", zap.Error(err))
		body := apiError{Error: "desk_unreachable", Message: fmt.Sprintf("could not check with Zoho Desk that profile %q exists, "+
			"so nothing was stored; try again", profile)}
		var de *desk.Error
		if errors.As(err, &de) {
			body.Error, body.Code, body.HTTPStatus = "desk_error", de.Code, de.HTTPStatus
			body.Message = fmt.Sprintf("could not check with Zoho Desk that profile %q exists (Desk answered %s), "+
				"so nothing was stored; try again", profile, de.Code)
		}
		writeJSON(w, http.StatusBadGateway, body)
		return false
	}
	if found == "" {
		writeJSON(w, http.StatusBadRequest, unknownProfileError{
			apiError: apiError{Error: "unknown_profile", Message: fmt.Sprintf("Zoho Desk has no profile named %q, so nothing was stored; "+
				"Desk's profiles are: %s", profile, strings.Join(names, ", "))},
			Profile: profile, Profiles: names})
		return false
	}
	return true
}

func (h *handler) putPermissions(w http.ResponseWriter, r *http.Request) {
	profile, id, ok := h.profileAndIntegration(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read the body: "+err.Error())
		return
	}
	var patch PermissionsPatch
	if err := decodeStrict(body, &patch); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "the body must be a JSON object with any of panelVisible, modules, "+
			"info, deals, notes, calls, events, tasks (or activities: {calls, events, tasks}): "+err.Error())
		return
	}
	cur, err := h.cfg.Store.Permissions(r.Context(), id, profile)
	if err != nil {
		h.writeStoreProblem(w, err, "read permissions")
		return
	}
	next := patch.Apply(cur)
	next.Profile = strings.TrimSpace(profile)
	if err := next.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_permissions", err.Error())
		return
	}
	if !h.deskHasProfile(w, r, next.Profile) {
		return
	}
	saved, err := h.cfg.Store.SetPermissions(r.Context(), id, next)
	if err != nil {
		h.writeStoreProblem(w, err, "store permissions")
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

// deletePermissions removes a profile's stored permissions, so that it gets the defaults
// again. Desk is not asked: the row of a profile Desk no longer has (renamed, removed, or a
// typo stored before names were checked) can be removed too.
func (h *handler) deletePermissions(w http.ResponseWriter, r *http.Request) {
	profile, id, ok := h.profileAndIntegration(w, r)
	if !ok {
		return
	}
	profile = strings.TrimSpace(profile)
	deleted, err := h.cfg.Store.DeletePermissions(r.Context(), id, profile)
	if err != nil {
		h.writeStoreProblem(w, err, "delete permissions")
		return
	}
	if !deleted {
		writeError(w, http.StatusNotFound, "permissions_not_found", fmt.Sprintf("no permissions are stored for profile %q "+
			"of integration %q: it already gets the defaults", profile, id))
		return
	}
	h.log.Info("permissions deleted", zap.String("integration", id), zap.String("profile", profile))
	writeJSON(w, http.StatusOK, map[string]any{"integration": id, "profile": profile, "deleted": true,
		"default": store.DefaultPermissions(profile),
		"message": "stored permissions removed: the profile gets the restricted default until an admin sets others"})
}

func (h *handler) getHandshake(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	hs, err := h.cfg.Store.Handshake(r.Context(), id)
	if err != nil {
		h.writeStoreProblem(w, err, "read handshake settings")
		return
	}
	writeJSON(w, http.StatusOK, hs)
}

func (h *handler) putHandshake(w http.ResponseWriter, r *http.Request) {
	id, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "could not read the body: "+err.Error())
		return
	}
	var in struct {
		Enabled *bool    `json:"enabled"`
		Order   []string `json:"order"`
	}
	if err := decodeStrict(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", `the body must be {"order": ["Customer", ...], "enabled": true}: `+err.Error())
		return
	}
	cur, err := h.cfg.Store.Handshake(r.Context(), id)
	if err != nil {
		h.writeStoreProblem(w, err, "read handshake settings")
		return
	}
	if in.Enabled != nil {
		cur.Enabled = *in.Enabled
	}
	if in.Order != nil {
		cur.Order = in.Order
	}
	if err := cur.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_handshake", err.Error())
		return
	}
	if in.Order != nil && !h.crmHasTypes(w, r, &cur) {
		return
	}
	saved, err := h.cfg.Store.SetHandshake(r.Context(), id, cur)
	if err != nil {
		h.writeStoreProblem(w, err, "store handshake settings")
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

// crmHasTypes checks the order's customer types against CRM's Account_Type (CheckCustomerTypes,
// which spells them as CRM does); otherwise it answers the request — 400
// unknown_customer_type naming CRM's values, or 502 when CRM could not be asked — and reports
// false.
func (h *handler) crmHasTypes(w http.ResponseWriter, r *http.Request, hs *store.Handshake) bool {
	ctx, cancel := context.WithTimeout(r.Context(), profileCheckTimeout)
	defer cancel()
	err := CheckCustomerTypes(ctx, h.cfg.CRM, hs)
	var unknown *UnknownTypesError
	switch {
	case errors.As(err, &unknown):
		writeJSON(w, http.StatusBadRequest, unknownTypesAnswer{apiError: apiError{Error: "unknown_customer_type",
			Message: unknown.Error() + ", so nothing was stored"}, Unknown: unknown.Unknown, Types: unknown.Known})
		return false
	case err != nil:
		h.log.Warn("read CRM's Account_Type values to check a handshake order", zap.Error(err))
		writeJSON(w, http.StatusBadGateway, apiError{Error: "crm_unreachable",
			Message: "could not read CRM's Account_Type values to check the customer types, so nothing was stored; try again"})
		return false
	}
	return true
}

// unknownTypesAnswer is the answer to a handshake order naming types CRM's Account_Type lacks.
type unknownTypesAnswer struct {
	apiError
	Unknown []string `json:"unknown"`
	Types   []string `json:"types"`
}

// UnknownTypesError names the customer types of a handshake order that CRM's Account_Type
// picklist lacks, and its values.
type UnknownTypesError struct {
	Unknown, Known []string
}

func (e *UnknownTypesError) Error() string {
	q := make([]string, len(e.Unknown))
	for i, s := range e.Unknown {
		q[i] = strconv.Quote(s)
	}
	return fmt.Sprintf("CRM's Account_Type has no value %s (a type CRM lacks ranks no ticket); its values are: %s",
		strings.Join(q, " and "), strings.Join(e.Known, ", "))
}

// CheckCustomerTypes reads CRM's Account_Type picklist (GET /crm/v8/settings/fields?module=
// Accounts) and spells hs's customer types as CRM does (store.Handshake.SpellAs). It returns
// an *UnknownTypesError when CRM lacks some, the read's error when CRM could not be asked, and
// nil when all are known or Account_Type is no picklist with values (any type then). The panel's
// PUT /api/v1/handshake and the console's form both check with it.
func CheckCustomerTypes(ctx context.Context, c *crm.Client, hs *store.Handshake) error {
	fields, err := c.Fields(ctx, "Accounts")
	if err != nil {
		return err
	}
	known, ok := crm.PicklistValues(fields, "Account_Type")
	if !ok {
		return nil
	}
	if unknown := hs.SpellAs(known); len(unknown) > 0 {
		return &UnknownTypesError{Unknown: unknown, Known: known}
	}
	return nil
}

// profileAndIntegration reads the request's profile and live integration, answering the
// caller itself when either is invalid (ok false).
func (h *handler) profileAndIntegration(w http.ResponseWriter, r *http.Request) (profile, id string, ok bool) {
	if profile, ok = profileParam(w, r); !ok {
		return "", "", false
	}
	if id, ok = h.liveIntegrationParam(w, r); !ok {
		return "", "", false
	}
	return profile, id, true
}
