package desk_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"deskcrm/zoho/desk"
)

// BenchmarkScan100k pages 100,000 Desk contacts through Scan (search windows
// of createdTime, 100 per page) against the emulator with no added latency.
// It reports records/s and, via -benchmem, allocations per full scan.
func BenchmarkScan100k(b *testing.B) {
	const n = 100000
	e := newEnv(b, nil)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Ten records share each millisecond, as a bulk import would produce.
	for off := 0; off < n; off += 10000 {
		recs := make([]map[string]any, 10000)
		for i := range recs {
			k := off + i
			ts := base.Add(time.Duration(k/10) * time.Millisecond)
			recs[i] = map[string]any{"lastName": fmt.Sprintf("L%06d", k), "email": fmt.Sprintf("c%06d@example.test", k),
				"createdTime": ts, "modifiedTime": ts, "cf": map[string]any{"cf_crm_id": fmt.Sprintf("7%09d", k)}}
		}
		if _, err := e.emu.Load("contacts", recs); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	total := 0
	for b.Loop() {
		got := 0
		err := e.client.Scan(ctx, desk.Contacts, desk.ScanQuery{Field: desk.CreatedTime, From: base, To: base.Add(24 * time.Hour)}, func(p desk.Page) error {
			got += len(p.Records)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("scanned %d records, want %d", got, n)
		}
		total += got
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(e.client.Credits().Calls)/float64(total/n), "calls/scan")
}
