package records

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// An arena gives back what was put, in place: values of every size (a chunk of their own
// from a sixteenth of a chunk on), never changed by later puts; the empty value takes no room.
func TestArenaPutGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := NewArena()
	type put struct {
		want string
		got  string
		at   Ref
	}
	var puts []put
	for i := range 3000 {
		n := rng.IntN(300)
		switch i % 500 {
		case 0:
			n = 0
		case 1:
			n = chunkMax/16 + rng.IntN(1000)
		case 2:
			n = chunkMax - 1
		}
		v := strings.Repeat(string(rune('a'+i%26)), n)
		var at Ref
		if i%2 == 0 {
			at = a.PutString(uint64(i), v)
		} else {
			at = a.Put(uint64(i), []byte(v))
		}
		puts = append(puts, put{v, a.Get(at), at})
		if n == 0 && at != (Ref{}) {
			t.Fatalf("put %d: the empty value at %+v", i, at)
		}
	}
	for i, p := range puts {
		if p.got != p.want || a.Get(p.at) != p.want || p.at.Len() != len(p.want) {
			t.Fatalf("put %d (%d bytes): got %d bytes back, get %d", i, len(p.want), len(p.got), len(a.Get(p.at)))
		}
	}
	for _, c := range a.chunks {
		if n := cap(c.b); n&(n-1) != 0 && len(c.b) != n { // normal chunks are 4 KiB to 1 MiB, by powers of two
			t.Fatalf("a chunk of %d bytes holds %d: values of their own fill their chunk", cap(c.b), len(c.b))
		}
	}
	if err := a.Check(func(yield func(uint64, Ref) bool) {
		for i, p := range puts {
			if !yield(uint64(i), p.at) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
}

// owners is what a store keeps for the test: each owner's Ref and the value it should read.
type owners struct {
	refs map[uint64]*Ref
	want map[uint64]string
}

func (o *owners) ref(id uint64) *Ref { return o.refs[id] }

func (o *owners) all(yield func(uint64, Ref) bool) {
	for id, r := range o.refs {
		if !yield(id, *r) {
			return
		}
	}
}

// A long random mix of puts, replacements and deletions, with values of every size, keeps
// the arena consistent with its owners after every change, within about twice its live bytes,
// and every value read before a change (a string into a chunk later compacted and dropped)
// keeps its bytes.
func TestArenaCompactionBoundsAndKeepsValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a := NewArena()
	a.SetChunkMax(4 << 10)
	o := owners{refs: map[uint64]*Ref{}, want: map[uint64]string{}}
	type read struct{ got, want string }
	var reads []read
	text := func(i int) string {
		n := []int{0, 3, 20, 80, 300, 1200}[rng.IntN(6)] // 300 and 1200 get chunks of their own
		return fmt.Sprintf("%d:", i) + strings.Repeat("é", n/2) + strings.Repeat("x", n-n/2)
	}
	for i := range 20000 {
		id := uint64(1 + rng.IntN(300))
		switch k := rng.IntN(10); {
		case k < 7: // create or replace
			v := text(i)
			nr := a.PutString(id, v)
			if r := o.refs[id]; r != nil {
				a.Release(*r)
				*r = nr
			} else {
				o.refs[id] = &nr
			}
			o.want[id] = v
		case k < 9: // delete
			if r := o.refs[id]; r != nil {
				a.Release(*r)
				delete(o.refs, id)
				delete(o.want, id)
			}
		default: // a put whose owner never takes it (a rejected write)
			a.Release(a.PutString(id, text(i)))
		}
		a.Tidy(o.ref)
		if err := a.Check(o.all); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		if r := o.refs[id]; r != nil && i%7 == 0 {
			reads = append(reads, read{a.Get(*r), strings.Clone(o.want[id])})
		}
		held, live := a.Size()
		if held > 2*live+a.max {
			t.Fatalf("change %d: the arena holds %d bytes for %d live", i, held, live)
		}
	}
	for id, r := range o.refs {
		if got := a.Get(*r); got != o.want[id] {
			t.Fatalf("owner %d reads %.40q, want %.40q", id, got, o.want[id])
		}
	}
	for i, r := range reads {
		if r.got != r.want {
			t.Fatalf("read %d changed: %.40q, was %.40q", i, r.got, r.want)
		}
	}
	if a.Compactions() < 100 {
		t.Errorf("%d compactions", a.Compactions())
	}
	held, live := a.Size()
	t.Logf("%d owners, %d bytes held, %d live, %d chunks, %d compactions", len(o.refs), held, live, len(a.chunks), a.Compactions())
}

// Readers holding the read lock get values while a writer puts, releases and compacts under
// the write lock, and keep reading the strings they got after releasing the lock: the race
// detector sees no conflict, since a chunk's written bytes are never written again.
func TestArenaReadsWhileCompacting(t *testing.T) {
	var mu sync.RWMutex
	a := NewArena()
	a.SetChunkMax(4 << 10)
	o := owners{refs: map[uint64]*Ref{}, want: map[uint64]string{}}
	const n = 100
	value := func(id uint64, round int) string {
		return fmt.Sprintf("%d/%d/", id, round) + strings.Repeat("v", int(id))
	}
	for id := uint64(1); id <= n; id++ {
		r := a.PutString(id, value(id, 0))
		o.refs[id] = &r
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 1; round <= 300; round++ {
			mu.Lock()
			for id := uint64(1); id <= n; id += uint64(1 + round%3) {
				r := o.refs[id]
				old := *r
				*r = a.PutString(id, value(id, round))
				a.Release(old)
			}
			a.Tidy(o.ref)
			mu.Unlock()
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []string
			for i := range 3000 {
				id := uint64(1 + i%n)
				mu.RLock()
				got = append(got, a.Get(*o.refs[id]))
				mu.RUnlock()
			}
			for _, v := range got {
				var id uint64
				var round int
				if _, err := fmt.Sscanf(v, "%d/%d/", &id, &round); err != nil || v != value(id, round) {
					t.Errorf("read %.40q", v)
					return
				}
			}
		}()
	}
	wg.Wait()
	if a.Compactions() == 0 {
		t.Error("no compaction")
	}
	if err := a.Check(o.all); err != nil {
		t.Fatal(err)
	}
}
