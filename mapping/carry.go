package mapping

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Codes of values that cannot be carried to the other side.
const (
	// CodeValueTooLong: a text value is longer than the target field holds.
	CodeValueTooLong Code = "VALUE_TOO_LONG"
	// CodeInvalidPicklistValue: a picklist value is not one of the target
	// picklist's values.
	CodeInvalidPicklistValue Code = "INVALID_PICKLIST_VALUE"
)

// Limits are what one side's field accepts, taken from its field metadata by
// Resolve. The zero value accepts everything.
type Limits struct {
	// Label is the field's display label ("" when unknown).
	Label string
	// Length is the most characters (Unicode code points) a text value may
	// have; 0 when unknown.
	Length int
	// Picklist lists the values a picklist or multi-select picklist takes;
	// nil when open or unknown.
	Picklist []string
	// Mandatory is set when the side refuses to create a record without
	// this field.
	Mandatory bool
}

// LimitsOf returns the limits of f's field on side s.
func (f FieldMap) LimitsOf(s Side) Limits {
	if s == Desk {
		return f.DeskLimits
	}
	return f.CRMLimits
}

// FieldOf returns f's field API name on side s.
func (f FieldMap) FieldOf(s Side) string {
	if s == Desk {
		return f.Desk
	}
	return f.CRM
}

// FieldName returns f's field on side s as "API_Name (Label)", or the API
// name alone when the label is unknown or the same.
func (f FieldMap) FieldName(s Side) string {
	name, label := f.CRM, f.CRMLimits.Label
	if s == Desk {
		name, label = f.Desk, f.DeskLimits.Label
	}
	if label == "" || label == name {
		return name
	}
	return name + " (" + label + ")"
}

// Carry reports whether the canonical value v of field f can be written to
// side to. It returns nil when it can, and otherwise the reason, without
// quoting the value (failure messages reach logs and workflow history):
//
//   - UNRESOLVED_REFERENCE: an account reference whose CRM account has no
//     Desk counterpart (writing to Desk; refs translates);
//   - VALUE_TOO_LONG: a text value over the target field's length
//     (Limits.Length, counted in code points as both APIs count characters);
//   - INVALID_PICKLIST_VALUE: a picklist value, or an element of a
//     multi-select value, that the target picklist does not have.
//
// An empty value can always be carried (it clears the field). A value that
// cannot be carried must not be written, and the side that did not receive
// it keeps its own value in the merge base (see reconcile.Base), so that its
// absence there is never taken for a clear of the source.
func Carry(module Module, f FieldMap, v any, to Side, refs Refs) *Problem {
	v = canon(v)
	if v == nil {
		return nil
	}
	from := to.Other()
	lim := f.LimitsOf(to)
	problem := func(code Code, format string, a ...any) *Problem {
		return &Problem{Code: code, Module: module, Desk: f.Desk, CRM: f.CRM, Message: fmt.Sprintf(format, a...), To: to}
	}
	switch f.Type.kind() {
	case kindLookup:
		if to == Desk {
			if _, ok := lookupRef(refs, CRM, fmt.Sprint(v)); !ok {
				return problem(CodeUnresolvedReference, "the CRM account of %s %s has no Desk counterpart yet, so %s %s was left as it is",
					from.Label(), f.FieldName(from), to.Label(), f.FieldName(to))
			}
		}
	case kindText, kindPicklist:
		s, _ := v.(string)
		if n := utf8.RuneCountInString(s); lim.Length > 0 && n > lim.Length {
			return problem(CodeValueTooLong, "%s %s holds at most %d characters; the value of %s %s has %d. Shorten it in %s: the record syncs again by itself once it changes",
				to.Label(), f.FieldName(to), lim.Length, from.Label(), f.FieldName(from), n, from.Label())
		}
		if f.Type.kind() == kindPicklist && len(lim.Picklist) > 0 && !slices.Contains(lim.Picklist, s) {
			return problem(CodeInvalidPicklistValue, "the value of %s %s is not one of the %d values of picklist %s %s: add it there or change it in %s",
				from.Label(), f.FieldName(from), len(lim.Picklist), to.Label(), f.FieldName(to), from.Label())
		}
	case kindMulti:
		if list, ok := v.([]string); ok && len(lim.Picklist) > 0 {
			for _, s := range list {
				if !slices.Contains(lim.Picklist, s) {
					return problem(CodeInvalidPicklistValue, "a value of %s %s is not one of the %d values of multi-select picklist %s %s: add it there or change it in %s",
						from.Label(), f.FieldName(from), len(lim.Picklist), to.Label(), f.FieldName(to), from.Label())
				}
			}
		}
	}
	return nil
}
