package crm

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// An arena gives back what was put, in place: values of every size (a chunk of their own from
// ownChunk on), never changed by later puts, and holds tells its own strings from equal copies.
func TestArenaPutGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := newArena()
	type put struct {
		want string
		got  packed
		at   valRef
	}
	var puts []put
	for i := range 3000 {
		n := rng.IntN(300)
		switch i % 500 {
		case 0:
			n = 0
		case 1:
			n = ownChunk + rng.IntN(1000)
		case 2:
			n = chunkMax - 1
		}
		v := strings.Repeat(string(rune('a'+i%26)), n)
		got, at := a.put(v)
		puts = append(puts, put{v, got, at})
	}
	for i, p := range puts {
		if string(p.got) != p.want || string(a.get(p.at)) != p.want {
			t.Fatalf("put %d (%d bytes): got %d bytes back, get %d", i, len(p.want), len(p.got), len(a.get(p.at)))
		}
		if !a.holds(p.got, p.at) {
			t.Fatalf("put %d: holds is false for the arena's own string", i)
		}
		if len(p.want) > 0 && a.holds(packed(strings.Clone(p.want)), p.at) {
			t.Fatalf("put %d: holds is true for a copy", i)
		}
	}
	written := 0
	for _, c := range a.chunks {
		written += len(c)
		if cap(c) > chunkMax && len(c) != cap(c) {
			t.Fatalf("a chunk of %d bytes holds %d: values of their own fill their chunk", cap(c), len(c))
		}
	}
	if written != a.written {
		t.Fatalf("chunks hold %d bytes, the arena counts %d", written, a.written)
	}
}

// chunkData identifies a module's arena: its first chunk's bytes, which only a compaction
// replaces.
func chunkData(m *module) *byte {
	if len(m.vals.chunks) == 0 {
		return nil
	}
	return unsafe.SliceData(m.vals.chunks[0])
}

// Updates that leave more garbage than values in a module's arena compact it: the garbage
// stays within the live values (or one chunk), every record reads back its latest values,
// and a record read before a compaction keeps the values it had (chunks are never
// overwritten, and the old ones live on while read).
func TestCompactionBoundsGarbageAndKeepsValues(t *testing.T) {
	e := newEnv(t, Config{})
	const n = 200
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprintf("L%03d", i), "Description": strings.Repeat("d", 2000)}
	}
	ids, err := e.s.Load("Contacts", recs)
	if err != nil {
		t.Fatal(err)
	}
	m := e.s.modules["Contacts"]
	e.s.mu.RLock()
	early, _ := m.get(idOf(ids[7]))
	e.s.mu.RUnlock()
	earlyVals := strings.Clone(string(early.vals))

	compactions, data := 0, chunkData(m)
	for round := range 40 {
		desc := strings.Repeat(string(rune('A'+round%26)), 1500+round*10)
		for from := 0; from < n; from += 100 {
			var data []any
			for _, id := range ids[from : from+100] {
				data = append(data, map[string]any{"id": id, "Description": desc, "Title": fmt.Sprint(round)})
			}
			wantStatus(t, e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": data}), http.StatusOK)
		}
		e.s.mu.RLock()
		if d := chunkData(m); d != data {
			compactions, data = compactions+1, d
		}
		dead, size := m.vals.written-m.vals.live, 0
		for _, c := range m.vals.chunks {
			size += cap(c)
		}
		if dead > max(m.vals.live, chunkMax) || size > 2*m.vals.live+3*chunkMax {
			t.Errorf("round %d: %d bytes of garbage and %d of chunks for %d live", round, dead, size, m.vals.live)
		}
		e.s.mu.RUnlock()
		for _, i := range []int{0, 7, n - 1} {
			r, _ := e.s.Record("Contacts", ids[i])
			if r["Description"] != desc || r["Title"] != fmt.Sprint(round) || r["Last_Name"] != fmt.Sprintf("L%03d", i) {
				t.Fatalf("round %d: record %d reads %v", round, i, r)
			}
		}
	}
	if compactions < 3 {
		t.Errorf("%d compactions in 40 rounds of updates", compactions)
	}
	if string(early.vals) != earlyVals {
		t.Error("a record read before the updates changed under its reader")
	}
	live := 0
	e.s.mu.RLock()
	for id, i := range m.slots {
		live += len(m.view(id, i).vals)
	}
	e.s.mu.RUnlock()
	if live != m.vals.live {
		t.Errorf("the arena counts %d live bytes, the records hold %d", m.vals.live, live)
	}
}

