package seed

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"deskcrm/emulator/crm"
	"deskcrm/emulator/desk"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
		start, cpu0 := time.Now(), cpuTime()
		sum, err := Generate(Options{Seed: 42, Desk: d, CRM: crm(), DeskContacts: contacts, DeskAccounts: accounts,
			CRMContacts: contacts, CRMAccounts: accounts})
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		var once sync.Once
		once.Do(func() { close(stop) })
		p := <-peak
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(elapsed.Seconds(), "s-wall")
		b.ReportMetric(cpu.Seconds(), "s-cpu")
		b.ReportMetric(float64(p)/(1<<20), "MiB-peak-heap")
		b.ReportMetric(float64(sum.Desk.Contacts+sum.CRM.Contacts)/elapsed.Seconds(), "contacts/s")
		d.Close()
	}
}

// BenchmarkGenerate1M seeds a million contacts and 100k accounts per side
// into the real CRM and Desk emulators (run with -bench Generate1M
// -benchtime 1x; reports wall and CPU seconds and the peak heap).
func BenchmarkGenerate1M(b *testing.B) {
	benchGenerate(b, 1_000_000, 100_000, func() Loader { return crm.New(crm.Config{}) })
}

// BenchmarkGenerate100k is the same at a tenth of the size.
func BenchmarkGenerate100k(b *testing.B) {
	benchGenerate(b, 100_000, 10_000, func() Loader { return crm.New(crm.Config{}) })
}
