package desk

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Search limits (zoho-api.md B4): limit 1-100 (default 10), from 0-999
// (0-based).
const (
	defaultSearchLimit = 10
	maxSearchFrom      = 999
)

// searchParams are the text filters each module's search accepts, mapped to
// the field they match ("" = special handling).
var searchParams = map[string]map[string]string{
	ModuleContacts: {"email": "email", "phone": "phone", "mobile": "mobile", "firstName": "firstName",
		"lastName": "lastName", "fullName": "", "accountName": "", "id": "", "_all": ""},
	ModuleAccounts: {"accountName": "accountName", "id": "", "_all": ""},
}

var searchSorts = map[string]map[string]bool{
	ModuleContacts: {"relevance": true, "modifiedTime": true, "createdTime": true},
	ModuleAccounts: {"relevance": true, "modifiedTime": true, "createdTime": true, "accountName": true},
}

// matcher matches one search value against a field value.
type matcher func(string) bool

// valueMatcher builds a matcher for a comma-separated list of alternatives;
// each is ${empty}, ${notempty}, or a case-insensitive pattern where *
// matches any run of characters.
func valueMatcher(spec string) matcher {
	var alts []matcher
	for _, v := range strings.Split(spec, ",") {
		v = strings.TrimSpace(v)
		switch {
		case v == "${empty}":
			alts = append(alts, func(s string) bool { return strings.TrimSpace(s) == "" })
		case v == "${notempty}":
			alts = append(alts, func(s string) bool { return strings.TrimSpace(s) != "" })
		default:
			pat := strings.ToLower(v)
			alts = append(alts, func(s string) bool { return globMatch(pat, strings.ToLower(strings.TrimSpace(s))) })
		}
	}
	return func(s string) bool {
		for _, m := range alts {
			if m(s) {
				return true
			}
		}
		return false
	}
}

// globMatch matches s against pat where * matches any run of characters.
func globMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last) && len(s) >= len(last)
}

// exactValues returns the alternatives of spec when none uses a wildcard or
// a ${...} token, so an index can answer them.
func exactValues(spec string) ([]string, bool) {
	if strings.Contains(spec, "*") || strings.Contains(spec, "${") {
		return nil, false
	}
	var out []string
	for _, v := range strings.Split(spec, ",") {
		out = append(out, strings.TrimSpace(v))
	}
	return out, true
}

// timeRange parses "<from>,<to>" in yyyy-MM-ddTHH:mm:ss.SSSZ.
func timeRange(name, v string) (int64, int64, *apiError) {
	a, b, ok := strings.Cut(v, ",")
	if !ok {
		return 0, 0, errParam(name, name+" must be <from>,<to> in yyyy-MM-ddTHH:mm:ss.SSSZ format")
	}
	from, err1 := parseDeskTime(strings.TrimSpace(a))
	to, err2 := parseDeskTime(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, errParam(name, name+" must be <from>,<to> in yyyy-MM-ddTHH:mm:ss.SSSZ format")
	}
	if to.Before(from) {
		return 0, 0, errParam(name, name+": the end is before the start")
	}
	return from.UnixMilli(), to.UnixMilli(), nil
}

// searchQuery is a parsed search request.
type searchQuery struct {
	conds    []func(ms *moduleStore, r record) bool
	ids      []uint64 // from "id"
	hasIDs   bool
	index    string // field with an exact-value index lookup
	indexed  []string
	modRange *[2]int64
	crtRange *[2]int64
	sortBy   string
	desc     bool
	from     int
	limit    int
	render   renderOpts
}

// usesTimeIndex reports whether the search selects its candidates by a modified or created
// time range (see searchLocked).
func (sq *searchQuery) usesTimeIndex() bool {
	return !sq.hasIDs && sq.index == "" && (sq.modRange != nil || sq.crtRange != nil)
}

