package crm

import (
	"fmt"
	"sync"
	"testing"
)

func TestConcurrentWritesAndReads(t *testing.T) {
	e := newEnv(t, Config{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 10 {
				r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{
					map[string]any{"Last_Name": fmt.Sprintf("G%d-%d", g, i), "Email": fmt.Sprintf("g%d-%d@x.com", g, i)},
					map[string]any{"Last_Name": fmt.Sprintf("H%d-%d", g, i)}}})
				if r.status != 201 {
					t.Errorf("insert during reads: %d %s", r.status, r.raw)
					return
				}
				mu.Lock()
				for _, d := range r.data() {
					id := d["details"].(map[string]any)["id"].(string)
					if seen[id] {
						t.Errorf("id %s handed out twice", id)
					}
					seen[id] = true
				}
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for range 10 {
				r := e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name", "sort_by", "Modified_Time"), nil)
				if r.status != 200 && r.status != 204 {
					t.Errorf("list during writes: %d", r.status)
				}
			}
		}()
	}
	wg.Wait()
	if n := e.s.Count("Contacts"); n != 160 || len(seen) != 160 {
		t.Errorf("Count = %d, distinct ids %d, want 160", n, len(seen))
	}
}
