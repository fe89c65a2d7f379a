package reconcile

import (
	"strings"
	"testing"
	"time"

	"deskcrm/mapping"
)

func FuzzNormalizeAccountName(f *testing.F) {
	for _, s := range []string{"Acme, Inc.", "  O'Neil & Sons ", "A.C.M.E", "Müller GmbH", "...", "\t\n", "x\u00a0y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeAccountName(s)
		if NormalizeAccountName(n) != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, NormalizeAccountName(n))
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("%q → %q has stray spaces", s, n)
		}
		if ascii(s) && NormalizeAccountName(strings.ToUpper(s)) != n {
			t.Fatalf("case matters for %q", s)
		}
		if NormalizeAccountName(" "+s+", ") != n {
			t.Fatalf("surrounding space or punctuation matters for %q", s)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"John@X.com", "  a@b ", "", "ÉLODIE@exemple.fr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q → %q", s, n)
		}
		if strings.TrimSpace(s) == "" && n != "" {
			t.Fatalf("blank %q has key %q", s, n)
		}
		if ascii(s) && NormalizeEmail(strings.ToUpper(s)) != n {
			t.Fatalf("case matters for %q", s)
		}
	})
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzMergeConverges checks, for arbitrary field states, that once a merge's
// patches are applied the two sides agree on every field that flows both
// ways, the new base describes them, and merging again writes nothing.
func FuzzMergeConverges(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, false, int8(1), false)
	f.Add([]byte{3, 3, 3, 1, 2, 3, 0, 0, 4}, true, int8(-1), true)
	m := testMapping()
	choices := []any{"<absent>", nil, "a", "b", "c"}
	pick := func(data []byte, i int) (any, bool) {
		if i >= len(data) {
			return nil, false
		}
		c := choices[int(data[i])%len(choices)]
		if c == "<absent>" {
			return nil, false
		}
		return c, true
	}
	f.Fuzz(func(t *testing.T, data []byte, oneWay bool, order int8, noBase bool) {
		base, desk, crm := V{}, V{}, V{}
		for i, fm := range m.Fields {
			if v, ok := pick(data, 3*i); ok {
				base[fm.Key()] = v
			}
			if v, ok := pick(data, 3*i+1); ok {
				desk[fm.Key()] = v
			}
			if v, ok := pick(data, 3*i+2); ok {
				crm[fm.Key()] = v
			}
		}
		if noBase {
			base = nil
		}
		mode := mapping.TwoWay
		if oneWay {
			mode = mapping.OneWay
		}
		dt, ct := t0, t0.Add(time.Duration(order)*time.Second)
		in := MergeInput{Mapping: m, Mode: mode, Base: base, Desk: desk, CRM: crm, DeskModified: dt, CRMModified: ct}
		r := Merge(in)
		if oneWay && len(r.CRMPatch) != 0 {
			t.Fatalf("one-way merge writes CRM: %v", r.CRMPatch)
		}
		d2, c2 := applied(desk, base, r.DeskPatch), applied(crm, base, r.CRMPatch)
		for _, fm := range m.Fields {
			k := fm.Key()
			if _, ok := r.DeskPatch[k]; ok && !fm.ToDesk() {
				t.Fatalf("%s written to Desk against its direction", k)
			}
			if _, ok := r.CRMPatch[k]; ok && !fm.ToCRM() {
				t.Fatalf("%s written to CRM against its direction", k)
			}
		}
		again := Merge(MergeInput{Mapping: m, Mode: mode, Base: r.Base, Desk: d2, CRM: c2, DeskModified: dt, CRMModified: ct})
		if !again.Empty() {
			t.Fatalf("merge does not converge: %+v then Desk %v CRM %v", in, again.DeskPatch, again.CRMPatch)
		}
	})
}
