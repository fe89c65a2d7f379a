package mapping

import (
	"sort"
	"strings"
)

// Type is a canonical field type covering both sides' data types.
type Type string

// Canonical types.
const (
	TypeText          Type = "text"
	TypeTextarea      Type = "textarea"
	TypeEmail         Type = "email"
	TypePhone         Type = "phone"
	TypeURL           Type = "url"
	TypePicklist      Type = "picklist"
	TypeMultiPicklist Type = "multipicklist"
	TypeInteger       Type = "integer"
	TypeDecimal       Type = "decimal"
	TypeCurrency      Type = "currency"
	TypePercent       Type = "percent"
	TypeBoolean       Type = "boolean"
	TypeDate          Type = "date"
	TypeDateTime      Type = "datetime"
	// TypeLookup is a reference to another record; only account references
	// (Desk accountId, CRM Account_Name on contacts) can be synchronised.
	TypeLookup Type = "lookup"
	// TypeUserLookup is an owner or user reference; users differ between
	// the two products, so these are never synchronised.
	TypeUserLookup Type = "userlookup"
	// TypeAutoNumber is a system-generated number (read-only, read as text).
	TypeAutoNumber Type = "autonumber"
	// TypeFormula is a computed field (read-only, read as text).
	TypeFormula Type = "formula"
	// TypeUnsupported covers subforms, files, images, multi-lookups and
	// anything else that cannot be synchronised.
	TypeUnsupported Type = "unsupported"
)

var allTypes = []Type{
	TypeText, TypeTextarea, TypeEmail, TypePhone, TypeURL, TypePicklist, TypeMultiPicklist,
	TypeInteger, TypeDecimal, TypeCurrency, TypePercent, TypeBoolean, TypeDate, TypeDateTime,
	TypeLookup, TypeUserLookup, TypeAutoNumber, TypeFormula, TypeUnsupported,
}

// Valid reports whether t is one of the canonical types.
func (t Type) Valid() bool {
	for _, a := range allTypes {
		if t == a {
			return true
		}
	}
	return false
}

