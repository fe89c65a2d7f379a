package crm

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Merge Records (Zoho CRM API v8, "Merge Records API", merge-records.html, and "Get Records
// Merge Status", get-merge-status.html):
//
//	POST /crm/v8/{module}/{master_id}/actions/merge
//	{"merge":[{"data":[{"id":"<child>","_fields":[{"api_name":"Phone"},...]},...],
//	           "master_record_fields":[{"api_name":"..."}]}]}
//	→ 200 {"merge":[{"code":"SUCCESS","details":{"job_id":"<id>"},"message":"...","status":"success"}]}
//
//	GET /crm/v8/{module}/{master_id}/actions/merge[?job_id=<id>]
//	→ 200 {"merge":[{"job_id":"<id>","status":"COMPLETED"}]}, 204 when the master has no job
//
// "merge" holds exactly one object; its "data" one or two child records ("merges up to three
// duplicate records into a single one": the master and two children). The master takes, for
// every field a child lists in "_fields", that child's value (unset when the child has none);
// it keeps its own value for every other field. "master_record_fields" names fields whose
// master value is kept (in Zoho: file and image upload fields, which the emulator has none of);
// its names are checked and nothing else is done with them. Supported here: Contacts and
// Accounts (Zoho also merges Leads, Deals, Vendors and custom modules, not emulated).
//
// After a merge, in one step under the write lock:
//   - the master holds the chosen values; Modified_Time and Modified_By change (the current
//     user), and it drops out of /search for the search lag, as any API edit;
//   - every record whose lookup pointed at a child — a contact's Account_Name, Reporting_To,
//     an account's Parent_Account, Deals' Account_Name/Contact_Name, Notes' Parent_Id, Tasks',
//     Events' and Calls' Who_Id/What_Id — points at the master, and its Modified_Time changes
//     (a lookup of the master that pointed at a child is cleared: a record is not its own
//     parent);
//   - the children are deleted for good: Zoho's help on Find & Merge says "The record(s)
//     merged to the master record will be deleted permanently" (Merging Duplicate Records,
//     help.zoho.com/portal/en/kb/crm/manage-crm-data/duplication-management), so they are not
//     in the recycle bin and GET /crm/v8/{module}/deleted lists them with type "permanent";
//   - notification channels get the master's update ("edit", affected fields the values that
//     changed), the children's deletes ("delete") and the moved records' updates ("edit" in
//     their modules, affected the lookup field).
//
// Errors (Zoho's shapes; the doc lists INVALID_DATA, MANDATORY_NOT_FOUND, INVALID_MODULE,
// INVALID_REQUEST_METHOD, OAUTH_SCOPE_MISMATCH, AUTHENTICATION_FAILURE, INVALID_URL_PATTERN):
//   - 400 INVALID_MODULE for a module that cannot be merged (details resource_path_index 0);
//   - 400 INVALID_DATA "the id given seems to be invalid" for a master id that is not a live
//     record (details resource_path_index 1);
//   - 400 MANDATORY_NOT_FOUND (api_name merge / data / id, json_path) for what is missing,
//     INVALID_DATA with maximum_length for a "merge" of more than one object or a "data" of
//     more than two children, INVALID_DATA with expected_data_type for a wrong JSON type;
//   - 400 {"merge":[{code:"INVALID_DATA",...}]} for a child that is not a live record of the
//     module, the master among its children, a child given twice, an unknown, read-only or
//     system field in _fields or master_record_fields, or a field chosen from two children;
//     {"merge":[{code:"DUPLICATE_DATA",...}]} when the merged values would repeat a unique
//     value another live record (not one of the children) holds.
//
// The call costs what a one-record write costs (1 credit). The emulator does not check OAuth
// scopes (ZohoCRM.modules.{module}.WRITE or ALL), as for every other call. Merge jobs are kept
// in memory only (not in snapshots) and dropped by Reset.
func (s *Server) serveMerge(w http.ResponseWriter, r *http.Request, mod, rawID string) {
	if !mergeModules[mod] {
		writeError(w, errInvalidModule(0))
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.mergeRecords(w, r, mod, rawID)
	case http.MethodGet:
		s.mergeStatus(w, r, mod, rawID)
	default:
		writeError(w, errMethod)
	}
}

// mergeModules are the emulated modules Zoho's Merge Records API supports.
var mergeModules = map[string]bool{"Contacts": true, "Accounts": true}

// maxMergeChildren is how many child records one merge takes ("up to three duplicate
// records": the master and two children).
const maxMergeChildren = 2

// mergeJob is a merge as GET …/actions/merge reports it.
type mergeJob struct {
	id, module string
	master     uint64
}

// mergeJobs are the merges made since start (or Reset), in order.
type mergeJobs struct {
	mu   sync.Mutex
	list []mergeJob
}

func (j *mergeJobs) add(job mergeJob) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = append(j.list, job)
}

