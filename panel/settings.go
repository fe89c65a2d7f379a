package panel

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"deskcrm/store"
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
	writeJSON(w, http.StatusOK, perm)
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
	saved, err := h.cfg.Store.SetPermissions(r.Context(), id, next)
	if err != nil {
		h.writeStoreProblem(w, err, "store permissions")
		return
	}
	writeJSON(w, http.StatusOK, saved)
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
	saved, err := h.cfg.Store.SetHandshake(r.Context(), id, cur)
	if err != nil {
		h.writeStoreProblem(w, err, "store handshake settings")
		return
	}
	writeJSON(w, http.StatusOK, saved)
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
