// Package valueindex is the emulators' index from a field's normalised value (an email, an
// account name, a counterpart id) to the ids of the records holding it, as Zoho's search and
// duplicate checks look records up by value.
//
// The index holds no pointers: values are kept as 64-bit hashes, and an id held alone under
// its hash (by far the common case) is a map entry of two integers. A million-record module
// indexed by strings and id slices cost the garbage collector two pointers per record to trace
// on every cycle, which at that size was most of the emulators' processor time. A hash stands
// for its value only probably, so Lookup returns candidates and the caller keeps those whose
// record really holds the value (Index.Lookup's doc).
package valueindex

import "hash/maphash"

// seed is the hash seed of every index of the process.
var seed = maphash.MakeSeed()

// Index maps values to record ids. The zero value is not usable: call New. It is not safe
// for concurrent use (the emulators guard it with their store's lock).
type Index struct {
	hash func(string) uint64
	one  map[uint64]uint64   // hash → the only id under it
	many map[uint64][]uint64 // hash → ids, when several records hold the value (or hashes meet)
}

// New returns an empty index.
func New() *Index { return NewWithHash(func(key string) uint64 { return maphash.String(seed, key) }) }

// NewWithHash returns an empty index that hashes values with hash: for tests that need
// different values to meet under one hash.
func NewWithHash(hash func(string) uint64) *Index {
	return &Index{hash: hash, one: map[uint64]uint64{}, many: map[uint64][]uint64{}}
}

// Add records that record id holds key. An empty key is not indexed.
func (x *Index) Add(key string, id uint64) {
	if key == "" {
		return
	}
	h := x.hash(key)
	if ids, ok := x.many[h]; ok {
		x.many[h] = append(ids, id)
		return
	}
	if prev, ok := x.one[h]; ok {
		delete(x.one, h)
		x.many[h] = []uint64{prev, id}
		return
	}
	x.one[h] = id
}

// Remove forgets that record id holds key (once, if Add was called twice).
func (x *Index) Remove(key string, id uint64) {
	if key == "" {
		return
	}
	h := x.hash(key)
	if ids, ok := x.many[h]; ok {
		for i, v := range ids {
			if v == id {
				ids = append(ids[:i], ids[i+1:]...)
				break
			}
		}
		switch len(ids) {
		case 0:
			delete(x.many, h)
		case 1:
			delete(x.many, h)
			x.one[h] = ids[0]
		default:
			x.many[h] = ids
		}
		return
	}
	if v, ok := x.one[h]; ok && v == id {
		delete(x.one, h)
	}
}

// Lookup appends to dst the ids of the records that may hold key, in the order they were
// added, and returns it: every record holding key, and rarely (when two values' 64-bit hashes
// meet) one that does not, which the caller drops by reading the record's value.
func (x *Index) Lookup(dst []uint64, key string) []uint64 {
	if key == "" {
		return dst
	}
	h := x.hash(key)
	if id, ok := x.one[h]; ok {
		return append(dst, id)
	}
	return append(dst, x.many[h]...)
}
