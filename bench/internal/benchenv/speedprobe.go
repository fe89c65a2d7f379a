package benchenv

import (
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// probeIterations is the size of the speed probe's fixed work: about 4 ms of one core here.
const probeIterations = 2_000_000

// SpeedProbe measures how fast this machine's processors run while a benchmark loads them:
// every interval it runs the same small computation (a register-only loop, no memory traffic)
// and reads the processor time its thread spent on it (CLOCK_THREAD_CPUTIME_ID, so waiting for
// a core does not count). A slower probe means slower processors — a lower clock, a busier
// host, a hypervisor taking cycles — not more work: two runs of one benchmark minutes apart
// on the same virtual machine have differed by 1.6× in every part's processor time, and the
// probe lets a report tell that apart from a sync that does more per record.
type SpeedProbe struct {
	mu      sync.Mutex
	samples []time.Duration
	stop    chan struct{}
	done    chan struct{}
}

// StartSpeedProbe starts probing every interval until Stop.
func StartSpeedProbe(interval time.Duration) *SpeedProbe {
	p := &SpeedProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if d, ok := probeOnce(); ok {
				p.mu.Lock()
				p.samples = append(p.samples, d)
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Stop ends the probing and returns the median processor time of one probe (0 if no probe
// could be read) and the number of probes.
func (p *SpeedProbe) Stop() (median time.Duration, n int) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) == 0 {
		return 0, 0
	}
	s := slices.Clone(p.samples)
	slices.Sort(s)
	return s[len(s)/2], len(s)
}

// probeOnce times the fixed work in the calling thread's processor time.
func probeOnce() (time.Duration, bool) {
	t0, ok := threadCPUTime()
	if !ok {
		return 0, false
	}
	runtime.KeepAlive(probeWork(probeIterations)) // the result is used, so the loop runs
	t1, ok := threadCPUTime()
	return t1 - t0, ok && t1 > t0
}

// probeWork is an xorshift generator run n times: dependent integer operations on registers.
func probeWork(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// threadCPUTime reads CLOCK_THREAD_CPUTIME_ID (clock_gettime(2)) of the calling OS thread.
func threadCPUTime() (time.Duration, bool) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
