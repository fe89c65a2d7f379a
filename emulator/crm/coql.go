package crm

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
)

// The Query API (COQL): POST /crm/v8/coql {"select_query": "select Last_Name, Email from
// Contacts where Email = 'a@b.com' order by id limit 0, 200"} (Zoho CRM v8 "Get Records
// through a COQL Query", "Query API - An Overview" and "Limitations"; crm-oas v8.0/coql.json;
// the official Node SDK's CoqlOperations.getRecords). The emulator serves a subset: one
// module, no joins, aggregates, GROUP BY or functions. See parseCOQL for the grammar.
//
// The answer is {"data":[...],"info":{"count":n,"more_records":bool}}, each record its id and
// the selected fields (lookups and users as {"id"}, as Zoho's COQL answers them; datetimes
// in the org's time zone), or 204 when nothing matches. Without ORDER BY the records come by
// id ascending. Text comparisons ignore case; a criterion on a field a record has no value in
// is false but for IS NULL (and NOT IN / NOT LIKE / != are false there too, as in SQL).
// Records written through the API are found at once: the search index lag does not apply.
//
// Credits (Overview, "API Credits based on the value of LIMIT"): LIMIT 1-200 costs 1,
// 201-1000 costs 2, 1001-2000 costs 3. COQL counts as a complex call for the sub-concurrency
// limit (zoho-api.md A10).

// coqlRequest is the body of POST /crm/v8/coql.
type coqlRequest struct {
	SelectQuery *string `json:"select_query"`
}

// coqlCost prices a COQL call by the LIMIT its query asks for; a body that does not parse
// costs 1.
func coqlCost(r *http.Request) int {
	b, ok := peekBody(r)
	var req coqlRequest
	if !ok || json.Unmarshal(b, &req) != nil || req.SelectQuery == nil {
		return 1
	}
	cq, aerr := parseCOQL(*req.SelectQuery)
	switch {
	case aerr != nil || cq.limit <= 200:
		return 1
	case cq.limit <= 1000:
		return 2
	}
	return 3
}

// serveCOQL answers POST /crm/v8/coql.
func (s *Server) serveCOQL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, errMethod)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		writeError(w, errParamMissing("select_query"))
		return
	}
	var req coqlRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, errBody)
		return
	}
	if req.SelectQuery == nil || strings.TrimSpace(*req.SelectQuery) == "" {
		writeError(w, errParamMissing("select_query"))
		return
	}
	cq, aerr := parseCOQL(*req.SelectQuery)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[cq.module.name]
	if !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: "invalid query formed",
			details: map[string]any{"module": cq.module.name, "reason": "the module name given seems to be invalid", "clause": "from"}})
		return
	}
	rq, aerr := resolveCOQL(m, cq)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	page, more := s.runCOQL(m, cq, rq)
	if len(page) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	data := make([]any, len(page))
	for i := range page {
		data[i] = s.renderCOQL(m, &page[i], rq.columns)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "info": map[string]any{"count": len(data), "more_records": more}})
}

// coqlColumn is a resolved column: its field index (-1 for id) and definition.
type coqlColumn struct {
	k int
	f *Field
}

// resolvedCOQL is a query's names resolved against its module.
type resolvedCOQL struct {
	columns []coqlColumn
	order   []coqlColumn
}

var idField = &Field{APIName: "id", DataType: "lookup"}

// resolveColumn finds a column of m: a field API name (any case, as fieldSet.get) or id.
func resolveColumn(m *module, n coqlName, clause string) (coqlColumn, *apiError) {
	if strings.EqualFold(n.name, "id") {
		return coqlColumn{k: -1, f: idField}, nil
	}
	k, f, ok := m.fields.get(n.name)
	if !ok {
		return coqlColumn{}, &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: "column given seems to be invalid",
			details: map[string]any{"column_name": n.name, "clause": clause}}
	}
	return coqlColumn{k: k, f: f}, nil
}

// coqlOps lists the COQL operators each kind of field takes (fieldKind): text (and
// picklists, emails, phones) compares for equality, patterns and lists; numbers, dates and
// datetimes also order; booleans only compare for equality.
var coqlOps = map[string][]string{
	"text":    {"equals", "differs", "like", "not_like", "in", "not_in", "is_null", "is_not_null"},
	"number":  {"equals", "differs", "greater_than", "greater_equal", "less_than", "less_equal", "between", "in", "not_in", "is_null", "is_not_null"},
	"boolean": {"equals", "differs"},
	"lookup":  {"equals", "differs", "in", "not_in", "is_null", "is_not_null"},
}

