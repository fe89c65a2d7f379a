package crm

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// bulkPageSize is how many records one bulk read job exports, as in Zoho.
const bulkPageSize = 200000

// Bulk read job states.
const (
	stateAdded      = "ADDED"
	stateInProgress = "IN PROGRESS"
	stateCompleted  = "COMPLETED"
)

type bulkJob struct {
	id        string
	module    string
	fields    []int
	page      int
	criteria  *bulkCriteria
	query     map[string]any // as given, for echoing
	created   int64
	state     string
	count     int
	more      bool
	zip       []byte
	callback  string
	callbackM string
}

type bulkReads struct {
	mu     sync.Mutex
	jobs   map[string]*bulkJob
	nextID uint64
	gen    int
}

func newBulkReads() *bulkReads {
	return &bulkReads{jobs: map[string]*bulkJob{}, nextID: 5725767000002000000}
}

func (b *bulkReads) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jobs = map[string]*bulkJob{}
	b.gen++
}

// bulkCriteria is Bulk Read's JSON criteria.
type bulkCriteria struct {
	groupOp    string
	group      []*bulkCriteria
	k          int
	f          *Field
	comparator string
	values     []string
	wants      []critValue // values parsed for the field's type, once per job
}

var bulkComparators = []string{"equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with",
	"ends_with", "greater_than", "greater_equal", "less_than", "less_equal", "between", "not_between"}

// bulkComparatorsByKind lists the comparators each kind of field (fieldKind) takes in a Bulk
// Read criteria: text is searched by its content, numbers and times by order, booleans and
// lookups only by equality (bulk_read.json: FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE).
var bulkComparatorsByKind = map[string][]string{
	"text":    {"equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"},
	"number":  {"equal", "not_equal", "in", "not_in", "greater_than", "greater_equal", "less_than", "less_equal", "between", "not_between"},
	"boolean": {"equal", "not_equal"},
	"lookup":  {"equal", "not_equal", "in", "not_in"},
}

func bulkErr(status int, code, message string, details map[string]any) *apiError {
	return &apiError{status: status, code: code, message: message, details: details}
}

// parseBulkCriteria reads {"group_operator","group":[...]} or
// {"field":{"api_name"},"comparator","value"}.
func parseBulkCriteria(m *module, raw any, depth int) (*bulkCriteria, *apiError) {
	obj, ok := raw.(map[string]any)
	if !ok || depth > 5 {
		return nil, bulkErr(http.StatusBadRequest, "INVALID_CRITERIA", "invalid criteria", map[string]any{"api_name": "criteria"})
	}
	if g, has := obj["group"]; has {
		arr, ok := g.([]any)
		op, _ := obj["group_operator"].(string)
		op = strings.ToLower(op)
		if !ok || len(arr) == 0 || (op != "and" && op != "or") {
			return nil, bulkErr(http.StatusBadRequest, "INVALID_CRITERIA", "invalid criteria group", map[string]any{"api_name": "group"})
		}
		c := &bulkCriteria{groupOp: op}
		for _, item := range arr {
			child, err := parseBulkCriteria(m, item, depth+1)
			if err != nil {
				return nil, err
			}
			c.group = append(c.group, child)
		}
		return c, nil
	}
	fobj, _ := obj["field"].(map[string]any)
	name, _ := fobj["api_name"].(string)
	k, f, ok := m.fields.get(name)
	if !ok {
		return nil, bulkErr(http.StatusBadRequest, "INVALID_CRITERIA", "the field given in criteria is not available", map[string]any{"api_name": name})
	}
	comp, _ := obj["comparator"].(string)
	if !slices.Contains(bulkComparators, comp) {
		return nil, bulkErr(http.StatusBadRequest, "INVALID_CRITERIA", "the comparator is not supported", map[string]any{"comparator": comp, "api_name": name})
	}
	if !slices.Contains(bulkComparatorsByKind[fieldKind(f)], comp) {
		return nil, bulkErr(http.StatusBadRequest, "FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE",
			"the comparator cannot be used with the field's data type",
			map[string]any{"api_name": name, "comparator": comp, "expected_data_type": f.DataType})
	}
	c := &bulkCriteria{k: k, f: f, comparator: comp}
	switch v := obj["value"].(type) {
	case []any:
		for _, x := range v {
			c.values = append(c.values, fmt.Sprint(x))
		}
	case nil:
		c.values = []string{""}
	default:
		c.values = []string{fmt.Sprint(v)}
	}
	if (comp == "between" || comp == "not_between") && len(c.values) != 2 {
		return nil, bulkErr(http.StatusBadRequest, "INVALID_CRITERIA", "between needs two values", map[string]any{"api_name": name})
	}
	// A value the field's type cannot hold (a date that is not yyyy-MM-dd, a number that is not
	// one) is refused, as Zoho does (bulk_read.json: FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE),
	// rather than compared as a zero that matches records it should not.
	c.wants = make([]critValue, len(c.values))
	for i, v := range c.values {
		w, ok := parseCritValue(f, v)
		if !ok && !(obj["value"] == nil && (comp == "equal" || comp == "not_equal")) {
			return nil, bulkErr(http.StatusBadRequest, "FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
				"the value given in criteria does not fit the field's data type",
				map[string]any{"api_name": name, "value": v, "expected_data_type": f.DataType})
		}
		c.wants[i] = w
	}
	return c, nil
}

