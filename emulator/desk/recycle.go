package desk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// RecycleBinItem is one entry of GET /api/v1/recycleBin. The emulator uses
// the record id as the recycle-bin entry id.
type RecycleBinItem struct {
	ID           string  `json:"id"`
	DisplayName  string  `json:"displayName"`
	Type         string  `json:"type"`
	DeletedTime  string  `json:"deletedTime"`
	DeletedByID  string  `json:"deletedById"`
	DepartmentID *string `json:"departmentId"`
}

// MassActionResult is one element of the "results" of recycle-bin restore
// and delete.
type MassActionResult struct {
	ID      string       `json:"id"`
	Success bool         `json:"success"`
	Errors  []FieldError `json:"errors"`
}

var recycleSorts = map[string]bool{"name": true, "type": true, "department": true, "deletedBy": true, "deletedTime": true}

// recycleModules maps the deprecated "module" filter values to stores.
var recycleModules = map[string]string{"contacts": ModuleContacts, "accounts": ModuleAccounts}

func (s *Server) serveRecycleBin(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	switch {
	case rt.sub == "" && r.Method == http.MethodGet:
		return s.handleRecycleList(w, r)
	case (rt.sub == "restore" || rt.sub == "delete") && rt.rest == "" && r.Method == http.MethodPost:
		return s.handleRecycleAction(w, r, rt.sub)
	case (rt.sub == "restoreAll" || rt.sub == "deleteAll") && rt.rest == "" && r.Method == http.MethodPost:
		s.recycleAll(rt.sub == "restoreAll", r.Header.Get(SourceIDHeader))
		w.WriteHeader(http.StatusAccepted)
		return nil
	case rt.sub == "" || rt.sub == "restore" || rt.sub == "delete" || rt.sub == "restoreAll" || rt.sub == "deleteAll":
		return errMethod()
	}
	return errNotFound()
}

// displayName is how a trashed record is named in the recycle bin.
func displayName(ms *moduleStore, r record) string {
	if ms.name == ModuleAccounts {
		return ms.str(r, "accountName")
	}
	return strings.TrimSpace(ms.str(r, "firstName") + " " + ms.str(r, "lastName"))
}