// of returns the jobs of one master record, oldest first.
func (j *mergeJobs) of(module string, master uint64) []mergeJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []mergeJob
	for _, job := range j.list {
		if job.module == module && job.master == master {
			out = append(out, job)
		}
	}
	return out
}

func (j *mergeJobs) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = nil
}

// errInvalidMaster is the answer to a master id that is not a live record of the module.
func errInvalidMaster() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "the id given seems to be invalid",
		details: map[string]any{"resource_path_index": 1}}
}

// mergeChild is one validated child of a merge: its id and the fields whose value it gives.
type mergeChild struct {
	id     uint64
	fields []int
}

// mergeRequest is a validated merge body.
type mergeRequest struct {
	children []mergeChild
}

// parseMergeBody validates the shape of a merge body. It answers the top-level errors itself
// (returning ok=false) and returns the per-merge error of a child or field, if any, as item.
func parseMergeBody(m *module, body map[string]any, master uint64) (req mergeRequest, item *fieldError, top *apiError) {
	raw, has := body["merge"]
	if !has || raw == nil {
		return req, nil, &apiError{status: http.StatusBadRequest, code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": "merge", "json_path": "$.merge"}}
	}
	arr, isArr := raw.([]any)
	if !isArr {
		return req, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "merge", "json_path": "$.merge", "expected_data_type": "jsonarray"}}
	}
	switch {
	case len(arr) == 0:
		return req, nil, &apiError{status: http.StatusBadRequest, code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": "merge", "json_path": "$.merge"}}
	case len(arr) > 1:
		return req, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "merge", "json_path": "$.merge", "maximum_length": 1}}
	}
	obj, isObj := arr[0].(map[string]any)
	if !isObj {
		return req, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "merge", "json_path": "$.merge[0]", "expected_data_type": "jsonobject"}}
	}
	const path = "$.merge[0]"
	data, isArr := obj["data"].([]any)
	switch {
	case obj["data"] == nil || isArr && len(data) == 0:
		return req, nil, &apiError{status: http.StatusBadRequest, code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": "data", "json_path": path + ".data"}}
	case !isArr:
		return req, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "data", "json_path": path + ".data", "expected_data_type": "jsonarray"}}
	case len(data) > maxMergeChildren:
		return req, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": "data", "json_path": path + ".data", "maximum_length": maxMergeChildren}}
	}
	chosen := map[int]bool{}
	for i, d := range data {
		cpath := fmt.Sprintf("%s.data[%d]", path, i)
		cobj, isObj := d.(map[string]any)
		if !isObj {
			return req, invalidType("data", cpath, "jsonobject"), nil
		}
		rawID := idText(cobj["id"])
		if cobj["id"] == nil {
			return req, &fieldError{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": "id", "json_path": cpath + ".id"}}, nil
		}
		id, valid := parseID(rawID)
		badID := func(msg string) *fieldError {
			return &fieldError{code: "INVALID_DATA", message: msg,
				details: map[string]any{"api_name": "id", "json_path": cpath + ".id", "id": rawID}}
		}
		switch {
		case !valid || !m.has(id):
			return req, badID("the id given seems to be invalid"), nil
		case id == master:
			return req, badID("the master record cannot be merged into itself"), nil
		case slices.ContainsFunc(req.children, func(c mergeChild) bool { return c.id == id }):
			return req, badID("the child record is given more than once"), nil
		}
		fields, ferr := mergeFields(m, cobj["_fields"], cpath+"._fields")
		if ferr != nil {
			return req, ferr, nil
		}
		for j, k := range fields {
			if chosen[k] {
				return req, &fieldError{code: "INVALID_DATA", message: "the field's value is chosen from more than one record",
					details: map[string]any{"api_name": m.fields.list[k].APIName, "json_path": fmt.Sprintf("%s._fields[%d].api_name", cpath, j)}}, nil
			}
			chosen[k] = true
		}
		req.children = append(req.children, mergeChild{id: id, fields: fields})
	}
	if _, ferr := mergeFields(m, obj["master_record_fields"], path+".master_record_fields"); ferr != nil {
		return req, ferr, nil
	}
	return req, nil, nil
}

