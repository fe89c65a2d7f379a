package crm

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Zoho's list limits (zoho-api.md A4).
const (
	maxFields      = 50
	maxPerPage     = 200
	discreteLimit  = 2000
	maxIDsPerQuery = 100
)

// listQuery is a parsed list request.
type listQuery struct {
	fields  []int
	perPage int
	page    int
	token   *pageToken
	sortBy  int
	desc    bool
	ims     int64
	hasIMS  bool
	ids     []uint64
	hasIDs  bool
	scope   string // binds page tokens to one list (module or related list)
}

// pageToken is the decoded form of an opaque page_token: the position after
// the last record served, how many were served, and the list's parameters.
type pageToken struct {
	scope   string
	sortBy  int
	desc    bool
	primary int64
	seq     uint64
	id      uint64
	served  int
	expires int64
	ims     int64
	hasIMS  bool
}

func (t *pageToken) encode() string {
	raw := strings.Join([]string{"v1", t.scope, strconv.Itoa(t.sortBy), strconv.FormatBool(t.desc),
		strconv.FormatInt(t.primary, 10), strconv.FormatUint(t.seq, 10), strconv.FormatUint(t.id, 10),
		strconv.Itoa(t.served), strconv.FormatInt(t.expires, 10), strconv.FormatInt(t.ims, 10),
		strconv.FormatBool(t.hasIMS)}, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(s string) (*pageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode page token: %w", err)
	}
	p := strings.Split(string(b), "|")
	if len(p) != 11 || p[0] != "v1" {
		return nil, fmt.Errorf("decode page token: bad format")
	}
	t := &pageToken{scope: p[1]}
	var errs [9]error
	t.sortBy, errs[0] = strconv.Atoi(p[2])
	t.desc, errs[1] = strconv.ParseBool(p[3])
	t.primary, errs[2] = strconv.ParseInt(p[4], 10, 64)
	t.seq, errs[3] = strconv.ParseUint(p[5], 10, 64)
	t.id, errs[4] = strconv.ParseUint(p[6], 10, 64)
	t.served, errs[5] = strconv.Atoi(p[7])
	t.expires, errs[6] = strconv.ParseInt(p[8], 10, 64)
	t.ims, errs[7] = strconv.ParseInt(p[9], 10, 64)
	t.hasIMS, errs[8] = strconv.ParseBool(p[10])
	for _, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("decode page token: %w", e)
		}
	}
	if t.sortBy < sortID || t.sortBy > sortModified {
		return nil, fmt.Errorf("decode page token: bad sort")
	}
	return t, nil
}

