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
// changes through Ptr, reuses freed slots, and yields its values in slot order: with ids from
// 0, with ids in sequence from an emulator's base (the dense table's case), and with ids
// before the first one put and far after it (the map's), mixed.
func TestSlab(t *testing.T) {
	const base = 1892000000100000
	for _, tc := range []struct {
		name string
		base uint64 // the first id put, when not the first drawn
		id   func(rng *rand.Rand) uint64
	}{
		{"small ids", 0, func(rng *rand.Rand) uint64 { return uint64(rng.IntN(3000)) }}, // 0 is an id like any other
		{"ids in sequence", base, func(rng *rand.Rand) uint64 { return base + uint64(rng.IntN(3000)) }},
		{"ids across dense pages", base, func(rng *rand.Rand) uint64 { return base + uint64(rng.IntN(3000))*denseSize/7 }},
		{"ids before, in and far after the span", base, func(rng *rand.Rand) uint64 {
			switch rng.IntN(4) {
			case 0:
				return base - 1 - uint64(rng.IntN(1000)) // before the first id put
			case 1:
				return base + denseSpan - 500 + uint64(rng.IntN(1000)) // the span's end, both sides
			case 2:
				return ^uint64(0) - uint64(rng.IntN(1000))
			}
			return base + uint64(rng.IntN(1000))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testSlab(t, tc.base, tc.id) })
	}
}

func testSlab(t *testing.T, base uint64, nextID func(rng *rand.Rand) uint64) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s Slab[slabRec]
	if base != 0 {
		s.Put(base, slabRec{}) // the first id put is the dense table's base
		s.Delete(base)
	}
	want := map[uint64]slabRec{}
	for i := range 20000 {
		id := nextID(rng)
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
		slot, _ := s.slot(id)
		slots = append(slots, slot)
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
	for _, id := range []uint64{1 << 40, 1892000000100000 + 3*denseSize + 5, 1892000000100000 + 1<<30} {
		if _, ok := want[id]; ok {
			continue
		}
		if _, ok := s.Get(id); ok || s.Has(id) || s.Ptr(id) != nil {
			t.Fatalf("id %d was never put but is there", id)
		}
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