func (s *Server) bulkMatch(c *bulkCriteria, r *rec) bool {
	if c.groupOp != "" {
		for _, g := range c.group {
			ok := s.bulkMatch(g, r)
			if c.groupOp == "and" && !ok {
				return false
			}
			if c.groupOp == "or" && ok {
				return true
			}
		}
		return c.groupOp == "and"
	}
	cc := &criteria{k: c.k, f: c.f}
	got, has := s.recordValue(cc, r)
	wants := c.wants
	numeric := fieldKind(c.f) == "number"
	eq := func(w critValue) bool {
		if numeric {
			return has && got.num == w.num
		}
		return has && got.str == w.str
	}
	w0 := wants[0]
	switch c.comparator {
	case "equal":
		return eq(w0)
	case "not_equal":
		return !eq(w0)
	case "in":
		return slices.ContainsFunc(wants, eq)
	case "not_in":
		return !slices.ContainsFunc(wants, eq)
	case "contains":
		return has && strings.Contains(got.str, w0.str)
	case "not_contains":
		return !has || !strings.Contains(got.str, w0.str)
	case "starts_with":
		return has && strings.HasPrefix(got.str, w0.str)
	case "ends_with":
		return has && strings.HasSuffix(got.str, w0.str)
	case "greater_than":
		return has && got.num > w0.num
	case "greater_equal":
		return has && got.num >= w0.num
	case "less_than":
		return has && got.num < w0.num
	case "less_equal":
		return has && got.num <= w0.num
	case "between":
		return has && got.num >= w0.num && got.num <= wants[1].num
	case "not_between":
		return !has || got.num < w0.num || got.num > wants[1].num
	}
	return false
}

// serveBulk answers /crm/bulk/v8/read[/{id}[/result]].
func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request, rest []string) {
	notFound := func(id string) {
		status := http.StatusNotFound
		if len(rest) == 2 {
			status = http.StatusBadRequest // the spec documents 400 for the download
		}
		writeError(w, bulkErr(status, "RESOURCE_NOT_FOUND", "the requested resource is not found", map[string]any{"resource": id}))
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.createBulkRead(w, r)
	case len(rest) == 1 && r.Method == http.MethodGet:
		j := s.bulk.get(rest[0])
		if j == nil {
			notFound(rest[0])
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{s.bulkJobJSON(j)}})
	case len(rest) == 2 && rest[1] == "result" && r.Method == http.MethodGet:
		j := s.bulk.get(rest[0])
		if j == nil || j.state != stateCompleted {
			notFound(rest[0])
			return
		}
		w.Header().Set("Content-Type", "application/x-download")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.zip"`, j.id))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(j.zip)
	case len(rest) <= 2:
		writeError(w, errMethod)
	default:
		writeError(w, errInvalidURL)
	}
}

func (b *bulkReads) get(id string) *bulkJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.jobs[id]
	if j == nil {
		return nil
	}
	cp := *j
	return &cp
}

