package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"deskcrm/emulator/realism"
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

// BenchmarkUpdatePipe sends 1,000 contact updates, 15 at a time, to the emulator with 50 ms of
// latency and concurrency limit 15 — an incremental pass's write pipe — and reports the time
// each call holds its slot beyond the latency (ms-over-latency/call) and the pipe's time
// against its bound (calls × latency / concurrency), with the client's default HTTP client
// and with Go's default transport (two idle connections per host).
func BenchmarkUpdatePipe(b *testing.B) {
	for _, c := range []struct {
		name string
		hc   *http.Client
	}{{"default-client", nil}, {"go-default-transport", &http.Client{Timeout: time.Minute}}} {
		b.Run(c.name, func(b *testing.B) { benchUpdatePipe(b, c.hc) })
	}
}

func benchUpdatePipe(b *testing.B, hc *http.Client) {
	const n, conc, latency = 1000, 15, 50 * time.Millisecond
	e := newEnv(b, func(c *desk.Config) { c.Concurrency, c.HTTPClient = conc, hc })
	e.emu.Realism().SetLatency(latency, 0)
	e.emu.Realism().SetLimits(realism.Limits{MaxInFlight: conc})
	ctx := context.Background()
	var ids []string
	for i := range conc {
		r, err := e.client.Create(ctx, desk.Contacts, contact(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var g errgroup.Group
		for i := range n {
			g.Go(func() error {
				_, err := e.client.Update(ctx, desk.Contacts, ids[i%conc], desk.Record{Fields: map[string]any{"title": fmt.Sprintf("T%d", i)}})
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		bound := time.Duration(n) * latency / conc
		b.ReportMetric(float64(took.Milliseconds())*conc/n-float64(latency.Milliseconds()), "ms-over-latency/call")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "of-bound")
	}
}