// parseSearch validates a search request. Caller holds s.mu (read).
func (s *Server) parseSearch(q url.Values, ms *moduleStore) (*searchQuery, *apiError) {
	sq := &searchQuery{}
	var e *apiError
	if sq.from, e = intParam(q, "from", 0, 0, maxSearchFrom); e != nil {
		return nil, e
	}
	if sq.limit, e = intParam(q, "limit", defaultSearchLimit, 1, maxLimit); e != nil {
		return nil, e
	}
	if sq.sortBy, sq.desc, e = sortParam(q, searchSorts[ms.name], "relevance"); e != nil {
		return nil, e
	}
	if sq.render, e = renderParams(q, ms); e != nil {
		return nil, e
	}
	params := searchParams[ms.name]
	for name, vals := range q {
		if len(vals) == 0 {
			continue
		}
		v := vals[0]
		switch {
		case name == "from" || name == "limit" || name == "sortBy" || name == "fields" || name == "include" || name == "orgId":
			continue
		case name == "modifiedTimeRange" || name == "createdTimeRange":
			a, b, e := timeRange(name, v)
			if e != nil {
				return nil, e
			}
			rg := &[2]int64{a, b}
			if name == "modifiedTimeRange" {
				sq.modRange = rg
				sq.conds = append(sq.conds, func(_ *moduleStore, r record) bool { return r.modified >= a && r.modified <= b })
			} else {
				sq.crtRange = rg
				sq.conds = append(sq.conds, func(_ *moduleStore, r record) bool { return r.created >= a && r.created <= b })
			}
		case strings.HasPrefix(name, "customField"):
			n, err := strconv.Atoi(strings.TrimPrefix(name, "customField"))
			if err != nil || n < 1 || n > 10 {
				return nil, errParam(name, "custom field filters are customField1 to customField10")
			}
			api, val, ok := strings.Cut(v, ":")
			fi, known := ms.sch.byName[api]
			if !ok || !known || !ms.sch.fields[fi].Custom {
				return nil, errParam(name, name+" must be cf_<apiName>:<value> naming a custom field")
			}
			m := valueMatcher(val)
			sq.conds = append(sq.conds, func(ms *moduleStore, r record) bool { return m(ms.str(r, api)) })
			if vals, exact := exactValues(val); exact && sq.index == "" {
				if _, idx := ms.lookup(api, ""); idx {
					sq.index, sq.indexed = api, vals
				}
			}
		default:
			field, ok := params[name]
			if !ok {
				return nil, errParam(name, fmt.Sprintf("%s is not a search parameter of %s", name, ms.name))
			}
			if strings.TrimSpace(v) == "" {
				return nil, errParam(name, name+" must not be empty")
			}
			m := valueMatcher(v)
			switch name {
			case "id":
				for _, p := range strings.Split(v, ",") {
					id, ok := parseID(strings.TrimSpace(p))
					if !ok {
						return nil, errParam("id", "id must be a record id")
					}
					sq.ids = append(sq.ids, id)
				}
				sq.hasIDs = true
			case "_all":
				if len(strings.TrimSpace(v)) < 3 {
					return nil, errParam("_all", "_all needs at least 3 characters")
				}
				needle := strings.ToLower(strings.TrimSpace(v))
				sq.conds = append(sq.conds, func(ms *moduleStore, r record) bool { return matchAll(ms.data(r), needle) })
			case "fullName":
				sq.conds = append(sq.conds, func(ms *moduleStore, r record) bool {
					return m(strings.TrimSpace(ms.str(r, "firstName") + " " + ms.str(r, "lastName")))
				})
			case "accountName":
				if ms.name == ModuleContacts {
					sq.conds = append(sq.conds, func(ms *moduleStore, r record) bool {
						return m(s.accountNameOf(ms, r))
					})
					continue
				}
				fallthrough
			default:
				sq.conds = append(sq.conds, func(ms *moduleStore, r record) bool { return m(ms.str(r, field)) })
				if vals, exact := exactValues(v); exact && sq.index == "" {
					if _, idx := ms.lookup(field, ""); idx {
						sq.index, sq.indexed = field, vals
					}
				}
			}
		}
	}
	return sq, nil
}

// matchAll reports whether any string value of data contains needle.
func matchAll(data blob, needle string) bool {
	found := false
	data.each(func(_ uint16, v value) bool {
		if !v.num && strings.Contains(strings.ToLower(v.s), needle) {
			found = true
			return false
		}
		return true
	})
	return found
}

// accountNameOf returns the name of a contact's account. Caller holds s.mu.
func (s *Server) accountNameOf(contacts *moduleStore, r record) string {
	id, ok := parseID(contacts.str(r, "accountId"))
	if !ok {
		return ""
	}
	accs := s.mods[ModuleAccounts]
	if a, ok := accs.get(id); ok {
		return accs.str(a, "accountName")
	}
	return ""
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, m string) *apiError {
	q := r.URL.Query()
	s.mu.RLock()
	sq, e := s.parseSearch(q, s.mods[m])
	if e != nil {
		s.mu.RUnlock()
		return e
	}
	// The time indexes are brought up to date (an O(n) sort or compaction after writes) only
	// for a search that reads them: lookups by id or by an indexed value do not.
	if sq.usesTimeIndex() && !s.mods[m].indexesClean() {
		s.mu.RUnlock()
		s.mu.Lock()
		s.mods[m].ensureIndexes()
		s.mu.Unlock()
		s.mu.RLock()
	}
	ms := s.mods[m]
	if !ms.indexesClean() {
		// A write slipped in between; indexes are only needed for
		// candidate selection, which falls back to the record map.
		sq.modRange, sq.crtRange = nil, nil
	}
	page, total, ok := windowPage(ms, sq)
	if !ok {
		matched := s.searchLocked(ms, sq)
		total = len(matched)
		if sq.from < total {
			page = matched[sq.from:min(total, sq.from+sq.limit)]
		}
	}
	var body []byte
	buf := getBuf()
	defer putBuf(buf)
	if len(page) > 0 {
		body = s.renderList((*buf)[:0], ms, page, sq.render, func(o *jsonObj) {
			o.key("count")
			o.b = strconv.AppendInt(o.b, int64(total), 10)
		})
		*buf = body
	}
	s.mu.RUnlock()
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeRaw(w, http.StatusOK, body)
	return nil
}

