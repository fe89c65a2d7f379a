package crm

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Search limits (module_search.json; zoho-api.md A6).
const (
	maxCriteria   = 15
	maxInValues   = 100
	searchCeiling = 2000
)

// candidates narrows a search with a value index when the criteria (or
// one branch of an "and") is an equals on an indexed field.
func (s *Server) candidates(m *module, c *criteria) ([]uint64, bool) {
	conds := []*criteria{c}
	if c.op == "and" {
		conds = c.children
	}
	for _, cc := range conds {
		if ids, ok := indexedIDs(m, cc); ok {
			return ids, true
		}
	}
	return nil, false
}

// indexedIDs returns the ids an index names for a condition on an indexed text field
// (equals, or in: the union of its values), or an or-group of such conditions; ok is false
// when the condition cannot be answered from indexes (the caller scans).
func indexedIDs(m *module, c *criteria) ([]uint64, bool) {
	switch {
	case c.op == "or":
		var ids []uint64
		for _, ch := range c.children {
			more, ok := indexedIDs(m, ch)
			if !ok {
				return nil, false
			}
			ids = append(ids, more...)
		}
		slices.Sort(ids)
		return slices.Compact(ids), true
	case c.op == "" && (c.operator == "equals" || c.operator == "in") && c.k >= 0 && fieldKind(c.f) == "text":
		var ids []uint64
		for _, v := range c.values {
			more, ok := m.lookupIDs(c.k, v)
			if !ok {
				return nil, false
			}
			ids = append(ids, more...)
		}
		if len(c.values) > 1 {
			slices.Sort(ids)
			ids = slices.Compact(ids)
		}
		return ids, true
	}
	return nil, false
}

// searchFilter builds the predicate of a search request from criteria,
// email, phone or word (in that priority).
func (s *Server) searchFilter(r *http.Request, m *module, required bool) (func(rec) bool, []uint64, bool, *apiError) {
	q := r.URL.Query()
	switch {
	case q.Get("criteria") != "":
		c, aerr := parseCriteria(m, q.Get("criteria"))
		if aerr != nil {
			return nil, nil, false, aerr
		}
		ids, narrowed := s.candidates(m, c)
		return func(x rec) bool { return s.match(c, &x) }, ids, narrowed, nil
	case q.Get("email") != "":
		email := strings.ToLower(strings.TrimSpace(q.Get("email")))
		var ids []uint64
		var ks []int
		for k, f := range m.fields.list {
			if f.DataType == "email" {
				ks = append(ks, k)
				more, _ := m.lookupIDs(k, email)
				ids = append(ids, more...)
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		return func(x rec) bool {
			for _, k := range ks {
				if v, ok := x.get(k); ok && strings.EqualFold(v.(string), email) {
					return true
				}
			}
			return false
		}, ids, true, nil
	case q.Get("phone") != "":
		phone := q.Get("phone")
		if len(phone) < 3 {
			return nil, nil, false, queryError(map[string]any{"api_name": "phone", "reason": "at least 3 characters are needed"})
		}
		return s.textFilter(m, phone, func(f *Field) bool { return f.DataType == "phone" }), nil, false, nil
	case q.Get("word") != "":
		word := q.Get("word")
		if len([]rune(word)) < 2 {
			return nil, nil, false, queryError(map[string]any{"api_name": "word", "reason": "at least 2 characters are needed"})
		}
		return s.textFilter(m, word, func(f *Field) bool {
			switch f.DataType {
			case "text", "textarea", "email", "phone", "website", "picklist":
				return true
			}
			return false
		}), nil, false, nil
	}
	if required {
		return nil, nil, false, &apiError{status: http.StatusBadRequest, code: "EXPECTED_PARAM_MISSING",
			message: "One of the expected parameter is missing",
			details: map[string]any{"param_names": []string{"criteria", "email", "phone", "word"}}}
	}
	return nil, nil, false, nil
}

func (s *Server) textFilter(m *module, needle string, use func(*Field) bool) func(rec) bool {
	needle = strings.ToLower(needle)
	var ks []int
	for k, f := range m.fields.list {
		if use(f) {
			ks = append(ks, k)
		}
	}
	return func(x rec) bool {
		if m.name == "Contacts" && strings.Contains(strings.ToLower(fullName(m, &x)), needle) {
			return true
		}
		for _, k := range ks {
			if v, ok := x.get(k); ok && strings.Contains(strings.ToLower(s.valueString(v)), needle) {
				return true
			}
		}
		return false
	}
}

// serveSearch answers GET /crm/v8/{module}/search.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, mod string) {
	q := r.URL.Query()
	perPage, page := maxPerPage, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_REQUEST", message: "invalid per_page",
				details: map[string]any{"param_name": "per_page", "maximum": maxPerPage}})
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_REQUEST", message: "invalid page",
				details: map[string]any{"param_name": "page"}})
			return
		}
		page = n
	}
	if page*perPage > searchCeiling {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "LIMIT_REACHED",
			message: "maximum response iteration limit reached", details: map[string]any{"limit": "2000"}})
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[mod]
	fields, aerr := parseFieldsParam(m, q.Get("fields"), false)
	if aerr != nil {
		aerr.code, aerr.message = "INVALID_QUERY", "Invalid query formed"
		aerr.details = map[string]any{"api_name": aerr.details["api_name"], "reason": "the given field is not available in the module"}
		writeError(w, aerr)
		return
	}
	filter, ids, narrowed, aerr := s.searchFilter(r, m, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if indexed := s.searchable(); indexed != nil {
		match := filter
		filter = func(x rec) bool { return indexed(x) && match(x) }
	}
	skip := (page - 1) * perPage
	var hits []rec
	want := skip + perPage + 1
	if narrowed {
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		for i := len(sorted) - 1; i >= 0 && len(hits) < want; i-- {
			if rc, ok := m.get(sorted[i]); ok && filter(rc) {
				hits = append(hits, rc)
			}
		}
	} else {
		m.byID.Descend(func(rc rec) bool {
			if filter(rc) {
				hits = append(hits, rc)
			}
			return len(hits) < want
		})
	}
	if skip >= len(hits) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	hits = hits[skip:]
	more := len(hits) > perPage
	if more {
		hits = hits[:perPage]
	}
	data := make([]any, 0, len(hits))
	for i := range hits {
		data = append(data, s.render(m, &hits[i], fields, fields == nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "info": map[string]any{
		"per_page": perPage, "count": len(data), "page": page, "more_records": more,
		"sort_by": "id", "sort_order": "desc"}})
}

// serveCount answers GET /crm/v8/{module}/actions/count.
func (s *Server) serveCount(w http.ResponseWriter, r *http.Request, mod string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[mod]
	filter, ids, narrowed, aerr := s.searchFilter(r, m, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	n := 0
	switch {
	case filter == nil:
		n = m.count()
	case narrowed:
		for _, id := range ids {
			if rc, ok := m.get(id); ok && filter(rc) {
				n++
			}
		}
	default:
		for id, st := range m.slab.All {
			if filter(m.view(id, st)) {
				n++
			}
		}
	}
	// The spec types count as a string.
	writeJSON(w, http.StatusOK, map[string]any{"count": strconv.Itoa(n)})
}