func (s *Server) createBulkRead(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSONBody(w, r)
	if !ok {
		return
	}
	query, ok := body["query"].(map[string]any)
	if !ok {
		writeError(w, bulkErr(http.StatusBadRequest, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
			map[string]any{"param_name": "query", "param": "query"}))
		return
	}
	modObj, _ := query["module"].(map[string]any)
	modName, _ := modObj["api_name"].(string)
	s.mu.RLock()
	m, known := s.modules[modName]
	if !known {
		s.mu.RUnlock()
		writeError(w, bulkErr(http.StatusBadRequest, "INVALID_DATA", "invalid data",
			map[string]any{"api_name": "module", "json_path": "$.query.module"}))
		return
	}
	job := &bulkJob{module: modName, page: 1, query: query, state: stateAdded, created: s.now().Unix()}
	if raw, has := query["fields"]; has {
		arr, ok := raw.([]any)
		if !ok {
			s.mu.RUnlock()
			writeError(w, bulkErr(http.StatusBadRequest, "INVALID_DATA", "invalid data",
				map[string]any{"api_name": "fields", "json_path": "$.query.fields", "expected_data_type": "jsonarray"}))
			return
		}
		for i, a := range arr {
			name, _ := a.(string)
			k, _, ok := m.fields.get(name)
			if !ok {
				s.mu.RUnlock()
				writeError(w, bulkErr(http.StatusBadRequest, "INVALID_DATA", "invalid data",
					map[string]any{"api_name": name, "json_path": fmt.Sprintf("$.query.fields[%d]", i)}))
				return
			}
			job.fields = append(job.fields, k)
		}
	}
	if len(job.fields) == 0 {
		for k := range m.fields.list {
			job.fields = append(job.fields, k)
		}
	}
	if raw, has := query["page"]; has {
		n, ok := raw.(json.Number)
		p, err := n.Int64()
		if !ok || err != nil || p < 1 {
			s.mu.RUnlock()
			writeError(w, bulkErr(http.StatusBadRequest, "INVALID_DATA", "invalid data",
				map[string]any{"api_name": "page", "json_path": "$.query.page"}))
			return
		}
		job.page = int(p)
	}
	if raw, has := query["criteria"]; has && raw != nil {
		c, aerr := parseBulkCriteria(m, raw, 0)
		if aerr != nil {
			s.mu.RUnlock()
			writeError(w, aerr)
			return
		}
		job.criteria = c
	}
	s.mu.RUnlock()
	if cb, ok := body["callback"].(map[string]any); ok {
		job.callback, _ = cb["url"].(string)
		job.callbackM, _ = cb["method"].(string)
		if job.callback != "" && job.callbackM != "post" {
			writeError(w, bulkErr(http.StatusBadRequest, "INVALID_DATA", "invalid data",
				map[string]any{"api_name": "method", "json_path": "$.callback.method"}))
			return
		}
	}

	s.bulk.mu.Lock()
	s.bulk.nextID++
	job.id = formatID(s.bulk.nextID)
	s.bulk.jobs[job.id] = job
	gen := s.bulk.gen
	s.bulk.mu.Unlock()
	go s.runBulkRead(job.id, gen)

	writeJSON(w, http.StatusCreated, map[string]any{"data": []any{map[string]any{
		"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
		"details": map[string]any{"id": job.id, "operation": "read", "state": stateAdded,
			"created_by": minUser(0), "created_time": s.formatTime(job.created)},
	}}, "info": map[string]any{}})
}

// runBulkRead moves a job through its states and builds its zipped CSV.
func (s *Server) runBulkRead(id string, gen int) {
	setState := func(fn func(j *bulkJob)) bool {
		s.bulk.mu.Lock()
		defer s.bulk.mu.Unlock()
		j := s.bulk.jobs[id]
		if j == nil || s.bulk.gen != gen {
			return false
		}
		fn(j)
		return true
	}
	time.Sleep(s.cfg.BulkStep)
	var job bulkJob
	if !setState(func(j *bulkJob) { j.state = stateInProgress; job = *j }) {
		return
	}
	zipped, count, more, err := s.exportCSV(&job)
	time.Sleep(s.cfg.BulkStep)
	var done bulkJob
	if !setState(func(j *bulkJob) {
		if err != nil {
			j.state = "FAILURE"
		} else {
			j.state, j.zip, j.count, j.more = stateCompleted, zipped, count, more
		}
		done = *j
	}) {
		return
	}
	if done.callback != "" {
		s.bulkCallback(&done)
	}
}

