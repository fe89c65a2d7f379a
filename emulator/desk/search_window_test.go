package desk

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"deskcrm/emulator/valueindex"
)

// TestWindowPageAgreesWithTheFullSearch pins the index path of a time-window search (the scan
// a sync reads a module with) to the general one: for windows over records with shared
// timestamps, updated and trashed ones among them, both orders and every page, the page and
// the count are the same.
func TestWindowPageAgreesWithTheFullSearch(t *testing.T) {
	e := newEnv(t, Config{})
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 7))
	var recs []map[string]any
	for i := range 400 {
		at := ms(base.Add(time.Duration(rng.IntN(60)) * time.Second)) // many records share an instant
		recs = append(recs, map[string]any{"lastName": fmt.Sprintf("L%03d", i), "createdTime": at,
			"modifiedTime": ms(base.Add(time.Duration(60+rng.IntN(60)) * time.Second))})
	}
	ids, err := e.srv.Load(ModuleContacts, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if r := e.do("PATCH", "/api/v1/contacts/"+ids[i*7], map[string]any{"firstName": "Moved"}); r.status != 200 {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": ids[100:130]}); r.status != 204 {
		t.Fatalf("trash: %d %s", r.status, r.body)
	}
	from, mid, to := ms(base), ms(base.Add(90*time.Second)), ms(time.Now().Add(time.Hour))
	queries := []string{
		"createdTimeRange=" + from + "," + to + "&sortBy=createdTime",
		"createdTimeRange=" + from + "," + ms(base.Add(30*time.Second)) + "&sortBy=-createdTime",
		"modifiedTimeRange=" + mid + "," + to + "&sortBy=modifiedTime",
		"modifiedTimeRange=" + from + "," + to + "&sortBy=-modifiedTime",
	}
	s := e.srv
	ms := s.mods[ModuleContacts]
	ms.ensureIndexes()
	for _, q := range queries {
		for _, page := range []struct{ from, limit int }{{0, 100}, {100, 100}, {300, 100}, {37, 13}, {999, 1}} {
			v, _ := url.ParseQuery(q + fmt.Sprintf("&from=%d&limit=%d", page.from, page.limit))
			sq, e := s.parseSearch(v, ms)
			if e != nil {
				t.Fatalf("%s: %v", q, e)
			}
			got, total, ok := windowPage(ms, sq)
			if !ok {
				t.Fatalf("%s: not answered from the index", q)
			}
			all := s.searchLocked(ms, sq)
			want := all[min(page.from, len(all)):min(len(all), page.from+page.limit)]
			if total != len(all) || !slices.Equal(got, want) {
				t.Errorf("%s %+v: count %d, %d records; the full search gives %d, %d records", q, page, total, len(got), len(all), len(want))
			}
		}
	}
	// A window with another filter, or sorted by the other field, takes the general path.
	for _, q := range []string{"createdTimeRange=" + from + "," + to + "&sortBy=modifiedTime", "createdTimeRange=" + from + "," + to + "&sortBy=createdTime&lastName=L001"} {
		v, _ := url.ParseQuery(q)
		sq, _ := s.parseSearch(v, ms)
		if _, _, ok := windowPage(ms, sq); ok {
			t.Errorf("%s answered from the index", q)
		}
	}
}

// TestModifiedSinceReturnsTheRecordsChangedSinceAnInstant pins the observer's reader to the
// records themselves: every live record modified at or after the instant, updated ones with
// their new values, none of the trashed, none modified before.
func TestModifiedSinceReturnsTheRecordsChangedSinceAnInstant(t *testing.T) {
	e := newEnv(t, Config{})
	old := time.Now().Add(-time.Hour)
	var recs []map[string]any
	for i := range 50 {
		recs = append(recs, map[string]any{"lastName": fmt.Sprintf("L%02d", i), "createdTime": ms(old), "modifiedTime": ms(old)})
	}
	ids, err := e.srv.Load(ModuleContacts, recs)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	want := map[string]bool{}
	for i := 0; i < 50; i += 5 {
		if r := e.do("PATCH", "/api/v1/contacts/"+ids[i], map[string]any{"firstName": "Moved"}); r.status != 200 {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		want[ids[i]] = true
	}
	if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{ids[0], ids[1]}}); r.status != 204 {
		t.Fatalf("trash: %d %s", r.status, r.body)
	}
	delete(want, ids[0])
	got := map[string]bool{}
	for _, r := range e.srv.ModifiedSince(ModuleContacts, since) {
		if r["firstName"] != "Moved" {
			t.Errorf("record %v: firstName %v, want the update's value", r["id"], r["firstName"])
		}
		got[fmt.Sprint(r["id"])] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("ModifiedSince = %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if n := len(e.srv.ModifiedSince(ModuleContacts, time.Now().Add(time.Hour))); n != 0 {
		t.Errorf("ModifiedSince(an hour ahead) returned %d records, want none", n)
	}
}

// A value lookup keeps only the records that hold the value, also when the index's hashes of
// different values meet (forced here by an index that hashes every value alike).
func TestLookupKeepsOnlyTheRecordsHoldingTheValue(t *testing.T) {
	e := newEnv(t, Config{})
	ids, err := e.srv.Load(ModuleContacts, []map[string]any{
		{"lastName": "A", "email": "a@example.com"}, {"lastName": "B", "email": "B@Example.com"},
		{"lastName": "C", "email": "c@example.com"}, {"lastName": "D", "email": "b@example.com "},
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := e.srv.mods[ModuleContacts]
	f := uint16(ms.sch.byName["email"])
	ms.indexed[f] = valueindex.NewWithHash(func(string) uint64 { return 1 })
	for _, r := range ms.recs {
		ms.indexAdd(r)
	}
	got, ok := ms.lookup("email", " b@EXAMPLE.com")
	if !ok {
		t.Fatal("email is not indexed")
	}
	slices.Sort(got)
	if want := []string{ids[1], ids[3]}; !slices.Equal(formatIDs(got), want) {
		t.Errorf("lookup(b@example.com) = %v, want %v", formatIDs(got), want)
	}
}

func formatIDs(ids []uint64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatUint(id, 10)
	}
	return out
}
