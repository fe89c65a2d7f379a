package records

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type slabRec struct {
	a, b int64
	r    Ref
}

// A slab agrees with a map through a random mix of puts (new ids and updates), deletes and
// changes through Ptr, reuses freed slots, and yields its values in slot order.
func TestSlab(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s Slab[slabRec]
	want := map[uint64]slabRec{}
	for i := range 20000 {
		id := uint64(rng.IntN(3000)) // 0 is an id like any other
		switch k := rng.IntN(10); {
		case k < 6:
			v := slabRec{a: int64(i), b: int64(id), r: Ref{n: uint32(i)}}
			s.Put(id, v)
			want[id] = v
		case k < 8:
			s.Delete(id)
			delete(want, id)
		default:
			if p := s.Ptr(id); p != nil {
				p.a = -int64(i)
				w := want[id]
				w.a = -int64(i)
				want[id] = w
			} else if _, ok := want[id]; ok {
				t.Fatalf("change %d: Ptr(%d) is nil", i, id)
			}
		}
	}
	if s.Len() != len(want) {
		t.Fatalf("Len %d, want %d", s.Len(), len(want))
	}
	seen := map[uint64]bool{}
	var slots []uint32
	for id, p := range s.All {
		if seen[id] {
			t.Fatalf("id %d yielded twice", id)
		}
		seen[id] = true
		slots = append(slots, s.slots[id])
		if *p != want[id] {
			t.Fatalf("id %d: %+v, want %+v", id, *p, want[id])
		}
	}
	if len(seen) != len(want) || !slices.IsSorted(slots) {
		t.Fatalf("All yielded %d ids (want %d), sorted by slot: %v", len(seen), len(want), slices.IsSorted(slots))
	}
	for id, w := range want {
		if v, ok := s.Get(id); !ok || v != w || !s.Has(id) {
			t.Fatalf("Get(%d) = %+v, %v; want %+v", id, v, ok, w)
		}
	}
	if _, ok := s.Get(1 << 40); ok || s.Has(1<<40) || s.Ptr(1<<40) != nil {
		t.Fatal("an id never put is there")
	}
	// Every slot handed out is in use or free: deletes leave no holes behind.
	if int(s.n) != s.Len()+len(s.free) || len(s.pages) != int(s.n+pageMask)>>pageBits {
		t.Fatalf("%d slots handed out, %d in use, %d free, %d pages", s.n, s.Len(), len(s.free), len(s.pages))
	}
	// All stops when asked.
	n := 0
	for range s.All {
		n++
		if n == 3 {
			break
		}
	}
}
