package desk

import (
	"cmp"
	"encoding/binary"
	"slices"

	"deskcrm/emulator/records"
)

// record is one contact or account as read from its moduleStore: its id and what the store
// keeps for it. Records are values: a reader holds a copy that no write changes; its values
// are read with moduleStore.data while the store has not changed since.
type record struct {
	id uint64
	storedRec
}

// storedRec is a record as its moduleStore's slab holds it: fixed system fields plus where
// its field values are, packed into one blob in the module's arena. It holds no pointers, so
// that the pages of a module's records are memory the garbage collector does not scan (see
// package records).
type storedRec struct {
	created   int64 // unix ms
	modified  int64 // unix ms
	seq       uint64
	cseq      uint64
	trashedAt int64 // unix ms; 0 = live
	data      records.Ref
}

func (r record) trashed() bool { return r.trashedAt != 0 }

// blob packs field values: repeated [field uint16 LE][flag byte][uvarint
// length][bytes], ordered by field index. flag 1 = the text is a JSON
// number/boolean literal. Values read from a blob are substrings of it, so
// reads allocate nothing.
type blob string

// entry is one decoded blob entry.
type entry struct {
	f uint16
	v value
}

// nextEntry decodes the entry at the start of s: its field, its value and its length in
// bytes (0 at the end of s or when s is malformed).
func nextEntry(s string) (uint16, value, int) {
	if len(s) < 4 {
		return 0, value{}, 0
	}
	n, k := uvarint(s[3:])
	if k <= 0 || n > uint64(len(s)-3-k) {
		return 0, value{}, 0
	}
	start := 3 + k
	end := start + int(n)
	return uint16(s[0]) | uint16(s[1])<<8, value{s: s[start:end], num: s[2] == 1}, end
}

// each calls fn for every entry in field order; fn returns false to stop.
func (b blob) each(fn func(f uint16, v value) bool) {
	s := string(b)
	for {
		f, v, n := nextEntry(s)
		if n == 0 || !fn(f, v) {
			return
		}
		s = s[n:]
	}
}

// uvarint decodes an unsigned varint at the start of s with binary.Uvarint: the value and the
// bytes read (≤ 0 when malformed).
func uvarint(s string) (uint64, int) {
	return binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)])) // at most 10 bytes copied, on the stack
}

// get returns the value of field f.
func (b blob) get(f uint16) (value, bool) {
	c := blobCursor{rest: string(b)}
	return c.find(f)
}

// blobCursor reads a blob for a caller that asks for fields in increasing order (a render):
// each entry is decoded once, however many fields are asked for, and nothing is allocated
// (decoding the entries into a slice per render was 0.34 GB of the emulators' 4.34 GB of
// allocations in bench-scale at 100k).
type blobCursor struct{ rest string }

// find returns the value of field f, passing over the entries of fields before it.
func (c *blobCursor) find(f uint16) (value, bool) {
	for {
		g, v, n := nextEntry(c.rest)
		if n == 0 || g > f {
			return value{}, false
		}
		c.rest = c.rest[n:]
		if g == f {
			return v, true
		}
	}
}

func byField(a, b entry) int { return cmp.Compare(a.f, b.f) }

// appendEntry appends the encoding of one entry.
func appendEntry(dst []byte, f uint16, v value) []byte {
	flag := byte(0)
	if v.num {
		flag = 1
	}
	dst = append(dst, byte(f), byte(f>>8), flag)
	dst = binary.AppendUvarint(dst, uint64(len(v.s)))
	return append(dst, v.s...)
}

// appendBlob appends the blob of es (any order; later duplicates win; absent values are
// dropped by the caller) to dst. es is sorted in place.
func appendBlob(dst []byte, es []entry) []byte {
	slices.SortStableFunc(es, byField)
	for i, e := range es {
		if i+1 < len(es) && es[i+1].f == e.f {
			continue
		}
		dst = appendEntry(dst, e.f, e.v)
	}
	return dst
}

// appendPatch appends to dst the blob b with the values in set replacing or adding fields
// and the fields in unset removed; a field both set and unset is set, and of several values
// set for one field the last wins. set is sorted in place. It merges b with set in one pass.
func (b blob) appendPatch(dst []byte, set []entry, unset []uint16) []byte {
	slices.SortStableFunc(set, byField)
	old := string(b)
	f, v, n := nextEntry(old)
	for n > 0 || len(set) > 0 {
		if len(set) > 0 && (n == 0 || set[0].f <= f) {
			e := set[0]
			set = set[1:]
			if len(set) > 0 && set[0].f == e.f {
				continue // a later value for the field wins
			}
			dst = appendEntry(dst, e.f, e.v)
			if n > 0 && e.f == f { // replaces the old value
				old = old[n:]
				f, v, n = nextEntry(old)
			}
			continue
		}
		if !slices.Contains(unset, f) {
			dst = appendEntry(dst, f, v)
		}
		old = old[n:]
		f, v, n = nextEntry(old)
	}
	return dst
}