func typeList() string {
	names := make([]string, len(allTypes))
	for i, t := range allTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// kind groups types whose values share one canonical representation.
type kind int

const (
	kindText kind = iota
	kindPicklist
	kindMulti
	kindInteger
	kindDecimal
	kindBoolean
	kindDate
	kindDateTime
	kindLookup
	kindNone
)

func (t Type) kind() kind {
	switch t {
	case TypeText, TypeTextarea, TypeEmail, TypePhone, TypeURL, TypeAutoNumber, TypeFormula, "":
		return kindText
	case TypePicklist:
		return kindPicklist
	case TypeMultiPicklist:
		return kindMulti
	case TypeInteger:
		return kindInteger
	case TypeDecimal, TypeCurrency, TypePercent:
		return kindDecimal
	case TypeBoolean:
		return kindBoolean
	case TypeDate:
		return kindDate
	case TypeDateTime:
		return kindDateTime
	case TypeLookup:
		return kindLookup
	}
	return kindNone
}

// Syncable reports whether values of this type can be synchronised at all.
func (t Type) Syncable() bool { return t.kind() != kindNone }

// Writable reports whether a field of this type can ever be a write target
// (autonumber and formula fields are computed by the system).
func (t Type) Writable() bool {
	return t.Syncable() && t != TypeAutoNumber && t != TypeFormula
}

// Compatible reports whether a value read from a field of type from can be
// written into a field of type to without losing meaning. The table is in the
// package documentation. Text into picklist is reported incompatible here;
// Preflight accepts it when the target picklist has no fixed values.
func Compatible(from, to Type) bool {
	if !from.Syncable() || !to.Writable() {
		return false
	}
	f := from.kind()
	switch to.kind() {
	case kindText:
		return f != kindLookup
	case kindPicklist:
		return f == kindPicklist
	case kindMulti:
		return f == kindMulti || f == kindPicklist
	case kindInteger:
		return f == kindInteger
	case kindDecimal:
		return f == kindInteger || f == kindDecimal
	case kindBoolean:
		return f == kindBoolean
	case kindDate:
		return f == kindDate
	case kindDateTime:
		return f == kindDateTime
	case kindLookup:
		return f == kindLookup
	}
	return false
}

// noun is the capitalised value noun used in TYPE_MISMATCH messages
// ("Text value given for an integer field").
func (t Type) noun() string {
	switch t.kind() {
	case kindText:
		return "Text"
	case kindPicklist:
		return "Picklist"
	case kindMulti:
		return "Multi-select"
	case kindInteger:
		return "Integer"
	case kindDecimal:
		return "Decimal"
	case kindBoolean:
		return "Boolean"
	case kindDate:
		return "Date"
	case kindDateTime:
		return "Date-time"
	case kindLookup:
		return "Lookup"
	}
	return "Unsupported"
}

// article returns "a" or "an" for the type's name.
func (t Type) article() string {
	switch t {
	case TypeEmail, TypeInteger, TypeAutoNumber, TypeUnsupported:
		return "an"
	}
	return "a"
}

// FieldMeta is one field of one side's field metadata, reduced to what the
// mapping checks need. Activities build it from CRM GET /settings/fields and
// Desk GET /organizationFields.
type FieldMeta struct {
	// Name is the field API name.
	Name string
	// Label is the display label.
	Label string
	// Type is the canonical type (see CRMType, DeskType).
	Type Type
	// Mandatory is set when the side rejects a record without this field.
	Mandatory bool
	// ReadOnly is set when the field cannot be written through the API.
	ReadOnly bool
	// Custom is set for admin-defined fields.
	Custom bool
	// Unique is set when the side rejects duplicate values.
	Unique bool
	// Length is the maximum length, 0 when unknown.
	Length int
	// Decimals is how many decimal places a decimal field keeps, 0 when
	// unknown.
	Decimals int
	// Picklist lists the allowed values of a picklist, nil when open or
	// unknown.
	Picklist []string
	// LookupModule is the module a lookup points to ("Accounts",
	// "accounts"), when known.
	LookupModule string
}

// CRMType maps a CRM field metadata data_type to a canonical type. Unknown
// data types map to TypeUnsupported.
func CRMType(dataType string) Type {
	switch strings.ToLower(strings.TrimSpace(dataType)) {
	case "text":
		return TypeText
	case "textarea":
		return TypeTextarea
	case "email":
		return TypeEmail
	case "phone":
		return TypePhone
	case "website", "url":
		return TypeURL
	case "picklist":
		return TypePicklist
	case "multiselectpicklist":
		return TypeMultiPicklist
	case "integer", "bigint", "long":
		return TypeInteger
	case "double", "decimal":
		return TypeDecimal
	case "currency":
		return TypeCurrency
	case "percent":
		return TypePercent
	case "boolean":
		return TypeBoolean
	case "date":
		return TypeDate
	case "datetime":
		return TypeDateTime
	case "lookup":
		return TypeLookup
	case "ownerlookup", "owner_lookup", "userlookup", "user_lookup", "multiuserlookup":
		return TypeUserLookup
	case "autonumber":
		return TypeAutoNumber
	case "formula":
		return TypeFormula
	}
	return TypeUnsupported
}

// DeskType maps a Desk organizationFields type to a canonical type. Unknown
// types map to TypeUnsupported.
func DeskType(fieldType string) Type {
	switch strings.ToLower(strings.TrimSpace(fieldType)) {
	case "text", "singleline":
		return TypeText
	case "textarea", "multiline":
		return TypeTextarea
	case "email":
		return TypeEmail
	case "phone":
		return TypePhone
	case "url":
		return TypeURL
	case "number", "integer":
		return TypeInteger
	case "decimal":
		return TypeDecimal
	case "currency":
		return TypeCurrency
	case "percent":
		return TypePercent
	case "boolean", "checkbox":
		return TypeBoolean
	case "date":
		return TypeDate
	case "datetime":
		return TypeDateTime
	case "picklist":
		return TypePicklist
	case "multiselect", "multiselectpicklist":
		return TypeMultiPicklist
	case "lookup":
		return TypeLookup
	case "autonumber":
		return TypeAutoNumber
	case "formula":
		return TypeFormula
	}
	return TypeUnsupported
}

// missingValues returns the values of from that are not values of to,
// ignoring CRM's "-None-" placeholder.
func missingValues(from, to []string) []string {
	set := make(map[string]bool, len(to))
	for _, v := range to {
		set[v] = true
	}
	var out []string
	for _, v := range from {
		if !set[v] && v != NonePicklistValue {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
