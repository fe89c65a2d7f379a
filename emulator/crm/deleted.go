package crm

import (
	"net/http"
	"strconv"
)

// serveDeleted answers GET /crm/v8/{module}/deleted.
func (s *Server) serveDeleted(w http.ResponseWriter, r *http.Request, mod string) {
	q := r.URL.Query()
	typ := q.Get("type")
	if typ == "" {
		typ = "all"
	}
	if typ != "all" && typ != "recycle" && typ != "permanent" {
		writeError(w, errInvalidParam("type", map[string]any{"supported_values": []string{"all", "recycle", "permanent"}}))
		return
	}
	perPage, page := maxPerPage, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			writeError(w, errInvalidParam("per_page", map[string]any{"maximum": maxPerPage, "minimum": 1}))
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, errInvalidParam("page", nil))
			return
		}
		page = n
	}
	var ims int64
	hasIMS := false
	if v := r.Header.Get("If-Modified-Since"); v != "" {
		t, err := parseIMS(v)
		if err != nil {
			writeError(w, errInvalidParam("If-Modified-Since", nil))
			return
		}
		ims, hasIMS = t.Unix(), true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[mod]
	var match []*deletedRec
	for i := len(m.deletedList) - 1; i >= 0; i-- { // newest first
		d := m.deletedList[i]
		if hasIMS && d.deletedAt <= ims {
			break
		}
		if typ == "recycle" && d.permanent || typ == "permanent" && !d.permanent {
			continue
		}
		match = append(match, d)
	}
	start := (page - 1) * perPage
	if start >= len(match) {
		if hasIMS && len(match) == 0 && page == 1 {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	end := min(start+perPage, len(match))
	data := make([]any, 0, end-start)
	for _, d := range match[start:end] {
		data = append(data, s.deletedItem(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "info": map[string]any{
		"per_page": perPage, "count": len(data), "page": page, "more_records": end < len(match)}})
}

// deletedItem renders one entry of GET /crm/v8/{module}/deleted as record.json's
// Deleted_Record: {id, display_name, type, deleted_time, deleted_by, created_by}, the users
// Minified_User {name, id}, every key present for recycle-bin and permanent entries alike —
// a record deleted to the bin, purged from it, or merged into a master. display_name is the
// name the record had (Contacts: First_Name and Last_Name as Full_Name; Accounts:
// Account_Name), deleted_by the user whose token deleted or merged it, created_by its
// creator. (Zoho's sample answer shows null there for permanent entries, zoho-api.md A6; the
// OAS types them as a non-nullable string and user objects, and the emulator's answers follow
// the OAS.)
func (s *Server) deletedItem(d *deletedRec) map[string]any {
	typ := "recycle"
	if d.permanent {
		typ = "permanent"
	}
	return map[string]any{"id": formatID(d.id), "deleted_time": s.formatTime(d.deletedAt), "type": typ,
		"display_name": d.displayName, "deleted_by": minUser(d.deletedBy), "created_by": minUser(d.creator)}
}

// minUser is a user as write results, deleted records and bulk jobs name it:
// {"id","name"}. The values are built once and shared (JSON-only, never changed): a map per
// call was two maps per record written.
func minUser(i uint16) any { return minUsers[int(i)%len(users)] }

// userRef is the JSON of minUser: its fields in the order encoding/json sorts a map's keys.
type userRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

var minUsers = func() []any {
	out := make([]any, len(users))
	for i, u := range users {
		out[i] = &userRef{ID: u.id, Name: u.name}
	}
	return out
}()
