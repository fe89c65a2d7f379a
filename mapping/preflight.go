package mapping

import (
	"fmt"
	"strings"
)

// Code is a failure code shown in the failure log.
type Code string

// Problem codes reported by this package.
const (
	// CodeUnknownField: a mapped field does not exist on its side.
	CodeUnknownField Code = "UNKNOWN_FIELD"
	// CodeTypeMismatch: values cannot flow between the two field types, or
	// a record value does not fit its field's type.
	CodeTypeMismatch Code = "TYPE_MISMATCH"
	// CodeMandatoryMissing: a field the target side requires is not mapped
	// into it.
	CodeMandatoryMissing Code = "MANDATORY_FIELD_MISSING"
	// CodeReadOnly: the mapping writes into a field the target does not let
	// the API write.
	CodeReadOnly Code = "READ_ONLY_FIELD"
	// CodeDuplicateField: a field is mapped more than once on one side.
	CodeDuplicateField Code = "DUPLICATE_FIELD"
	// CodeUnsupportedType: a field type that cannot be synchronised (user
	// lookups, lookups to other than accounts, subforms, files, ...).
	CodeUnsupportedType Code = "UNSUPPORTED_TYPE"
	// CodeReservedField: a counterpart-id field is mapped.
	CodeReservedField Code = "RESERVED_FIELD"
	// CodeInvalidMapping: the mapping itself is malformed.
	CodeInvalidMapping Code = "INVALID_MAPPING"
	// CodeUnresolvedReference: an account reference has no linked
	// counterpart yet, so the field cannot be translated.
	CodeUnresolvedReference Code = "UNRESOLVED_REFERENCE"
)

// Problem is one thing wrong with a mapping or a record value.
type Problem struct {
	// Code is the failure code.
	Code Code
	// Module is the module concerned.
	Module Module
	// Desk is the Desk field concerned, "" when none.
	Desk string
	// CRM is the CRM field concerned, "" when none.
	CRM string
	// Message says what is wrong and what to fix.
	Message string
	// To is the side a value could not be written to (Carry); "" for
	// problems of a mapping or of a value read.
	To Side
}

