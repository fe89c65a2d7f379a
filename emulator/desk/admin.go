package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
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
	for i, rec := range recs {
		id, created, modified, rest, err := splitSystem(rec)
		if err != nil {
			return ids, fmt.Errorf("load %s record %d: %w", module, i, err)
		}
		top, cf, err := rawFields(rest)
		if err != nil {
			return ids, fmt.Errorf("load %s record %d: %w", module, i, err)
		}
		in, e := validateWrite(ms.sch, top, cf, true)
		if e != nil {
			return ids, fmt.Errorf("load %s record %d: %s", module, i, describe(e))
		}
		r, e := s.insertLocked(ms, in, id, created, modified)
		if e != nil {
			return ids, fmt.Errorf("load %s record %d: %s", module, i, describe(e))
		}
		ids = append(ids, idString(r.id))
	}
	return ids, nil
}

// rawFields turns a loaded record into the JSON members the validator
// reads, without a round trip through encoding/json for common types.
func rawFields(rec map[string]any) (top, cf map[string]json.RawMessage, err error) {
	top = make(map[string]json.RawMessage, len(rec))
	for k, v := range rec {
		if k == "cf" {
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return nil, nil, fmt.Errorf("cf must be an object, got %T", v)
			}
			cf = make(map[string]json.RawMessage, len(m))
			for ck, cv := range m {
				if cf[ck], err = rawOf(cv); err != nil {
					return nil, nil, fmt.Errorf("cf.%s: %w", ck, err)
				}
			}
			continue
		}
		if top[k], err = rawOf(v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if cf == nil {
		cf = map[string]json.RawMessage{}
	}
	return top, cf, nil
}

// rawOf encodes one Go value as JSON.
func rawOf(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case string:
		return appendJSONString(nil, x), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	case int:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case float64:
		return json.Marshal(x)
	case json.Number:
		return json.RawMessage(x.String()), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return b, nil
}

// describe turns an API error into one line for Go callers.
func describe(e *apiError) string {
	msg := e.ErrorCode + ": " + e.Message
	for _, fe := range e.Errors {
		msg += fmt.Sprintf("; %s %s (%s)", fe.FieldName, fe.ErrorType, fe.ErrorMessage)
	}
	return msg
}

// splitSystem takes id, createdTime and modifiedTime out of a loaded record.
func splitSystem(rec map[string]any) (id uint64, created, modified int64, rest map[string]any, err error) {
	rest = make(map[string]any, len(rec))
	for k, v := range rec {
		switch k {
		case "id":
			s := fmt.Sprint(v)
			var ok bool
			if id, ok = parseID(s); !ok {
				return 0, 0, 0, nil, fmt.Errorf("id %q is not a numeric id", s)
			}
		case "createdTime", "modifiedTime":
			var t time.Time
			switch x := v.(type) {
			case time.Time:
				t = x
			case string:
				if t, err = parseDeskTime(x); err != nil {
					return 0, 0, 0, nil, fmt.Errorf("%s: %w", k, err)
				}
			default:
				return 0, 0, 0, nil, fmt.Errorf("%s must be a timestamp string or time.Time", k)
			}
			if k == "createdTime" {
				created = t.UnixMilli()
			} else {
				modified = t.UnixMilli()
			}
		default:
			rest[k] = v
		}
	}
	return id, created, modified, rest, nil
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
		if r := ms.recs[n]; r != nil {
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
	bs := make([][]byte, 0, len(picked))
	for _, k := range picked {
		bs = append(bs, s.render(nil, ms, ms.recs[k.id], renderOpts{}))
	}
	s.mu.Unlock()
	out := make([]map[string]any, len(bs))
	for i, b := range bs {
		out[i] = decodeObject(b)
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
	return len(ms.recs) - ms.live
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
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
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
