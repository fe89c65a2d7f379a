package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Module is a synchronised module, spelled as the links and field_mappings
// tables spell it.
type Module string

// The synchronised modules.
const (
	Contacts Module = "contacts"
	Accounts Module = "accounts"
)

// Valid reports whether m is a known module.
func (m Module) Valid() bool { return m == Contacts || m == Accounts }

// CRMName returns the CRM module API name ("Contacts", "Accounts").
func (m Module) CRMName() string {
	switch m {
	case Contacts:
		return "Contacts"
	case Accounts:
		return "Accounts"
	}
	return string(m)
}

// Side names one of the two synchronised systems.
type Side string

// The two sides.
const (
	Desk Side = "desk"
	CRM  Side = "crm"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == Desk {
		return CRM
	}
	return Desk
}

// Label returns the side's display name ("Desk", "CRM").
func (s Side) Label() string {
	if s == Desk {
		return "Desk"
	}
	return "CRM"
}

// Mode is the sync type chosen for an integration, spelled as the
// integrations table spells it.
type Mode string

// Sync modes.
const (
	// TwoWay synchronises changes in both directions (the default).
	TwoWay Mode = "two-way"
	// OneWay sends CRM changes to Desk only; Desk changes are not sent.
	OneWay Mode = "one-way-crm-to-desk"
)

// Valid reports whether m is a known mode ("" counts as TwoWay).
func (m Mode) Valid() bool { return m == "" || m == TwoWay || m == OneWay }

// Direction says which way values of one mapped field flow.
type Direction string

// Field directions. The zero value behaves as Both.
const (
	Both      Direction = "both"
	CRMToDesk Direction = "crm-to-desk"
	DeskToCRM Direction = "desk-to-crm"
)

// Valid reports whether d is a known direction ("" counts as Both).
func (d Direction) Valid() bool { return d == "" || d == Both || d == CRMToDesk || d == DeskToCRM }

// Policy decides which side wins when a field changed differently on both
// sides since the last sync.
type Policy string

// Conflict policies. The zero value behaves as Newest.
const (
	// Newest takes the side whose record was modified last (tie: CRM).
	Newest Policy = "newest"
	// CRMWins always takes the CRM value.
	CRMWins Policy = "crm-wins"
	// DeskWins always takes the Desk value.
	DeskWins Policy = "desk-wins"
)

// Valid reports whether p is a known policy ("" counts as Newest).
func (p Policy) Valid() bool { return p == "" || p == Newest || p == CRMWins || p == DeskWins }

// Counterpart id fields. The sync stores the other side's record id in these
// custom fields so that a retried create finds what a lost response created;
// they are never mapped fields.
const (
	// CRMDeskIDField is the CRM text field holding the Desk record id.
	CRMDeskIDField = "Desk_ID"
	// DeskCRMIDField is the Desk custom text field holding the CRM record id.
	DeskCRMIDField = "cf_crm_id"
)

// FieldMap joins one Desk field with one CRM field.
type FieldMap struct {
	// Desk is the Desk field API name; custom fields start with "cf_" and
	// travel in the record's "cf" object.
	Desk string `json:"desk"`
	// CRM is the CRM field API name.
	CRM string `json:"crm"`
	// Type is the canonical type values are converted to. It may be left
	// empty in a mapping file; Resolve fills it from field metadata.
	// Conversion treats an empty Type as text.
	Type Type `json:"type,omitempty"`
	// Direction limits which way values flow ("" = Both).
	Direction Direction `json:"direction,omitempty"`
	// Policy resolves conflicting changes ("" = Newest).
	Policy Policy `json:"policy,omitempty"`
	// DeskLimits and CRMLimits are what each side's field accepts (label,
	// length, picklist values), filled by Resolve from field metadata; see
	// Carry. They are not part of a mapping file.
	DeskLimits Limits `json:"-"`
	CRMLimits  Limits `json:"-"`
}