// bulkCallback posts the finished job's details to its callback URL, as
// Zoho does when a job completes or fails. Delivery is best effort.
func (s *Server) bulkCallback(j *bulkJob) {
	body, err := json.Marshal(map[string]any{"job_id": j.id, "operation": "read", "state": j.state,
		"query": j.query, "result": s.bulkJobJSON(j)["result"]})
	if err != nil {
		return
	}
	resp, err := s.notify.client.Post(j.callback, "application/json", bytes.NewReader(body))
	if err != nil {
		return
	}
	_ = resp.Body.Close()
}

// exportCSV writes the job's page of records (id order) as a zipped CSV.
func (s *Server) exportCSV(j *bulkJob) ([]byte, int, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[j.module]
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fw, err := zw.Create(j.id + ".csv")
	if err != nil {
		return nil, 0, false, fmt.Errorf("bulk read %s: create zip entry: %w", j.id, err)
	}
	cw := csv.NewWriter(fw)
	header := []string{"Id"}
	for _, k := range j.fields {
		if m.fields.list[k].APIName != "id" {
			header = append(header, m.fields.list[k].APIName)
		}
	}
	if err := cw.Write(header); err != nil {
		return nil, 0, false, fmt.Errorf("bulk read %s: write header: %w", j.id, err)
	}
	skip := (j.page - 1) * s.cfg.BulkPageSize
	count, more := 0, false
	var werr error
	row := make([]string, 0, 1+len(j.fields)) // reused: csv.Writer.Write keeps no reference
	m.byID.Ascend(func(r rec) bool {
		if j.criteria != nil && !s.bulkMatch(j.criteria, &r) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		if count == s.cfg.BulkPageSize {
			more = true
			return false
		}
		row = append(row[:0], formatID(r.id))
		for _, k := range j.fields {
			row = append(row, s.csvValue(m, k, &r))
		}
		if werr = cw.Write(row); werr != nil {
			return false
		}
		count++
		return true
	})
	if werr != nil {
		return nil, 0, false, fmt.Errorf("bulk read %s: write row: %w", j.id, werr)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, 0, false, fmt.Errorf("bulk read %s: flush csv: %w", j.id, err)
	}
	if err := zw.Close(); err != nil {
		return nil, 0, false, fmt.Errorf("bulk read %s: close zip: %w", j.id, err)
	}
	return buf.Bytes(), count, more, nil
}

// csvValue renders one field as Bulk Read does: lookups and users as ids.
func (s *Server) csvValue(m *module, k int, r *rec) string {
	switch m.fields.list[k].APIName {
	case "Owner":
		return users[r.owner].id
	case "Created_By":
		return users[r.creator].id
	case "Modified_By":
		return users[r.modifier].id
	case "Created_Time":
		return s.formatTime(r.created)
	case "Modified_Time":
		return s.formatTime(r.modified)
	case "Full_Name":
		if m.name == "Contacts" {
			return fullName(m, r)
		}
	}
	e, ok := r.vals.entry(k)
	if !ok {
		return ""
	}
	if text, ok := entryText(e); ok {
		return text // as valueString would, without boxing the string in an interface
	}
	return s.valueString(decodeEntry(e))
}

func (s *Server) bulkJobJSON(j *bulkJob) map[string]any {
	out := map[string]any{
		"id": j.id, "operation": "read", "state": j.state, "query": j.query,
		"created_by": minUser(0), "created_time": s.formatTime(j.created), "file_type": "csv",
	}
	if j.state == stateCompleted {
		out["result"] = map[string]any{
			"page": j.page, "count": j.count, "per_page": s.cfg.BulkPageSize, "more_records": j.more,
			"download_url": "/crm/bulk/v8/read/" + j.id + "/result",
		}
	}
	return out
}
