package seed

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/desk"
)

// peakHeap samples the heap in use until stop is closed and returns the
// largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func benchGenerate(b *testing.B, contacts, accounts int, crm func() Loader) {
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		peak := peakHeap(stop)
		d := desk.New(desk.Config{})
		start := time.Now()
		sum, err := Generate(Options{Seed: 42, Desk: d, CRM: crm(), DeskContacts: contacts, DeskAccounts: accounts,
			CRMContacts: contacts, CRMAccounts: accounts})
		elapsed := time.Since(start)
		var once sync.Once
		once.Do(func() { close(stop) })
		p := <-peak
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(elapsed.Seconds(), "s/seed")
		b.ReportMetric(float64(p)/(1<<20), "MiB-peak-heap")
		b.ReportMetric(float64(sum.Desk.Contacts+sum.CRM.Contacts)/elapsed.Seconds(), "contacts/s")
		d.Close()
	}
}

// BenchmarkGenerate100k is the same at a tenth of the size.
func BenchmarkGenerate100k(b *testing.B) {
	benchGenerate(b, 100_000, 10_000, func() Loader { return countingLoader{} })
}
