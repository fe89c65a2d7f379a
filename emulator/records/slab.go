package records

import "math/bits"

// Records are kept in pages of pageSize.
const (
	pageBits = 10
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// page holds pageSize slots: the id and the value of each. (Which slots are in use is kept
// apart, in Slab.used, so that a page of 64-byte values is 72 KiB, a whole number of the
// heap's 8 KiB pages.)
type page[T any] struct {
	ids  [pageSize]uint64
	vals [pageSize]T
}

// Ids from the first id put on are found through a table of slot numbers (dense), the
// others through a map (sparse).
const (
	denseBits = 16
	denseSize = 1 << denseBits // ids per dense page: 256 KiB of slot numbers
	denseMask = denseSize - 1
	denseSpan = 1 << 26 // ids after the first put found through dense: 1,024 pages at most
)

// Slab holds values of a pointer-free type T by id: by value in pages of 1,024, with the
// slots freed by Delete reused by later Puts. A map from id to T would be simpler, but with
// its entries padded to the map's slot size it took 160–169 MB at a million records, against
// about 100 MB for the pages and the map of 4-byte slot numbers. Pages, not one slice, so
// that the slab grows without copying: appending to one slice re-copied and faulted in every
// grown array, 1.2 s of processor time in loading a million records.
//
// An id's slot is found in a table indexed by the id's distance from the first id put, in
// pages of 65,536 made when first used, since the emulators hand out ids in sequence: one
// memory read per lookup, where a map of a million ids took two or three that missed the
// processor's caches (Slab.Ptr and the map's probe were 8.7 s of the emulators' 241 s in
// bench-scale at 1M records per side, against 0.6 s of 22 s at 100k). Ids before the first,
// or more than 64 million after it (a snapshot's, a test's), go to a map, as every id did
// before. The zero Slab is empty and ready to use.
type Slab[T any] struct {
	based  bool                 // base is set: an id has been put
	base   uint64               // the first id put
	dense  []*[denseSize]uint32 // (id-base)>>denseBits → slot+1 of each id of the page; 0: none
	sparse map[uint64]uint32    // id → slot, for ids outside [base, base+denseSpan)
	count  int                  // values held
	pages  []*page[T]           // slot → value: page slot>>pageBits, index slot&pageMask
	used   []uint64             // bit i%64 of used[i/64]: slot i holds a value
	free   []uint32             // slots freed by Delete
	n      uint32               // slots handed out, free or not
}

// Len is the number of values held.
func (s *Slab[T]) Len() int { return s.count }

// Has reports whether the slab holds a value for id.
func (s *Slab[T]) Has(id uint64) bool {
	_, ok := s.slot(id)
	return ok
}

// Get returns the value for id.
func (s *Slab[T]) Get(id uint64) (T, bool) {
	if p := s.Ptr(id); p != nil {
		return *p, true
	}
	var zero T
	return zero, false
}

// Ptr returns where the value for id is kept, or nil. The pointer is good until id is
// deleted; the value is changed in place through it.
func (s *Slab[T]) Ptr(id uint64) *T {
	slot, ok := s.slot(id)
	if !ok {
		return nil
	}
	return &s.pages[slot>>pageBits].vals[slot&pageMask]
}

// denseAt is where id's slot number is kept in the dense table, if id is in its span.
func (s *Slab[T]) denseAt(id uint64) (page, i int, ok bool) {
	if !s.based || id < s.base || id-s.base >= denseSpan {
		return 0, 0, false
	}
	d := id - s.base
	return int(d >> denseBits), int(d & denseMask), true
}

// slot returns the slot holding id's value.
func (s *Slab[T]) slot(id uint64) (uint32, bool) {
	if p, i, ok := s.denseAt(id); ok {
		if p >= len(s.dense) || s.dense[p] == nil {
			return 0, false
		}
		v := s.dense[p][i]
		return v - 1, v != 0
	}
	slot, ok := s.sparse[id]
	return slot, ok
}

// setSlot records that id's value is in slot; with ok false it forgets id's slot.
func (s *Slab[T]) setSlot(id uint64, slot uint32, ok bool) {
	if !s.based {
		s.based, s.base = true, id
	}
	p, i, dense := s.denseAt(id)
	switch {
	case dense && ok:
		for len(s.dense) <= p {
			s.dense = append(s.dense, nil)
		}
		if s.dense[p] == nil {
			s.dense[p] = new([denseSize]uint32)
		}
		s.dense[p][i] = slot + 1
	case dense:
		if p < len(s.dense) && s.dense[p] != nil {
			s.dense[p][i] = 0
		}
	case ok:
		if s.sparse == nil {
			s.sparse = map[uint64]uint32{}
		}
		s.sparse[id] = slot
	default:
		delete(s.sparse, id)
	}
}

// Put stores v as the value for id, in the slot id has or in a free or new one.
func (s *Slab[T]) Put(id uint64, v T) {
	if p := s.Ptr(id); p != nil {
		*p = v
		return
	}
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		slot = s.n
		s.n++
		if int(slot>>pageBits) == len(s.pages) {
			s.pages = append(s.pages, new(page[T]))
			s.used = append(s.used, make([]uint64, pageSize/64)...)
		}
	}
	s.setSlot(id, slot, true)
	s.count++
	s.used[slot/64] |= 1 << (slot % 64)
	p, i := s.pages[slot>>pageBits], slot&pageMask
	p.ids[i], p.vals[i] = id, v
}

// Delete removes the value for id, if any, and frees its slot.
func (s *Slab[T]) Delete(id uint64) {
	slot, ok := s.slot(id)
	if !ok {
		return
	}
	s.setSlot(id, 0, false)
	s.count--
	s.used[slot/64] &^= 1 << (slot % 64)
	p, i := s.pages[slot>>pageBits], slot&pageMask
	var zero T
	p.ids[i], p.vals[i] = 0, zero
	s.free = append(s.free, slot)
}

// All yields every id with where its value is kept, in slot order (the order of the Puts that
// took a new slot, with freed slots reused). The slab must not change during the loop, but
// values may be changed through the pointers.
func (s *Slab[T]) All(yield func(id uint64, v *T) bool) {
	for w, used := range s.used {
		for used != 0 {
			slot := w*64 + bits.TrailingZeros64(used)
			used &= used - 1
			p, i := s.pages[slot>>pageBits], slot&pageMask
			if !yield(p.ids[i], &p.vals[i]) {
				return
			}
		}
	}
}
