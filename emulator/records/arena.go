package records

import (
	"encoding/binary"
	"fmt"
	"iter"
	"unsafe"
)

const (
	// chunkMax is the size an arena's chunks grow to (they start at chunkMin and double, so
	// that a module holding a few records does not take megabytes).
	chunkMax = 1 << 20
	chunkMin = 4 << 10
)

// Ref locates one value in an Arena. The zero Ref is the empty value, which takes no room.
type Ref struct {
	chunk uint32
	off   uint32 // never 0 for a value in a chunk: its entry's header comes first
	n     uint32
}

// Len is the length of the value r points at.
func (r Ref) Len() int { return int(r.n) }

// chunk is one append-only block of an arena. It holds entries [owner, 8 bytes LE][uvarint
// value length][value], so that compaction can tell, from the chunk alone, whose each value
// is.
type chunk struct {
	b    []byte // nil: a free slot of Arena.chunks, reused for the next chunk
	live int    // bytes of the entries that owners still point at
}

// Arena holds the values of one store (an emulator's module), each put for an owner (a record
// id) that keeps a Ref to it.
//
// Old values stay in their chunk as garbage once released. A chunk other than the one being
// filled is compacted once less than half of it is live: its live values are copied to the
// chunk being filled, their owners re-pointed, and it is dropped. Each byte copied is matched
// by at least one byte of garbage dropped, itself written by an earlier put, so compaction
// costs O(1) amortised per byte put, happens a chunk at a time (no pause proportional to the
// store), and keeps the arena within about twice its live bytes.
type Arena struct {
	chunks      []chunk
	free        []uint32 // indexes of free slots in chunks
	cur         int      // index of the chunk being filled; -1 before the first
	next        int      // capacity of the next normal chunk
	max         int      // chunkMax; smaller in tests, to exercise compaction
	pending     []uint32 // chunks that fell under half live, for Tidy
	compactions int
}

// NewArena returns an empty arena.
func NewArena() Arena { return Arena{cur: -1, next: chunkMin, max: chunkMax} }

// SetChunkMax makes the arena's chunks n bytes at most (and from the next one on, n bytes),
// so that tests with a few records fill, compact and drop chunks.
func (a *Arena) SetChunkMax(n int) { a.max, a.next = n, n }

// entrySize is the bytes an entry of an n-byte value takes in a chunk.
func entrySize(n int) int { return 8 + uvarintLen(uint64(n)) + n }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Get returns the value r points at, a string into its chunk (see the package invariants).
func (a *Arena) Get(r Ref) string {
	if r.n == 0 {
		return ""
	}
	return unsafe.String(&a.chunks[r.chunk].b[r.off], int(r.n))
}

// Put copies b, a value of owner, into the arena and returns where it is. The owner holds the
// Ref until it calls Release, and Tidy re-points it.
func (a *Arena) Put(owner uint64, b []byte) Ref { return put(a, owner, b) }

// PutString is Put for a string.
func (a *Arena) PutString(owner uint64, s string) Ref { return put(a, owner, s) }

// put writes the entry of value v. A value larger than a sixteenth of a full chunk gets a
// chunk of its own.
func put[V string | []byte](a *Arena, owner uint64, v V) Ref {
	if len(v) == 0 {
		return Ref{}
	}
	size := entrySize(len(v))
	var ci int
	switch {
	case size > a.max/16:
		ci = a.newChunk(size)
	case a.cur < 0 || cap(a.chunks[a.cur].b)-len(a.chunks[a.cur].b) < size:
		if a.cur >= 0 {
			old := a.cur
			a.cur = -1
			a.check(old)
		}
		a.cur = a.newChunk(max(a.next, size))
		a.next = min(2*a.next, a.max)
		ci = a.cur
	default:
		ci = a.cur
	}
	c := &a.chunks[ci]
	c.b = binary.LittleEndian.AppendUint64(c.b, owner)
	c.b = binary.AppendUvarint(c.b, uint64(len(v)))
	off := len(c.b)
	c.b = append(c.b, v...) // within capacity: the chunk's earlier bytes never move
	c.live += size
	return Ref{chunk: uint32(ci), off: uint32(off), n: uint32(len(v))}
}

// newChunk makes a chunk of capacity size and returns its index.
func (a *Arena) newChunk(size int) int {
	c := chunk{b: make([]byte, 0, size)}
	if n := len(a.free); n > 0 {
		ci := a.free[n-1]
		a.free = a.free[:n-1]
		a.chunks[ci] = c
		return int(ci)
	}
	a.chunks = append(a.chunks, c)
	return len(a.chunks) - 1
}

// Release records that no owner points at r any longer. Strings got from r stay valid.
func (a *Arena) Release(r Ref) {
	if r.n == 0 {
		return
	}
	a.chunks[r.chunk].live -= entrySize(int(r.n))
	a.check(int(r.chunk))
}

