package crm

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
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
	m.byID.Ascend(func(r rec) bool { first = r.id; return false })
	i := 0
	for b.Loop() {
		s.mu.Lock()
		res, _ := s.applyRecord(m, map[string]any{"Title": fmt.Sprint(i)}, 0, writeUpdate, formatID(first+uint64(i%1000)), nil)
		s.mu.Unlock()
		if r, ok := res.(*writeResult); !ok || r.Code != "SUCCESS" {
			b.Fatalf("update: %v", res)
		}
		i++
	}
}

// gcCPU returns the processor time the garbage collector has used since the process started
// and the number of collections completed.
func gcCPU() (seconds float64, cycles uint64) {
	ss := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ss)
	return ss[0].Value.Float64(), ss[1].Value.Uint64()
}

// reportGC reports the collector's processor time per op since (sec, cycles) and the
// collections run.
func reportGC(b *testing.B, sec float64, cycles uint64) {
	nowSec, nowCycles := gcCPU()
	b.ReportMetric((nowSec-sec)*1e9/float64(b.N), "gc-cpu-ns/op")
	b.ReportMetric(float64(nowCycles-cycles), "gc-cycles")
}

// writeBody is a write call's body of 100 contacts: updates of existing ones (ids given,
// from first on) with three fields changed, or new ones with ten fields as contactBatch's.
func writeBody(buf *bytes.Buffer, update bool, first, call int) {
	buf.Reset()
	buf.WriteString(`{"data":[`)
	for j := range 100 {
		if j > 0 {
			buf.WriteByte(',')
		}
		k := call*100 + j
		if update {
			fmt.Fprintf(buf, `{"id":"%d","Title":"Title %d","Phone":"+1 555 %07d","Seats":%d}`,
				idBase+1+uint64((first+k)%benchSize), call, k, k%500)
			continue
		}
		fmt.Fprintf(buf, `{"First_Name":"New%d","Last_Name":"Created%07d","Email":"new%07d@example.com",`+
			`"Phone":"+1 555 %07d","Mailing_City":"Springfield","Desk_ID":"28920000%08d","Customer_Tier":"Gold",`+
			`"Seats":%d,"Title":"Buyer","Department":"Sales"}`, k, k, k, k, k, k%500)
	}
	buf.WriteString(`]}`)
}

// benchSize is how many contacts the server of BenchmarkWriteCalls's current size holds.
var benchSize int

// BenchmarkWriteCalls holds 100,000 or 1,000,000 contacts (sub-benchmarks n=100k, n=1M) and
// measures, through the HTTP handler (no network), a 100-record PUT of existing contacts
// and a 100-record POST of new ones per op: time, bytes and objects allocated, and the
// garbage collector's processor time per op (runtime/metrics, all collections the run
// caused). GC times one forced collection with the records live: the mark work of the store
// itself, which every collection the rest of the process causes pays again. Export builds one
// bulk read page (200,000 records, every field) per op. Each run loads its size once:
//
//	go test -run '^$' -bench 'WriteCalls/n=1M/(PUT|POST)' -benchtime 4000x -count 1 ./emulator/crm/
//	go test -run '^$' -bench 'WriteCalls/n=1M/GC' -benchtime 10x -count 1 ./emulator/crm/
//	go test -run '^$' -bench 'WriteCalls/n=1M/Export' -benchtime 3x -count 1 ./emulator/crm/
func BenchmarkWriteCalls(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"n=100k", 100_000}, {"n=1M", 1_000_000}} {
		b.Run(size.name, func(b *testing.B) {
			s, _, tok := benchServer(b, size.n)
			benchSize = size.n
			var buf bytes.Buffer
			call := func(b *testing.B, method string, i int) {
				writeBody(&buf, method == "PUT", 0, i)
				req := httptest.NewRequest(method, "/crm/v8/Contacts", bytes.NewReader(buf.Bytes()))
				req.Header.Set("Authorization", zohoauth.HeaderPrefix+tok)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK && w.Code != http.StatusCreated {
					b.Fatalf("%s: status %d: %.300s", method, w.Code, w.Body.String())
				}
			}
			for _, method := range []string{"PUT", "POST"} {
				b.Run(method, func(b *testing.B) {
					runtime.GC()
					sec, cycles := gcCPU()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						call(b, method, i)
						i++
					}
					b.StopTimer()
					reportGC(b, sec, cycles)
				})
			}
			b.Run("GC", func(b *testing.B) {
				runtime.GC()
				sec, cycles := gcCPU()
				for b.Loop() {
					runtime.GC()
				}
				b.StopTimer()
				reportGC(b, sec, cycles)
				_, objects := heap()
				b.ReportMetric(float64(objects)/float64(s.Count("Contacts")), "objects/record")
			})
			b.Run("Export", func(b *testing.B) {
				runtime.GC()
				sec, cycles := gcCPU()
				b.ReportAllocs()
				job := &bulkJob{id: "1", module: "Contacts", page: 1}
				for k := range s.modules["Contacts"].fields.list {
					job.fields = append(job.fields, k)
				}
				for b.Loop() {
					if _, n, _, err := s.exportCSV(job); err != nil || n != min(s.Count("Contacts"), bulkPageSize) {
						b.Fatalf("export: %d records, %v", n, err)
					}
				}
				b.StopTimer()
				reportGC(b, sec, cycles)
			})
		})
	}
}