// idText is an id given as a JSON string or number.
func idText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case fmt.Stringer: // json.Number
		return x.String()
	}
	return ""
}

// mergeFields validates an optional array of {"api_name": ...} and returns the field indexes.
// Owner may be chosen; other system fields and read-only fields may not.
func mergeFields(m *module, raw any, path string) ([]int, *fieldError) {
	if raw == nil {
		return nil, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, invalidType(path[strings.LastIndex(path, ".")+1:], path, "jsonarray")
	}
	out := make([]int, 0, len(arr))
	for j, a := range arr {
		fpath := fmt.Sprintf("%s[%d]", path, j)
		obj, ok := a.(map[string]any)
		if !ok {
			return nil, invalidType("api_name", fpath, "jsonobject")
		}
		name, _ := obj["api_name"].(string)
		if name == "" {
			return nil, &fieldError{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": "api_name", "json_path": fpath + ".api_name"}}
		}
		k, f, known := m.fields.get(name)
		if !known || f.ReadOnly || isSystemManaged(name) && name != "Owner" {
			return nil, &fieldError{code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": name, "json_path": fpath + ".api_name"}}
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// mergeRecords answers POST …/{master_id}/actions/merge.
func (s *Server) mergeRecords(w http.ResponseWriter, r *http.Request, mod, rawID string) {
	body, ok := readJSONBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	m := s.modules[mod]
	master, valid := parseID(rawID)
	if !valid || !m.has(master) {
		s.mu.Unlock()
		writeError(w, errInvalidMaster())
		return
	}
	req, item, top := parseMergeBody(m, body, master)
	if top != nil {
		s.mu.Unlock()
		writeError(w, top)
		return
	}
	var changes map[string][]change
	if item == nil {
		changes, item = s.mergeLocked(m, master, req)
	}
	var job string
	if item == nil {
		s.lastID++
		job = formatID(s.lastID)
	}
	s.mu.Unlock()
	if item != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"merge": []any{recordError(item)}})
		return
	}
	s.merges.add(mergeJob{id: job, module: mod, master: master})
	for _, name := range moduleNames {
		s.notify.emit(name, changes[name])
	}
	writeJSON(w, http.StatusOK, map[string]any{"merge": []any{map[string]any{
		"code": "SUCCESS", "details": map[string]any{"job_id": job}, "message": "records merged successfully", "status": "success"}}})
}

// mergeLocked merges the children of req into master (see serveMerge) and returns the
// changes to notify, by module, or the per-merge error that stopped it before anything
// changed. Callers hold s.mu for writing.
func (s *Server) mergeLocked(m *module, master uint64, req mergeRequest) (map[string][]change, *fieldError) {
	now := s.now()
	old, _ := m.get(master)
	nr := old
	var sets []fieldValue
	owner, hasOwner := uint16(0), false
	for _, c := range req.children {
		child, _ := m.get(c.id)
		for _, k := range c.fields {
			if m.fields.list[k].APIName == "Owner" {
				owner, hasOwner = child.owner, true
				continue
			}
			v, _ := child.get(k) // nil (unset) when the child has no value
			sets = append(sets, fieldValue{k, v})
		}
	}
	affected := []string{}
	changed := sets[:0]
	for _, sv := range sets {
		prev, had := old.get(sv.k)
		if !had && sv.v == nil || had && sv.v != nil && s.valueString(prev) == s.valueString(sv.v) {
			continue
		}
		changed = append(changed, sv)
		affected = append(affected, m.fields.list[sv.k].APIName)
	}
	if hasOwner && owner != old.owner {
		nr.owner = owner
		affected = append(affected, "Owner")
	}
	m.setVals(&nr, changed)
	isChild := func(id uint64) bool {
		return slices.ContainsFunc(req.children, func(c mergeChild) bool { return c.id == id })
	}
	if ferr := s.checkUnique(m, &nr, &old, "$.merge[0]", isChild); ferr != nil {
		m.discard(&nr, &old)
		return nil, ferr
	}
	s.seq++
	nr.modified, nr.seq, nr.modifier, nr.written = now.Unix(), s.seq, 0, now.UnixNano()
	m.replace(&old, &nr)
	changes := map[string][]change{m.name: {{op: "update", id: master, affected: affected}}}

	// Records that point at a child point at the master.
	for _, c := range req.children {
		for name, moved := range s.repointLocked(m, c.id, master, now.Unix(), isChild) {
			changes[name] = append(changes[name], moved...)
		}
	}
	for _, c := range req.children {
		child, _ := m.get(c.id)
		s.deleteLocked(m, &child, now.Unix())
		// Merged records are deleted permanently (see serveMerge), not kept in the recycle bin.
		d := m.deleted[c.id]
		d.permanent, d.rec = true, nil
		changes[m.name] = append(changes[m.name], change{op: "delete", id: c.id})
	}
	return changes, nil
}

// repointLocked makes every live record whose lookup points at record from of module m point
// at to instead (a lookup of to itself that pointed at from is cleared), and returns the
// changes made, by module. Records of m for which skip reports true (the children being merged
// away) are left alone: they are deleted next. Callers hold s.mu for writing.
func (s *Server) repointLocked(m *module, from, to uint64, now int64, skip func(uint64) bool) map[string][]change {
	out := map[string][]change{}
	for _, name := range moduleNames {
		x := s.modules[name]
		for k, f := range x.fields.list {
			if f.DataType != "lookup" || f.LookupModule != "" && f.LookupModule != m.name {
				continue
			}
			// The records are found first and changed after: the trees are not changed while
			// they are walked.
			var ids []uint64
			x.byID.Ascend(func(r rec) bool {
				if v, ok := r.get(k); ok {
					if lr, isRef := v.(lookupRef); isRef && lr.id == from && lr.mod == m.idx && !(x == m && skip(r.id)) {
						ids = append(ids, r.id)
					}
				}
				return true
			})
			for _, id := range ids {
				old, _ := x.get(id)
				nr := old
				var v any = lookupRef{id: to, mod: m.idx}
				if x == m && id == to {
					v = nil
				}
				x.setVals(&nr, []fieldValue{{k, v}})
				s.seq++
				nr.modified, nr.seq, nr.modifier = max(now, old.modified), s.seq, 0
				x.replace(&old, &nr)
				out[name] = append(out[name], change{op: "update", id: id, affected: []string{f.APIName}})
			}
		}
	}
	return out
}

// mergeStatus answers GET …/{master_id}/actions/merge[?job_id=].
func (s *Server) mergeStatus(w http.ResponseWriter, r *http.Request, mod, rawID string) {
	master, valid := parseID(rawID)
	s.mu.RLock()
	live := valid && s.modules[mod].has(master)
	s.mu.RUnlock()
	if !live {
		writeError(w, errInvalidMaster())
		return
	}
	jobs := s.merges.of(mod, master)
	if want := r.URL.Query().Get("job_id"); want != "" {
		i := slices.IndexFunc(jobs, func(j mergeJob) bool { return j.id == want })
		if i < 0 {
			writeError(w, errInvalidParam("job_id", nil))
			return
		}
		jobs = jobs[i : i+1]
	}
	if len(jobs) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out := make([]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, map[string]any{"job_id": j.id, "status": "COMPLETED"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"merge": out})
}
