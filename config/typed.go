package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// bound is the range of values a numeric variable's meaning allows, and how a message says it.
type bound struct {
	min, max int64 // a duration's in nanoseconds
	// want completes "NAME must be …": the expected form, the range and what the value means.
	want string
}

// maxDailyCredits is the largest daily credit allowance ZOHO_CRM_DAILY_CREDITS and
// ZOHO_DESK_DAILY_CREDITS accept: far above any Zoho edition's, and small enough that the
// reserve and the estimates computed from it cannot overflow.
const maxDailyCredits = 1_000_000_000

// bounds gives every numeric variable (integers and durations) the range its meaning needs;
// TestEveryNumericVariableHasABound keeps it complete.
var bounds = map[string]bound{
	"ZOHO_CRM_CONCURRENCY":  {1, 100, "a whole number from 1 to 100: your CRM edition's concurrency limit"},
	"ZOHO_DESK_CONCURRENCY": {1, 100, "a whole number from 1 to 100: your Desk edition's concurrency limit"},
	"ZOHO_CRM_DAILY_CREDITS": {0, maxDailyCredits,
		"a whole number from 0 to 1000000000: your CRM edition's daily API credits (0 or unset: unknown)"},
	"ZOHO_DESK_DAILY_CREDITS": {0, maxDailyCredits,
		"a whole number from 0 to 1000000000: your Desk edition's daily API credits (0 or unset: unknown)"},
	// 100 would reserve the whole allowance: the sync would pause for good at its first call.
	"DESKCRM_CREDIT_RESERVE": {0, 99, "a whole percentage from 0 to 99: the share of each day's credits kept " +
		"for your other integrations"},
	"DESKCRM_CRM_BULK_READ_THRESHOLD": {-1, math.MaxInt32, "a whole number of records: 1 or more, -1 for never, " +
		"or 0 or unset for the default (50000)"},
	"DESKCRM_SHUTDOWN_TIMEOUT": {1, math.MaxInt64, "a positive duration such as 20s or 1m30s"},
}

// envField is one struct field filled from an environment variable.
type envField struct {
	key   string        // the variable
	name  string        // the Go field's name, as env's errors give it
	value reflect.Value // the field
}

// envFields lists the fields of the struct c points to that are filled from a variable,
// those of nested structs included.
func envFields(c any) []envField {
	var out []envField
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
			switch {
			case key == "-":
			case key == "" && f.Type.Kind() == reflect.Struct:
				walk(v.Field(i))
			case key != "":
				out = append(out, envField{key: key, name: f.Name, value: v.Field(i)})
			}
		}
	}
	walk(reflect.ValueOf(c).Elem())
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// wantOf is the form a variable's value must have, completing "NAME must be …".
func wantOf(f envField) string {
	if f.value.Kind() == reflect.Bool {
		return "true or false"
	}
	if b, ok := bounds[f.key]; ok {
		return b.want
	}
	return "a value of type " + f.value.Type().String()
}

// checkTyped turns env's errors into one line per problem, each naming the variable, what is
// wrong with its value and the form it must have; then it checks the range of every numeric
// variable that was read. m is the environment env read; no typed variable is a secret, so
// their values may be quoted.
func checkTyped(c any, m map[string]string, err error) []string {
	fields := envFields(c)
	byName := make(map[string]envField, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	var problems []string
	failed := map[string]bool{}
	var errs []error
	var agg env.AggregateError
	switch {
	case err == nil:
	case errors.As(err, &agg):
		errs = agg.Errors
	default:
		errs = []error{err}
	}
	for _, e := range errs {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			problems = append(problems, e.Error())
			continue
		}
		f, ok := byName[pe.Name]
		if !ok {
			problems = append(problems, e.Error())
			continue
		}
		failed[f.key] = true
		problems = append(problems, fmt.Sprintf("%s must be %s; %s", f.key, wantOf(f), parseProblem(f, m[f.key], pe.Err)))
	}
	for _, f := range fields {
		b, ok := bounds[f.key]
		if !ok || failed[f.key] {
			continue
		}
		if why := outOfBound(f, b); why != "" {
			problems = append(problems, fmt.Sprintf("%s must be %s; %s", f.key, b.want, why))
		}
	}
	return problems
}

// parseProblem says what is wrong with value, which env could not read into f (err).
func parseProblem(f envField, value string, err error) string {
	shown := fmt.Sprintf("%.40q", value)
	switch {
	case f.value.Type() == durationType:
		if _, perr := strconv.ParseFloat(strings.TrimSpace(value), 64); perr == nil {
			return shown + " has no unit (ms, s, m or h)"
		}
		return shown + " is not a duration"
	case f.value.Kind() == reflect.Bool:
		return shown + " is neither"
	case errors.Is(err, strconv.ErrRange) && strings.HasPrefix(strings.TrimSpace(value), "-"):
		return shown + " is too small a number"
	case errors.Is(err, strconv.ErrRange):
		return shown + " is too large a number"
	case f.value.CanInt():
		return shown + " is not a whole number"
	}
	return shown + " cannot be read"
}

// outOfBound says why f's value is outside b, or "" when it is inside.
func outOfBound(f envField, b bound) string {
	show := func(n int64) string {
		if f.value.Type() == durationType {
			return time.Duration(n).String()
		}
		return strconv.FormatInt(n, 10)
	}
	v := f.value.Int()
	switch {
	case v < b.min && b.min == 1:
		return show(v) + " is not positive"
	case v < b.min && b.min == 0:
		return show(v) + " is negative"
	case v < b.min:
		return show(v) + " is less than " + show(b.min)
	case v > b.max:
		return show(v) + " is more than " + show(b.max)
	}
	return ""
}
