package crm

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// user is a CRM user the emulator knows.
type user struct {
	name, id, email string
}

// userID is the id of the default (admin) user, who owns API writes.
const userID = "5725767000000411001"

var users = []user{
	{name: "Emulator Admin", id: userID, email: "admin@deskcrm.test"},
	{name: "Sales Rep", id: "5725767000000411005", email: "rep@deskcrm.test"},
}

func userIndex(id string) (uint16, bool) {
	for i, u := range users {
		if u.id == id {
			return uint16(i), true
		}
	}
	return 0, false
}

func userJSON(i uint16) map[string]any {
	u := users[int(i)%len(users)]
	return map[string]any{"name": u.name, "id": u.id, "email": u.email}
}

// moduleIDs are the metadata ids of the emulated modules.
var moduleIDs = map[string]string{
	"Contacts": "5725767000000002179",
	"Accounts": "5725767000000002177",
	"Deals":    "5725767000000002181",
	"Notes":    "5725767000000002183",
	"Tasks":    "5725767000000002185",
	"Events":   "5725767000000002187",
	"Calls":    "5725767000000002189",
	"":         "5725767000000002191",
}

// timeLayout is Zoho's datetime format: seconds precision with offset.
const timeLayout = "2006-01-02T15:04:05-07:00"

// fieldError is a per-record validation failure.
type fieldError struct {
	code    string
	message string
	details map[string]any
}

func invalidType(api, path, expected string) *fieldError {
	return &fieldError{code: "INVALID_DATA", message: "invalid data",
		details: map[string]any{"api_name": api, "json_path": path, "expected_data_type": expected}}
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// tooLong is the per-record error for a value longer than the field's
// length (metadata "length"): INVALID_DATA with details {api_name,
// maximum_length, json_path} (zoho-api.md A5; v8 createRecords example
// "invaliddatalength"). The spec (record.json API_Exception) types
// maximum_length as a string and the example shows a number; the emulator
// follows the spec, which its responses are validated against.
func tooLong(f *Field, path string) *fieldError {
	return &fieldError{code: "INVALID_DATA", message: "invalid data",
		details: map[string]any{"api_name": f.APIName, "json_path": path, "maximum_length": strconv.Itoa(f.Length)}}
}

// textLength is the length Zoho compares with a text field's "length".
// Zoho does not document the unit; the emulator assumes its Java servers
// count UTF-16 code units: a character outside the Basic Multilingual Plane
// (most emoji) counts 2, a combining mark counts 1 on its own. It is the
// stricter reading, so a value the emulator accepts fits either way.
func textLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// digits is the number of decimal digits of |i| (1 for 0).
func digits(i int64) int {
	if i < 0 {
		i = -i
	}
	n := 1
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}

// roundDecimal rounds the decimal number text num half away from zero to
// places decimals, exactly (on the decimal text, as a server parsing JSON
// numbers into decimals would, not on a binary float): currency and decimal
// fields keep their metadata's decimal_place (2 by default; the currency
// object's rounding_option "normal"). places <= 0 leaves the value as is.
func roundDecimal(num string, places int) (float64, bool) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, false
	}
	if places > 0 {
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
		r.Mul(r, scale)
		half := big.NewRat(1, 2)
		if r.Sign() < 0 {
			half.Neg(half)
		}
		r.Add(r, half)
		q := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
		r.SetFrac(q, big.NewInt(1))
		r.Quo(r, scale)
	}
	x, _ := r.Float64()
	return x, !math.IsInf(x, 0)
}

// jsonPath is a field's JSON path in an error's details: prefix.key, or key alone when prefix
// is empty. Kept in parts and joined only for an error: a joined path per field written was a
// string per field of every record.
type jsonPath struct{ prefix, key string }

func (p jsonPath) String() string {
	if p.prefix == "" {
		return p.key
	}
	return p.prefix + "." + p.key
}