// Key identifies the field pair in Values and in stored bases. It depends only
// on the two field names, so editing a field's direction, policy or type keeps
// its last-synced values.
func (f FieldMap) Key() string { return f.Desk + "=" + f.CRM }

// ToDesk reports whether values of this field flow from CRM into Desk.
func (f FieldMap) ToDesk() bool { return f.Direction != DeskToCRM }

// ToCRM reports whether values of this field flow from Desk into CRM.
func (f FieldMap) ToCRM() bool { return f.Direction != CRMToDesk }

// FlowsTo reports whether values of this field are written to side s.
func (f FieldMap) FlowsTo(s Side) bool {
	if s == Desk {
		return f.ToDesk()
	}
	return f.ToCRM()
}

// EffectivePolicy returns the policy with the zero value resolved to Newest.
func (f FieldMap) EffectivePolicy() Policy {
	if f.Policy == "" {
		return Newest
	}
	return f.Policy
}

// isCustomDesk reports whether the Desk field lives in the "cf" object.
func (f FieldMap) isCustomDesk() bool { return strings.HasPrefix(f.Desk, "cf_") }

// Mapping is the complete field mapping of one module.
type Mapping struct {
	// Module is the module the fields belong to.
	Module Module `json:"module"`
	// Fields are the mapped field pairs, in the admin's order.
	Fields []FieldMap `json:"fields"`
}

// Keys returns the keys of all mapped fields, in mapping order.
func (m Mapping) Keys() []string {
	keys := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		keys[i] = f.Key()
	}
	return keys
}

// Field returns the field pair with the given key.
func (m Mapping) Field(key string) (FieldMap, bool) {
	for _, f := range m.Fields {
		if f.Key() == key {
			return f, true
		}
	}
	return FieldMap{}, false
}

// fieldName is the shape both APIs use for field API names.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// ValidationError lists every problem found in a mapping.
type ValidationError struct {
	// Problems are all problems found, in mapping order.
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid field mapping:\n  " + strings.Join(lines, "\n  ")
}

// Validate checks the structure of the mapping without field metadata: a
// known module, well-formed field names, known directions, policies and
// types, no counterpart-id field, and no field mapped twice on either side.
// It returns a *ValidationError naming every problem, or nil.
func (m Mapping) Validate() error {
	probs := m.structuralProblems()
	if len(probs) == 0 {
		return nil
	}
	return &ValidationError{Problems: probs}
}

func (m Mapping) structuralProblems() []Problem {
	var probs []Problem
	add := func(code Code, f FieldMap, format string, a ...any) {
		probs = append(probs, Problem{Code: code, Module: m.Module, Desk: f.Desk, CRM: f.CRM, Message: fmt.Sprintf(format, a...)})
	}
	if !m.Module.Valid() {
		add(CodeInvalidMapping, FieldMap{}, "module %q is not one of contacts, accounts", m.Module)
	}
	if len(m.Fields) == 0 {
		add(CodeInvalidMapping, FieldMap{}, "the mapping has no fields")
	}
	seenDesk := map[string]int{}
	seenCRM := map[string]int{}
	for i, f := range m.Fields {
		where := fmt.Sprintf("fields[%d]", i)
		if !fieldName.MatchString(f.Desk) {
			add(CodeInvalidMapping, f, "%s.desk: %q is not a field API name (letters, digits, underscores)", where, f.Desk)
		}
		if !fieldName.MatchString(f.CRM) {
			add(CodeInvalidMapping, f, "%s.crm: %q is not a field API name (letters, digits, underscores)", where, f.CRM)
		}
		if !f.Direction.Valid() {
			add(CodeInvalidMapping, f, "%s.direction: %q is not a direction (use both, crm-to-desk or desk-to-crm)", where, f.Direction)
		}
		if !f.Policy.Valid() {
			add(CodeInvalidMapping, f, "%s.policy: %q is not a policy (use newest, crm-wins or desk-wins)", where, f.Policy)
		}
		if f.Type != "" && !f.Type.Valid() {
			add(CodeInvalidMapping, f, "%s.type: %q is not a type (use one of %s)", where, f.Type, typeList())
		}
		if f.Desk == DeskCRMIDField || f.CRM == CRMDeskIDField {
			add(CodeReservedField, f, "%s: %s and %s hold the counterpart record id and are written by the sync; they cannot be mapped", where, DeskCRMIDField, CRMDeskIDField)
		}
		if j, ok := seenDesk[f.Desk]; ok && f.Desk != "" {
			add(CodeDuplicateField, f, "%s: Desk field %s is already mapped in fields[%d]", where, f.Desk, j)
		} else {
			seenDesk[f.Desk] = i
		}
		if j, ok := seenCRM[f.CRM]; ok && f.CRM != "" {
			add(CodeDuplicateField, f, "%s: CRM field %s is already mapped in fields[%d]", where, f.CRM, j)
		} else {
			seenCRM[f.CRM] = i
		}
	}
	return probs
}