// coqlOperatorNames are the operators as a query writes them, for errors.
var coqlOperatorNames = map[string]string{"equals": "=", "differs": "!=", "greater_than": ">", "greater_equal": ">=",
	"less_than": "<", "less_equal": "<=", "like": "like", "not_like": "not like", "in": "in", "not_in": "not in",
	"between": "between", "is_null": "is null", "is_not_null": "is not null"}

// resolveCOQL checks a parsed query against module m: every column exists, every criterion's
// operator suits its field and its values parse for the field's type (criteria.go's
// parseCritValue, as search criteria), and ORDER BY names no field twice.
func resolveCOQL(m *module, cq *coqlQuery) (*resolvedCOQL, *apiError) {
	rq := &resolvedCOQL{}
	for _, n := range cq.columns {
		c, aerr := resolveColumn(m, n, "select")
		if aerr != nil {
			return nil, aerr
		}
		if !slices.ContainsFunc(rq.columns, func(x coqlColumn) bool { return x.f == c.f }) {
			rq.columns = append(rq.columns, c)
		}
	}
	for _, o := range cq.order {
		c, aerr := resolveColumn(m, o.col, "order by")
		if aerr != nil {
			return nil, aerr
		}
		if slices.ContainsFunc(rq.order, func(x coqlColumn) bool { return x.f == c.f }) {
			return nil, &apiError{status: http.StatusBadRequest, code: "DUPLICATE_DATA", message: "duplicate data",
				details: map[string]any{"column_name": c.f.APIName, "clause": "order by"}}
		}
		rq.order = append(rq.order, c)
	}
	if cq.where != nil {
		if aerr := resolveCOQLCriteria(m, cq.where); aerr != nil {
			return nil, aerr
		}
	}
	return rq, nil
}

func resolveCOQLCriteria(m *module, c *criteria) *apiError {
	if c.op != "" {
		for _, ch := range c.children {
			if aerr := resolveCOQLCriteria(m, ch); aerr != nil {
				return aerr
			}
		}
		return nil
	}
	col, aerr := resolveColumn(m, coqlName{name: c.field}, "where")
	if aerr != nil {
		return aerr
	}
	c.k, c.f, c.field = col.k, col.f, col.f.APIName
	if !slices.Contains(coqlOps[fieldKind(c.f)], c.operator) {
		return &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: "invalid query formed",
			details: map[string]any{"column_name": c.field, "operator": coqlOperatorNames[c.operator], "data_type": c.f.DataType,
				"reason": "the operator is not supported for the column's data type"}}
	}
	if c.operator == "like" || c.operator == "not_like" {
		c.want = []critValue{{str: strings.ToLower(c.values[0])}}
		return nil
	}
	c.want = make([]critValue, len(c.values))
	for i, v := range c.values {
		w, ok := parseCritValue(c.f, v)
		if !ok {
			return &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: "value given seems to be invalid for the column",
				details: map[string]any{"column_name": c.field, "expected_data_type": c.f.DataType}}
		}
		c.want[i] = w
	}
	return nil
}

// matchCOQL evaluates resolved COQL criteria on a record: the operators search criteria share
// through Server.match, and COQL's own here.
func (s *Server) matchCOQL(c *criteria, r *rec) bool {
	if c.op != "" {
		for _, ch := range c.children {
			m := s.matchCOQL(ch, r)
			if c.op == "and" && !m {
				return false
			}
			if c.op == "or" && m {
				return true
			}
		}
		return c.op == "and"
	}
	switch c.operator {
	case "is_null", "is_not_null", "differs", "not_in", "like", "not_like":
	default:
		return s.match(c, r)
	}
	got, has := s.recordValue(c, r)
	numeric := fieldKind(c.f) == "number"
	eq := func(w critValue) bool {
		if numeric {
			return got.num == w.num
		}
		return got.str == w.str
	}
	switch c.operator {
	case "is_null":
		return !has
	case "is_not_null":
		return has
	case "differs":
		return has && !eq(c.want[0])
	case "not_in":
		return has && !slices.ContainsFunc(c.want, eq)
	case "like":
		return has && likeMatch(got.str, c.want[0].str)
	case "not_like":
		return has && !likeMatch(got.str, c.want[0].str)
	}
	return false
}

// likeMatch matches text against a LIKE pattern whose % stands for any run of characters
// (both lower-cased: COQL's like is starts with 'x%', ends with '%x' or contains '%x%').
func likeMatch(text, pattern string) bool {
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return text == pattern
	}
	if !strings.HasPrefix(text, parts[0]) {
		return false
	}
	text = text[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(text, p)
		if i < 0 {
			return false
		}
		text = text[i+len(p):]
	}
	return strings.HasSuffix(text, last)
}