// String renders the problem on one line, e.g.
// "TYPE_MISMATCH contacts Desk cf_notes ↔ CRM Seats: Text value given for an
// integer field: ...".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(string(p.Code))
	if p.Module != "" {
		b.WriteString(" " + string(p.Module))
	}
	switch {
	case p.Desk != "" && p.CRM != "":
		fmt.Fprintf(&b, " Desk %s ↔ CRM %s", p.Desk, p.CRM)
	case p.Desk != "":
		fmt.Fprintf(&b, " Desk %s", p.Desk)
	case p.CRM != "":
		fmt.Fprintf(&b, " CRM %s", p.CRM)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

// Preflight checks a mapping for a two-way integration against both sides'
// field metadata. It is PreflightMode(TwoWay, m, desk, crm).
func Preflight(m Mapping, desk, crm []FieldMeta) []Problem {
	return PreflightMode(TwoWay, m, desk, crm)
}

// PreflightMode checks a mapping against both sides' field metadata before
// any record moves, and returns every problem found (nil when the mapping
// is usable):
//
//   - the structural problems of Validate;
//   - UNKNOWN_FIELD for a field missing from its side's metadata (pass the
//     full metadata of each side: a field absent from it is unknown);
//   - UNSUPPORTED_TYPE for types that cannot be synchronised;
//   - TYPE_MISMATCH, per direction in which values flow, when the source
//     type cannot be written into the target type (see Compatible), when a
//     source picklist has values the target picklist lacks, or when the
//     mapping's declared Type does not fit the fields;
//   - READ_ONLY_FIELD when values flow into a read-only field;
//   - MANDATORY_FIELD_MISSING for each field a side requires on create
//     (metadata Mandatory, plus Last_Name/lastName on contacts and
//     Account_Name/accountName on accounts) that no mapped field flows into;
//     mandatory owner/user lookups and computed fields are exempt, the side
//     fills them itself.
//
// In OneWay mode nothing is written to CRM, so flows into CRM and CRM's
// mandatory fields are not checked.
func PreflightMode(mode Mode, m Mapping, desk, crm []FieldMeta) []Problem {
	_, probs := resolve(mode, m, desk, crm)
	return probs
}

// Resolve runs PreflightMode and returns the mapping with every empty
// FieldMap.Type filled in from the metadata: the target's type for a field
// that flows one way, the CRM type for one that flows both ways. Fields with
// problems keep their Type. Each known field also gets its sides' Limits. Use the returned mapping for conversion: a
// mapping stored without types converts every value as text.
func Resolve(mode Mode, m Mapping, desk, crm []FieldMeta) (Mapping, []Problem) {
	return resolve(mode, m, desk, crm)
}

func resolve(mode Mode, m Mapping, desk, crm []FieldMeta) (Mapping, []Problem) {
	probs := m.structuralProblems()
	deskBy := indexMeta(desk)
	crmBy := indexMeta(crm)
	out := Mapping{Module: m.Module, Fields: make([]FieldMap, len(m.Fields))}
	copy(out.Fields, m.Fields)

	add := func(code Code, f FieldMap, format string, a ...any) {
		probs = append(probs, Problem{Code: code, Module: m.Module, Desk: f.Desk, CRM: f.CRM, Message: fmt.Sprintf(format, a...)})
	}
	toCRMAllowed := mode != OneWay

	for i, f := range m.Fields {
		dm, dok := deskBy[f.Desk]
		cm, cok := crmBy[f.CRM]
		if !dok {
			add(CodeUnknownField, f, "Desk %s has no field %s", m.Module, f.Desk)
		}
		if !cok {
			add(CodeUnknownField, f, "CRM %s has no field %s", m.Module.CRMName(), f.CRM)
		}
		if !dok || !cok {
			continue
		}
		out.Fields[i].DeskLimits = Limits{Label: dm.Label, Length: dm.Length, Picklist: dm.Picklist, Decimals: dm.Decimals,
			Mandatory: dm.Mandatory || contains(mandatory(m.Module, Desk), dm.Name)}
		out.Fields[i].CRMLimits = Limits{Label: cm.Label, Length: cm.Length, Picklist: cm.Picklist, Decimals: cm.Decimals,
			Mandatory: cm.Mandatory || contains(mandatory(m.Module, CRM), cm.Name)}
		if msg := unsupported(dm, cm); msg != "" {
			add(CodeUnsupportedType, f, "%s", msg)
			continue
		}
		before := len(probs)
		if f.ToCRM() && toCRMAllowed {
			probs = append(probs, checkFlow(m.Module, f, Desk, dm, cm)...)
		}
		if f.ToDesk() {
			probs = append(probs, checkFlow(m.Module, f, CRM, cm, dm)...)
		}
		want := canonicalType(f, dm, cm, toCRMAllowed)
		if len(probs) == before && f.Type != "" && f.Type.Valid() && f.Type.kind() != want.kind() {
			add(CodeTypeMismatch, f, "the mapping declares type %s but Desk %s (%s) ↔ CRM %s (%s) carries %s values; remove the type or set it to %s",
				f.Type, f.Desk, dm.Type, f.CRM, cm.Type, want, want)
		}
		if f.Type == "" && len(probs) == before {
			out.Fields[i].Type = want
		}
	}

	probs = append(probs, missingMandatory(m, Desk, desk)...)
	if toCRMAllowed {
		probs = append(probs, missingMandatory(m, CRM, crm)...)
	}
	return out, probs
}

func indexMeta(metas []FieldMeta) map[string]FieldMeta {
	by := make(map[string]FieldMeta, len(metas))
	for _, fm := range metas {
		by[fm.Name] = fm
	}
	return by
}

// unsupported explains why a field pair cannot be synchronised at all, or
// returns "".
func unsupported(dm, cm FieldMeta) string {
	for _, x := range []struct {
		side string
		fm   FieldMeta
	}{{"Desk", dm}, {"CRM", cm}} {
		if !x.fm.Type.Syncable() {
			return fmt.Sprintf("%s %s is %s %s field, which cannot be synchronised", x.side, x.fm.Name, x.fm.Type.article(), x.fm.Type)
		}
	}
	dl, cl := dm.Type == TypeLookup, cm.Type == TypeLookup
	if dl || cl {
		deskAcct := dl && (dm.Name == "accountId" || strings.EqualFold(dm.LookupModule, "accounts"))
		crmAcct := cl && (strings.EqualFold(cm.LookupModule, "accounts") || (cm.LookupModule == "" && cm.Name == "Account_Name"))
		if !deskAcct || !crmAcct {
			return fmt.Sprintf("only account references can be synchronised as lookups: Desk %s (%s) ↔ CRM %s (%s)", dm.Name, dm.Type, cm.Name, cm.Type)
		}
	}
	return ""
}

// checkFlow checks that values of src can be written into dst.
func checkFlow(module Module, f FieldMap, from Side, src, dst FieldMeta) []Problem {
	to := from.Other()
	p := func(code Code, format string, a ...any) Problem {
		return Problem{Code: code, Module: module, Desk: f.Desk, CRM: f.CRM, Message: fmt.Sprintf(format, a...)}
	}
	arrow := fmt.Sprintf("%s %s (%s) → %s %s (%s)", from.Label(), src.Name, src.Type, to.Label(), dst.Name, dst.Type)
	if dst.ReadOnly || !dst.Type.Writable() {
		return []Problem{p(CodeReadOnly, "%s %s is read-only and cannot receive values: %s; map it %s only", to.Label(), dst.Name, arrow, directionFrom(to))}
	}
	openPicklist := dst.Type == TypePicklist && len(dst.Picklist) == 0 && src.Type.kind() == kindText
	if !Compatible(src.Type, dst.Type) && !openPicklist {
		return []Problem{p(CodeTypeMismatch, "%s value given for %s %s field: %s", src.Type.noun(), dst.Type.article(), dst.Type, arrow)}
	}
	if src.Type == TypePicklist || src.Type == TypeMultiPicklist {
		if (dst.Type == TypePicklist || dst.Type == TypeMultiPicklist) && len(src.Picklist) > 0 && len(dst.Picklist) > 0 {
			if miss := missingValues(src.Picklist, dst.Picklist); len(miss) > 0 {
				return []Problem{p(CodeTypeMismatch, "picklist values %s of %s %s are not values of %s %s; add them there or unmap the field",
					quoteList(miss), from.Label(), src.Name, to.Label(), dst.Name)}
			}
		}
	}
	return nil
}

// directionFrom names the direction that writes into `from` never.
func directionFrom(readOnlySide Side) Direction {
	if readOnlySide == Desk {
		return DeskToCRM
	}
	return CRMToDesk
}

// canonicalType picks the type values of f are converted to: the target's
// type when values flow one way, the CRM type when they flow both ways (the
// kinds then agree).
func canonicalType(f FieldMap, dm, cm FieldMeta, toCRMAllowed bool) Type {
	toCRM := f.ToCRM() && toCRMAllowed
	toDesk := f.ToDesk()
	switch {
	case toDesk && !toCRM:
		return dm.Type
	case toCRM && !toDesk:
		return cm.Type
	}
	return cm.Type
}

func missingMandatory(m Mapping, side Side, metas []FieldMeta) []Problem {
	required := mandatory(m.Module, side)
	for _, fm := range metas {
		// Owners and other user references are filled in by the side
		// itself (the API user), so they are not required of the mapping.
		if fm.Mandatory && !fm.ReadOnly && fm.Type.Writable() && fm.Name != CRMDeskIDField && fm.Name != DeskCRMIDField && !contains(required, fm.Name) {
			required = append(required, fm.Name)
		}
	}
	var probs []Problem
	for _, name := range required {
		covered := false
		for _, f := range m.Fields {
			target := f.CRM
			if side == Desk {
				target = f.Desk
			}
			if target == name && f.FlowsTo(side) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		p := Problem{Code: CodeMandatoryMissing, Module: m.Module,
			Message: fmt.Sprintf("Mandatory field missing: %s %s is required to create a record and no mapped field flows into it; map it with direction both or %s",
				side.Label(), name, directionInto(side))}
		if side == Desk {
			p.Desk = name
		} else {
			p.CRM = name
		}
		probs = append(probs, p)
	}
	return probs
}

func directionInto(side Side) Direction {
	if side == Desk {
		return CRMToDesk
	}
	return DeskToCRM
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
