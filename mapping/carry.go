package mapping

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
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
	// Decimals is how many decimal places the side keeps of a decimal,
	// currency or percent value (it rounds the rest away); 0 when unknown.
	Decimals int
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
		if n := textLength(s, to); lim.Length > 0 && n > lim.Length {
			counted := ""
			if chars := utf8.RuneCountInString(s); chars != n {
				// CRM counts UTF-16 units: an emoji the user sees as one character counts two.
				counted = fmt.Sprintf(" as %s counts them (%d characters as %s shows them: %s counts each emoji and other character beyond U+FFFF as two)",
					to.Label(), chars, from.Label(), to.Label())
			}
			return problem(CodeValueTooLong, "%s %s holds at most %d characters; the value of %s %s has %d%s. Shorten it in %s: the record syncs again by itself once it changes",
				to.Label(), f.FieldName(to), lim.Length, from.Label(), f.FieldName(from), n, counted, from.Label())
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

// textLength counts a text value as side s counts it against a field's length: CRM in UTF-16
// code units (an emoji counts two), Desk in code points.
func textLength(s string, side Side) int {
	if side == CRM {
		n := 0
		for _, r := range s {
			n += utf16.RuneLen(r)
		}
		return n
	}
	return utf8.RuneCountInString(s)
}

// Fit returns the canonical value v of field f as side to stores it: a decimal, currency or
// percent value rounded (half away from zero) to the decimal places the target keeps, so the
// merge base holds what the target will read back, not a value it never held. Other values are
// returned as they are.
func Fit(f FieldMap, v any, to Side) any {
	places := f.LimitsOf(to).Decimals
	if places <= 0 || f.Type.kind() != kindDecimal {
		return v
	}
	s, ok := v.(string)
	if !ok {
		return v
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return v
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
	r.Mul(r, scale)
	// Round half away from zero: add ±1/2 and truncate toward zero.
	half := big.NewRat(1, 2)
	if r.Sign() < 0 {
		half.Neg(half)
	}
	r.Add(r, half)
	q := new(big.Int).Quo(r.Num(), r.Denom())
	out := new(big.Rat).SetFrac(q, scale.Num())
	d, err := CanonicalDecimal(out.FloatString(places))
	if err != nil {
		return v
	}
	return d
}

// FieldEqual compares two canonical values of field f as the field means them: phone numbers
// by their digits (and a leading +), so that a side reformatting a number ("(555) 123-4567"
// for "555-123-4567") is not a change that would bounce back; everything else as ValueEqual.
func FieldEqual(f FieldMap, x, y any) bool {
	if f.Type == TypePhone {
		xs, xok := canon(x).(string)
		ys, yok := canon(y).(string)
		if xok && yok {
			return phoneDigits(xs) == phoneDigits(ys)
		}
	}
	return ValueEqual(x, y)
}

// phoneDigits keeps a phone number's digits, and a leading + (the international prefix).
func phoneDigits(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		if unicode.IsDigit(r) || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return s // not a number: compare as written
	}
	return b.String()
}
