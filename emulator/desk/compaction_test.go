package desk

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/records"
)

// smallChunk is the arena chunk size of smallArenas.
const smallChunk = 4 << 10

// smallArenas makes s's arenas use chunks of 4 KiB, a few dozen blobs each, so that a test's
// writes fill, compact and drop chunks (and give long values chunks of their own).
func smallArenas(s *Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ms := range s.mods {
		ms.arena.SetChunkMax(smallChunk)
	}
}

// checkArena checks the arena of ms against its records: each record points at an entry of
// its own id in a chunk in use, each chunk's live count is the size of the entries records
// point at, and every chunk but the one being filled is at least half live.
func checkArena(t *testing.T, ms *moduleStore) {
	t.Helper()
	err := ms.arena.Check(func(yield func(uint64, records.Ref) bool) {
		for id, r := range ms.recs {
			if !yield(id, r.data) {
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("%s: %v", ms.name, err)
	}
}

// newTwin starts an emulator (newEnv) whose clock ticks a millisecond per reading from a
// fixed instant: two twins given the same calls answer alike.
func newTwin(t *testing.T) *env {
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	return newEnv(t, Config{Now: func() time.Time { n++; return base.Add(time.Duration(n) * time.Millisecond) }})
}

// Records keep their values while the arena compacts under them: a server whose arenas
// have small chunks answers a long random mix of creates, updates (long values, cleared
// fields), trash, restore and purge exactly as one with the default chunks, its arenas stay
// consistent with its records after every call, and they stay within about twice their
// live bytes.
func TestArenaCompactionKeepsEveryValue(t *testing.T) {
	small, plain := newTwin(t), newTwin(t)
	smallArenas(small.srv)
	rng := rand.New(rand.NewPCG(11, 12))
	var contacts, accounts []string
	do := func(method, path, body string) string {
		t.Helper()
		r1, r2 := small.do(method, path, body), plain.do(method, path, body)
		c1, b1, c2, b2 := r1.status, string(r1.body), r2.status, string(r2.body)
		if c1 != c2 || b1 != b2 {
			t.Fatalf("%s %s %s:\nsmall chunks: %d %s\ndefault:      %d %s", method, path, body, c1, b1, c2, b2)
		}
		for _, ms := range small.srv.mods {
			checkArena(t, ms)
		}
		return b1
	}
	// add appends the id of a created record to ids (a create may fail: its account may be
	// gone).
	add := func(ids *[]string, body string) {
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if id, ok := m["id"].(string); ok {
			*ids = append(*ids, id)
		}
	}
	text := func() string {
		n := []int{0, 3, 20, 80, 300, 1200}[rng.IntN(6)] // 300 and 1200 get chunks of their own
		return strings.Repeat("é", n/2) + strings.Repeat("x", n-n/2)
	}
	pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
	for i := range 3 {
		add(&accounts, do("POST", "/api/v1/accounts", fmt.Sprintf(`{"accountName":"Acc %d"}`, i)))
	}
	for i := range 4000 {
		switch k := rng.IntN(100); {
		case k < 15 || len(contacts) < 5:
			body := fmt.Sprintf(`{"lastName":"L%d","email":"c%d@example.com","description":%q,"accountId":%q,"cf":{"cf_seats":"%d"}}`,
				i, i, text(), pick(accounts), rng.IntN(400))
			add(&contacts, do("POST", "/api/v1/contacts", body))
		case k < 60:
			fields := []string{fmt.Sprintf(`"description":%q`, text()), `"phone":null`, fmt.Sprintf(`"firstName":"F%d"`, rng.IntN(1000)),
				fmt.Sprintf(`"cf":{"cf_crm_id":"%d"}`, rng.IntN(1e6)), fmt.Sprintf(`"accountId":%q`, pick(accounts)), `"title":""`}
			rng.Shuffle(len(fields), func(a, b int) { fields[a], fields[b] = fields[b], fields[a] })
			do("PATCH", "/api/v1/contacts/"+pick(contacts), "{"+strings.Join(fields[:1+rng.IntN(len(fields))], ",")+"}")
		case k < 70:
			do("POST", "/api/v1/contacts/moveToTrash", fmt.Sprintf(`{"contactIds":[%q]}`, pick(contacts)))
		case k < 76:
			do("POST", "/api/v1/recycleBin/restore", fmt.Sprintf(`{"ids":[%q]}`, pick(contacts)))
		case k < 80:
			do("POST", "/api/v1/recycleBin/delete", fmt.Sprintf(`{"ids":[%q]}`, pick(contacts)))
		case k < 82:
			add(&accounts, do("POST", "/api/v1/accounts", fmt.Sprintf(`{"accountName":"Acc x%d","description":%q}`, i, text())))
		case k < 84 && len(accounts) > 3:
			// Purging an account clears the accountId of its contacts (moving their values).
			id := pick(accounts[3:])
			do("POST", "/api/v1/accounts/moveToTrash", fmt.Sprintf(`{"accountIds":[%q]}`, id))
			do("POST", "/api/v1/recycleBin/delete", fmt.Sprintf(`{"ids":[%q]}`, id))
		case k < 92:
			do("GET", "/api/v1/contacts/"+pick(contacts)+"?include=accounts", "")
		default:
			do("GET", "/api/v1/contacts?limit=100&sortBy=-modifiedTime", "")
		}
	}
	for _, ms := range small.srv.mods {
		held, live := ms.arena.Size()
		// Chunks other than the one being filled are half live at least; blobs of their own
		// are wholly live.
		if held > 2*live+smallChunk {
			t.Errorf("%s: arena holds %d bytes for %d live", ms.name, held, live)
		}
		if ms.name == ModuleContacts && ms.arena.Compactions() == 0 {
			t.Errorf("%s: no compaction", ms.name)
		}
		t.Logf("%s: %d records, arena %d bytes held, %d live, %d compactions", ms.name, ms.count(), held, live, ms.arena.Compactions())
	}
	if got, want := small.srv.Records(ModuleContacts), plain.srv.Records(ModuleContacts); len(got) != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Records differ: %d and %d records", len(got), len(want))
	}
}

// Readers render records while writers update them and the arena compacts: every read sees
// a whole version of the record (the race detector checks the rest).
func TestReadsWhileTheArenaCompacts(t *testing.T) {
	e := newEnv(t, Config{})
	smallArenas(e.srv)
	var recs []map[string]any
	for i := range 200 {
		recs = append(recs, map[string]any{"lastName": fmt.Sprintf("L%d", i), "description": strings.Repeat("d", 100)})
	}
	ids, err := e.srv.Load(ModuleContacts, recs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// description and title always change together: a read sees both or neither.
				v := fmt.Sprintf("%d-%d", w, i)
				body := fmt.Sprintf(`{"description":"%s%s","title":"%s"}`, v, strings.Repeat("d", 100), v)
				if r := e.do("PATCH", "/api/v1/contacts/"+ids[(i*7+w)%len(ids)], body); r.status != http.StatusOK {
					t.Errorf("update: %d %s", r.status, r.body)
					return
				}
			}
		}()
	}
	check := func(m map[string]any) {
		desc, _ := m["description"].(string)
		title, _ := m["title"].(string)
		if title != "" && desc != title+strings.Repeat("d", 100) {
			t.Errorf("record %v read half updated: description %q, title %q", m["id"], desc, title)
		}
	}
	for i := range 300 {
		r := e.do("GET", "/api/v1/contacts/"+ids[i%len(ids)], nil)
		check(r.json(t))
		if i%10 == 0 {
			for _, m := range e.do("GET", "/api/v1/contacts?limit=100", nil).data(t) {
				check(m)
			}
		}
	}
	close(stop)
	wg.Wait()
	e.srv.mu.RLock()
	defer e.srv.mu.RUnlock()
	checkArena(t, e.srv.mods[ModuleContacts])
	if e.srv.mods[ModuleContacts].arena.Compactions() == 0 {
		t.Error("no compaction")
	}
	if held, live := e.srv.mods[ModuleContacts].arena.Size(); held > 2*live+smallChunk {
		t.Errorf("arena holds %d bytes for %d live", held, live)
	}
}

