package desk

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLoad loads n contacts in chunks of 1,000 and reports wall time, CPU
// time (the machine is shared, so CPU time is the steadier figure) and the
// heap held by the loaded data.
func benchLoad(b *testing.B, n int) {
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s := New(Config{SigningKey: testKey})
		accs := make([]map[string]any, 1000)
		for i := range accs {
			accs[i] = map[string]any{"accountName": fmt.Sprintf("Account %d", i)}
		}
		accIDs, err := s.Load(ModuleAccounts, accs)
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		chunk := make([]map[string]any, 0, 1000)
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			chunk = append(chunk, map[string]any{
				"firstName": "Jennifer", "lastName": fmt.Sprintf("Lawrence %d", i), "email": fmt.Sprintf("user%d@example.com", i),
				"phone": "+1 555 010 0100", "title": "Engineer", "city": "Lisbon", "country": "Portugal",
				"accountId": accIDs[i%len(accIDs)], "createdTime": base.Add(time.Duration(i) * time.Second),
				"modifiedTime": base.Add(time.Duration(n-i) * time.Second),
				"cf":           map[string]any{"cf_customer_tier": "Gold", "cf_seats": i % 500, "cf_renewal_date": "2026-03-01", "cf_vip": i%10 == 0},
			})
			if len(chunk) == cap(chunk) || i == n-1 {
				if _, err := s.Load(ModuleContacts, chunk); err != nil {
					b.Fatal(err)
				}
				chunk = chunk[:0]
			}
		}
		wall, cpu := time.Since(start), cpuTime()-cpu0
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(wall.Seconds(), "s-wall")
		b.ReportMetric(cpu.Seconds(), "s-cpu")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(n)/wall.Seconds(), "records/s")
		runtime.KeepAlive(s)
		s.Close()
	}
}

func BenchmarkLoad1M(b *testing.B)   { benchLoad(b, 1_000_000) }
func BenchmarkLoad100k(b *testing.B) { benchLoad(b, 100_000) }

// loadSyncWorld loads n/10 accounts and n contacts shaped like the seed's (seven fields, four
// custom fields, seven in ten linked to an account) and returns the contacts' ids.
func loadSyncWorld(b *testing.B, s *Server, n int) []string {
	b.Helper()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var accIDs []string
	chunk := make([]map[string]any, 0, 1000)
	flush := func(module string) {
		ids, err := s.Load(module, chunk)
		if err != nil {
			b.Fatal(err)
		}
		if module == ModuleAccounts {
			accIDs = append(accIDs, ids...)
		}
		chunk = chunk[:0]
	}
	for i := range max(n/10, 1) {
		chunk = append(chunk, map[string]any{"accountName": fmt.Sprintf("Account %d Ltd", i), "website": fmt.Sprintf("https://a%d.example.com", i),
			"phone": "+1 555 020 0200", "industry": "Software", "createdTime": base.Add(time.Duration(i) * time.Second)})
		if len(chunk) == cap(chunk) {
			flush(ModuleAccounts)
		}
	}
	if len(chunk) > 0 {
		flush(ModuleAccounts)
	}
	ids := make([]string, 0, n)
	for i := range n {
		rec := map[string]any{
			"firstName": "Jennifer", "lastName": fmt.Sprintf("Lawrence %d", i), "email": fmt.Sprintf("jennifer.lawrence.%d@example.com", i),
			"phone": "+1 555 010 0100", "title": "Engineer", "city": "Lisbon", "country": "Portugal",
			"createdTime": base.Add(time.Duration(i) * time.Second), "modifiedTime": base.Add(time.Duration(i)*time.Second + time.Hour),
			"cf": map[string]any{"cf_customer_tier": "Gold", "cf_seats": i % 500, "cf_renewal_date": "2026-03-01", "cf_vip": i%10 == 0},
		}
		if i%10 < 7 {
			rec["accountId"] = accIDs[i%len(accIDs)]
		}
		chunk = append(chunk, rec)
		if len(chunk) == cap(chunk) || i == n-1 {
			got, err := s.Load(ModuleContacts, chunk)
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, got...)
			chunk = chunk[:0]
		}
	}
	return ids
}

