package desk

import (
	"fmt"
	"runtime"
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