// convert turns a decoded JSON value (numbers as json.Number) into the
// stored representation for field f. It returns nil for an empty value.
// resolve checks lookups: it returns the target module index or false. at is
// the value's JSON path, for errors.
func convert(f *Field, raw any, at jsonPath, resolve func(f *Field, id uint64, seModule string) (uint8, bool), seModule string) (any, *fieldError) {
	if raw == nil {
		return nil, nil
	}
	switch f.DataType {
	case "text", "textarea", "email", "phone", "website", "picklist":
		s, ok := raw.(string)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), f.DataType)
		}
		if s == "" {
			return nil, nil
		}
		if textLength(s) > f.Length {
			return nil, tooLong(f, at.String())
		}
		if f.DataType == "email" && !emailRE.MatchString(s) {
			return nil, invalidType(f.APIName, at.String(), "email")
		}
		return s, nil
	case "multiselectpicklist":
		arr, ok := raw.([]any)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "jsonarray")
		}
		out := make([]string, 0, len(arr))
		for _, a := range arr {
			s, ok := a.(string)
			if !ok {
				return nil, invalidType(f.APIName, at.String(), "jsonarray")
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, nil
		}
		if textLength(strings.Join(out, ";")) > f.Length {
			return nil, tooLong(f, at.String())
		}
		return out, nil
	case "integer", "bigint":
		n, ok := raw.(json.Number)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), f.DataType)
		}
		i, err := n.Int64()
		limit := int64(math.MaxInt32)
		if f.DataType == "bigint" {
			limit = math.MaxInt64
		}
		if err != nil || i > limit || i < -limit {
			return nil, invalidType(f.APIName, at.String(), f.DataType)
		}
		if digits(i) > f.Length {
			return nil, tooLong(f, at.String())
		}
		return i, nil
	case "double", "currency", "decimal", "percent":
		n, ok := raw.(json.Number)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "double")
		}
		x, ok := roundDecimal(n.String(), f.DecimalPlace)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "double")
		}
		if digits(int64(math.Trunc(math.Abs(x))))+f.DecimalPlace > f.Length {
			return nil, tooLong(f, at.String())
		}
		return x, nil
	case "boolean":
		b, ok := raw.(bool)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "boolean")
		}
		return b, nil
	case "date":
		s, ok := raw.(string)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "date")
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, invalidType(f.APIName, at.String(), "date")
		}
		return s, nil
	case "datetime":
		s, ok := raw.(string)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "datetime")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, invalidType(f.APIName, at.String(), "datetime")
		}
		return dateTime(t.Unix()), nil
	case "lookup":
		id, mod, ok := lookupInput(raw)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "jsonobject")
		}
		if mod == "" {
			mod = seModule
		}
		target, ok := resolve(f, id, mod)
		if !ok {
			return nil, &fieldError{code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": f.APIName, "json_path": at.String(), "expected_data_type": "lookup"}}
		}
		return lookupRef{id: id, mod: target}, nil
	case "ownerlookup":
		id, _, ok := lookupInput(raw)
		if !ok {
			return nil, invalidType(f.APIName, at.String(), "jsonobject")
		}
		u, ok := userIndex(strconv.FormatUint(id, 10))
		if !ok {
			return nil, &fieldError{code: "INVALID_DATA", message: "invalid data",
				details: map[string]any{"api_name": f.APIName, "json_path": at.String(), "expected_data_type": "ownerlookup"}}
		}
		return u, nil
	}
	return nil, invalidType(f.APIName, at.String(), f.DataType)
}

// lookupInput reads {"id": ".."} (optionally with "module":{"api_name"}) or
// a bare id string.
func lookupInput(raw any) (id uint64, module string, ok bool) {
	switch v := raw.(type) {
	case string:
		id, ok := parseID(v)
		return id, "", ok
	case json.Number:
		id, ok := parseID(v.String())
		return id, "", ok
	case map[string]any:
		switch x := v["id"].(type) {
		case string:
			id, ok = parseID(x)
		case json.Number:
			id, ok = parseID(x.String())
		}
		if m, isMap := v["module"].(map[string]any); isMap {
			module, _ = m["api_name"].(string)
		}
		return id, module, ok
	}
	return 0, "", false
}