// parseFieldsParam resolves the comma-separated fields parameter.
func parseFieldsParam(m *module, raw string, required bool) ([]int, *apiError) {
	if strings.TrimSpace(raw) == "" {
		if required {
			return nil, errParamMissing("fields")
		}
		return nil, nil
	}
	names := strings.Split(raw, ",")
	if len(names) > maxFields {
		return nil, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Max field limit exceeded",
			details: map[string]any{"limit": maxFields, "param_name": "fields"}}
	}
	var out []int
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "id" || n == "" {
			continue
		}
		k, _, ok := m.fields.get(n)
		if !ok {
			return nil, errInvalidParam("fields", map[string]any{"api_name": n})
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// parseListQuery reads the list parameters shared by records and related
// lists.
func (s *Server) parseListQuery(r *http.Request, m *module, scope string, requireFields bool) (*listQuery, *apiError) {
	q := r.URL.Query()
	lq := &listQuery{perPage: maxPerPage, page: 1, sortBy: sortID, desc: true, scope: scope}
	var aerr *apiError
	if lq.fields, aerr = parseFieldsParam(m, q.Get("fields"), requireFields); aerr != nil {
		return nil, aerr
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			return nil, errInvalidParam("per_page", map[string]any{"maximum": maxPerPage, "minimum": 1})
		}
		lq.perPage = n
	}
	if v := q.Get("sort_by"); v != "" {
		i := slices.Index(sortNames, v)
		if i < 0 {
			return nil, errInvalidParam("sort_by", map[string]any{"supported_values": sortNames})
		}
		lq.sortBy = i
	}
	switch q.Get("sort_order") {
	case "", "desc":
	case "asc":
		lq.desc = false
	default:
		return nil, errInvalidParam("sort_order", map[string]any{"supported_values": []string{"asc", "desc"}})
	}
	if v := r.Header.Get("If-Modified-Since"); v != "" {
		t, err := parseIMS(v)
		if err != nil {
			return nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": "If-Modified-Since", "json_path": "$.header.If-Modified-Since", "expected_data_type": "datetime"}}
		}
		lq.ims, lq.hasIMS = t.Unix(), true
	}
	if v := q.Get("ids"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > maxIDsPerQuery {
			return nil, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "Record count exceeded",
				details: map[string]any{"limit": maxIDsPerQuery, "param_name": "ids"}}
		}
		for _, p := range parts {
			id, ok := parseID(strings.TrimSpace(p))
			if !ok {
				return nil, errInvalidParam("ids", map[string]any{"id": p})
			}
			lq.ids = append(lq.ids, id)
		}
		lq.hasIDs = true
	}
	tok := q.Get("page_token")
	if tok != "" && q.Get("page") != "" {
		return nil, errInvalidParam("page_token", map[string]any{"reason": "page and page_token cannot be given together"})
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errInvalidParam("page", nil)
		}
		lq.page = n
	}
	if tok != "" {
		t, err := decodePageToken(tok)
		if err != nil || t.scope != scope {
			return nil, errInvalidParam("page_token", nil)
		}
		if s.now().Unix() >= t.expires {
			return nil, &apiError{status: http.StatusBadRequest, code: "EXPIRED_VALUE", message: "Page token expired",
				details: map[string]any{"api_name": "page_token", "json_path": "$.query.page_token"}}
		}
		if t.served >= s.cfg.PageTokenLimit {
			return nil, &apiError{status: http.StatusBadRequest, code: "PAGINATION_LIMIT_EXCEEDED",
				message: "pagination limit exceeded", details: map[string]any{"param_name": "page_token", "limit": s.cfg.PageTokenLimit}}
		}
		lq.token = t
		lq.sortBy, lq.desc, lq.ims, lq.hasIMS = t.sortBy, t.desc, t.ims, t.hasIMS
		lq.page = t.served/lq.perPage + 1
	} else if lq.page*lq.perPage > discreteLimit {
		return nil, &apiError{status: http.StatusBadRequest, code: "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
			message: "only first 2000 records without page_token", details: map[string]any{"limit": discreteLimit}}
	}
	return lq, nil
}

// parseIMS accepts an ISO-8601 datetime (Zoho's format) or an HTTP date.
func parseIMS(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return http.ParseTime(v)
}

// pivot is the key of a token's cursor in its sort order.
func pivot(sortBy int, primary int64, seq, id uint64) treeKey {
	if sortBy == sortID {
		return treeKey{id: id}
	}
	return treeKey{primary, seq, id}
}

func cursorOf(sortBy int, r *rec) (int64, uint64) {
	switch sortBy {
	case sortCreated:
		return r.created, r.cseq
	case sortModified:
		return r.modified, r.seq
	}
	return 0, 0
}

// collect walks a module in the query's order and returns up to limit
// records after skipping skip, plus whether more exist. filter may be nil.
func (s *Server) collect(m *module, q *listQuery, filter func(rec) bool) ([]rec, bool) {
	skip := 0
	if q.token == nil {
		skip = (q.page - 1) * q.perPage
	}
	want := skip + q.perPage + 1
	var out []rec
	visit := func(r rec) bool {
		if q.hasIMS && r.modified <= q.ims {
			// In Modified_Time order the rest is older still.
			return !(q.sortBy == sortModified && q.desc)
		}
		if filter != nil && !filter(r) {
			return true
		}
		out = append(out, r)
		return len(out) < want
	}
	if q.hasIDs {
		var rs []rec
		for _, id := range q.ids {
			if r, ok := m.get(id); ok && !slices.ContainsFunc(rs, func(x rec) bool { return x.id == id }) {
				rs = append(rs, r)
			}
		}
		slices.SortFunc(rs, func(a, b rec) int {
			ka, kb := keyOf(q.sortBy, &a), keyOf(q.sortBy, &b)
			if lessKey(ka, kb) {
				return -1
			}
			if lessKey(kb, ka) {
				return 1
			}
			return 0
		})
		if q.desc {
			slices.Reverse(rs)
		}
		for _, r := range rs {
			if q.token != nil && !afterCursor(q, &r) {
				continue
			}
			if !visit(r) {
				break
			}
		}
	} else {
		t := m.tree(q.sortBy)
		switch {
		case q.token != nil && !q.desc:
			p := pivot(q.sortBy, q.token.primary, q.token.seq, q.token.id)
			t.AscendGreaterOrEqual(p, func(r rec) bool {
				if r.id == q.token.id {
					return true
				}
				return visit(r)
			})
		case q.token != nil:
			p := pivot(q.sortBy, q.token.primary, q.token.seq, q.token.id)
			t.DescendLessOrEqual(p, func(r rec) bool {
				if r.id == q.token.id {
					return true
				}
				return visit(r)
			})
		case q.hasIMS && q.sortBy == sortModified && !q.desc:
			t.AscendGreaterOrEqual(treeKey{t: q.ims + 1}, visit)
		case q.desc:
			t.Descend(visit)
		default:
			t.Ascend(visit)
		}
	}
	if skip >= len(out) {
		return nil, false
	}
	out = out[skip:]
	more := len(out) > q.perPage
	if more {
		out = out[:q.perPage]
	}
	return out, more
}

