package mapping

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// deskCustomWire renders a canonical value for a Desk "cf" field: strings
// for every kind (Desk returns custom values as strings), "a;b" for
// multi-select lists, ".000Z" datetimes.
func deskCustomWire(t Type, val any) any {
	switch v := val.(type) {
	case nil:
		return nil
	case bool:
		return strconv.FormatBool(v)
	case []string:
		return strings.Join(v, ";")
	case string:
		if t.kind() == kindDateTime {
			return deskDateTime(v)
		}
		return v
	}
	return fmt.Sprint(val)
}

// deskStandardWire renders a canonical value for a Desk standard field.
func deskStandardWire(t Type, val any) any {
	switch v := val.(type) {
	case nil:
		return nil
	case bool:
		return v
	case []string:
		return strings.Join(v, ";")
	case string:
		switch t.kind() {
		case kindInteger, kindDecimal:
			return json.Number(v)
		case kindDateTime:
			return deskDateTime(v)
		}
		return v
	}
	return val
}

func deskDateTime(s string) string {
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return ts.UTC().Format("2006-01-02T15:04:05.000Z")
}

// crmWire renders a canonical value for a CRM field.
func crmWire(t Type, val any) any {
	if val == nil {
		return nil
	}
	switch t.kind() {
	case kindInteger, kindDecimal:
		if s, ok := val.(string); ok {
			return json.Number(s)
		}
	case kindDateTime:
		if s, ok := val.(string); ok {
			if ts, err := time.Parse(time.RFC3339, s); err == nil {
				return ts.UTC().Format("2006-01-02T15:04:05-07:00")
			}
		}
	case kindLookup:
		return map[string]any{"id": fmt.Sprint(val)}
	case kindMulti:
		if l, ok := val.([]string); ok {
			return append([]string(nil), l...)
		}
		if s, ok := val.(string); ok {
			return []string{s}
		}
	}
	return val
}
