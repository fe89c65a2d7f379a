package crm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"deskcrm/emulator/zohoauth"
)

// contactBatch builds n realistic contacts starting at offset.
func contactBatch(offset, n int, base time.Time) []map[string]any {
	tiers := []string{"Bronze", "Silver", "Gold", "Platinum"}
	out := make([]map[string]any, n)
	for i := range out {
		k := offset + i
		ts := base.Add(time.Duration(k) * time.Second).Format(time.RFC3339)
		out[i] = map[string]any{
			"First_Name":    fmt.Sprintf("First%d", k),
			"Last_Name":     fmt.Sprintf("Last%07d", k),
			"Email":         fmt.Sprintf("contact%07d@example.com", k),
			"Phone":         fmt.Sprintf("+1 555 %07d", k),
			"Mailing_City":  "Springfield",
			"Desk_ID":       fmt.Sprintf("18920000%08d", k),
			"Customer_Tier": tiers[k%4],
			"Seats":         k % 500,
			"Created_Time":  ts,
			"Modified_Time": ts,
		}
	}
	return out
}

// heap returns the live heap in MiB and its number of objects, after two collections.
func heap() (float64, uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20), ms.HeapObjects
}

// BenchmarkLoad1MContacts loads a million Contacts with ten fields each and
// reports the live heap they take and its objects per record (what the garbage collector
// marks on every cycle). Run with -benchtime=1x.
func BenchmarkLoad1MContacts(b *testing.B) {
	const total, batch = 1_000_000, 10_000
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		before, objects := heap()
		s := New(Config{})
		b.StartTimer()
		for off := 0; off < total; off += batch {
			b.StopTimer()
			recs := contactBatch(off, batch, base)
			b.StartTimer()
			if _, err := s.Load("Contacts", recs); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if s.Count("Contacts") != total {
			b.Fatalf("Count = %d", s.Count("Contacts"))
		}
		after, objectsAfter := heap()
		b.ReportMetric(after-before, "heap-MiB")
		b.ReportMetric(float64(objectsAfter-objects)/total, "objects/record")
		runtime.KeepAlive(s)
		b.StartTimer()
	}
}

// benchServer is a server with n contacts behind httptest.
func benchServer(b *testing.B, n int) (*Server, *httptest.Server, string) {
	b.Helper()
	s := New(Config{})
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for off := 0; off < n; off += 10_000 {
		if _, err := s.Load("Contacts", contactBatch(off, min(10_000, n-off), base)); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	tok, _ := s.Auth().Issue()
	return s, srv, tok
}

func benchGet(b *testing.B, url, tok string, hdr map[string]string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", zohoauth.HeaderPrefix+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("status %d", res.StatusCode)
	}
}

// BenchmarkListModifiedSince1M lists the newest 200 changes of a
// million-contact module by Modified_Time with If-Modified-Since.
func BenchmarkListModifiedSince1M(b *testing.B) {
	_, srv, tok := benchServer(b, 1_000_000)
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(999_000 * time.Second).Format(time.RFC3339)
	url := srv.URL + "/crm/v8/Contacts?fields=Email,Last_Name,Desk_ID&sort_by=Modified_Time&sort_order=asc"
	for b.Loop() {
		benchGet(b, url, tok, map[string]string{"If-Modified-Since": since})
	}
}

// BenchmarkSearchDeskID1M searches by Desk_ID in a million contacts.
func BenchmarkSearchDeskID1M(b *testing.B) {
	_, srv, tok := benchServer(b, 1_000_000)
	url := srv.URL + "/crm/v8/Contacts/search?criteria=(Desk_ID:equals:1892000000500000)&per_page=200"
	for b.Loop() {
		benchGet(b, url, tok, nil)
	}
}

// BenchmarkUpdate1M updates one record at a time in a million contacts
// (moves it in the Modified_Time index).
func BenchmarkUpdate1M(b *testing.B) {
	s, _, _ := benchServer(b, 1_000_000)
	m := s.modules["Contacts"]
	var first uint64
	m.byID.Ascend(func(r *rec) bool { first = r.id; return false })
	i := 0
	for b.Loop() {
		s.mu.Lock()
		res, _ := s.applyRecord(m, map[string]any{"Title": fmt.Sprint(i)}, 0, writeUpdate, formatID(first+uint64(i%1000)), nil)
		s.mu.Unlock()
		if res["code"] != "SUCCESS" {
			b.Fatalf("update: %v", res)
		}
		i++
	}
}
