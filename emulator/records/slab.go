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

// Slab holds values of a pointer-free type T by id: by value in pages of 1,024, found through
// a map from id to slot, with the slots freed by Delete reused by later Puts. A map from id to
// T would be simpler, but with its entries padded to the map's slot size it took 160–169 MB at
// a million records, against about 100 MB for the pages and the map of 4-byte slot numbers.
// Pages, not one slice, so that the slab grows without copying: appending to one slice
// re-copied and faulted in every grown array, 1.2 s of processor time in loading a million
// records. The zero Slab is empty and ready to use.
type Slab[T any] struct {
	slots map[uint64]uint32 // id → slot: page slot>>pageBits, index slot&pageMask
	pages []*page[T]
	used  []uint64 // bit i%64 of used[i/64]: slot i holds a value
	free  []uint32 // slots freed by Delete
	n     uint32   // slots handed out, free or not
}

// Len is the number of values held.
func (s *Slab[T]) Len() int { return len(s.slots) }

// Has reports whether the slab holds a value for id.
func (s *Slab[T]) Has(id uint64) bool {
	_, ok := s.slots[id]
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
	slot, ok := s.slots[id]
	if !ok {
		return nil
	}
	return &s.pages[slot>>pageBits].vals[slot&pageMask]
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
	if s.slots == nil {
		s.slots = map[uint64]uint32{}
	}
	s.slots[id] = slot
	s.used[slot/64] |= 1 << (slot % 64)
	p, i := s.pages[slot>>pageBits], slot&pageMask
	p.ids[i], p.vals[i] = id, v
}

// Delete removes the value for id, if any, and frees its slot.
func (s *Slab[T]) Delete(id uint64) {
	slot, ok := s.slots[id]
	if !ok {
		return
	}
	delete(s.slots, id)
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
