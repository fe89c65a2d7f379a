package crm

import (
	"encoding/json"
	"fmt"
	"time"
)

// Record is one CRM record: the system fields typed, everything else in Fields.
// Values in Fields are as decoded with json.Number: numbers stay json.Number
// (ids are strings on the wire anyway and are never floats), lookups stay
// map[string]any{"id": ..., "name": ...}, multi-selects []any.
type Record struct {
	ID           string
	CreatedTime  time.Time
	ModifiedTime time.Time
	// Fields holds every other key of the record, including Created_By,
	// Modified_By, Owner and the "$" meta keys. It never holds "id",
	// "Created_Time" or "Modified_Time" (see the typed fields).
	Fields map[string]any
}

// Lookup returns the id and name of a lookup field (e.g. Account_Name on a
// contact); ok is false when the field is empty or not a lookup.
func (r Record) Lookup(field string) (id, name string, ok bool) {
	m, isMap := r.Fields[field].(map[string]any)
	if !isMap {
		return "", "", false
	}
	id, _ = m["id"].(string)
	if n, isNum := m["id"].(json.Number); isNum {
		id = n.String()
	}
	name, _ = m["name"].(string)
	return id, name, id != ""
}

// String returns a text field's value ("" when absent or not a string).
func (r Record) String(field string) string {
	s, _ := r.Fields[field].(string)
	return s
}

// MarshalJSON writes the record as CRM expects it in a write: the fields plus
// "id" when ID is set. The system time fields are read-only and not sent.
func (r Record) MarshalJSON() ([]byte, error) {
	if r.ID == "" {
		if r.Fields == nil {
			return []byte("{}"), nil
		}
		return json.Marshal(r.Fields)
	}
	m := make(map[string]any, len(r.Fields)+1)
	for k, v := range r.Fields {
		m[k] = v
	}
	m["id"] = r.ID
	return json.Marshal(m)
}

// fromMap converts a decoded record, taking ownership of m.
func fromMap(m map[string]any) (Record, error) {
	var r Record
	switch id := m["id"].(type) {
	case string:
		r.ID = id
	case json.Number:
		r.ID = id.String()
	}
	delete(m, "id")
	var err error
	if r.CreatedTime, err = takeTime(m, "Created_Time"); err != nil {
		return r, err
	}
	if r.ModifiedTime, err = takeTime(m, "Modified_Time"); err != nil {
		return r, err
	}
	r.Fields = m
	return r, nil
}

func takeTime(m map[string]any, key string) (time.Time, error) {
	v, ok := m[key]
	if !ok {
		return time.Time{}, nil
	}
	delete(m, key)
	s, _ := v.(string)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("record field %s: %w", key, err)
	}
	return t, nil
}

// ParseTime reads a CRM datetime (ISO-8601 with offset, e.g.
// 2023-10-15T10:30:00+05:30; fractional seconds tolerated).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse CRM time %q: %w", s, err)
	}
	return t, nil
}

// FormatTime writes t the way CRM expects datetimes and the If-Modified-Since
// header: seconds precision with a numeric offset.
func FormatTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05-07:00")
}