// discardWriter is a reusable http.ResponseWriter that keeps the status and counts the body.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// gcCPU returns the processor time the garbage collector has spent so far, in all and
// without the mark workers that ran only because a processor was idle (with one request at a
// time, the benchmark leaves one of two idle: that part varies most from run to run).
func gcCPU() (total, busy float64) {
	m := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}}
	metrics.Read(m)
	return m[0].Value.Float64(), m[0].Value.Float64() - m[1].Value.Float64()
}

// benchSyncTraffic loads n contacts (and n/10 accounts), then drives the first sync's mix
// of Desk calls through the handler in-process: 8 in 10 PATCH a contact (a field and
// cf_crm_id), 1 in 10 POST a new contact, 1 in 10 search a contact by email. Besides ns, B
// and allocs per call it reports the garbage collector's processor time per call (gc-ns/op,
// from runtime/metrics: what grows with the live heap; gc-busy-ns/op leaves out the idle
// mark workers), the collections run, and the live heap after the load and after the calls
// (a tenth of which added contacts). The load takes a while (about 15 s at 1M): give
// -benchtime as a count, e.g. -benchtime 1000000x.
func benchSyncTraffic(b *testing.B, n int) {
	s := New(Config{SigningKey: testKey})
	defer s.Close()
	ids := loadSyncWorld(b, s, n)
	tok, _ := s.Auth().Issue()
	hdr := http.Header{"Authorization": {"Zoho-oauthtoken " + tok}, "Orgid": {DefaultOrgID}, "Content-Type": {"application/json"}}
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	heapMiB := float64(mem.HeapAlloc) / (1 << 20)
	b.ReportAllocs()
	rng := rand.New(rand.NewPCG(1, 2))
	w := &discardWriter{h: http.Header{}}
	var gc0, busy0 float64
	var cycles0 uint32
	i := 0
	for b.Loop() {
		if i == 0 {
			runtime.ReadMemStats(&mem)
			cycles0 = mem.NumGC
			gc0, busy0 = gcCPU()
		}
		i++
		req := &http.Request{Method: http.MethodGet, Header: hdr, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		var body string
		switch k := rng.IntN(10); {
		case k < 8:
			id := ids[rng.IntN(len(ids))]
			req.Method, req.URL = http.MethodPatch, &url.URL{Path: "/api/v1/contacts/" + id}
			body = `{"phone":"+1 555 010 ` + strconv.Itoa(1000+i%9000) + `","cf":{"cf_crm_id":"` + strconv.Itoa(3_000_000_000_000_000+i) + `"}}`
		case k < 9:
			req.Method, req.URL = http.MethodPost, &url.URL{Path: "/api/v1/contacts"}
			body = `{"firstName":"Ana","lastName":"Sousa ` + strconv.Itoa(i) + `","email":"ana.sousa.` + strconv.Itoa(i) +
				`@example.org","phone":"+351 21 000 0000","city":"Porto","country":"Portugal","cf":{"cf_crm_id":"` +
				strconv.Itoa(4_000_000_000_000_000+i) + `","cf_customer_tier":"Silver","cf_seats":"12"}}`
		default:
			req.URL = &url.URL{Path: "/api/v1/contacts/search", RawQuery: "email=jennifer.lawrence." + strconv.Itoa(rng.IntN(n)) + "@example.com"}
		}
		if body != "" {
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body))
		}
		clear(w.h)
		w.status, w.n = 0, 0
		s.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("%s %s: status %d", req.Method, req.URL, w.status)
		}
	}
	gc, busy := gcCPU()
	runtime.ReadMemStats(&mem)
	b.ReportMetric((gc-gc0)*1e9/float64(b.N), "gc-ns/op")
	b.ReportMetric((busy-busy0)*1e9/float64(b.N), "gc-busy-ns/op")
	b.ReportMetric(float64(mem.NumGC-cycles0), "gc-cycles")
	b.ReportMetric(heapMiB, "MiB-heap") // after b.Loop, which drops metrics reported before it
	runtime.GC()
	runtime.ReadMemStats(&mem)
	b.ReportMetric(float64(mem.HeapAlloc)/(1<<20), "MiB-heap-end")
	runtime.KeepAlive(s)
}

func BenchmarkSyncTraffic1M(b *testing.B)   { benchSyncTraffic(b, 1_000_000) }
func BenchmarkSyncTraffic100k(b *testing.B) { benchSyncTraffic(b, 100_000) }