// handleRecycleList serves GET /api/v1/recycleBin?from=0&limit=&module=
// &sortBy= (from is 0-based here, limit 1-100, default 10; default order is
// most recently deleted first).
func (s *Server) handleRecycleList(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	from, e := intParam(q, "from", 0, 0, 1<<31-1)
	if e != nil {
		return e
	}
	limit, e := intParam(q, "limit", 10, 1, maxLimit)
	if e != nil {
		return e
	}
	sortBy, desc, e := sortParam(q, recycleSorts, "deletedTime")
	if e != nil {
		return e
	}
	if q.Get("sortBy") == "" {
		desc = true
	}
	mods := []string{ModuleContacts, ModuleAccounts}
	if m := q.Get("module"); m != "" {
		mod, ok := recycleModules[m]
		if !ok {
			return errParam("module", fmt.Sprintf("module %q has no records in the emulated recycle bin; use contacts or accounts", m))
		}
		mods = []string{mod}
	}
	type item struct {
		it  RecycleBinItem
		at  int64
		id  uint64
		key string
	}
	var items []item
	s.mu.RLock()
	for _, m := range mods {
		ms := s.mods[m]
		typ := "Contacts"
		if m == ModuleAccounts {
			typ = "Accounts"
		}
		for _, rec := range ms.recs {
			if !rec.trashed() {
				continue
			}
			it := RecycleBinItem{ID: idString(rec.id), DisplayName: displayName(ms, rec), Type: typ,
				DeletedTime: formatTime(rec.trashedAt), DeletedByID: DefaultOwnerID}
			key := ""
			switch sortBy {
			case "name":
				key = strings.ToLower(it.DisplayName)
			case "type":
				key = typ
			}
			items = append(items, item{it, rec.trashedAt, rec.id, key})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(items, func(a, b item) int {
		c := cmp.Compare(a.key, b.key)
		if c == 0 {
			c = cmp.Compare(a.at, b.at)
		}
		if c == 0 {
			c = cmp.Compare(a.id, b.id)
		}
		if desc {
			return -c
		}
		return c
	})
	if from >= len(items) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	page := items[from:min(len(items), from+limit)]
	out := make([]RecycleBinItem, len(page))
	for i, p := range page {
		out[i] = p.it
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

// maxRecycleIDs is the most ids one restore or delete call accepts.
const maxRecycleIDs = 100

// handleRecycleAction serves POST /api/v1/recycleBin/restore and
// /recycleBin/delete with body {"ids":["..."]} (the key name is not
// documented; the OAS names the schema "ids"). The answer is 200 with
// {"results":[{id, success, errors}]}, one per id in input order.
func (s *Server) handleRecycleAction(w http.ResponseWriter, r *http.Request, action string) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if len(strings.TrimSpace(string(body))) == 0 {
		return &apiError{Status: http.StatusBadRequest, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; {\"ids\":[...]} is expected"}
	}
	if err := dec.Decode(&req); err != nil {
		return errInvalidData(FieldError{FieldName: "/ids", ErrorType: ErrInvalid, ErrorMessage: "body must be {\"ids\":[\"<id>\",...]}"})
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxRecycleIDs {
		return errInvalidData(FieldError{FieldName: "/ids", ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf("ids must hold 1 to %d ids", maxRecycleIDs)})
	}
	results := make([]MassActionResult, len(req.IDs))
	var events []event
	s.mu.Lock()
	for i, sid := range req.IDs {
		results[i] = MassActionResult{ID: sid}
		id, ok := parseID(sid)
		var ms *moduleStore
		var rec record
		found := false
		if ok {
			for _, m := range []string{ModuleContacts, ModuleAccounts} {
				if x, ok := s.mods[m].get(id); ok {
					ms, rec, found = s.mods[m], x, true
				}
			}
		}
		if !found || !rec.trashed() {
			results[i].Errors = []FieldError{{FieldName: "/ids/" + strconv.Itoa(i), ErrorType: ErrInvalid, ErrorMessage: "no entry with this id is in the recycle bin"}}
			continue
		}
		if action == "delete" {
			s.purgeLocked(ms, rec)
			results[i].Success = true
			continue
		}
		if errs := s.restoreLocked(ms, rec); len(errs) > 0 {
			results[i].Errors = errs
			continue
		}
		results[i].Success = true
	}
	s.mu.Unlock()
	s.hooks.emit(r.Header.Get(SourceIDHeader), events)
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// restoreLocked brings a trashed record back. Restoring a contact whose
// account is trashed restores the account too (Desk restores parents). An
// account whose name is now taken by a live account cannot be restored.
func (s *Server) restoreLocked(ms *moduleStore, rec record) []FieldError {
	if ms.name == ModuleAccounts {
		name := ms.str(rec, "accountName")
		ids, _ := ms.lookup("accountName", name)
		for _, id := range ids {
			if o, ok := ms.get(id); ok && id != rec.id && !o.trashed() {
				return []FieldError{{FieldName: "/accountName", ErrorType: ErrDuplicate, ErrorMessage: "a live account with this name exists"}}
			}
		}
	}
	if ms.name == ModuleContacts {
		accs := s.mods[ModuleAccounts]
		if aid, ok := parseID(ms.str(rec, "accountId")); ok {
			if a, ok := accs.get(aid); ok && a.trashed() {
				if errs := s.restoreLocked(accs, a); len(errs) > 0 {
					return errs
				}
			}
		}
	}
	ms.setTrashed(rec, 0, s.nextSeq())
	return nil
}

// purgeLocked deletes a record permanently; contacts of a purged account
// lose their accountId.
func (s *Server) purgeLocked(ms *moduleStore, rec record) {
	ms.purge(rec)
	if ms.name != ModuleAccounts {
		return
	}
	contacts := s.mods[ModuleContacts]
	fi := uint16(contacts.sch.byName["accountId"])
	want := idString(rec.id)
	// The contacts are found first and changed after: a change may move other contacts'
	// values (see package records), and the slab is not changed while it is ranged over.
	var ids []uint64
	for id, c := range contacts.recs {
		if v, ok := contacts.data(c).get(fi); ok && v.s == want {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		c := contacts.rec(id)
		contacts.scratch = contacts.data(c).appendPatch(contacts.scratch[:0], nil, []uint16{fi})
		c.seq = s.nextSeq()
		contacts.replace(c, contacts.scratch)
	}
}

// recycleAll restores or permanently deletes everything in the bin.
func (s *Server) recycleAll(restore bool, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []string{ModuleAccounts, ModuleContacts} {
		ms := s.mods[m]
		var trashed []record
		for _, r := range ms.recs {
			if r.trashed() {
				trashed = append(trashed, r)
			}
		}
		slices.SortFunc(trashed, func(a, b record) int { return cmp.Compare(a.id, b.id) })
		for _, r := range trashed {
			if cur, ok := ms.get(r.id); !ok || !cur.trashed() {
				continue
			}
			if restore {
				_ = s.restoreLocked(ms, ms.rec(r.id))
			} else {
				s.purgeLocked(ms, ms.rec(r.id))
			}
		}
	}
}
