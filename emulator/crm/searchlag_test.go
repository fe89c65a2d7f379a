package crm

import (
	"testing"
	"time"
)

func TestSearchLagDefaults(t *testing.T) {
	if got := New(Config{}).SearchLag(); got != DefaultSearchLag {
		t.Errorf("zero Config: SearchLag = %v, want %v", got, DefaultSearchLag)
	}
	if got := New(Config{SearchLag: NoSearchLag}).SearchLag(); got != 0 {
		t.Errorf("NoSearchLag: SearchLag = %v, want 0", got)
	}
	if got := New(Config{SearchLag: 5 * time.Second}).SearchLag(); got != 5*time.Second {
		t.Errorf("SearchLag = %v, want 5s", got)
	}
}

// TestSearchLag: a record created or edited through the API is missing from
// /search until the lag has passed (on a fake clock); loaded records are
// indexed at once; the admin API turns the lag off for every record.
func TestSearchLag(t *testing.T) {
	clk := newClock()
	e := newEnv(t, Config{SearchLag: 2 * time.Second, Now: clk.Now})
	found := func(email string) []string {
		t.Helper()
		r := e.call("GET", "/crm/v8/Contacts/search"+q("email", email, "per_page", "200"), nil)
		if r.status == 204 {
			return nil
		}
		wantStatus(t, r, 200)
		var ids []string
		for _, d := range r.data() {
			ids = append(ids, d["id"].(string))
		}
		return ids
	}
	loaded, err := e.s.Load("Contacts", []map[string]any{{"Last_Name": "Seeded", "Email": "seeded@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := found("seeded@example.com"); len(got) != 1 {
		t.Errorf("loaded record: search = %v, want it at once", got)
	}

	id := e.insert("Contacts", map[string]any{"Last_Name": "Fresh", "Email": "fresh@example.com"})[0]
	if got := found("fresh@example.com"); got != nil {
		t.Errorf("just created: search = %v, want 204 (index lag)", got)
	}
	if r := e.call("GET", "/crm/v8/Contacts/"+id, nil); r.status != 200 {
		t.Errorf("get by id during the lag: %d, want 200 (only search lags)", r.status)
	}
	clk.Add(2*time.Second - time.Millisecond)
	if got := found("fresh@example.com"); got != nil {
		t.Errorf("1 ms before the lag ends: search = %v, want 204", got)
	}
	clk.Add(time.Millisecond)
	if got := found("fresh@example.com"); len(got) != 1 || got[0] != id {
		t.Errorf("after the lag: search = %v, want [%s]", got, id)
	}

	// An edit takes the record out of the index again until the lag passes.
	r := e.call("PUT", "/crm/v8/Contacts/"+loaded[0], map[string]any{"data": []any{map[string]any{"Last_Name": "Edited"}}})
	wantStatus(t, r, 200)
	if got := found("seeded@example.com"); got != nil {
		t.Errorf("just edited: search = %v, want 204", got)
	}
	clk.Add(2 * time.Second)
	if got := found("seeded@example.com"); len(got) != 1 {
		t.Errorf("edited, after the lag: search = %v", got)
	}

	// Admin API: read, turn off (applies to records already written).
	late := e.insert("Contacts", map[string]any{"Last_Name": "Late", "Email": "late@example.com"})[0]
	if r := e.call("GET", "/_emulator/search-lag", nil); r.body["lag_ms"] != float64(2000) {
		t.Errorf("GET search-lag = %s", r.raw)
	}
	if r := e.call("PUT", "/_emulator/search-lag", map[string]any{"lag_ms": 0}); r.status != 200 || r.body["lag_ms"] != float64(0) {
		t.Fatalf("PUT search-lag 0: %d %s", r.status, r.raw)
	}
	if got := found("late@example.com"); len(got) != 1 || got[0] != late {
		t.Errorf("lag off: search = %v, want [%s]", got, late)
	}
	if r := e.call("PUT", "/_emulator/search-lag", map[string]any{"lag_ms": -1}); r.status != 400 {
		t.Errorf("negative lag: %d, want 400", r.status)
	}
}