// check frees chunk ci when nothing in it is live and queues it for compaction when less
// than half is; the chunk being filled is left alone.
func (a *Arena) check(ci int) {
	c := &a.chunks[ci]
	switch {
	case ci == a.cur || c.b == nil:
	case c.live == 0:
		a.drop(ci)
	case 2*c.live < cap(c.b):
		a.pending = append(a.pending, uint32(ci))
	}
}

// drop frees chunk ci. Values handed out from it stay valid: the strings keep its bytes alive.
func (a *Arena) drop(ci int) {
	a.chunks[ci] = chunk{}
	a.free = append(a.free, uint32(ci))
}

// Tidy compacts the chunks that fell under half live since it last ran. ref returns where
// owner keeps its Ref, or nil when the owner is gone: a value is live when its owner's Ref
// still points at it, and is then copied and the owner's Ref re-pointed. Stores call it last
// in a change that put or released values, once every owner points at its value.
func (a *Arena) Tidy(ref func(owner uint64) *Ref) {
	for len(a.pending) > 0 {
		ci := int(a.pending[len(a.pending)-1])
		a.pending = a.pending[:len(a.pending)-1]
		if c := a.chunks[ci]; ci != a.cur && c.b != nil && 2*c.live < cap(c.b) {
			a.compact(ci, ref)
		}
	}
}

// compact copies the live values of chunk ci to the chunk being filled, points their owners at
// the copies, and drops ci.
func (a *Arena) compact(ci int, ref func(owner uint64) *Ref) {
	b := a.chunks[ci].b
	for pos := 0; pos < len(b); {
		owner := binary.LittleEndian.Uint64(b[pos:])
		n, k := binary.Uvarint(b[pos+8:])
		off := pos + 8 + k
		end := off + int(n)
		if p := ref(owner); p != nil && *p == (Ref{chunk: uint32(ci), off: uint32(off), n: uint32(n)}) {
			*p = put(a, owner, b[off:end])
		}
		pos = end
	}
	a.drop(ci)
	a.compactions++
}

// Size returns the bytes the arena's chunks take and the bytes of their live entries.
func (a *Arena) Size() (held, live int) {
	for _, c := range a.chunks {
		held += cap(c.b)
		live += c.live
	}
	return held, live
}

// Compactions is the number of chunks compacted so far.
func (a *Arena) Compactions() int { return a.compactions }

// Check returns an error when the arena does not agree with refs, every owner and the Ref it
// holds: each Ref must point at an entry of its owner in a chunk in use, each chunk must count
// as live the entries pointed at, every chunk but the one being filled must be at least half
// live, and no compaction may be pending. It is for tests.
func (a *Arena) Check(refs iter.Seq2[uint64, Ref]) error {
	live := make([]int, len(a.chunks))
	for owner, r := range refs {
		if r.n == 0 {
			if r != (Ref{}) {
				return fmt.Errorf("owner %d holds the empty ref %+v", owner, r)
			}
			continue
		}
		if int(r.chunk) >= len(a.chunks) {
			return fmt.Errorf("owner %d points at %+v, past the last chunk", owner, r)
		}
		c := a.chunks[r.chunk].b
		start := int(r.off) - uvarintLen(uint64(r.n)) - 8
		if c == nil || start < 0 || int(r.off+r.n) > len(c) {
			return fmt.Errorf("owner %d points at %+v, outside its chunk of %d bytes", owner, r, len(c))
		}
		if got := binary.LittleEndian.Uint64(c[start:]); got != owner {
			return fmt.Errorf("owner %d points at an entry of owner %d", owner, got)
		}
		if n, _ := binary.Uvarint(c[start+8:]); n != uint64(r.n) {
			return fmt.Errorf("owner %d: entry length %d, ref length %d", owner, n, r.n)
		}
		live[r.chunk] += entrySize(int(r.n))
	}
	free := map[uint32]bool{}
	for _, ci := range a.free {
		free[ci] = true
	}
	for ci, c := range a.chunks {
		switch {
		case c.b == nil && !free[uint32(ci)]:
			return fmt.Errorf("chunk %d is empty but not free", ci)
		case c.b != nil && free[uint32(ci)]:
			return fmt.Errorf("chunk %d is in use and free", ci)
		case c.live != live[ci]:
			return fmt.Errorf("chunk %d counts %d live bytes, owners point at %d", ci, c.live, live[ci])
		case c.b != nil && ci != a.cur && 2*c.live < cap(c.b):
			return fmt.Errorf("chunk %d is %d of %d bytes live, under half, and not compacted", ci, c.live, cap(c.b))
		}
	}
	if len(a.pending) != 0 {
		return fmt.Errorf("%d chunks left pending", len(a.pending))
	}
	return nil
}