// runCOQL returns the page of matching records the query asks for, and whether more match.
// A query ordered by id (or by nothing), Created_Time or Modified_Time alone walks that
// order's tree and stops after the page; others collect every match (narrowed by a value
// index when the criteria allow, as search does) and sort them.
func (s *Server) runCOQL(m *module, cq *coqlQuery, rq *resolvedCOQL) ([]rec, bool) {
	keep := func(x *rec) bool { return cq.where == nil || s.matchCOQL(cq.where, x) }
	want := cq.offset + cq.limit + 1
	var hits []rec
	if sortBy, desc, ok := treeOrder(cq.order, rq.order); ok {
		visit := func(x rec) bool {
			if keep(&x) {
				hits = append(hits, x)
			}
			return len(hits) < want
		}
		var ids []uint64
		narrowed := false
		if cq.where != nil && sortBy == sortID {
			ids, narrowed = s.candidates(m, cq.where)
		}
		switch {
		case narrowed:
			slices.Sort(ids)
			if desc {
				slices.Reverse(ids)
			}
			for _, id := range ids {
				if x, ok := m.get(id); ok && !visit(x) {
					break
				}
			}
		case desc:
			m.tree(sortBy).Descend(visit)
		default:
			m.tree(sortBy).Ascend(visit)
		}
	} else {
		collect := func(x rec) {
			if keep(&x) {
				hits = append(hits, x)
			}
		}
		if ids, narrowed := s.candidatesOf(m, cq.where); narrowed {
			for _, id := range ids {
				if x, ok := m.get(id); ok {
					collect(x)
				}
			}
		} else {
			m.byID.Ascend(func(x rec) bool { collect(x); return true })
		}
		s.sortCOQL(m, hits, cq.order, rq.order)
	}
	if cq.offset >= len(hits) {
		return nil, false
	}
	hits = hits[cq.offset:]
	more := len(hits) > cq.limit
	return hits[:min(len(hits), cq.limit)], more
}

// candidatesOf is candidates for optional criteria.
func (s *Server) candidatesOf(m *module, c *criteria) ([]uint64, bool) {
	if c == nil {
		return nil, false
	}
	return s.candidates(m, c)
}

// treeOrder reports whether an ORDER BY is one of a module's tree orders: none or id,
// Created_Time or Modified_Time alone (ties in time then go by write sequence and id).
func treeOrder(order []coqlOrder, cols []coqlColumn) (sortBy int, desc bool, ok bool) {
	if len(cols) == 0 {
		return sortID, false, true
	}
	if len(cols) > 1 {
		return 0, false, false
	}
	switch cols[0].f.APIName {
	case "id":
		sortBy = sortID
	case "Created_Time":
		sortBy = sortCreated
	case "Modified_Time":
		sortBy = sortModified
	default:
		return 0, false, false
	}
	return sortBy, order[0].desc, true
}

// sortCOQL sorts records by the ORDER BY columns (values as criteria compare them; a record
// without a value comes first ascending, last descending), then by id ascending.
func (s *Server) sortCOQL(m *module, recs []rec, order []coqlOrder, cols []coqlColumn) {
	conds := make([]*criteria, len(cols))
	for i, c := range cols {
		conds[i] = &criteria{k: c.k, f: c.f, field: c.f.APIName}
	}
	slices.SortStableFunc(recs, func(a, b rec) int {
		for i, c := range conds {
			va, ha := s.recordValue(c, &a)
			vb, hb := s.recordValue(c, &b)
			var d int
			switch {
			case !ha || !hb:
				d = cmp.Compare(btoi(ha), btoi(hb))
			case fieldKind(c.f) == "number":
				d = cmp.Compare(va.num, vb.num)
			default:
				d = cmp.Compare(va.str, vb.str)
			}
			if order[i].desc {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return cmp.Compare(a.id, b.id)
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// renderCOQL is one record of a COQL answer: its id and the selected columns (null when
// unset); lookups and users are {"id"} only.
func (s *Server) renderCOQL(m *module, r *rec, cols []coqlColumn) map[string]any {
	out := map[string]any{"id": formatID(r.id)}
	var want []int
	for _, c := range cols {
		if c.k >= 0 {
			want = append(want, c.k)
		}
	}
	for k, v := range s.render(m, r, want, false) {
		if ref, ok := v.(map[string]any); ok && ref["id"] != nil {
			v = map[string]any{"id": ref["id"]}
		}
		out[k] = v
	}
	delete(out, "$se_module")
	return out
}
