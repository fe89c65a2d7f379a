package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"deskcrm/emulator/realism"
)

// Load stores records directly, for seeding and tests: no credits, limits,
// validation of mandatory fields or notifications. A record keeps its "id",
// "Created_Time" and "Modified_Time" when given (ids otherwise assigned).
// Lookups may be {"id": ".."} or an id string. It returns the record ids in
// input order.
func (s *Server) Load(module string, recs []map[string]any) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[module]
	if !ok {
		return nil, fmt.Errorf("load: unknown module %q", module)
	}
	now := s.now().Unix()
	ids := make([]string, 0, len(recs))
	for i, in := range recs {
		r, err := s.loadRecord(m, in, now)
		if err != nil {
			return ids, fmt.Errorf("load %s record %d: %w", module, i, err)
		}
		if old, exists := m.get(r.id); exists {
			m.replace(&old, &r)
		} else {
			m.insert(&r)
		}
		delete(m.deleted, r.id)
		ids = append(ids, formatID(r.id))
	}
	return ids, nil
}

// loadRecord converts one record given to Load, its values put into m's arena. Callers hold
// s.mu for writing.
func (s *Server) loadRecord(m *module, in map[string]any, now int64) (rec, error) {
	r := rec{storedRec: storedRec{created: now, modified: now}}
	if raw, ok := in["id"]; ok && raw != nil {
		id, ok := parseID(fmt.Sprint(raw))
		if !ok {
			return rec{}, fmt.Errorf("id %v is not 1-19 digits", raw)
		}
		r.id = id
		s.lastID = max(s.lastID, id)
	} else {
		s.lastID++
		r.id = s.lastID
	}
	var err error
	if r.created, err = loadTime(in["Created_Time"], now); err != nil {
		return rec{}, fmt.Errorf("Created_Time: %w", err)
	}
	if r.modified, err = loadTime(in["Modified_Time"], r.created); err != nil {
		return rec{}, fmt.Errorf("Modified_Time: %w", err)
	}
	s.seq++
	r.cseq, r.seq = s.seq, s.seq
	// keys and sets reuse the module's buffers, grown to their most entries first.
	m.keys, m.sets = slices.Grow(m.keys[:0], len(in)), slices.Grow(m.sets[:0], len(in))
	keys := m.keys
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	se, _ := in["$se_module"].(string)
	sets := m.sets
	for _, key := range keys {
		if key == "id" || key == "Created_Time" || key == "Modified_Time" || strings.HasPrefix(key, "$") ||
			key == "Created_By" || key == "Modified_By" || key == "Full_Name" || key == "Tag" {
			continue
		}
		k, f, ok := m.fields.get(key)
		if !ok {
			return rec{}, fmt.Errorf("unknown field %q", key)
		}
		v, ferr := convert(f, normalizeNumbers(in[key]), jsonPath{key: key}, s.resolveLoadLookup, se)
		if ferr != nil {
			return rec{}, fmt.Errorf("field %s: %s %v", key, ferr.message, ferr.details)
		}
		if key == "Owner" {
			if v != nil {
				r.owner = v.(uint16)
			}
			continue
		}
		sets = append(sets, fieldValue{k, v})
	}
	m.setVals(&r, sets)
	return r, nil
}

// resolveLoadLookup accepts lookups to records not loaded yet when the
// target module is known, so related modules can be loaded in any order.
func (s *Server) resolveLoadLookup(f *Field, id uint64, seModule string) (uint8, bool) {
	if mod, ok := s.resolveLookup(f, id, seModule); ok {
		return mod, true
	}
	target := f.LookupModule
	if target == "" {
		target = seModule
	}
	if tm, ok := s.modules[target]; ok {
		return tm.idx, true
	}
	return 0, false
}

