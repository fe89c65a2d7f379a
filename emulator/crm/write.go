package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// maxWriteRecords is Zoho's per-call record limit for insert, update,
// upsert and delete.
const maxWriteRecords = 100

type writeKind int

const (
	writeInsert writeKind = iota
	writeUpdate
	writeUpsert
)

// change is one committed record change, for notifications.
type change struct {
	op       string // insert, update, delete
	id       uint64
	affected []string
}

// readJSONBody reads and decodes a JSON object body (numbers as
// json.Number). It answers Zoho's error itself and returns false on failure.
func readJSONBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, errBody)
		return nil, false
	}
	if len(b) > maxBody {
		writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, code: "LIMIT_EXCEEDED",
			message: "Record count exceeded", details: map[string]any{"limit": maxBody}})
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil || dec.More() {
		writeError(w, errBody)
		return nil, false
	}
	return body, true
}

// dataArray extracts the "data" array of a write body.
func dataArray(body map[string]any) ([]any, *apiError) {
	raw, ok := body["data"]
	if !ok || raw == nil {
		return nil, errParamMissing("data")
	}
	data, ok := raw.([]any)
	if !ok {
		return nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"}}
	}
	if len(data) == 0 {
		return nil, errParamMissing("data")
	}
	if len(data) > maxWriteRecords {
		return nil, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Record count exceeded",
			details: map[string]any{"limit": maxWriteRecords, "api_name": "data", "json_path": "$.data"}}
	}
	return data, nil
}

// checkStringArray validates an optional array-of-strings body key.
func checkStringArray(body map[string]any, key string) ([]string, *apiError) {
	raw, ok := body[key]
	if !ok || raw == nil {
		return nil, nil
	}
	arr, ok := raw.([]any)
	bad := &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
		details: map[string]any{"api_name": key, "json_path": "$." + key, "expected_data_type": "jsonarray"}}
	if !ok {
		return nil, bad
	}
	out := make([]string, 0, len(arr))
	for _, a := range arr {
		s, ok := a.(string)
		if !ok {
			return nil, bad
		}
		out = append(out, s)
	}
	return out, nil
}

var validTriggers = []string{"workflow", "approval", "blueprint", "pathfinder", "orchestration"}

// serveWrite answers insert (POST), update (PUT, bulk or by id) and upsert.
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, mod string, kind writeKind, pathID string) {
	body, ok := readJSONBody(w, r)
	if !ok {
		return
	}
	data, aerr := dataArray(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	triggers, aerr := checkStringArray(body, "trigger")
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	for _, t := range triggers {
		if !slices.Contains(validTriggers, t) {
			writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": "trigger", "json_path": "$.trigger", "supported_values": validTriggers}})
			return
		}
	}
	dupNames, aerr := checkStringArray(body, "duplicate_check_fields")
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if pathID != "" && len(data) > 1 {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Record count exceeded",
			details: map[string]any{"limit": 1, "api_name": "data", "json_path": "$.data"}})
		return
	}

	s.mu.Lock()
	m := s.modules[mod]
	var dupFields []int
	if kind == writeUpsert {
		if dupFields, aerr = s.dupCheckFields(m, dupNames); aerr != nil {
			s.mu.Unlock()
			writeError(w, aerr)
			return
		}
	}
	results := make([]any, 0, len(data))
	var changes []change
	okCount := 0
	for i, item := range data {
		res, ch := s.applyRecord(m, item, i, kind, pathID, dupFields)
		results = append(results, res)
		if ch != nil {
			okCount++
			changes = append(changes, *ch)
		}
	}
	s.mu.Unlock()
	s.notify.emit(mod, changes)

	status := http.StatusOK
	switch {
	case okCount == 0:
		status = http.StatusBadRequest
	case okCount < len(data):
		status = http.StatusMultiStatus
	case kind == writeInsert:
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"data": results})
}

