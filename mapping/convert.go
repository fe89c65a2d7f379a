package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// convError is a value that does not fit its field's type. Its message names the kinds and,
// for text, the value's length, never the value itself: failure messages reach logs and
// workflow history.
type convError struct {
	given  string // noun of the given value: "text", "decimal", ...
	length int    // characters of a text value, 0 otherwise
	want   Type
}

func (e *convError) Error() string {
	return fmt.Sprintf("%s value%s given for %s %s field", capitalised(e.given), e.lengthNote(), e.want.article(), e.want)
}

func (e *convError) lengthNote() string {
	if e.length == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d characters)", e.length)
}

// capitalised returns s with its first letter in upper case, as the seed words it ("Text
// value given for an integer field").
func capitalised(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func valueProblem(module Module, f FieldMap, side Side, name string, err error) Problem {
	msg := err.Error()
	if ce, ok := err.(*convError); ok {
		msg = fmt.Sprintf("%s value%s given for %s %s field %s %s: correct the value in %s (the record syncs again once it changes) or the mapping",
			capitalised(ce.given), ce.lengthNote(), ce.want.article(), ce.want, side.Label(), f.FieldName(side), side.Label())
	}
	_ = name
	return Problem{Code: CodeTypeMismatch, Module: module, Desk: f.Desk, CRM: f.CRM, Message: msg, To: side.Other()}
}

// describe names the kind of a raw JSON value, and the length of a text value.
func describe(raw any) (noun string, length int) {
	switch v := raw.(type) {
	case string:
		t := strings.TrimSpace(v)
		n := utf8.RuneCountInString(v)
		if d, err := CanonicalDecimal(t); err == nil {
			if strings.Contains(d, ".") {
				return "decimal", 0
			}
			return "integer", 0
		}
		if strings.EqualFold(t, "true") || strings.EqualFold(t, "false") {
			return "boolean", 0
		}
		if _, err := time.Parse(time.DateOnly, t); err == nil {
			return "date", 0
		}
		if _, err := time.Parse(time.RFC3339, t); err == nil {
			return "date-time", 0
		}
		return "text", n
	case json.Number, float64, int, int64:
		return "number", 0
	case bool:
		return "boolean", 0
	case []any, []string:
		return "list", 0
	case map[string]any:
		return "object", 0
	}
	return fmt.Sprintf("%T", raw), 0
}

func mismatch(raw any, want Type) error {
	n, length := describe(raw)
	return &convError{given: n, length: length, want: want}
}

// toCanonical converts one raw JSON value read from either side into the
// canonical form of type t.
func toCanonical(t Type, raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	if t == "" {
		t = TypeText
	}
	switch t.kind() {
	case kindText, kindPicklist:
		switch v := raw.(type) {
		case string:
			s := cleanString(v)
			if s == "" || (t.kind() == kindPicklist && s == NonePicklistValue) {
				return nil, nil
			}
			return s, nil
		case json.Number, float64, int, int64:
			return canon(v), nil
		case bool:
			return strconv.FormatBool(v), nil
		case []any, []string:
			if t.kind() == kindPicklist {
				return nil, mismatch(raw, t)
			}
			l := canon(v)
			if l == nil {
				return nil, nil
			}
			return strings.Join(l.([]string), "; "), nil
		case map[string]any:
			// A lookup object read into text (e.g. CRM formula or owner
			// name) keeps its display name.
			if name, ok := v["name"].(string); ok {
				return toCanonical(t, name)
			}
		}
		return nil, mismatch(raw, t)
	case kindMulti:
		switch v := raw.(type) {
		case string:
			return dropNone(normList(strings.Split(cleanString(v), ";"))), nil
		case []string, []any:
			for _, e := range anyList(v) {
				if _, ok := e.(string); !ok && e != nil {
					return nil, mismatch(raw, t)
				}
			}
			return dropNone(canon(v)), nil
		}
		return nil, mismatch(raw, t)
	case kindInteger, kindDecimal:
		var txt string
		switch v := raw.(type) {
		case string:
			txt = v
			if strings.TrimSpace(v) == "" {
				return nil, nil
			}
		case json.Number:
			txt = v.String()
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, mismatch(raw, t)
			}
			txt = strconv.FormatFloat(v, 'g', -1, 64)
		case int:
			txt = strconv.Itoa(v)
		case int64:
			txt = strconv.FormatInt(v, 10)
		default:
			return nil, mismatch(raw, t)
		}
		d, err := CanonicalDecimal(txt)
		if err != nil {
			return nil, mismatch(raw, t)
		}
		if t.kind() == kindInteger && strings.Contains(d, ".") {
			return nil, mismatch(raw, t)
		}
		return d, nil
	case kindBoolean:
		switch v := raw.(type) {
		case bool:
			return v, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			case "":
				return nil, nil
			}
		}
		return nil, mismatch(raw, t)
	case kindDate:
		if s, ok := raw.(string); ok {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, nil
			}
			if d, err := time.Parse(time.DateOnly, s); err == nil {
				return d.Format(time.DateOnly), nil
			}
		}
		return nil, mismatch(raw, t)
	case kindDateTime:
		switch v := raw.(type) {
		case string:
			s := strings.TrimSpace(v)
			if s == "" {
				return nil, nil
			}
			if ts, err := time.Parse(time.RFC3339, s); err == nil {
				return ts.UTC().Truncate(time.Second).Format(time.RFC3339), nil
			}
		case json.Number:
			// Some Desk responses carry epoch milliseconds.
			if ms, err := v.Int64(); err == nil {
				return time.UnixMilli(ms).UTC().Truncate(time.Second).Format(time.RFC3339), nil
			}
		}
		return nil, mismatch(raw, t)
	case kindLookup:
		switch v := raw.(type) {
		case string:
			s := cleanString(v)
			if s == "" {
				return nil, nil
			}
			return s, nil
		case json.Number:
			return v.String(), nil
		case map[string]any:
			if id, ok := v["id"]; ok {
				return toCanonical(t, id)
			}
		}
		return nil, mismatch(raw, t)
	}
	return nil, mismatch(raw, t)
}
