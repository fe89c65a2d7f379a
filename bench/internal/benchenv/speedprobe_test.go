package benchenv

import (
	"testing"
	"time"
)

func TestSpeedProbeReadsItsThreadsProcessorTime(t *testing.T) {
	p := StartSpeedProbe(5 * time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	median, n := p.Stop()
	if n < 2 {
		t.Fatalf("%d probes in 100ms at one per 5ms", n)
	}
	// The work is 2M dependent xorshift steps: well over 100µs and well under a second of a
	// core on any machine that runs the benchmarks.
	if median < 100*time.Microsecond || median > time.Second {
		t.Fatalf("median probe %v", median)
	}
	if probeWork(3) == probeWork(4) {
		t.Fatal("probeWork does not depend on its iterations")
	}
}
