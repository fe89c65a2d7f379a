package desk

import (
	"strings"
)

// TypeMultiselect is Desk's multi-select picklist (organizationFields type
// "Multiselect", desk-oas Field.json). Its value travels as one string, the
// chosen values joined with ";" ("Email;Phone"), in requests and responses
// alike; an empty string clears it.
const TypeMultiselect FieldType = "Multiselect"

// convertMultiselect validates a Multiselect value: a string of
// ";"-separated values, each one of the field's allowedValues, no empty
// parts. The value is stored and returned as given.
func convertMultiselect(f *Field, isStr bool, str string) (value, *FieldError) {
	bad := func(msg string) (value, *FieldError) {
		return value{}, &FieldError{ErrorType: ErrInvalid, ErrorMessage: msg}
	}
	if !isStr {
		return bad("Multiselect field " + f.APIName + ` expects a string of values joined with ";"`)
	}
	if str == "" {
		return value{s: str}, nil
	}
	if f.MaxLength > 0 && len([]rune(str)) > f.MaxLength {
		return bad("value of " + f.APIName + " exceeds the maximum length")
	}
	for _, part := range strings.Split(str, ";") {
		if !contains(f.AllowedValues, part) {
			return bad(`"` + part + `" is not an allowed value of ` + f.APIName + " (allowed: " + strings.Join(f.AllowedValues, ", ") + `; join several with ";")`)
		}
	}
	return value{s: str}, nil
}
