package config

import (
	"reflect"
	"strings"
	"testing"
)

// Every variable that is not a string is checked: each numeric one has a range in bounds, and
// a value of the wrong form for any of them is reported by its variable's name, once.
func TestEveryTypedVariableIsChecked(t *testing.T) {
	numeric := map[string]bool{}
	for _, tc := range []struct {
		name string
		c    any
		load func([]string) error
	}{
		{"worker", &Worker{}, func(e []string) error { _, err := LoadWorkerFrom(e); return err }},
		{"starter", &Starter{}, func(e []string) error { _, err := LoadStarterFrom(e); return err }},
	} {
		names := map[string]string{}
		for _, f := range envFields(tc.c) {
			// env's errors name the Go field, which must lead back to one variable.
			if other, dup := names[f.name]; dup && other != f.key {
				t.Errorf("%s: field %s is both %s and %s", tc.name, f.name, other, f.key)
			}
			names[f.name] = f.key
			if f.value.Kind() == reflect.String || f.value.Kind() == reflect.Slice {
				continue
			}
			if f.value.CanInt() {
				numeric[f.key] = true
				if _, ok := bounds[f.key]; !ok {
					t.Errorf("%s: %s has no range in bounds", tc.name, f.key)
				}
			}
			err := tc.load([]string{f.key + "=x!"})
			var p []string
			if cerr, ok := err.(*Error); ok {
				p = cerr.Problems
			}
			if len(p) != 1 || !strings.HasPrefix(p[0], f.key+" must be ") || !strings.Contains(p[0], `"x!"`) {
				t.Errorf("%s: %s=x! gives %q", tc.name, f.key, p)
			}
		}
	}
	for key := range bounds {
		if !numeric[key] {
			t.Errorf("bounds has %s, which is no numeric variable", key)
		}
	}
}