// afterCursor reports whether r comes after the token's position.
func afterCursor(q *listQuery, r *rec) bool {
	p := pivot(q.sortBy, q.token.primary, q.token.seq, q.token.id)
	if q.desc {
		return lessKey(keyOf(q.sortBy, r), p)
	}
	return lessKey(p, keyOf(q.sortBy, r))
}

// pageInfo builds the info block and the next page token.
func (s *Server) pageInfo(q *listQuery, page []rec, more bool) map[string]any {
	info := map[string]any{
		"call":         false,
		"per_page":     q.perPage,
		"count":        len(page),
		"page":         q.page,
		"sort_by":      sortNames[q.sortBy],
		"sort_order":   map[bool]string{true: "desc", false: "asc"}[q.desc],
		"more_records": more,
		"email":        false,
	}
	served := len(page)
	if q.token != nil {
		served += q.token.served
	} else {
		served += (q.page - 1) * q.perPage
	}
	if more && len(page) > 0 {
		last := page[len(page)-1]
		primary, seq := cursorOf(q.sortBy, &last)
		exp := s.now().Add(s.cfg.PageTokenTTL)
		t := &pageToken{scope: q.scope, sortBy: q.sortBy, desc: q.desc, primary: primary, seq: seq, id: last.id,
			served: served, expires: exp.Unix(), ims: q.ims, hasIMS: q.hasIMS}
		info["next_page_token"] = t.encode()
		info["page_token_expiry"] = s.formatTime(exp.Unix())
	}
	return info
}

// serveList answers GET /crm/v8/{module}.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, mod string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[mod]
	q, aerr := s.parseListQuery(r, m, mod, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if q.hasIMS && m.lastChange <= q.ims && q.token == nil {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	page, more := s.collect(m, q, nil)
	s.writePage(w, m, q, page, more)
}

func (s *Server) writePage(w http.ResponseWriter, m *module, q *listQuery, page []rec, more bool) {
	if len(page) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	data := make([]any, 0, len(page))
	for i := range page {
		data = append(data, s.render(m, &page[i], q.fields, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "info": s.pageInfo(q, page, more)})
}

func errInvalidID(id string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "the id given seems to be invalid",
		details: map[string]any{"id": id, "resource_path_index": 1}}
}

// serveGet answers GET /crm/v8/{module}/{id}.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, mod, rawID string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.modules[mod]
	id, ok := parseID(rawID)
	rec, found := m.get(id)
	if !ok || !found {
		writeError(w, errInvalidID(rawID))
		return
	}
	fields, aerr := parseFieldsParam(m, r.URL.Query().Get("fields"), false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{s.render(m, &rec, fields, fields == nil)}})
}

// serveFields answers GET /crm/v8/settings/fields?module=.
func (s *Server) serveFields(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("module")
	if name == "" {
		writeError(w, errParamMissing("module"))
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[name]
	if !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_MODULE",
			message: "The module name given seems to be invalid", details: map[string]any{"api_name": "module"}})
		return
	}
	typ := r.URL.Query().Get("type")
	out := make([]any, 0, len(m.fields.list))
	for i, f := range m.fields.list {
		if typ == "unused" {
			continue
		}
		out = append(out, fieldJSON(m.name, moduleIDs[m.name], f, m.fields.ids[i], i))
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
}
