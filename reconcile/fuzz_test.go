package reconcile

import (
	"math/rand/v2"
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

// FuzzMergeConverges checks, for arbitrary field states (each side's base,
// shared or not, and current value; some values not carriable, like an
// account reference with no Desk counterpart), that:
//
//   - nothing is written against a field's direction or to CRM in one-way
//     mode;
//   - no merge clears a value the clearing side never held (the data-loss
//     rule: a value the sync could not carry never comes back as a clear);
//   - once the patches are applied, merging again writes nothing.
func FuzzMergeConverges(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27}, false, int8(1), false)
	f.Add([]byte{3, 3, 3, 1, 2, 3, 0, 0, 4}, true, int8(-1), true)
	f.Add([]byte{2, 6, 1, 2, 2, 6, 2, 1, 6, 6, 1, 2}, false, int8(0), false)
	f.Fuzz(checkMerge)
}

// TestMergeNeverClearsWhatTheOtherSideNeverHeld runs the checks of
// FuzzMergeConverges over 50,000 random field states (fixed seed) on every
// test run: no merge clears a value the clearing side never held, nothing
// flows against a direction, and merging again after the writes is empty.
func TestMergeNeverClearsWhatTheOtherSideNeverHeld(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 4*len(testMapping().Fields))
	for range 50000 {
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		checkMerge(t, data, rng.UintN(4) == 0, int8(rng.IntN(3)-1), rng.UintN(8) == 0)
		if t.Failed() {
			return
		}
	}
}

// checkMerge merges the field states data encodes (per field: Desk base,
// CRM base, Desk value, CRM value) and checks the merge's invariants.
func checkMerge(t *testing.T, data []byte, oneWay bool, order int8, noBase bool) {
	t.Helper()
	m := testMapping()
	// "C1" is an account reference with a Desk counterpart, "C-old" one
	// without (written to Desk it cannot be carried).
	choices := []any{"<absent>", nil, "a", "b", "c", "C1", "C-old"}
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
	base, desk, crm := Base{Desk: V{}, CRM: V{}}, V{}, V{}
	for i, fm := range m.Fields {
		k := fm.Key()
		if v, ok := pick(data, 4*i); ok {
			base.Desk[k] = v
		}
		if v, ok := pick(data, 4*i+1); ok {
			base.CRM[k] = v
		} else if v, ok := base.Desk[k]; ok && len(data) > 4*i+1 && data[4*i+1]%2 == 0 {
			base.CRM[k] = v // mostly a shared base
		}
		if v, ok := pick(data, 4*i+2); ok {
			desk[k] = v
		}
		if v, ok := pick(data, 4*i+3); ok {
			crm[k] = v
		}
	}
	if noBase {
		base = Base{}
	}
	mode := mapping.TwoWay
	if oneWay {
		mode = mapping.OneWay
	}
	dt, ct := t0, t0.Add(time.Duration(order)*time.Second)
	in := MergeInput{Mapping: m, Mode: mode, Base: base, Desk: desk, CRM: crm, DeskModified: dt, CRMModified: ct, Refs: testRefs()}
	r := Merge(in)
	if oneWay && len(r.CRMPatch) != 0 {
		t.Fatalf("one-way merge writes CRM: %v", r.CRMPatch)
	}
	d2, c2 := applied(desk, base.Desk, r.DeskPatch), applied(crm, base.CRM, r.CRMPatch)
	for _, fm := range m.Fields {
		k := fm.Key()
		if _, ok := r.DeskPatch[k]; ok && !fm.ToDesk() {
			t.Fatalf("%s written to Desk against its direction", k)
		}
		if _, ok := r.CRMPatch[k]; ok && !fm.ToCRM() {
			t.Fatalf("%s written to CRM against its direction", k)
		}
		if v, ok := r.DeskPatch[k]; ok && v == "C-old" && fm.Type == mapping.TypeLookup {
			t.Fatalf("%s: an account with no Desk counterpart written to Desk", k)
		}
		// Never clear a value the clearing side never held: one it held as its base, or, on a
		// clear of one side only (the cleared side's value unchanged since its base), one that
		// could be carried to it — the older value its own value had failed to replace.
		for _, x := range []struct {
			patch        V
			now          V
			ownBase      V
			otherBase    V
			clearedSide  string
			clearingSide mapping.Side
		}{{r.CRMPatch, crm, base.CRM, base.Desk, "CRM", mapping.Desk}, {r.DeskPatch, desk, base.Desk, base.CRM, "Desk", mapping.CRM}} {
			v, ok := x.patch[k]
			if !ok || !isEmpty(v) {
				continue
			}
			cur, known := x.now[k]
			if !known || isEmpty(cur) {
				continue
			}
			if held, ok := x.otherBase[k]; ok && mapping.ValueEqual(held, cur) {
				continue
			}
			_, hasOther := x.otherBase[k]
			if own, ok := x.ownBase[k]; ok && hasOther && mapping.ValueEqual(own, cur) &&
				mapping.Carry(m.Module, fm, mapping.Fit(fm, cur, x.clearingSide), x.clearingSide, testRefs()) == nil {
				continue
			}
			t.Fatalf("%s: merge clears %s's %v, which %s never held (its base %v); input %+v", k, x.clearedSide, cur, x.clearingSide.Label(), x.otherBase[k], in)
		}
	}
	again := Merge(MergeInput{Mapping: m, Mode: mode, Base: r.Base, Desk: d2, CRM: c2, DeskModified: dt, CRMModified: ct, Refs: testRefs()})
	if !again.Empty() {
		t.Fatalf("merge does not converge: %+v then Desk %v CRM %v", in, again.DeskPatch, again.CRMPatch)
	}
}