func loadTime(raw any, def int64) (int64, error) {
	switch v := raw.(type) {
	case nil:
		return def, nil
	case string:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return 0, fmt.Errorf("parse %q: %w", v, err)
		}
		return t.Unix(), nil
	case time.Time:
		return v.Unix(), nil
	}
	return 0, fmt.Errorf("want an RFC 3339 string, got %T", raw)
}

// normalizeNumbers turns Go numbers into json.Number so Load accepts the
// same values as the API.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case float64:
		return json.Number(fmt.Sprint(x))
	case float32:
		return json.Number(fmt.Sprint(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, vv := range x {
			out[k] = normalizeNumbers(vv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = normalizeNumbers(vv)
		}
		return out
	}
	return v
}

// Record returns one live record with every field, as GET by id renders it.
func (s *Server) Record(module, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[module]
	if !ok {
		return nil, false
	}
	n, ok := parseID(id)
	r, found := m.get(n)
	if !ok || !found {
		return nil, false
	}
	return s.render(m, &r, nil, true), true
}

// Records returns every live (not deleted) record of a module, by id.
func (s *Server) Records(module string) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[module]
	if !ok {
		return nil
	}
	out := make([]map[string]any, 0, m.count())
	m.byID.Ascend(func(r rec) bool {
		out = append(out, s.render(m, &r, nil, true))
		return true
	})
	return out
}

// Count returns the number of live records of a module.
func (s *Server) Count(module string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m, ok := s.modules[module]; ok {
		return m.count()
	}
	return 0
}

// Deleted returns the ids in a module's recycle bin.
func (s *Server) Deleted(module string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.modules[module]
	if !ok {
		return nil
	}
	var out []string
	for _, d := range m.deletedList {
		if !d.permanent {
			out = append(out, formatID(d.id))
		}
	}
	return out
}

// serveAdmin serves /_emulator/load, /_emulator/reset, /_emulator/fields,
// /_emulator/unique and /_emulator/search-lag and hands the rest to the
// realism engine.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/_emulator/load" && r.Method == http.MethodPost:
		var in struct {
			Module  string           `json:"module"`
			Records []map[string]any `json:"records"`
		}
		if err := decodeStrict(r, &in); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		ids, err := s.Load(in.Module, in.Records)
		if err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		realism.WriteJSON(w, http.StatusOK, map[string]any{"ids": ids})
	case path == "/_emulator/unique" && r.Method == http.MethodPost:
		var in struct {
			Module string `json:"module"`
			Field  string `json:"field"`
			Unique bool   `json:"unique"`
		}
		if err := decodeStrict(r, &in); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetUnique(in.Module, in.Field, in.Unique); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		realism.WriteJSON(w, http.StatusOK, in)
	case path == "/_emulator/search-lag":
		s.serveSearchLag(w, r)
	case path == "/_emulator/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case path == "/_emulator/fields" && r.Method == http.MethodPost:
		var in struct {
			Module string `json:"module"`
			Field  struct {
				APIName   string   `json:"api_name"`
				Label     string   `json:"field_label"`
				DataType  string   `json:"data_type"`
				Length    int      `json:"length"`
				Mandatory bool     `json:"system_mandatory"`
				Unique    bool     `json:"unique"`
				PickList  []string `json:"pick_list_values"`
				Lookup    string   `json:"lookup_module"`
			} `json:"field"`
		}
		if err := decodeStrict(r, &in); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		f := in.Field
		err := s.AddField(in.Module, Field{APIName: f.APIName, Label: f.Label, DataType: f.DataType, Length: f.Length,
			Mandatory: f.Mandatory, Unique: f.Unique, PickList: f.PickList, LookupModule: f.Lookup})
		if err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		realism.WriteJSON(w, http.StatusCreated, map[string]string{"api_name": f.APIName})
	default:
		s.engine.AdminHandler(s.auth).ServeHTTP(w, r)
	}
}

func decodeStrict(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil {
		return fmt.Errorf("read admin body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode admin body: %w", err)
	}
	return nil
}
