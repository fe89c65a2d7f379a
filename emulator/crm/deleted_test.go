package crm

import (
	"bytes"
	"encoding/gob"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Every entry of GET /crm/v8/{module}/deleted carries record.json's Deleted_Record keys —
// display_name, deleted_by and created_by as well as id, type and deleted_time — whether
// the record went to the recycle bin, was purged from it or was merged into a master, and a
// snapshot keeps them.
func TestDeletedRecordsNameTheRecordAndItsUsers(t *testing.T) {
	clk := newClock()
	e := newEnv(t, Config{Now: clk.Now})
	ids := e.insert("Contacts",
		map[string]any{"First_Name": "Ann", "Last_Name": "Archer"},
		map[string]any{"Last_Name": "Baker"},
		map[string]any{"First_Name": "Cy", "Last_Name": "Cole"},
		map[string]any{"Last_Name": "Cole"},
	)
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Blue Falcon"}, map[string]any{"Account_Name": "Blue Falcon Inc"})
	clk.Add(time.Minute)
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts/"+ids[0], nil), http.StatusOK)
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts/"+ids[1], nil), http.StatusOK)
	if n := e.s.Purge("Contacts", ids[1]); n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
	wantStatus(t, e.merge("Contacts", ids[2], mergeBody(map[string][]string{ids[3]: nil}, ids[3])), http.StatusOK)
	wantStatus(t, e.merge("Accounts", acc[0], mergeBody(map[string][]string{acc[1]: nil}, acc[1])), http.StatusOK)

	admin := map[string]any{"name": "Emulator Admin", "id": userID}
	want := map[string]struct{ typ, name string }{
		ids[0]: {"recycle", "Ann Archer"},
		ids[1]: {"permanent", "Baker"},
		ids[3]: {"permanent", "Cole"},
		acc[1]: {"permanent", "Blue Falcon Inc"},
	}
	check := func(t *testing.T, e *env) {
		t.Helper()
		seen := 0
		for _, module := range []string{"Contacts", "Accounts"} {
			r := e.call("GET", "/crm/v8/"+module+"/deleted", nil)
			wantStatus(t, r, http.StatusOK)
			for _, d := range r.data() {
				w, ok := want[d["id"].(string)]
				if !ok {
					t.Errorf("%s deleted lists %v", module, d)
					continue
				}
				seen++
				if d["type"] != w.typ || d["display_name"] != w.name || d["deleted_time"] != "2025-03-01T10:01:00+00:00" {
					t.Errorf("%s deleted item %v, want type %s, display_name %q, deleted at 10:01", module, d, w.typ, w.name)
				}
				for _, k := range []string{"deleted_by", "created_by"} {
					if u, _ := d[k].(map[string]any); len(u) != 2 || u["name"] != admin["name"] || u["id"] != admin["id"] {
						t.Errorf("%s %s = %v, want %v", d["id"], k, d[k], admin)
					}
				}
			}
		}
		if seen != len(want) {
			t.Errorf("saw %d deleted entries, want %d", seen, len(want))
		}
	}
	t.Run("answers", func(t *testing.T) { check(t, e) })
	t.Run("after a snapshot", func(t *testing.T) {
		var buf bytes.Buffer
		if err := e.s.SaveSnapshot(gob.NewEncoder(&buf)); err != nil {
			t.Fatal(err)
		}
		s2 := New(Config{Now: clk.Now, SearchLag: NoSearchLag})
		if err := s2.LoadSnapshot(gob.NewDecoder(&buf)); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s2)
		t.Cleanup(srv.Close)
		tok, _ := s2.Auth().Issue()
		check(t, &env{t: t, s: s2, srv: srv, token: tok, spec: e.spec})
	})
}
