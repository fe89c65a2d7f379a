package crm

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// userTypes are the values of GET /crm/v8/users?type= (users.json `type`
// parameter, plus AllUsers, AdminUsers and DeletedUsers from Zoho's Users
// API page). The emulator's users are all active, confirmed admins except
// "Sales Rep", who is not an admin.
var userTypes = []string{"AllUsers", "ActiveUsers", "DeactiveUsers", "ConfirmedUsers", "NotConfirmedUsers",
	"DeletedUsers", "ActiveConfirmedUsers", "AdminUsers", "ActiveConfirmedAdmins", "CurrentUser"}

// serveUsers answers GET /crm/v8/users (Users API, users.json): the users
// of the given type, in {"users":[...],"info":{per_page,count,page,
// more_records}}, or 204 when none match. CurrentUser is the user the OAuth
// token belongs to — always the emulator's admin, who owns API writes.
// Zoho's official SDKs call it with type=CurrentUser when they initialise
// (zohocrm-nodejs-sdk-8.0 Utility.getUserName).
func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod)
		return
	}
	q := r.URL.Query()
	typ := q.Get("type")
	if typ == "" {
		typ = "AllUsers"
	}
	if !slices.Contains(userTypes, typ) {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"param_name": "type", "supported_values": userTypes}})
		return
	}
	perPage, page := maxPerPage, 1
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"per_page", &perPage, maxPerPage}, {"page", &page, 0}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || p.max > 0 && n > p.max {
				writeError(w, errInvalidParam(p.name, nil))
				return
			}
			*p.dst = n
		}
	}
	var ids []string
	if v := q.Get("ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	var match []any
	for i, u := range users {
		switch {
		case typ == "DeactiveUsers" || typ == "NotConfirmedUsers" || typ == "DeletedUsers":
			continue
		case (typ == "CurrentUser" || typ == "AdminUsers" || typ == "ActiveConfirmedAdmins") && u.id != userID:
			continue
		case ids != nil && !slices.Contains(ids, u.id):
			continue
		}
		match = append(match, s.userJSONFull(i))
	}
	start := (page - 1) * perPage
	if start >= len(match) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(start+perPage, len(match))
	writeJSON(w, http.StatusOK, map[string]any{"users": match[start:end], "info": map[string]any{
		"per_page": perPage, "count": end - start, "page": page, "more_records": end < len(match)}})
}

// userJSONFull renders a user as the Users API does (the subset of
// users.json `users` a client reads: names, email, status, role, profile).
func (s *Server) userJSONFull(i int) map[string]any {
	u := users[i]
	first, last, _ := strings.Cut(u.name, " ")
	profile, role := map[string]any{"name": "Administrator", "id": "5725767000000026011"},
		map[string]any{"name": "CEO", "id": "5725767000000026005"}
	if u.id != userID {
		profile, role = map[string]any{"name": "Standard", "id": "5725767000000026014"},
			map[string]any{"name": "Manager", "id": "5725767000000026008"}
	}
	return map[string]any{
		"id": u.id, "zuid": u.id, "full_name": u.name, "first_name": first, "last_name": last, "email": u.email,
		"status": "active", "confirm": true, "role": role, "profile": profile,
		"locale": "en_US", "country_locale": "en_US", "language": "en_US",
	}
}
