package desk

import (
	"encoding/binary"
	"unsafe"
)

// The packed values of a module's records live in an arena of large byte chunks, not in a
// string per record, and the records themselves are stored by value in pages that hold no
// pointers (see moduleStore): the garbage collector has a few thousand large objects to
// mark for a million records, not two small ones per record plus a pointer in the map. In
// the scale benchmark at 1M records (the bench-scale CPU profile), marking those small
// objects — each one a span and size-class lookup that no longer stays in cache at that size
// (runtime.tryDeferToSpanScan, spanClass.sizeclass) — took 75 s of the emulators' 367 s,
// against 3 s of 33 s at 100k. Loaded with 1M contacts, the heap now holds about 13,000
// objects instead of 2.2 million, in about the same bytes, and the collector's processor
// time per call of BenchmarkSyncTraffic1M fell from 13-20 µs to about 0.1 µs.
//
// Bytes once written to a chunk are never written again: a blob read from the arena is a
// string that points into its chunk, valid (and keeping the chunk alive) for as long as
// anyone holds it, whatever the store does afterwards. A record's blobRef, on the other
// hand, is only good until the store next changes: an update or purge may move the module's
// other blobs to a new chunk (compaction), so code that reads a record across a change of the
// store reads it again, or resolves its blob first.

const (
	// chunkMax is the size the arena's chunks grow to (they start at chunkMin and double,
	// so that a server holding a few records does not take megabytes).
	chunkMax = 1 << 20
	chunkMin = 4 << 10
)

// blobRef locates a record's packed values in its module's arena: n bytes at off in chunk.
type blobRef struct {
	chunk uint32
	off   uint32
	n     uint32
}

// chunk is one append-only block of the arena. It holds entries [record id, 8 bytes
// LE][uvarint blob length][blob], so that compaction can tell, from the chunk alone, which
// record each blob belongs to.
type chunk struct {
	b    []byte // nil: a free slot of arena.chunks, reused for the next chunk
	live int    // bytes of the entries that records still point at
}

// arena holds the blobs of one module. It is guarded by Server.mu like its moduleStore.
//
// Old versions of blobs stay in their chunk as garbage. A chunk other than the one being
// filled is compacted once less than half of it is live: its live blobs are copied to the
// chunk being filled and it is dropped. Each byte copied is matched by at least one byte of
// garbage dropped, itself written by an earlier write, so compaction costs O(1) amortised
// per byte written, happens a chunk at a time (no pause proportional to the module), and
// keeps the arena within about twice its live bytes.
type arena struct {
	chunks  []chunk
	free    []uint32 // indexes of free slots in chunks
	cur     int      // index of the chunk being filled; -1 before the first
	next    int      // capacity of the next normal chunk
	max     int      // chunkMax; smaller in tests, to exercise compaction
	pending []uint32 // chunks that fell under half live, for moduleStore.tidy
}

func newArena() arena { return arena{cur: -1, next: chunkMin, max: chunkMax} }

// entrySize is the bytes an entry of an n-byte blob takes in a chunk.
func entrySize(n int) int { return 8 + uvarintLen(uint64(n)) + n }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// get returns the blob ref points at.
func (a *arena) get(ref blobRef) blob {
	if ref.n == 0 {
		return ""
	}
	return blob(unsafe.String(&a.chunks[ref.chunk].b[ref.off], int(ref.n)))
}

// put copies data, the blob of record id, into the arena and returns where it is. A blob
// larger than a sixteenth of a full chunk gets a chunk of its own.
func (a *arena) put(id uint64, data []byte) blobRef {
	size := entrySize(len(data))
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
	c.b = binary.LittleEndian.AppendUint64(c.b, id)
	c.b = binary.AppendUvarint(c.b, uint64(len(data)))
	off := len(c.b)
	c.b = append(c.b, data...) // within capacity: the chunk's earlier bytes never move
	c.live += size
	return blobRef{chunk: uint32(ci), off: uint32(off), n: uint32(len(data))}
}

// newChunk makes a chunk of capacity size and returns its index.
func (a *arena) newChunk(size int) int {
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

// release records that no record points at ref any longer.
func (a *arena) release(ref blobRef) {
	a.chunks[ref.chunk].live -= entrySize(int(ref.n))
	a.check(int(ref.chunk))
}

// check frees chunk ci when nothing in it is live and queues it for compaction when less
// than half is; the chunk being filled is left alone.
func (a *arena) check(ci int) {
	c := &a.chunks[ci]
	switch {
	case ci == a.cur || c.b == nil:
	case c.live == 0:
		a.drop(ci)
	case 2*c.live < cap(c.b):
		a.pending = append(a.pending, uint32(ci))
	}
}

// drop frees chunk ci. Blobs handed out from it stay valid: the strings keep its bytes alive.
func (a *arena) drop(ci int) {
	a.chunks[ci] = chunk{}
	a.free = append(a.free, uint32(ci))
}

// size returns the bytes the arena's chunks take and the bytes of their live entries.
func (a *arena) size() (held, live int) {
	for _, c := range a.chunks {
		held += cap(c.b)
		live += c.live
	}
	return held, live
}

// tidy compacts the chunks that fell under half live during the last change of the store.
// The moduleStore methods that put or release blobs call it last, once every record points
// at its blob.
func (ms *moduleStore) tidy() {
	a := &ms.arena
	for len(a.pending) > 0 {
		ci := int(a.pending[len(a.pending)-1])
		a.pending = a.pending[:len(a.pending)-1]
		if c := a.chunks[ci]; ci != a.cur && c.b != nil && 2*c.live < cap(c.b) {
			ms.compact(ci)
		}
	}
}

// compact copies the live blobs of chunk ci to the chunk being filled, points their records
// at the copies, and drops ci. An entry is live when its record still points at it.
func (ms *moduleStore) compact(ci int) {
	a := &ms.arena
	b := a.chunks[ci].b
	for pos := 0; pos < len(b); {
		id := binary.LittleEndian.Uint64(b[pos:])
		n, k := binary.Uvarint(b[pos+8:])
		off := pos + 8 + k
		end := off + int(n)
		if r := ms.slot(id); r != nil && r.data == (blobRef{chunk: uint32(ci), off: uint32(off), n: uint32(n)}) {
			r.data = a.put(id, b[off:end])
		}
		pos = end
	}
	a.drop(ci)
}
