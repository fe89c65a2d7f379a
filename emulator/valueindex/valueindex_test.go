package valueindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The index answers like a plain map from value to ids under random adds and removes: with
// its real hash exactly, and with every value under one hash as a superset in which the
// records holding the value come in the order they were added.
func TestIndexAnswersLikeAMapOfValuesToIDs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index *Index
		exact bool
	}{
		{"maphash", New(), true},
		{"all values under one hash", NewWithHash(func(string) uint64 { return 7 }), false},
		{"two hashes", NewWithHash(func(s string) uint64 { return uint64(len(s) % 2) }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			want := map[string][]uint64{}
			type held struct {
				key string
				id  uint64
			}
			var all []held
			for step := range 4000 {
				if len(all) > 0 && rng.IntN(3) == 0 {
					i := rng.IntN(len(all))
					h := all[i]
					all = slices.Delete(all, i, i+1)
					tc.index.Remove(h.key, h.id)
					ids := want[h.key]
					ids = slices.Delete(ids, slices.Index(ids, h.id), slices.Index(ids, h.id)+1)
					if len(ids) == 0 {
						delete(want, h.key)
					} else {
						want[h.key] = ids
					}
				} else {
					h := held{fmt.Sprintf("v%d", rng.IntN(300)), uint64(step + 1)}
					all = append(all, h)
					tc.index.Add(h.key, h.id)
					want[h.key] = append(want[h.key], h.id)
				}
				if step%97 != 0 {
					continue
				}
				for v := range 300 {
					key := fmt.Sprintf("v%d", v)
					got := tc.index.Lookup(nil, key)
					if tc.exact {
						if !slices.Equal(got, want[key]) {
							t.Fatalf("step %d: Lookup(%s) = %v, want %v", step, key, got, want[key])
						}
						continue
					}
					var holding []uint64
					for _, id := range got {
						if slices.Contains(want[key], id) {
							holding = append(holding, id)
						}
					}
					if !slices.Equal(holding, want[key]) {
						t.Fatalf("step %d: Lookup(%s) holds %v of the records with the value, want %v", step, key, holding, want[key])
					}
				}
			}
			if got := tc.index.Lookup(nil, ""); len(got) != 0 {
				t.Errorf("Lookup(\"\") = %v, want nothing (empty values are not indexed)", got)
			}
		})
	}
}
