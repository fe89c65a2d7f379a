package mapping

import (
	"math/big"
	"strings"
	"testing"
)

func FuzzCanonicalDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0.0", "1.50", "1e3", ".5", "5.", "+12", "1,000", "1e-400", "9e399", "abc", "00012.3400e-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalDecimal(s)
		if err != nil {
			return
		}
		again, err := CanonicalDecimal(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", s, out, again, err)
		}
		if strings.ContainsAny(out, "eE+ ") || (strings.Contains(out, ".") && strings.HasSuffix(out, "0")) || out == "-0" {
			t.Fatalf("%q → non-canonical %q", s, out)
		}
		in, ok1 := new(big.Rat).SetString(strings.TrimSpace(s))
		got, ok2 := new(big.Rat).SetString(out)
		if !ok2 {
			t.Fatalf("%q → %q, which is not a number", s, out)
		}
		if ok1 && in.Cmp(got) != 0 {
			t.Fatalf("%q → %q changes the value", s, out)
		}
	})
}

// FuzzConversion checks that any value accepted for a field converts to a
// canonical value that survives a trip through either side's wire form
// unchanged.
func FuzzConversion(f *testing.F) {
	for i, s := range []string{"abc", " 12 ", "1.50", "true", "2025-02-28", "2024-03-01T10:11:12.345Z", "a;b; a", "C1", "", "1e3", "FALSE"} {
		f.Add(uint8(i), s)
	}
	m := conv()
	refs := NewMapRefs(nil)
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		fm := m.Fields[int(which)%len(m.Fields)]
		if fm.Type == TypeLookup {
			id := cleanString(s)
			refs.Add("D"+id, id) // every account is linked, so references translate
		}
		v1, probs := FromCRM(m, map[string]any{fm.CRM: s}, refs)
		if len(probs) > 0 {
			if _, ok := v1[fm.Key()]; ok {
				t.Fatalf("value kept despite problem %v", probs)
			}
			return
		}
		var crmRec map[string]any
		decodeJSON(t, ToCRM(m, v1, refs), &crmRec)
		v2, probs := FromCRM(m, crmRec, refs)
		if len(probs) > 0 || !Equal(v1, v2, nil) || Hash(v1) != Hash(v2) {
			t.Fatalf("CRM trip of %q (%s): %v → %v (%v)", s, fm.Type, v1, v2, probs)
		}
		fields, cf := ToDesk(m, v1, refs)
		fields["cf"] = cf
		var deskRec map[string]any
		decodeJSON(t, fields, &deskRec)
		v3, probs := FromDesk(m, deskRec, nil, refs)
		if len(probs) > 0 || !Equal(v1, v3, nil) {
			t.Fatalf("Desk trip of %q (%s): %v → %v (%v)", s, fm.Type, v1, v3, probs)
		}
	})
}
