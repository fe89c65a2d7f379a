package desk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// List parameters (zoho-api.md B2/B3). List "from" is 1-based (the first
// record is from=1; from=0 is read as 1), unlike search and the recycle bin,
// which are 0-based.
const (
	defaultListLimit = 50
	maxLimit         = 100
	maxFields        = 30
)

var listSortFields = map[string]map[string]bool{
	ModuleContacts: {"firstName": true, "lastName": true, "phone": true, "email": true, "account": true, "createdTime": true, "modifiedTime": true},
	ModuleAccounts: {"website": true, "email": true, "phone": true, "accountName": true, "createdTime": true, "modifiedTime": true},
}

// outputOnly are response fields that may be named in "fields".
var outputOnly = map[string]bool{"id": true, "createdTime": true, "modifiedTime": true, "webUrl": true, "photoURL": true, "cf": true}

// intParam parses an integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, *apiError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errParam(name, fmt.Sprintf("%s must be an integer", name))
	}
	if n < lo || n > hi {
		return 0, errParam(name, fmt.Sprintf("%s must be between %d and %d", name, lo, hi))
	}
	return n, nil
}

// sortParam parses sortBy ("-" prefix = descending) against allowed.
func sortParam(q url.Values, allowed map[string]bool, def string) (string, bool, *apiError) {
	v := q.Get("sortBy")
	if v == "" {
		return def, false, nil
	}
	desc := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	if !allowed[v] {
		keys := make([]string, 0, len(allowed))
		for k := range allowed {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return "", false, errParam("sortBy", "sortBy must be one of "+strings.Join(keys, ", ")+" (prefix - for descending)")
	}
	return v, desc, nil
}

// renderParams parses fields and include.
func renderParams(q url.Values, ms *moduleStore) (renderOpts, *apiError) {
	var o renderOpts
	if f := q.Get("fields"); f != "" {
		names := strings.Split(f, ",")
		if len(names) > maxFields {
			return o, errParam("fields", fmt.Sprintf("at most %d fields can be requested", maxFields))
		}
		o.fields = map[string]bool{}
		for _, n := range names {
			n = strings.TrimSpace(n)
			if _, ok := ms.sch.byName[n]; !ok && !outputOnly[n] {
				return o, errParam("fields", fmt.Sprintf("unknown field %q", n))
			}
			o.fields[n] = true
		}
	}
	if inc := q.Get("include"); inc != "" {
		for _, n := range strings.Split(inc, ",") {
			switch {
			case n == "accounts" && ms.name == ModuleContacts:
				o.includeAccount = true
			case n == "owner":
			default:
				return o, errParam("include", fmt.Sprintf("include %q is not supported", n))
			}
		}
	}
	return o, nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, m string) *apiError {
	q := r.URL.Query()
	from, e := intParam(q, "from", 1, 0, 1<<31-1)
	if e != nil {
		return e
	}
	if from == 0 {
		from = 1
	}
	limit, e := intParam(q, "limit", defaultListLimit, 1, maxLimit)
	if e != nil {
		return e
	}
	sortBy, desc, e := sortParam(q, listSortFields[m], "createdTime")
	if e != nil {
		return e
	}
	s.mu.RLock()
	o, e := renderParams(q, s.mods[m])
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	buf := getBuf()
	defer putBuf(buf)
	body := s.readOrdered(m, sortBy, desc, from-1, limit, func(ms *moduleStore, recs []record) []byte {
		if len(recs) == 0 {
			return nil
		}
		return s.renderList((*buf)[:0], ms, recs, o, nil)
	})
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	*buf = body
	writeRaw(w, http.StatusOK, body)
	return nil
}

// readOrdered selects live records of module m ordered by sortBy, skips
// offset and takes limit, and renders them with fn while holding the lock.
func (s *Server) readOrdered(m, sortBy string, desc bool, offset, limit int, fn func(*moduleStore, []record) []byte) []byte {
	s.mu.RLock()
	ms := s.mods[m]
	ready := ms.indexesClean()
	if sortBy != "createdTime" && sortBy != "modifiedTime" {
		ready = ready && ms.sortCache != nil && ms.sortVer == ms.version && ms.sortCache[sortBy] != nil
	}
	if !ready {
		s.mu.RUnlock()
		s.mu.Lock()
		defer s.mu.Unlock()
		ms = s.mods[m]
		ms.ensureIndexes()
		s.ensureSortCache(ms, sortBy)
	} else {
		defer s.mu.RUnlock()
	}
	n := ms.live
	var recs []record
	for i := offset; i < offset+limit && i < n; i++ {
		pos := i
		if desc {
			pos = n - 1 - i
		}
		var id uint64
		switch sortBy {
		case "createdTime":
			id = ms.byCrt.keys[pos].id
		case "modifiedTime":
			id = ms.byMod.keys[pos].id
		default:
			id = ms.sortCache[sortBy][pos]
		}
		recs = append(recs, ms.rec(id))
	}
	return fn(ms, recs)
}

// ensureSortCache computes the ascending order of live records by a list
// sort field (case-insensitive, ties by creation order). Caller holds the
// write lock and has called ensureIndexes.
func (s *Server) ensureSortCache(ms *moduleStore, field string) {
	if field == "createdTime" || field == "modifiedTime" {
		return
	}
	if ms.sortCache == nil || ms.sortVer != ms.version {
		ms.sortCache = map[string][]uint64{}
		ms.sortVer = ms.version
	}
	if ms.sortCache[field] != nil {
		return
	}
	type kv struct {
		key string
		pos int
		id  uint64
	}
	items := make([]kv, 0, ms.live)
	for pos, k := range ms.byCrt.keys {
		r := ms.rec(k.id)
		var key string
		if field == "account" {
			if aid, ok := parseID(ms.str(r, "accountId")); ok {
				accs := s.mods[ModuleAccounts]
				if a, ok := accs.get(aid); ok {
					key = accs.str(a, "accountName")
				}
			}
		} else {
			key = ms.str(r, field)
		}
		items = append(items, kv{strings.ToLower(key), pos, k.id})
	}
	slices.SortFunc(items, func(a, b kv) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	ids := make([]uint64, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	ms.sortCache[field] = ids
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, m, idStr string) *apiError {
	id, ok := parseID(idStr)
	if !ok {
		return errInvalidData(FieldError{FieldName: idParamName(m), ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid record id"})
	}
	s.mu.RLock()
	ms := s.mods[m]
	o, e := renderParams(r.URL.Query(), ms)
	if e != nil {
		s.mu.RUnlock()
		return e
	}
	rec, found := ms.get(id)
	buf := getBuf()
	defer putBuf(buf)
	if found {
		*buf = s.render((*buf)[:0], ms, rec, o)
	}
	s.mu.RUnlock()
	if !found {
		return errNotFound()
	}
	writeRaw(w, http.StatusOK, *buf)
	return nil
}

// checkRefs checks the cross-record rules of a write: accountId must name a
// live account and accountName must be unique among live accounts. self is
// the id of the record being updated (0 on create). Caller holds s.mu.
func (s *Server) checkRefs(ms *moduleStore, in writeInput, self uint64) []FieldError {
	var errs []FieldError
	for _, e := range in.set {
		f := ms.sch.fields[e.f]
		switch {
		case ms.name == ModuleContacts && f.APIName == "accountId":
			id, _ := parseID(e.v.s)
			if a, ok := s.mods[ModuleAccounts].get(id); !ok || a.trashed() {
				errs = append(errs, FieldError{FieldName: "/accountId", ErrorType: ErrInvalid, ErrorMessage: "no account exists with id " + e.v.s})
			}
		case f.Unique:
			ids, _ := ms.lookup(f.APIName, e.v.s)
			for _, id := range ids {
				if o, ok := ms.get(id); id != self && ok && !o.trashed() {
					errs = append(errs, duplicateError(f))
					break
				}
			}
		}
	}
	return errs
}

// insertLocked validates cross-record rules and stores a new record. id,
// created and modified may be zero to take fresh values. Caller holds the
// write lock.
func (s *Server) insertLocked(ms *moduleStore, in writeInput, id uint64, created, modified int64) (record, *apiError) {
	if errs := s.checkRefs(ms, in, 0); len(errs) > 0 {
		return record{}, errInvalidData(errs...)
	}
	if id == 0 {
		id = s.newID()
	} else if _, dup := ms.get(id); dup || s.mods[otherModule(ms.name)].has(id) {
		return record{}, errInvalidData(FieldError{FieldName: "/id", ErrorType: ErrDuplicate, ErrorMessage: "a record with this id already exists"})
	} else if id > s.nextID && id < idBase+1<<40 {
		s.nextID = id
	}
	now := s.nowMS()
	if created == 0 {
		created = now
	}
	if modified == 0 {
		modified = max(now, created)
	}
	set := in.set
	if owner := ms.sch.byName["ownerId"]; !hasField(set, owner) && !slices.Contains(in.unset, uint16(owner)) {
		set = append(set, entry{uint16(owner), value{s: DefaultOwnerID}})
	}
	seq := s.nextSeq()
	ms.scratch = appendBlob(ms.scratch[:0], set)
	return ms.insert(record{id: id, storedRec: storedRec{created: created, modified: modified, seq: seq, cseq: seq}}, ms.scratch), nil
}

func otherModule(m string) string {
	if m == ModuleContacts {
		return ModuleAccounts
	}
	return ModuleContacts
}

func hasField(es []entry, f int) bool {
	for _, e := range es {
		if int(e.f) == f {
			return true
		}
	}
	return false
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, m string) *apiError {
	bodyBuf := getBuf()
	defer putBuf(bodyBuf)
	body, e := readBodyTo(*bodyBuf, r)
	if e != nil {
		return e
	}
	*bodyBuf = body
	buf := getBuf()
	defer putBuf(buf)
	s.mu.Lock()
	ms := s.mods[m]
	var set [16]entry
	in, e := decodeWrite(ms.sch, body, true, set[:0])
	var out []byte
	if e == nil {
		var rec record
		rec, e = s.insertLocked(ms, in, 0, 0, 0)
		if e == nil {
			out = s.render((*buf)[:0], ms, rec, renderOpts{})
			*buf = out
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	s.hooks.emit(r.Header.Get(SourceIDHeader), []event{{kind: eventKind(m, "Add"), payload: out}})
	writeRaw(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, m, idStr string) *apiError {
	id, ok := parseID(idStr)
	if !ok {
		return errInvalidData(FieldError{FieldName: idParamName(m), ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid record id"})
	}
	bodyBuf := getBuf()
	defer putBuf(bodyBuf)
	body, e := readBodyTo(*bodyBuf, r)
	if e != nil {
		return e
	}
	*bodyBuf = body
	outBuf, prevBuf := getBuf(), getBuf()
	defer putBuf(outBuf)
	defer putBuf(prevBuf)
	s.mu.Lock()
	ms := s.mods[m]
	var set [16]entry
	in, e := decodeWrite(ms.sch, body, false, set[:0])
	var prev, out []byte
	changed := false
	if e == nil {
		old, found := ms.get(id)
		switch {
		case !found:
			e = errNotFound()
		case old.trashed():
			e = errUnprocessable("The record is in the recycle bin; restore it before updating it")
		default:
			if errs := s.checkRefs(ms, in, id); len(errs) > 0 {
				e = errInvalidData(errs...)
				break
			}
			ms.scratch = ms.data(old).appendPatch(ms.scratch[:0], in.set, in.unset)
			cur := old
			if string(ms.scratch) != string(ms.data(old)) {
				changed = true
				// The old version is rendered before the store changes (see package records).
				prev = s.render((*prevBuf)[:0], ms, old, renderOpts{})
				*prevBuf = prev
				nr := old
				nr.seq = s.nextSeq()
				nr.modified = max(s.nowMS(), old.modified)
				cur = ms.replace(nr, ms.scratch)
			}
			out = s.render((*outBuf)[:0], ms, cur, renderOpts{})
			*outBuf = out
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if changed {
		s.hooks.emit(r.Header.Get(SourceIDHeader), []event{{kind: eventKind(m, "Update"), payload: out, prev: prev}})
	}
	writeRaw(w, http.StatusOK, out)
	return nil
}

// maxTrashIDs is the most ids one moveToTrash call accepts.
const maxTrashIDs = 100

func (s *Server) handleTrash(w http.ResponseWriter, r *http.Request, m string) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	key := "contactIds"
	if m == ModuleAccounts {
		key = "accountIds"
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || req == nil {
		if len(strings.TrimSpace(string(body))) == 0 {
			return &apiError{Status: http.StatusBadRequest, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; a JSON object is expected"}
		}
		return errBadRequest("The request body is not a valid JSON object")
	}
	var errs []FieldError
	for k := range req {
		if k != key {
			errs = append(errs, FieldError{FieldName: "/" + k, ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf("An extra parameter '%s' is found", k)})
		}
	}
	var ids []string
	if raw, ok := req[key]; !ok {
		errs = append(errs, FieldError{FieldName: "/" + key, ErrorType: ErrMissing, ErrorMessage: key + " is required"})
	} else if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 || len(ids) > maxTrashIDs {
		errs = append(errs, FieldError{FieldName: "/" + key, ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf("%s must be an array of 1 to %d id strings", key, maxTrashIDs)})
	}
	if len(errs) > 0 {
		return errInvalidData(errs...)
	}
	var events []event
	s.mu.Lock()
	ms := s.mods[m]
	var recs []record
	for i, sid := range ids {
		id, ok := parseID(sid)
		rec, found := ms.get(id)
		if !ok || !found {
			errs = append(errs, FieldError{FieldName: fmt.Sprintf("/%s/%d", key, i), ErrorType: ErrInvalid, ErrorMessage: "no record exists with id " + sid})
			continue
		}
		recs = append(recs, rec)
	}
	if len(errs) == 0 {
		now := s.nowMS()
		for _, rec := range recs {
			// Read again: an id given twice is trashed, and announced, once.
			cur, ok := ms.get(rec.id)
			if !ok || cur.trashed() {
				continue
			}
			ms.setTrashed(cur, now, 0)
			events = append(events, event{kind: eventKind(m, "Delete"), payload: deletePayload(cur.id)})
		}
	}
	s.mu.Unlock()
	if len(errs) > 0 {
		return errInvalidData(errs...)
	}
	s.hooks.emit(r.Header.Get(SourceIDHeader), events)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deletePayload is the payload of Contact_Delete / Account_Delete events:
// the id of the trashed record (the exact body Desk sends is not
// documented; see README).
func deletePayload(id uint64) []byte {
	return []byte(`{"id":"` + idString(id) + `"}`)
}

// eventKind builds a webhook event type such as "Contact_Add".
func eventKind(m, action string) string {
	if m == ModuleAccounts {
		return "Account_" + action
	}
	return "Contact_" + action
}