// Parse decodes a mapping from its JSON file form and validates its
// structure. Omitted directions and policies are set to Both and Newest.
// Errors name the offending line or field (for example
// `fields[2].direction: "sideways" is not a direction`); a structural
// problem is returned as a *ValidationError listing all of them.
func Parse(data []byte) (Mapping, error) { return parse(data, true) }

// parse is Parse, with the structural checks only when validate is set.
func parse(data []byte, validate bool) (Mapping, error) {
	var raw struct {
		Module Module            `json:"module"`
		Fields []json.RawMessage `json:"fields"`
	}
	if err := strictDecode(data, &raw); err != nil {
		return Mapping{}, fmt.Errorf("mapping JSON: %w", DescribeJSONError(data, err))
	}
	m := Mapping{Module: raw.Module}
	for i, r := range raw.Fields {
		var f FieldMap
		if err := strictDecode(r, &f); err != nil {
			return Mapping{}, fmt.Errorf("mapping JSON: fields[%d]: %w", i, DescribeJSONError(r, err))
		}
		if f.Direction == "" {
			f.Direction = Both
		}
		if f.Policy == "" {
			f.Policy = Newest
		}
		m.Fields = append(m.Fields, f)
	}
	if !validate {
		return m, nil
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// ParseList decodes either one mapping object or a JSON array of them (one
// per module, each module at most once), validating each with Parse.
func ParseList(data []byte) ([]Mapping, error) { return parseList(data, true) }

// DecodeList is ParseList without the structural checks of each mapping (duplicate fields,
// directions, policies): for a caller that runs PreflightMode next, which reports them
// together with the problems found against the apps' fields — so that a file is refused once
// with every problem named, not fixed one kind of problem at a time. JSON that does not decode
// is still an error.
func DecodeList(data []byte) ([]Mapping, error) { return parseList(data, false) }

func parseList(data []byte, validate bool) ([]Mapping, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		m, err := parse(data, validate)
		if err != nil {
			return nil, err
		}
		return []Mapping{m}, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(trimmed, &raws); err != nil {
		return nil, fmt.Errorf("mapping JSON: %w", DescribeJSONError(trimmed, err))
	}
	out := make([]Mapping, 0, len(raws))
	seen := map[Module]int{}
	for i, r := range raws {
		m, err := parse(r, validate)
		if err != nil {
			return nil, fmt.Errorf("mapping [%d]: %w", i, err)
		}
		if j, ok := seen[m.Module]; ok {
			return nil, fmt.Errorf("mapping [%d]: module %s is already mapped by mapping [%d]", i, m.Module, j)
		}
		seen[m.Module] = i
		out = append(out, m)
	}
	return out, nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// DescribeJSONError says what is wrong with a JSON document in words a person can act on:
// syntax and type errors with their line and column and the kind of value wanted (not Go's type
// names), an unknown field without the "json:" prefix. data is the document err came from.
func DescribeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("line %d column %d: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("line %d column %d: %s must be a JSON %s, not %s", line, col, field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: no such field here (check its spelling)", strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}

func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