// windowPage answers a search that is only a time window sorted by its own field (the scan
// a sync reads a module with) straight from the clean time index, in O(log n + limit) as
// Desk's own index does: without it every page of a scan would collect and sort the whole
// rest of the module, and reading a million records would take time quadratic in their
// number. ok is false when sq is not such a search. Caller holds s.mu.
func windowPage(ms *moduleStore, sq *searchQuery) (page []record, total int, ok bool) {
	if !sq.usesTimeIndex() || !ms.indexesClean() || len(sq.conds) != 1 {
		return nil, 0, false
	}
	var x *timeIndex
	var rg *[2]int64
	switch {
	case sq.modRange != nil && sq.crtRange == nil && sq.sortBy == "modifiedTime":
		x, rg = &ms.byMod, sq.modRange
	case sq.crtRange != nil && sq.modRange == nil && sq.sortBy == "createdTime":
		x, rg = &ms.byCrt, sq.crtRange
	default:
		return nil, 0, false
	}
	// A clean index holds exactly the live records, in ascending order.
	lo, hi := x.rangeOf(rg[0], rg[1])
	total = hi - lo
	for i := sq.from; i < min(total, sq.from+sq.limit); i++ {
		k := x.keys[lo+i]
		if sq.desc {
			k = x.keys[hi-1-i]
		}
		page = append(page, ms.rec(k.id))
	}
	return page, total, true
}

// searchLocked returns the live records matching sq in result order. Caller
// holds s.mu.
func (s *Server) searchLocked(ms *moduleStore, sq *searchQuery) []record {
	var cands []record
	add := func(id uint64) {
		if r, ok := ms.get(id); ok {
			cands = append(cands, r)
		}
	}
	switch {
	case sq.hasIDs:
		for _, id := range sq.ids {
			add(id)
		}
	case sq.index != "":
		var ids []uint64
		for _, v := range sq.indexed {
			got, _ := ms.lookup(sq.index, v)
			if ids == nil {
				ids = got
			} else {
				ids = append(ids, got...)
			}
		}
		// A record found twice (under two of the values) is one candidate; one id, the
		// common case, needs no map.
		var seen map[uint64]bool
		if len(ids) > 1 {
			seen = make(map[uint64]bool, len(ids))
		}
		for _, id := range ids {
			if seen != nil {
				if seen[id] {
					continue
				}
				seen[id] = true
			}
			add(id)
		}
	case sq.modRange != nil:
		lo, hi := ms.byMod.rangeOf(sq.modRange[0], sq.modRange[1])
		for _, k := range ms.byMod.keys[lo:hi] {
			add(k.id)
		}
	case sq.crtRange != nil:
		lo, hi := ms.byCrt.rangeOf(sq.crtRange[0], sq.crtRange[1])
		for _, k := range ms.byCrt.keys[lo:hi] {
			add(k.id)
		}
	default:
		for _, r := range ms.recs {
			cands = append(cands, r)
		}
	}
	out := cands[:0]
	for _, r := range cands {
		if r.trashed() {
			continue
		}
		ok := true
		for _, c := range sq.conds {
			if !c(ms, r) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	var less func(a, b record) int
	switch sq.sortBy {
	case "createdTime":
		less = func(a, b record) int {
			return cmpKeys(timeKey{a.created, a.cseq, a.id}, timeKey{b.created, b.cseq, b.id})
		}
	case "accountName":
		less = func(a, b record) int {
			if c := cmp.Compare(strings.ToLower(ms.str(a, "accountName")), strings.ToLower(ms.str(b, "accountName"))); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		}
	case "relevance":
		// Relevance has no documented order; the emulator ranks the most
		// recently modified first.
		less = func(a, b record) int {
			return cmpKeys(timeKey{b.modified, b.seq, b.id}, timeKey{a.modified, a.seq, a.id})
		}
	default:
		less = func(a, b record) int {
			return cmpKeys(timeKey{a.modified, a.seq, a.id}, timeKey{b.modified, b.seq, b.id})
		}
	}
	if sq.desc {
		slices.SortFunc(out, func(a, b record) int { return less(b, a) })
	} else {
		slices.SortFunc(out, less)
	}
	return out
}

func cmpKeys(a, b timeKey) int {
	if a.less(b) {
		return -1
	}
	if b.less(a) {
		return 1
	}
	return 0
}
