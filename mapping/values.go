package mapping

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Values holds one record's mapped field values in canonical form, keyed by
// FieldMap.Key(). See the package documentation for each type's form. An
// absent key means "not known"; a nil value means "empty".
type Values map[string]any

// UnmarshalJSON decodes Values stored as JSON (for example a link's base in
// Postgres) back into canonical form: numbers become canonical decimal
// strings and arrays become []string.
func (v *Values) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("decode values: %w", err)
	}
	if raw == nil {
		*v = nil
		return nil
	}
	out := make(Values, len(raw))
	for k, x := range raw {
		out[k] = canon(x)
	}
	*v = out
	return nil
}

// Clone returns a copy of v (nil for nil).
func (v Values) Clone() Values {
	if v == nil {
		return nil
	}
	out := make(Values, len(v))
	for k, x := range v {
		if l, ok := x.([]string); ok {
			x = append([]string(nil), l...)
		}
		out[k] = x
	}
	return out
}

// Refs translates account references between the sides. The canonical form
// of an account reference is the CRM account id; activities implement Refs
// over the accounts' links (MapRefs is a ready in-memory implementation).
type Refs interface {
	// DeskAccountToCRM returns the CRM account linked to a Desk account.
	DeskAccountToCRM(deskID string) (crmID string, ok bool)
	// CRMAccountToDesk returns the Desk account linked to a CRM account.
	CRMAccountToDesk(crmID string) (deskID string, ok bool)
}

// MapRefs is an in-memory Refs built from account links.
type MapRefs struct {
	toCRM  map[string]string
	toDesk map[string]string
}

// NewMapRefs builds a MapRefs from a map of Desk account id → CRM account id.
func NewMapRefs(deskToCRM map[string]string) *MapRefs {
	r := &MapRefs{toCRM: map[string]string{}, toDesk: map[string]string{}}
	for d, c := range deskToCRM {
		r.Add(d, c)
	}
	return r
}

// Add records that a Desk account and a CRM account are linked.
func (r *MapRefs) Add(deskID, crmID string) {
	r.toCRM[deskID] = crmID
	r.toDesk[crmID] = deskID
}

// DeskAccountToCRM implements Refs.
func (r *MapRefs) DeskAccountToCRM(deskID string) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := r.toCRM[deskID]
	return id, ok
}

// CRMAccountToDesk implements Refs.
func (r *MapRefs) CRMAccountToDesk(crmID string) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := r.toDesk[crmID]
	return id, ok
}

// FromDesk converts a Desk record into canonical Values. fields holds the
// standard fields and cf the custom ones (when cf is nil, fields["cf"] is
// used). Only mapped fields present in the record are converted, whatever
// their direction; a value that does not fit its field's type is left out
// and reported as TYPE_MISMATCH, and an account reference with no linked
// CRM account is left out and reported as UNRESOLVED_REFERENCE.
func FromDesk(m Mapping, fields, cf map[string]any, refs Refs) (Values, []Problem) {
	if cf == nil {
		cf, _ = fields["cf"].(map[string]any)
	}
	out := Values{}
	var probs []Problem
	for _, f := range m.Fields {
		src := fields
		if f.isCustomDesk() {
			src = cf
		}
		raw, ok := src[f.Desk]
		if !ok {
			continue
		}
		val, err := toCanonical(f.Type, raw)
		if err != nil {
			probs = append(probs, valueProblem(m.Module, f, Desk, f.Desk, err))
			continue
		}
		if f.Type == TypeLookup && val != nil {
			crmID, ok := lookupRef(refs, Desk, val.(string))
			if !ok {
				probs = append(probs, Problem{Code: CodeUnresolvedReference, Module: m.Module, Desk: f.Desk, CRM: f.CRM,
					Message: fmt.Sprintf("Desk account %s is not linked to a CRM account yet", val)})
				continue
			}
			val = crmID
		}
		out[f.Key()] = val
	}
	return out, probs
}

// FromCRM converts a CRM record (API name → JSON value) into canonical
// Values, like FromDesk. Lookups are already CRM ids, so refs is not
// consulted and may be nil.
func FromCRM(m Mapping, record map[string]any, refs Refs) (Values, []Problem) {
	_ = refs
	out := Values{}
	var probs []Problem
	for _, f := range m.Fields {
		raw, ok := record[f.CRM]
		if !ok {
			continue
		}
		val, err := toCanonical(f.Type, raw)
		if err != nil {
			probs = append(probs, valueProblem(m.Module, f, CRM, f.CRM, err))
			continue
		}
		out[f.Key()] = val
	}
	return out, probs
}

func lookupRef(refs Refs, from Side, id string) (string, bool) {
	if refs == nil {
		return "", false
	}
	if from == Desk {
		return refs.DeskAccountToCRM(id)
	}
	return refs.CRMAccountToDesk(id)
}