// dupCheckFields resolves upsert's duplicate_check_fields, defaulting to
// the system duplicate-check field then the unique fields.
func (s *Server) dupCheckFields(m *module, names []string) ([]int, *apiError) {
	var out []int
	if len(names) == 0 {
		if n, ok := duplicateCheckField[m.name]; ok {
			k, _, _ := m.fields.get(n)
			out = append(out, k)
		}
		for k, f := range m.fields.list {
			if f.Unique && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
		return out, nil
	}
	for i, n := range names {
		k, f, ok := m.fields.get(n)
		if !ok || isSystemManaged(n) || f.DataType == "lookup" && false {
			return nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": n, "json_path": fmt.Sprintf("$.duplicate_check_fields[%d]", i)}}
		}
		if _, indexed := m.indexes[k]; !indexed {
			m.indexField(k)
		}
		out = append(out, k)
	}
	return out, nil
}

func recordError(e *fieldError) map[string]any {
	return map[string]any{"code": e.code, "details": e.details, "message": e.message, "status": "error"}
}

// readOnlyInput are keys clients may send back that the emulator ignores.
func ignoredInput(key string, f *Field) bool {
	if strings.HasPrefix(key, "$") || key == "Tag" || key == "id" {
		return true
	}
	return f != nil && f.ReadOnly
}

// applyRecord validates and commits one record of a write call. It returns
// the per-record result (a *writeResult on success, an error's map otherwise)
// and, on success, the change made. Callers hold s.mu for writing.
func (s *Server) applyRecord(m *module, item any, i int, kind writeKind, pathID string, dupFields []int) (any, *change) {
	path := fmt.Sprintf("$.data[%d]", i)
	obj, ok := item.(map[string]any)
	if !ok {
		return recordError(invalidType("data", path, "jsonobject")), nil
	}
	now := s.now().Unix()

	// Convert every given field.
	// keys and sets reuse the module's buffers, grown to their most entries first.
	m.keys, m.sets = slices.Grow(m.keys[:0], len(obj)), slices.Grow(m.sets[:0], len(obj))
	keys := m.keys
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seModule, _ := obj["$se_module"].(string)
	sets := m.sets
	owner, hasOwner := uint16(0), false
	for _, key := range keys {
		k, f, known := m.fields.get(key)
		if ignoredInput(key, f) {
			continue
		}
		if !known {
			return recordError(&fieldError{code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": key, "json_path": path + "." + key}}), nil
		}
		v, ferr := convert(f, obj[key], jsonPath{path, key}, s.resolveLookup, seModule)
		if ferr != nil {
			return recordError(ferr), nil
		}
		if f.APIName == "Owner" {
			if v != nil {
				owner, hasOwner = v.(uint16), true
			}
			continue
		}
		if v == nil && f.Mandatory {
			return recordError(&fieldError{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": key, "json_path": path + "." + key}}), nil
		}
		sets = append(sets, fieldValue{k, v})
	}

	// Find the target record.
	var old rec
	found := false
	action := "insert"
	dupField := ""
	switch kind {
	case writeUpdate:
		rawID := pathID
		if rawID == "" {
			switch v := obj["id"].(type) {
			case string:
				rawID = v
			case json.Number:
				rawID = v.String()
			case nil:
				return recordError(&fieldError{code: "MANDATORY_NOT_FOUND", message: "required field not found",
					details: map[string]any{"api_name": "id", "json_path": path + ".id"}}), nil
			default:
				return recordError(invalidType("id", path+".id", "bigint")), nil
			}
		}
		if id, ok := parseID(rawID); ok {
			old, found = m.get(id)
		}
		if !found {
			return recordError(&fieldError{code: "INVALID_DATA", message: "the id given seems to be invalid",
				details: map[string]any{"id": rawID, "api_name": "id", "json_path": path + ".id"}}), nil
		}
		action = "update"
	case writeUpsert:
		for _, k := range dupFields {
			for _, sv := range sets {
				if sv.k != k || sv.v == nil {
					continue
				}
				if ids, _ := m.lookupIDs(k, s.valueString(sv.v)); len(ids) > 0 {
					old, found = m.get(slices.Min(ids))
					dupField = m.fields.list[k].APIName
				}
			}
			if found {
				break
			}
		}
		if found {
			action = "update"
		}
	}

	// Build the new version.
	var nr rec
	if !found {
		s.lastID++
		s.seq++
		nr = rec{id: s.lastID, storedRec: storedRec{created: now, modified: now, cseq: s.seq, seq: s.seq}}
	} else {
		nr = old
		s.seq++
		nr.modified, nr.seq, nr.modifier = now, s.seq, 0
	}
	nr.written = s.now().UnixNano()
	if hasOwner {
		nr.owner = owner
	}
	affected := make([]string, 0, len(sets))
	changes := sets[:0]
	for _, sv := range sets {
		prev, had := nr.get(sv.k)
		if !had && sv.v == nil || had && sv.v != nil && s.valueString(prev) == s.valueString(sv.v) {
			continue
		}
		changes = append(changes, sv)
		affected = append(affected, m.fields.list[sv.k].APIName)
	}
	m.setVals(&nr, changes)
	if !found {
		for k, f := range m.fields.list {
			if f.Mandatory {
				if _, ok := nr.get(k); !ok {
					m.discard(&nr, &old)
					s.lastID--
					return recordError(&fieldError{code: "MANDATORY_NOT_FOUND", message: "required field not found",
						details: map[string]any{"api_name": f.APIName, "json_path": path + "." + f.APIName}}), nil
				}
			}
		}
	}
	var stored *rec // the version the write changes; nil for an insert
	if found {
		stored = &old
	}
	if ferr := s.checkUnique(m, &nr, stored, path, nil); ferr != nil {
		m.discard(&nr, &old)
		if !found {
			s.lastID--
		}
		return recordError(ferr), nil
	}
	if !found {
		m.insert(&nr)
	} else {
		m.replace(&old, &nr)
	}

	res := &writeResult{Code: "SUCCESS", Status: "success", Message: "record updated", Details: writeDetails{
		ApprovalState: "approved",
		CreatedBy:     minUser(nr.creator),
		CreatedTime:   s.formatTime(nr.created),
		ModifiedBy:    minUser(nr.modifier),
		ModifiedTime:  s.formatTime(nr.modified),
		ID:            formatID(nr.id),
	}}
	if action == "insert" {
		res.Message = "record added"
	}
	if kind == writeUpsert {
		res.Action, res.DuplicateField = action, dupField
	}
	return res, &change{op: action, id: nr.id, affected: affected}
}

// writeResult is a write's per-record success. Structs, not maps: their fields are in the
// order encoding/json sorts a map's keys, so the JSON is the same, without two maps to build
// (and sort when encoded) per record written; they were a third of the bytes applyRecord
// allocated.
type writeResult struct {
	Action         string       `json:"action,omitempty"` // upserts only
	Code           string       `json:"code"`
	Details        writeDetails `json:"details"`
	DuplicateField string       `json:"duplicate_field,omitempty"` // upserts that matched a record
	Message        string       `json:"message"`
	Status         string       `json:"status"`
}

// writeDetails is the details of a writeResult.
type writeDetails struct {
	ApprovalState string `json:"$approval_state"`
	CreatedBy     any    `json:"Created_By"`
	CreatedTime   string `json:"Created_Time"`
	ModifiedBy    any    `json:"Modified_By"`
	ModifiedTime  string `json:"Modified_Time"`
	ID            string `json:"id"`
}

// resolveLookup checks that a lookup target exists and returns its module
// index. Lookups without a fixed module (What_Id, Parent_Id) use seModule
// or find the id in any module.
func (s *Server) resolveLookup(f *Field, id uint64, seModule string) (uint8, bool) {
	target := f.LookupModule
	if target == "" {
		target = seModule
	}
	if target != "" {
		tm, ok := s.modules[target]
		if !ok {
			return 0, false
		}
		return tm.idx, tm.has(id)
	}
	for _, name := range moduleNames {
		if s.modules[name].has(id) {
			return s.modules[name].idx, true
		}
	}
	return 0, false
}

// serveDelete answers DELETE /crm/v8/{module}?ids= and /{module}/{id}.
func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, mod, rawIDs string, single bool) {
	if rawIDs == "" {
		writeError(w, errParamMissing("ids"))
		return
	}
	parts := strings.Split(rawIDs, ",")
	if single {
		parts = []string{rawIDs}
	}
	if len(parts) > maxWriteRecords {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Record count exceeded",
			details: map[string]any{"limit": maxWriteRecords, "param_name": "ids"}})
		return
	}
	now := s.now().Unix()
	s.mu.Lock()
	m := s.modules[mod]
	results := make([]any, 0, len(parts))
	var changes []change
	for _, p := range parts {
		p = strings.TrimSpace(p)
		id, ok := parseID(p)
		var rc rec
		found := false
		if ok {
			rc, found = m.get(id)
		}
		if !found {
			results = append(results, map[string]any{"code": "INVALID_DATA", "details": map[string]any{"id": p},
				"message": "record not deleted", "status": "error"})
			continue
		}
		s.deleteLocked(m, &rc, now)
		changes = append(changes, change{op: "delete", id: id})
		results = append(results, map[string]any{"code": "SUCCESS", "details": map[string]any{"id": p},
			"message": "record deleted", "status": "success"})
	}
	s.mu.Unlock()
	s.notify.emit(mod, changes)
	status := http.StatusOK
	switch {
	case len(changes) == 0:
		status = http.StatusBadRequest
	case len(changes) < len(parts):
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"data": results})
}

// deleteLocked moves a record to the recycle bin.
func (s *Server) deleteLocked(m *module, rc *rec, now int64) {
	m.remove(rc)
	s.seq++
	// The name is cloned, as the values are (detached): a substring of the record's values
	// would keep their arena chunk alive for as long as the recycle bin holds the entry.
	d := &deletedRec{id: rc.id, displayName: strings.Clone(s.recordName(m, rc)), deletedAt: now, creator: rc.creator, seq: s.seq,
		rec: rc.detached()}
	if old, ok := m.deleted[rc.id]; ok {
		if i := slices.Index(m.deletedList, old); i >= 0 {
			m.deletedList = slices.Delete(m.deletedList, i, i+1)
		}
	}
	m.deleted[rc.id] = d
	m.deletedList = append(m.deletedList, d)
	m.lastChange = max(m.lastChange, now)
}

// Purge empties records from a module's recycle bin, as if deleted
// permanently; they then list as type "permanent". It returns how many
// were purged.
func (s *Server) Purge(module string, ids ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[module]
	if !ok {
		return 0
	}
	n := 0
	for _, raw := range ids {
		id, _ := parseID(raw)
		if d, ok := m.deleted[id]; ok && !d.permanent {
			d.permanent, d.rec = true, nil
			n++
		}
	}
	return n
}
