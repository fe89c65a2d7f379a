package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"deskcrm/emulator/realism"
)

// Load stores records of a module ("contacts" or "accounts") directly, as a
// seed or test fixture: no auth, credits, limits or webhooks. Records use
// the API's JSON shape (standard fields at the top, custom fields in "cf")
// and are validated like a create; "id", "createdTime" and "modifiedTime"
// are kept when given (ids as numeric strings, times as Desk timestamps or
// time.Time). Records are stored in order; on the first invalid one Load
// returns the ids stored so far and an error naming its index.
func (s *Server) Load(module string, recs []map[string]any) ([]string, error) {
	ids := make([]string, 0, len(recs))
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.mods[module]
	if ms == nil {
		return nil, fmt.Errorf("load: unknown module %q", module)
	}
	var ld loadBuf
	for i, rec := range recs {
		id, created, modified, err := systemFields(rec)
		if err != nil {
			return ids, fmt.Errorf("load %s record %d: %w", module, i, err)
		}
		top, cf, err := ld.members(rec)
		if err != nil {
			return ids, fmt.Errorf("load %s record %d: %w", module, i, err)
		}
		in, e := validateWrite(ms.sch, top, cf, true, true, ld.set)
		if e != nil {
			return ids, fmt.Errorf("load %s record %d: %s", module, i, describe(e))
		}
		ld.set = in.set
		r, e := s.insertLocked(ms, in, id, created, modified)
		if e != nil {
			return ids, fmt.Errorf("load %s record %d: %s", module, i, describe(e))
		}
		ids = append(ids, idString(r.id))
	}
	return ids, nil
}

// loadBuf turns loaded records into the JSON members the validator reads, without a round
// trip through encoding/json for common types and without maps per record (in bench-scale
// at 100k, those maps were 0.18 GB of the emulators' 4.34 GB of allocations). Its buffers
// are reused from record to record.
type loadBuf struct {
	text    []byte // the keys and JSON values of the record, which the members point into
	top, cf []member
	set     []entry // room for the record's values
}

// members returns the members of a loaded record other than id, createdTime and
// modifiedTime, with those of its "cf" object apart; they are good until the next call.
func (ld *loadBuf) members(rec map[string]any) (top, cf []member, err error) {
	ld.text, ld.top, ld.cf = ld.text[:0], ld.top[:0], ld.cf[:0]
	for k, v := range rec {
		switch k {
		case "id", "createdTime", "modifiedTime":
			continue
		case "cf":
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return nil, nil, fmt.Errorf("cf must be an object, got %T", v)
			}
			for ck, cv := range m {
				mb, err := ld.member(ck, cv)
				if err != nil {
					return nil, nil, fmt.Errorf("cf.%s: %w", ck, err)
				}
				ld.cf = append(ld.cf, mb)
			}
			continue
		}
		mb, err := ld.member(k, v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", k, err)
		}
		ld.top = append(ld.top, mb)
	}
	return ld.top, ld.cf, nil
}

// member appends key and the JSON of v to ld.text and returns the member they make. Slices
// taken earlier stay good when ld.text grows: they keep the old array, which is not written
// again.
func (ld *loadBuf) member(key string, v any) (member, error) {
	start := len(ld.text)
	ld.text = append(ld.text, key...)
	mid := len(ld.text)
	var err error
	if ld.text, err = appendRawOf(ld.text, v); err != nil {
		return member{}, err
	}
	return member{key: ld.text[start:mid:mid], raw: ld.text[mid:len(ld.text):len(ld.text)]}, nil
}

// appendRawOf appends one Go value encoded as JSON to b.
func appendRawOf(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		j, err := json.Marshal(x)
		return append(b, j...), err
	case json.Number:
		return append(b, x.String()...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encode value: %w", err)
	}
	return append(b, j...), nil
}

// describe turns an API error into one line for Go callers.
func describe(e *apiError) string {
	msg := e.ErrorCode + ": " + e.Message
	for _, fe := range e.Errors {
		msg += fmt.Sprintf("; %s %s (%s)", fe.FieldName, fe.ErrorType, fe.ErrorMessage)
	}
	return msg
}

// systemFields reads id, createdTime and modifiedTime of a loaded record (zero when absent).
func systemFields(rec map[string]any) (id uint64, created, modified int64, err error) {
	for k, v := range rec {
		switch k {
		case "id":
			s := fmt.Sprint(v)
			var ok bool
			if id, ok = parseID(s); !ok {
				return 0, 0, 0, fmt.Errorf("id %q is not a numeric id", s)
			}
		case "createdTime", "modifiedTime":
			var t time.Time
			switch x := v.(type) {
			case time.Time:
				t = x
			case string:
				if t, err = parseDeskTime(x); err != nil {
					return 0, 0, 0, fmt.Errorf("%s: %w", k, err)
				}
			default:
				return 0, 0, 0, fmt.Errorf("%s must be a timestamp string or time.Time", k)
			}
			if k == "createdTime" {
				created = t.UnixMilli()
			} else {
				modified = t.UnixMilli()
			}
		}
	}
	return id, created, modified, nil
}

