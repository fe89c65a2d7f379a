package crm

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"deskcrm/emulator/records"
	"deskcrm/emulator/zohoauth"
)

// checkArena checks m's arena against its live records (see records.Arena.Check). Callers
// hold e.s.mu.
func checkArena(t *testing.T, m *module) {
	t.Helper()
	err := m.vals.Check(func(yield func(uint64, records.Ref) bool) {
		for id, st := range m.slab.All {
			if !yield(id, st.at) {
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
}

// compactions is the number of chunks m's arena compacted.
func compactions(e *env, m *module) int {
	e.s.mu.RLock()
	defer e.s.mu.RUnlock()
	return m.vals.Compactions()
}

// Updates that leave chunks of a module's arena under half live compact them: the arena stays
// consistent with the records and within twice their values (and the chunk being filled),
// every record reads back its latest values, and a record read before a compaction keeps the
// values it had (chunks are never overwritten, and the old ones live on while read).
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
		checkArena(t, m)
		if held, live := m.vals.Size(); held > 2*live+1<<20 {
			t.Errorf("round %d: %d bytes of chunks for %d live", round, held, live)
		}
		e.s.mu.RUnlock()
		for _, i := range []int{0, 7, n - 1} {
			r, _ := e.s.Record("Contacts", ids[i])
			if r["Description"] != desc || r["Title"] != fmt.Sprint(round) || r["Last_Name"] != fmt.Sprintf("L%03d", i) {
				t.Fatalf("round %d: record %d reads %v", round, i, r)
			}
		}
	}
	if n := compactions(e, m); n < 3 {
		t.Errorf("%d compactions in 40 rounds of updates", n)
	}
	if string(early.vals) != earlyVals {
		t.Error("a record read before the updates changed under its reader")
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
	before := compactions(e, m)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := range 30 {
			var data []any
			for _, id := range ids {
				data = append(data, map[string]any{"id": id, "Description": strings.Repeat("x", 4000+round)})
			}
			if r := e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": data}); r.status != http.StatusOK {
				t.Errorf("update: %d", r.status)
				return
			}
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
	if n := compactions(e, m) - before; n < 3 {
		t.Errorf("%d compactions during the reads", n)
	}
	e.s.mu.RLock()
	checkArena(t, m)
	e.s.mu.RUnlock()
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
	for round := 0; compactions(e, m) == 0; round++ {
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
	checkArena(t, m2)
}

// newTwin starts an emulator (newEnv) whose clock ticks a millisecond per reading from a
// fixed instant: two twins given the same calls answer alike.
func newTwin(t *testing.T) *env {
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	return newEnv(t, Config{Now: func() time.Time { n++; return base.Add(time.Duration(n) * time.Millisecond) }})
}

// Records keep their values while the arena compacts under them: a server whose arenas have
// small chunks answers a long random mix of creates, updates (long values, cleared fields,
// no changes), upserts, writes rejected as duplicates or incomplete, and deletes exactly as
// one with the default chunks, and its arenas stay consistent with its records after every
// call, within about twice their live bytes.
func TestCompactionKeepsEveryValue(t *testing.T) {
	small, plain := newTwin(t), newTwin(t)
	small.s.mu.Lock()
	for _, m := range small.s.modules {
		m.vals.SetChunkMax(4 << 10)
	}
	small.s.mu.Unlock()
	rng := rand.New(rand.NewPCG(21, 22))
	var ids []string
	statuses := map[int]int{}
	do := func(method, path, body string) string {
		t.Helper()
		var payload any // nil for a call without a body
		if body != "" {
			payload = body
		}
		r1, r2 := small.call(method, path, payload), plain.call(method, path, payload)
		c1, b1, c2, b2 := r1.status, string(r1.raw), r2.status, string(r2.raw)
		if c1 != c2 || b1 != b2 {
			t.Fatalf("%s %s %s:\nsmall chunks: %d %s\ndefault:      %d %s", method, path, body, c1, b1, c2, b2)
		}
		statuses[c1]++
		small.s.mu.RLock()
		for _, m := range small.s.modules {
			checkArena(t, m)
		}
		small.s.mu.RUnlock()
		return b1
	}
	text := func() string {
		n := []int{0, 3, 20, 80, 300, 1200}[rng.IntN(6)] // 300 and 1200 get chunks of their own
		return strings.Repeat("é", n/2) + strings.Repeat("x", n-n/2)
	}
	pick := func() string { return ids[rng.IntN(len(ids))] }
	for n := range 3000 {
		switch k := rng.IntN(100); {
		case k < 20 || len(ids) < 5:
			// Account names repeat now and then: Account_Name is unique, so some creates fail.
			body := fmt.Sprintf(`{"data":[{"Account_Name":"Acc %d","Description":%q,"Phone":"%d"}]}`, rng.IntN(2000), text(), n)
			if rng.IntN(10) == 0 {
				body = fmt.Sprintf(`{"data":[{"Description":%q}]}`, text()) // no Account_Name: rejected
			}
			b := do("POST", "/crm/v8/Accounts", body)
			var r struct {
				Data []struct {
					Code    string
					Details struct{ ID string }
				}
			}
			if err := json.Unmarshal([]byte(b), &r); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if len(r.Data) == 1 && r.Data[0].Code == "SUCCESS" {
				ids = append(ids, r.Data[0].Details.ID)
			}
		case k < 60:
			fields := []string{fmt.Sprintf(`"Description":%q`, text()), `"Phone":null`, fmt.Sprintf(`"Website":"w%d"`, rng.IntN(5)),
				fmt.Sprintf(`"Account_Name":"Acc %d"`, rng.IntN(2000))}
			rng.Shuffle(len(fields), func(a, b int) { fields[a], fields[b] = fields[b], fields[a] })
			do("PUT", "/crm/v8/Accounts", fmt.Sprintf(`{"data":[{"id":%q,%s}]}`, pick(), strings.Join(fields[:1+rng.IntN(len(fields))], ",")))
		case k < 70:
			do("POST", "/crm/v8/Accounts/upsert", fmt.Sprintf(`{"data":[{"Account_Name":"Acc %d","Description":%q}],"duplicate_check_fields":["Account_Name"]}`,
				rng.IntN(2000), text()))
		case k < 78:
			i := rng.IntN(len(ids))
			do("DELETE", "/crm/v8/Accounts?ids="+ids[i], "")
			ids = append(ids[:i], ids[i+1:]...)
		case k < 90:
			do("GET", "/crm/v8/Accounts/"+pick(), "")
		default:
			do("GET", "/crm/v8/Accounts?fields=Account_Name,Description,Phone,Website&per_page=200&sort_by=Modified_Time", "")
		}
	}
	t.Logf("statuses %v", statuses)
	small.s.mu.RLock()
	defer small.s.mu.RUnlock()
	m := small.s.modules["Accounts"]
	held, live := m.vals.Size()
	if held > 2*live+4<<10 {
		t.Errorf("arena holds %d bytes for %d live", held, live)
	}
	if m.vals.Compactions() == 0 {
		t.Error("no compaction")
	}
	t.Logf("%d records, arena %d bytes held, %d live, %d compactions", m.count(), held, live, m.vals.Compactions())
}

// The recycle bin keeps nothing that points into the arena: a deleted record's values are
// copied out (detached), and so is its display name, which for a contact with one name part
// is that part itself — left a substring of the stored values, it kept their chunk alive for
// as long as the entry stayed in the bin, one dropped chunk per deleted record after
// compactions.
func TestRecycleBinHoldsNoArenaBytes(t *testing.T) {
	s := New(Config{SearchLag: NoSearchLag})
	tok, _ := s.Auth().Issue()
	ids, err := s.Load("Contacts", []map[string]any{{"Last_Name": "Alone"}})
	if err != nil {
		t.Fatal(err)
	}
	m := s.modules["Contacts"]
	id, _ := parseID(ids[0])
	s.mu.RLock()
	stored, _ := m.get(id)
	s.mu.RUnlock()
	from := uintptr(unsafe.Pointer(unsafe.StringData(string(stored.vals))))
	to := from + uintptr(len(stored.vals))
	req := httptest.NewRequest("DELETE", "/crm/v8/Contacts/"+ids[0], nil)
	req.Header.Set("Authorization", zohoauth.HeaderPrefix+tok)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := m.deleted[id]
	if d == nil || d.displayName != "Alone" {
		t.Fatalf("recycle bin entry = %+v; want display name Alone", d)
	}
	inStored := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= from && p < to
	}
	if inStored(d.displayName) {
		t.Error("the recycle bin's display name points into the arena chunk of the record's values")
	}
	if d.rec != nil && inStored(string(d.rec.vals)) {
		t.Error("the recycle bin's values point into the arena chunk of the record's values")
	}
}