// parseID parses a record id: 1 to 19 decimal digits.
func parseID(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }

// formatTime renders unix seconds in the emulator's time zone.
func (s *Server) formatTime(sec int64) string {
	return time.Unix(sec, 0).In(s.loc).Format(timeLayout)
}

// fullName computes Contacts' Full_Name: First_Name and Last_Name, those set, joined by a
// space (a stored text is never empty).
func fullName(m *module, r *rec) string {
	first, last := textOf(m, r, "First_Name"), textOf(m, r, "Last_Name")
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// textOf returns the text of r's field name ("" when unset or not text), without boxing it.
func textOf(m *module, r *rec, name string) string {
	if k, _, ok := m.fields.get(name); ok {
		if e, ok := r.vals.entry(k); ok {
			text, _ := entryText(e)
			return text
		}
	}
	return ""
}

// recordName is the name a lookup to r shows.
func (s *Server) recordName(m *module, r *rec) string {
	if m.name == "Contacts" {
		return fullName(m, r)
	}
	if k, _, ok := m.fields.get(displayName(m.name)); ok {
		if v, ok := r.get(k); ok {
			if str, ok := v.(string); ok {
				return str
			}
		}
	}
	return ""
}

// renderValue turns a stored value into its JSON form.
func (s *Server) renderValue(m *module, f *Field, v any) any {
	switch x := v.(type) {
	case dateTime:
		return s.formatTime(int64(x))
	case lookupRef:
		tm := s.modules[moduleNames[x.mod]]
		name := ""
		if r, ok := tm.get(x.id); ok {
			name = s.recordName(tm, &r)
		} else if d, ok := tm.deleted[x.id]; ok {
			name = d.displayName
		}
		out := map[string]any{"name": name, "id": formatID(x.id)}
		if f.APIName == "Parent_Id" {
			out["module"] = map[string]any{"api_name": tm.name, "id": moduleIDs[tm.name]}
		}
		return out
	case uint16:
		return userJSON(x)
	}
	return v
}

// render returns a record as JSON-ready map. want lists the field indexes
// to include (nil = all fields); system fields are included when asked for
// by name in wantNames or when want is nil.
func (s *Server) render(m *module, r *rec, want []int, all bool) map[string]any {
	out := map[string]any{"id": formatID(r.id)}
	put := func(f *Field, k int) {
		switch f.APIName {
		case "Owner":
			out["Owner"] = userJSON(r.owner)
		case "Created_By":
			out["Created_By"] = userJSON(r.creator)
		case "Modified_By":
			out["Modified_By"] = userJSON(r.modifier)
		case "Created_Time":
			out["Created_Time"] = s.formatTime(r.created)
		case "Modified_Time":
			out["Modified_Time"] = s.formatTime(r.modified)
		case "Full_Name":
			if m.name == "Contacts" {
				out["Full_Name"] = fullName(m, r)
				return
			}
			fallthrough
		default:
			v, ok := r.get(k)
			if !ok {
				out[f.APIName] = nil
				return
			}
			out[f.APIName] = s.renderValue(m, f, v)
			if lr, isLookup := v.(lookupRef); isLookup && f.LookupModule == "" && f.APIName != "Parent_Id" {
				out["$se_module"] = moduleNames[lr.mod]
			}
		}
	}
	if all {
		for k, f := range m.fields.list {
			put(f, k)
		}
		out["$editable"] = true
		out["$approval_state"] = "approved"
		out["Tag"] = []any{}
		return out
	}
	for _, k := range want {
		put(m.fields.list[k], k)
	}
	return out
}

// valueString renders a stored value as text for search comparisons.
func (s *Server) valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case dateTime:
		return s.formatTime(int64(x))
	case lookupRef:
		return formatID(x.id)
	case []string:
		return strings.Join(x, ";")
	case uint16:
		return users[int(x)%len(users)].id
	}
	return fmt.Sprint(v)
}
