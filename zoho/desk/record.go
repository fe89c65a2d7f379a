package desk

import (
	"encoding/json"
	"fmt"
	"time"
)

// Record is one Desk contact or account: typed system fields, the standard
// fields in Fields and the custom fields ("cf_..." keys) in CF. Values are
// decoded with json.Number, so numbers never turn into floats.
type Record struct {
	ID           string
	CreatedTime  time.Time
	ModifiedTime time.Time
	// Fields holds every other key except "id", "createdTime", "modifiedTime"
	// and "cf".
	Fields map[string]any
	// CF holds the custom fields by API name (cf_crm_id, ...).
	CF map[string]any
}

// String returns a standard text field ("" when absent or not a string).
func (r Record) String(field string) string {
	s, _ := r.Fields[field].(string)
	return s
}

// CFString returns a custom text field ("" when absent or not a string).
func (r Record) CFString(apiName string) string {
	s, _ := r.CF[apiName].(string)
	return s
}

// body is the write form: Fields plus "cf" when CF is non-empty.
func (r Record) body() map[string]any {
	m := make(map[string]any, len(r.Fields)+1)
	for k, v := range r.Fields {
		m[k] = v
	}
	if len(r.CF) > 0 {
		m["cf"] = r.CF
	}
	return m
}

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
	if r.CreatedTime, err = takeTime(m, "createdTime"); err != nil {
		return r, err
	}
	if r.ModifiedTime, err = takeTime(m, "modifiedTime"); err != nil {
		return r, err
	}
	if cf, ok := m["cf"].(map[string]any); ok {
		r.CF = cf
	}
	delete(m, "cf")
	r.Fields = m
	return r, nil
}

func takeTime(m map[string]any, key string) (time.Time, error) {
	v, ok := m[key]
	if !ok {
		return time.Time{}, nil
	}
	delete(m, key)
	switch x := v.(type) {
	case string:
		if x == "" {
			return time.Time{}, nil
		}
		t, err := ParseTime(x)
		if err != nil {
			return time.Time{}, fmt.Errorf("record field %s: %w", key, err)
		}
		return t, nil
	case json.Number:
		// Some OAS examples show epoch milliseconds.
		ms, err := x.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("record field %s: %w", key, err)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, nil
}

// TimeLayout is Desk's timestamp format (UTC, milliseconds).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ParseTime reads a Desk timestamp.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse Desk time %q: %w", s, err)
	}
	return t, nil
}

// FormatTime writes t in Desk's format (UTC, milliseconds), as the
// createdTimeRange and modifiedTimeRange search parameters expect.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
