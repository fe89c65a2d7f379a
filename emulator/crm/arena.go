package crm

import "unsafe"

// arena holds one module's packed record values in large append-only chunks, so that the
// garbage collector marks a few hundred 1 MiB chunks per module instead of one small object
// per record. With each record a struct of its own pointing at a string of its own, a forced
// collection with a million contacts live took 130–550 ms (230–1,030 ms of processor time)
// against 12 ms at 100k: the per-object work no longer fitted in cache, and both emulators
// share one process, so every collection the Desk emulator's traffic caused paid it again.
// With the arena and the pointer-free slab (module.blocks) it takes 15–25 ms (11–13 ms of
// processor time); BenchmarkWriteCalls/n=1M/GC.
//
// Bytes once written into a chunk are never changed, so a record value handed out (a string
// into a chunk, which also keeps the chunk alive) stays valid whatever happens to the store
// afterwards. A new version of a record is written to the end; the old version's bytes become
// garbage inside their chunk. module.maybeCompact copies the live values into fresh chunks
// once the garbage outgrows them, which bounds the memory at about twice the live values and
// costs O(1) amortised per byte written. Callers hold Server.mu for writing when they put or
// compact, and at least for reading when they get.
type arena struct {
	chunks  [][]byte // len: bytes written; cap: the chunk's size
	cur     int      // the chunk being filled; -1 before the first
	written int      // bytes put into chunks
	live    int      // bytes of the values of the module's live records
}

// valRef is where a record's packed values lie in its module's arena (n 0: no values).
type valRef struct {
	chunk, off, n uint32
}

const (
	chunkMin = 4 << 10  // a module's first chunk: most modules of a test hold a few records
	chunkMax = 1 << 20  // chunks double up to this size
	ownChunk = 64 << 10 // values at least this long get a chunk of their own
)

func newArena() arena { return arena{cur: -1} }

// put copies v into the arena and returns the copy and its place.
func (a *arena) put(v string) (packed, valRef) {
	n := len(v)
	if n == 0 {
		return "", valRef{}
	}
	c := a.cur
	switch {
	case n >= ownChunk:
		a.chunks = append(a.chunks, make([]byte, 0, n))
		c = len(a.chunks) - 1
	case c < 0 || cap(a.chunks[c])-len(a.chunks[c]) < n:
		size := chunkMin
		if c >= 0 {
			size = min(2*cap(a.chunks[c]), chunkMax)
		}
		a.chunks = append(a.chunks, make([]byte, 0, max(size, n)))
		c = len(a.chunks) - 1
		a.cur = c
	}
	ch := a.chunks[c]
	off := len(ch)
	ch = append(ch, v...) // within the chunk's capacity: the bytes before off stay where they are
	a.chunks[c] = ch
	a.written += n
	return packed(unsafe.String(&ch[off], n)), valRef{chunk: uint32(c), off: uint32(off), n: uint32(n)}
}

// get returns the values at at.
func (a *arena) get(at valRef) packed {
	if at.n == 0 {
		return ""
	}
	return packed(unsafe.String(&a.chunks[at.chunk][at.off], at.n))
}

// holds reports whether v is the string get(at) returns: the very bytes, not an equal copy.
func (a *arena) holds(v packed, at valRef) bool {
	if len(v) != int(at.n) {
		return false
	}
	if at.n == 0 {
		return true
	}
	if int(at.chunk) >= len(a.chunks) || int(at.off) >= len(a.chunks[at.chunk]) {
		return false
	}
	return unsafe.StringData(string(v)) == &a.chunks[at.chunk][at.off]
}

// needsCompaction reports whether the garbage (old versions, values of rejected writes)
// exceeds the live values and a full chunk.
func (a *arena) needsCompaction() bool {
	dead := a.written - a.live
	return dead > a.live && dead >= chunkMax
}

// bytesString is b as a string without a copy, for put: b must not change while the string is
// in use.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
