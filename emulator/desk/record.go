package desk

import (
	"encoding/binary"
	"sort"
)

// record is one contact or account, stored compactly: fixed system fields
// plus every set field value packed into a single string (see blob).
type record struct {
	id        uint64
	created   int64 // unix ms
	modified  int64 // unix ms
	seq       uint64
	cseq      uint64
	trashedAt int64 // unix ms; 0 = live
	data      blob
}

func (r *record) trashed() bool { return r.trashedAt != 0 }

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

// each calls fn for every entry in field order; fn returns false to stop.
func (b blob) each(fn func(f uint16, v value) bool) {
	s := string(b)
	for len(s) >= 4 {
		f := uint16(s[0]) | uint16(s[1])<<8
		num := s[2] == 1
		n, k := uvarint(s[3:])
		if k <= 0 {
			return
		}
		start := 3 + k
		end := start + int(n)
		if end > len(s) {
			return
		}
		if !fn(f, value{s: s[start:end], num: num}) {
			return
		}
		s = s[end:]
	}
}

// uvarint decodes an unsigned varint at the start of s with binary.Uvarint: the value and the
// bytes read (≤ 0 when malformed).
func uvarint(s string) (uint64, int) {
	return binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)])) // at most 10 bytes copied, on the stack
}

// get returns the value of field f.
func (b blob) get(f uint16) (value, bool) {
	var out value
	found := false
	b.each(func(g uint16, v value) bool {
		if g == f {
			out, found = v, true
			return false
		}
		return g < f
	})
	return out, found
}

// entries decodes the blob.
func (b blob) entries() []entry {
	var out []entry
	b.each(func(f uint16, v value) bool {
		out = append(out, entry{f, v})
		return true
	})
	return out
}

// packBlob encodes entries (any order; later duplicates win; absent values
// are dropped by the caller).
func packBlob(es []entry) blob {
	sort.SliceStable(es, func(i, j int) bool { return es[i].f < es[j].f })
	size := 0
	for _, e := range es {
		size += 3 + binary.MaxVarintLen64 + len(e.v.s)
	}
	buf := make([]byte, 0, size)
	for i, e := range es {
		if i+1 < len(es) && es[i+1].f == e.f {
			continue
		}
		buf = append(buf, byte(e.f), byte(e.f>>8), 0)
		if e.v.num {
			buf[len(buf)-1] = 1
		}
		buf = binary.AppendUvarint(buf, uint64(len(e.v.s)))
		buf = append(buf, e.v.s...)
	}
	return blob(buf)
}

// patch returns a blob with set values replacing or adding fields and the
// fields in unset removed.
func (b blob) patch(set []entry, unset []uint16) blob {
	es := b.entries()
	drop := map[uint16]bool{}
	for _, f := range unset {
		drop[f] = true
	}
	for _, e := range set {
		drop[e.f] = true
	}
	out := es[:0]
	for _, e := range es {
		if !drop[e.f] {
			out = append(out, e)
		}
	}
	// Copy values out of the old blob so the new one does not keep it alive.
	out = append(out, set...)
	return packBlob(out)
}