// A snapshot of a store whose arena compacted restores the same records.
func TestSnapshotAfterCompaction(t *testing.T) {
	tw := newTwin(t)
	smallArenas(tw.srv)
	var ids []string
	for i := range 300 {
		b := tw.do("POST", "/api/v1/contacts", fmt.Sprintf(`{"lastName":"L%d","description":%q}`, i, strings.Repeat("z", i%150)))
		var m map[string]any
		_ = json.Unmarshal(b.body, &m)
		ids = append(ids, m["id"].(string))
	}
	for i := range 2000 {
		tw.do("PATCH", "/api/v1/contacts/"+ids[i%len(ids)], fmt.Sprintf(`{"firstName":"F%d"}`, i))
	}
	tw.do("POST", "/api/v1/contacts/moveToTrash", fmt.Sprintf(`{"contactIds":[%q,%q]}`, ids[1], ids[2]))
	tw.srv.mu.RLock()
	compactions := tw.srv.mods[ModuleContacts].arena.Compactions()
	tw.srv.mu.RUnlock()
	if compactions == 0 {
		t.Fatal("no compaction")
	}
	var buf bytes.Buffer
	if err := tw.srv.SaveSnapshot(gob.NewEncoder(&buf)); err != nil {
		t.Fatal(err)
	}
	back := New(Config{SigningKey: testKey})
	defer back.Close()
	if err := back.LoadSnapshot(gob.NewDecoder(&buf)); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		got, _ := back.Record(ModuleContacts, id)
		want, _ := tw.srv.Record(ModuleContacts, id)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("record %s after the snapshot: %v, want %v", id, got, want)
		}
	}
	back.mu.RLock()
	defer back.mu.RUnlock()
	checkArena(t, back.mods[ModuleContacts])
}
