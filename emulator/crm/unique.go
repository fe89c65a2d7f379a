package crm

import (
	"fmt"
	"slices"
)

// SetUnique marks a field of a module unique (or not), as an admin does in
// Zoho's field settings ("Do not allow duplicate values"): from then on an
// insert, update or upsert that gives the field a value another live record
// holds (case-insensitive) fails with the per-record DUPLICATE_DATA error,
// and the field metadata reports unique {"casesensitive":"false"}. Records
// that already share a value are left as they are. Also available as
// Config.UniqueFields and POST /_emulator/unique
// {"module":"Contacts","field":"Email","unique":true}.
func (s *Server) SetUnique(module, field string, unique bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[module]
	if !ok {
		return fmt.Errorf("set unique: unknown module %q", module)
	}
	return setUniqueLocked(m, field, unique)
}

// setUniqueLocked is SetUnique with Server.mu held.
func setUniqueLocked(m *module, field string, unique bool) error {
	module := m.name
	_, f, ok := m.fields.get(field)
	if !ok || isSystemManaged(field) {
		return fmt.Errorf("set unique: %s has no field %q that can be unique", module, field)
	}
	switch f.DataType {
	case "text", "email", "phone", "website", "integer", "bigint", "double", "currency", "decimal", "percent":
	default:
		return fmt.Errorf("set unique: %s.%s is a %s field; Zoho allows unique only on text, email, phone, URL and number fields", module, field, f.DataType)
	}
	f.Unique = unique
	m.reindexFields()
	return nil
}

// checkUnique finds a value of a unique field that the write sets and another live record
// already holds, and answers the per-record DUPLICATE_DATA error of Zoho's
// insert/update/upsert APIs (record.json API_Exception; zoho-api.md A5; the
// v8 createRecords "duplicate data" example): details name the field
// (api_name, json_path), the existing record (id, and duplicate_record with
// its id, Owner {name, id, zuid} and module {api_name, id}) and more_records,
// true when more than one other record holds the value. The existing record
// named is the oldest (lowest id) of them.
//
// Only the values the write sets are checked, as Zoho checks them: old is the stored version
// of the record written (nil for an insert), and a unique field nr holds with the value old
// held (compared case-insensitively, as the check compares) is not checked again. Two records
// that shared a value before the field became unique, or that were loaded with it, can then
// still be edited, while giving either of them another record's value is refused. Records for
// which skip reports true (a merge's children, deleted by the same call) are not counted as
// holders; skip may be nil.
func (s *Server) checkUnique(m *module, nr, old *rec, path string, skip func(uint64) bool) *fieldError {
	for k, f := range m.fields.list {
		if !f.Unique {
			continue
		}
		v, ok := nr.get(k)
		if !ok {
			continue
		}
		key, _ := indexKey(s.valueString(v))
		if old != nil {
			if ov, had := old.get(k); had {
				if okey, _ := indexKey(s.valueString(ov)); okey == key {
					continue // not set by this write
				}
			}
		}
		ids, _ := m.lookupIDs(k, s.valueString(v))
		others := slices.DeleteFunc(slices.Clone(ids), func(id uint64) bool {
			return id == nr.id || !m.has(id) || skip != nil && skip(id)
		})
		if len(others) == 0 {
			continue
		}
		return duplicateData(m, f, path, others)
	}
	return nil
}

// duplicateData is the per-record DUPLICATE_DATA error for field f, whose value the live
// records others hold.
func duplicateData(m *module, f *Field, path string, others []uint64) *fieldError {
	id := slices.Min(others)
	dup, _ := m.get(id)
	owner := users[int(dup.owner)%len(users)]
	return &fieldError{code: "DUPLICATE_DATA", message: "duplicate data", details: map[string]any{
		"api_name":  f.APIName,
		"json_path": path + "." + f.APIName,
		"id":        formatID(id),
		"duplicate_record": map[string]any{
			"id":     formatID(id),
			"Owner":  map[string]any{"name": owner.name, "id": owner.id, "zuid": owner.id},
			"module": map[string]any{"api_name": m.name, "id": moduleIDs[m.name]},
		},
		"more_records": len(others) > 1,
	}}
}