func idOf(id string) uint64 {
	n, _ := parseID(id)
	return n
}

// Lists, searches and bulk reads running while writes compact the arena read consistent
// records (and the race detector sees no conflict: compaction writes fresh chunks only).
func TestReadsDuringCompaction(t *testing.T) {
	e := newEnv(t, Config{BulkPageSize: 1000})
	const n = 100
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprintf("R%03d", i), "Email": fmt.Sprintf("r%03d@example.com", i)}
	}
	ids, err := e.s.Load("Contacts", recs)
	if err != nil {
		t.Fatal(err)
	}
	m := e.s.modules["Contacts"]
	compactions := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := range 30 {
			e.s.mu.RLock()
			before := chunkData(m)
			e.s.mu.RUnlock()
			var data []any
			for _, id := range ids {
				data = append(data, map[string]any{"id": id, "Description": strings.Repeat("x", 4000+round)})
			}
			if r := e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": data}); r.status != http.StatusOK {
				t.Errorf("update: %d", r.status)
				return
			}
			e.s.mu.RLock()
			if chunkData(m) != before {
				compactions++
			}
			e.s.mu.RUnlock()
		}
	}()
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				var r resp
				if g == 0 {
					r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name,Email,Description"), nil)
				} else {
					r = e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Last_Name:starts_with:R)", "per_page", "200"), nil)
				}
				for _, d := range r.data() {
					last, _ := d["Last_Name"].(string)
					if email, _ := d["Email"].(string); "r"+strings.ToLower(last[1:])+"@example.com" != email {
						t.Errorf("record %v: Last_Name %q with Email %q", d["id"], last, email)
					}
				}
				job := &bulkJob{id: "1", module: "Contacts", page: 1, fields: []int{0, 1}}
				if _, _, _, err := e.s.exportCSV(job); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if compactions < 3 {
		t.Errorf("%d compactions during the reads", compactions)
	}
}

// A snapshot keeps live records, their values and the recycle bin (whose records are copies
// of their own, not parts of arena chunks) through compactions.
func TestSnapshotAfterCompaction(t *testing.T) {
	e := newEnv(t, Config{})
	recs := make([]map[string]any, 300)
	for i := range recs {
		recs[i] = map[string]any{"Last_Name": fmt.Sprintf("S%03d", i), "Description": strings.Repeat("s", 3000), "Seats": i}
	}
	ids, err := e.s.Load("Contacts", recs)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts"+q("ids", strings.Join(ids[:5], ",")), nil), http.StatusOK)
	m := e.s.modules["Contacts"]
	data := chunkData(m)
	for round := 0; chunkData(m) == data; round++ {
		if round == 20 {
			t.Fatal("no compaction")
		}
		for i := range recs {
			recs[i]["id"] = ids[i]
			recs[i]["Description"] = strings.Repeat("t", 3000+round)
		}
		if _, err := e.s.Load("Contacts", recs[5:]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := e.s.SaveSnapshot(gob.NewEncoder(&buf)); err != nil {
		t.Fatal(err)
	}
	s2 := New(Config{})
	if err := s2.LoadSnapshot(gob.NewDecoder(&buf)); err != nil {
		t.Fatal(err)
	}
	if got, want := s2.Records("Contacts"), e.s.Records("Contacts"); !reflect.DeepEqual(got, want) {
		t.Errorf("records differ after a snapshot: %d against %d", len(got), len(want))
	}
	if got, want := s2.Deleted("Contacts"), ids[:5]; !reflect.DeepEqual(got, want) {
		t.Errorf("recycle bin %v, want %v", got, want)
	}
	m2 := s2.modules["Contacts"]
	k, _, _ := m2.fields.get("Description")
	if v, _ := m2.deleted[idOf(ids[2])].rec.get(k); v != strings.Repeat("s", 3000) {
		t.Errorf("deleted record's Description is %.20q", v)
	}
}
