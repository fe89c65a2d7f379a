package mapping

import (
	"errors"
	"strconv"
	"strings"
)

// maxDecimalScale bounds the position of the decimal point in accepted
// numbers, so "1e999999999" cannot expand into a huge string.
const maxDecimalScale = 400

var errNotDecimal = errors.New("not a decimal number")

// CanonicalDecimal returns the canonical form of a decimal number written in
// JSON number syntax (an optional sign, digits with an optional fraction, an
// optional exponent; surrounding spaces and a leading "+" are tolerated):
// no exponent, no leading or trailing zeros, "0" for zero, a leading "-" for
// negatives. "1.50" → "1.5", "1e3" → "1000", "-0.0" → "0", "0012" → "12".
// It fails on anything else, including NaN, infinities, thousands separators
// and numbers whose decimal point lies more than 400 places away.
func CanonicalDecimal(s string) (string, error) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg = true
		s = s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || strings.HasPrefix(s[i+1:], " ") {
			return "", errNotDecimal
		}
		if e > maxDecimalScale*2 || e < -maxDecimalScale*2 {
			return "", errNotDecimal
		}
		exp = e
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" {
		return "", errNotDecimal
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return "", errNotDecimal
	}
	digits := intPart + frac
	point := len(intPart) + exp // digits before the decimal point
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
		point--
	}
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return "0", nil
	}
	if point > maxDecimalScale || point < -maxDecimalScale || len(digits) > 2*maxDecimalScale {
		return "", errNotDecimal
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case point <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(digits)
	case point >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", point-len(digits)))
	default:
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	}
	return b.String(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