// ToDesk converts the values in v that flow into Desk (per each field's
// Direction) into a Desk write: standard fields and custom ("cf_") fields.
// Keys absent from v are not written; nil values are written as null to
// clear the field. Custom field values are written as strings, the way Desk
// returns them; account references are translated through refs and left out
// when the CRM account has no Desk counterpart (see Carry).
func ToDesk(m Mapping, v Values, refs Refs) (fields, cf map[string]any) {
	fields, cf = map[string]any{}, map[string]any{}
	for _, f := range m.Fields {
		if !f.ToDesk() {
			continue
		}
		val, ok := v[f.Key()]
		if !ok {
			continue
		}
		val = canon(val)
		if f.Type == TypeLookup && val != nil {
			id, ok := lookupRef(refs, CRM, fmt.Sprint(val))
			if !ok {
				continue
			}
			val = id
		}
		if f.isCustomDesk() {
			cf[f.Desk] = deskCustomWire(f.Type, val)
		} else {
			fields[f.Desk] = deskStandardWire(f.Type, val)
		}
	}
	return fields, cf
}

// ToCRM converts the values in v that flow into CRM into a CRM record body
// (API name → JSON value). Keys absent from v are not written; nil values
// clear the field. Numbers are json.Number, booleans bool, multi-select
// picklists []string, datetimes "2006-01-02T15:04:05+00:00", account
// references {"id": "<CRM id>"}.
func ToCRM(m Mapping, v Values, refs Refs) map[string]any {
	_ = refs
	out := map[string]any{}
	for _, f := range m.Fields {
		if !f.ToCRM() {
			continue
		}
		val, ok := v[f.Key()]
		if !ok {
			continue
		}
		out[f.CRM] = crmWire(f.Type, canon(val))
	}
	return out
}

// FlowingTo returns the subset of v whose fields flow into side s.
func FlowingTo(m Mapping, v Values, s Side) Values {
	out := Values{}
	for _, f := range m.Fields {
		if !f.FlowsTo(s) {
			continue
		}
		if val, ok := v[f.Key()]; ok {
			out[f.Key()] = val
		}
	}
	return out
}

// Hash returns a stable, order-independent SHA-256 (hex) of v. Nil values
// hash like absent keys, and values are canonicalised first, so Values that
// are Equal over all their keys have the same hash.
func Hash(v Values) string {
	keys := make([]string, 0, len(v))
	for k, x := range v {
		if canon(x) != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(canon(v[k]))
		h.Write(kb)
		h.Write([]byte{':'})
		h.Write(vb)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Equal reports whether a and b hold the same canonical value for every key
// in keys (every key of either when keys is nil). An absent key equals nil.
func Equal(a, b Values, keys []string) bool {
	if keys == nil {
		for k := range a {
			if !ValueEqual(a[k], b[k]) {
				return false
			}
		}
		for k := range b {
			if !ValueEqual(a[k], b[k]) {
				return false
			}
		}
		return true
	}
	for _, k := range keys {
		if !ValueEqual(a[k], b[k]) {
			return false
		}
	}
	return true
}

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

// convError is a value that does not fit its field's type.
type convError struct {
	given string // noun of the given value: "text", "decimal", ...
	shown string // the value, quoted and shortened ("" for objects)
	want  Type
}

func (e *convError) Error() string {
	if e.shown == "" {
		return fmt.Sprintf("%s value given for %s %s field", e.given, e.want.article(), e.want)
	}
	return fmt.Sprintf("%s value %s given for %s %s field", e.given, e.shown, e.want.article(), e.want)
}

func valueProblem(module Module, f FieldMap, side Side, name string, err error) Problem {
	msg := err.Error()
	if ce, ok := err.(*convError); ok {
		if ce.shown == "" {
			msg = fmt.Sprintf("%s value given for %s field %s %s", ce.given, ce.want, side.Label(), name)
		} else {
			msg = fmt.Sprintf("%s value %s given for %s field %s %s", ce.given, ce.shown, ce.want, side.Label(), name)
		}
	}
	return Problem{Code: CodeTypeMismatch, Module: module, Desk: f.Desk, CRM: f.CRM, Message: msg}
}

// describe names the kind of a raw JSON value and shows it shortened.
func describe(raw any) (noun, shown string) {
	const max = 40
	show := func(s string) string {
		if utf8.RuneCountInString(s) > max {
			r := []rune(s)
			s = string(r[:max]) + "…"
		}
		return strconv.Quote(s)
	}
	switch v := raw.(type) {
	case string:
		t := strings.TrimSpace(v)
		if d, err := CanonicalDecimal(t); err == nil {
			if strings.Contains(d, ".") {
				return "decimal", show(v)
			}
			return "integer", show(v)
		}
		if strings.EqualFold(t, "true") || strings.EqualFold(t, "false") {
			return "boolean", show(v)
		}
		if _, err := time.Parse(time.DateOnly, t); err == nil {
			return "date", show(v)
		}
		if _, err := time.Parse(time.RFC3339, t); err == nil {
			return "date-time", show(v)
		}
		return "text", show(v)
	case json.Number:
		return "number", show(v.String())
	case float64, int, int64:
		return "number", show(fmt.Sprint(v))
	case bool:
		return "boolean", strconv.FormatBool(v)
	case []any, []string:
		return "list", ""
	case map[string]any:
		return "object", ""
	}
	return fmt.Sprintf("%T", raw), ""
}

func mismatch(raw any, want Type) error {
	n, s := describe(raw)
	return &convError{given: n, shown: s, want: want}
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
func cleanString(s string) string {
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
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