// Record returns a record as the API renders it (JSON numbers as
// json.Number), trashed records included; ok is false when the id is
// unknown.
func (s *Server) Record(module, id string) (map[string]any, bool) {
	n, ok := parseID(id)
	if !ok {
		return nil, false
	}
	s.mu.RLock()
	ms := s.mods[module]
	var b []byte
	if ms != nil {
		if r, ok := ms.get(n); ok {
			b = s.render(nil, ms, r, renderOpts{})
		}
	}
	s.mu.RUnlock()
	if b == nil {
		return nil, false
	}
	return decodeObject(b), true
}

// Records returns the live (non-trashed) records of a module in creation
// order, rendered as the API renders them.
func (s *Server) Records(module string) []map[string]any {
	return s.renderIndexed(module, func(ms *moduleStore) []timeKey { return ms.byCrt.keys })
}

// ModifiedSince returns the live records of a module whose modifiedTime is at or after
// since, in modifiedTime order, rendered as the API renders them. It is answered from the
// modified-time index in O(log n + k), so that an observer polling a large module for
// changes (the benchmarks) does not hold the store for a render of every record.
func (s *Server) ModifiedSince(module string, since time.Time) []map[string]any {
	return s.renderIndexed(module, func(ms *moduleStore) []timeKey {
		lo, hi := ms.byMod.rangeOf(since.UnixMilli(), math.MaxInt64)
		return ms.byMod.keys[lo:hi]
	})
}

// renderIndexed renders the records of a module that keys picks from its clean time indexes,
// in the order picked; the store is held only for the render, not for the decoding.
func (s *Server) renderIndexed(module string, keys func(*moduleStore) []timeKey) []map[string]any {
	s.mu.Lock()
	ms := s.mods[module]
	if ms == nil {
		s.mu.Unlock()
		return nil
	}
	ms.ensureIndexes()
	picked := keys(ms)
	// One buffer holds every render; ends[i] is where the i-th ends.
	var buf []byte
	ends := make([]int, len(picked))
	for i, k := range picked {
		buf = s.render(buf, ms, ms.rec(k.id), renderOpts{})
		ends[i] = len(buf)
	}
	s.mu.Unlock()
	out := make([]map[string]any, len(picked))
	start := 0
	for i, end := range ends {
		out[i] = decodeObject(buf[start:end])
		start = end
	}
	return out
}

// Count returns the number of live records of a module.
func (s *Server) Count(module string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ms := s.mods[module]; ms != nil {
		return ms.live
	}
	return 0
}

// TrashedCount returns the number of records of a module in the recycle bin.
func (s *Server) TrashedCount(module string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ms := s.mods[module]
	if ms == nil {
		return 0
	}
	return ms.count() - ms.live
}

func decodeObject(b []byte) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&m) // rendered by us; always valid
	return m
}

// LoadRequest is the body of POST /_emulator/load.
type LoadRequest struct {
	Module  string           `json:"module"`
	Records []map[string]any `json:"records"`
}

// LoadTicketsRequest is the body of POST /_emulator/tickets.
type LoadTicketsRequest struct {
	Tickets []Ticket `json:"tickets"`
}

// serveAdmin serves the Desk-specific admin endpoints:
//
//	POST /_emulator/load     {"module":"contacts","records":[...]} -> 200 {"ids":[...]}
//	POST /_emulator/reset    -> 204
//	POST /_emulator/tickets  {"tickets":[{subject,status,priority,contactId,accountId}]} -> 200 {"ids":[...]}
//	GET  /_emulator/webhooks -> delivery counters per webhook
//	POST /_emulator/fields   {"module":"contacts","field":{"apiName":"cf_x","displayLabel":"X","type":"Picklist",
//	                          "allowedValues":[...],"maxLength":..,"decimalPlaces":..,"isMandatory":..}} -> 201
//	                         (a custom field, as an admin adds one in Desk's setup; organizationFields lists it)
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_emulator/fields" && r.Method == http.MethodPost:
		var req struct {
			Module string `json:"module"`
			Field  Field  `json:"field"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		f := req.Field
		f.Custom, f.ID, f.ReadOnly = true, "", false
		if !strings.HasPrefix(f.APIName, "cf_") {
			realism.AdminError(w, http.StatusBadRequest, fmt.Errorf("add field: a custom field's apiName starts with cf_ (got %q)", f.APIName))
			return
		}
		if err := s.AddField(req.Module, f); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		realism.WriteJSON(w, http.StatusCreated, map[string]string{"apiName": f.APIName})
	case r.URL.Path == "/_emulator/load" && r.Method == http.MethodPost:
		var req LoadRequest
		if err := decodeAdmin(r, &req); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		ids, err := s.Load(req.Module, req.Records)
		if err != nil {
			realism.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "ids": ids})
			return
		}
		realism.WriteJSON(w, http.StatusOK, map[string]any{"ids": ids})
	case r.URL.Path == "/_emulator/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_emulator/tickets" && r.Method == http.MethodPost:
		var req LoadTicketsRequest
		if err := decodeAdmin(r, &req); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		ids, err := s.LoadTickets(req.Tickets)
		if err != nil {
			realism.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "ids": ids})
			return
		}
		realism.WriteJSON(w, http.StatusOK, map[string]any{"ids": ids})
	case r.URL.Path == "/_emulator/webhooks" && r.Method == http.MethodGet:
		realism.WriteJSON(w, http.StatusOK, map[string]any{"webhooks": s.hooks.stats()})
	default:
		realism.AdminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 256<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode admin request: %w", err)
	}
	return nil
}
