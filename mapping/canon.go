package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// ValueEqual compares two canonical values ("" and nil are equal, []any and
// []string with the same strings are equal).
func ValueEqual(x, y any) bool {
	x, y = canon(x), canon(y)
	switch xv := x.(type) {
	case nil:
		return y == nil
	case []string:
		yv, ok := y.([]string)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if xv[i] != yv[i] {
				return false
			}
		}
		return true
	}
	return x == y
}

// canon brings an already canonical or JSON-decoded value into canonical
// form without type information: json.Number and Go numbers → canonical
// decimal strings, lists → sorted []string, "" → nil.
func canon(x any) any {
	switch v := x.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
		return v
	case bool:
		return v
	case json.Number:
		if s, err := CanonicalDecimal(v.String()); err == nil {
			return s
		}
		return v.String()
	case float64:
		if s, err := CanonicalDecimal(strconv.FormatFloat(v, 'g', -1, 64)); err == nil {
			return s
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case []string:
		return normList(v)
	case []any:
		list := make([]string, 0, len(v))
		for _, e := range v {
			if s := canon(e); s != nil {
				list = append(list, fmt.Sprint(s))
			}
		}
		return normList(list)
	}
	return x
}

// normList trims, drops empties, sorts and de-duplicates; nil when empty.
func normList(in []string) any {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = cleanString(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.Strings(out)
	j := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[j-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}

// NonePicklistValue is the placeholder CRM picklists list first and return
// for "no value"; it reads as nil.
const NonePicklistValue = "-None-"

// dropNone removes NonePicklistValue from a canonical list.
func dropNone(list any) any {
	l, ok := list.([]string)
	if !ok {
		return list
	}
	out := l[:0:0]
	for _, s := range l {
		if s != NonePicklistValue {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// cleanString trims a string and replaces invalid UTF-8 the way JSON
// encoding does, so a value reads back the same after a trip through JSON.
//
// Text is also brought to Unicode NFC, so that a value one side stores with combining
// characters (e + ◌́) and the other precomposed (é) is one value, never a change.
func cleanString(s string) string {
	return strings.TrimSpace(norm.NFC.String(strings.ToValidUTF8(s, "\uFFFD")))
}

func anyList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return nil
}
