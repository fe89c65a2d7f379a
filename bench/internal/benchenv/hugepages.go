package benchenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// hugePagesPool is the kernel's pool of huge pages (/proc/meminfo), in pages of SizeKB.
type hugePagesPool struct {
	Total, Free, Reserved, SizeKB int64
}

// available is how many pages a new mapping can still reserve.
func (p hugePagesPool) available() int64 { return p.Free - p.Reserved }

func readHugePagesPool() (hugePagesPool, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return hugePagesPool{}, err
	}
	var p hugePagesPool
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "HugePages_Total:":
			p.Total = n
		case "HugePages_Free:":
			p.Free = n
		case "HugePages_Rsvd:":
			p.Reserved = n
		case "Hugepagesize:":
			p.SizeKB = n
		}
	}
	if p.SizeKB == 0 {
		return p, fmt.Errorf("/proc/meminfo names no Hugepagesize")
	}
	return p, nil
}

// hugePagesFor is how many huge pages of sizeKB a Postgres with sharedBuffersMB of buffers
// maps: the buffers, their descriptors and the other shared structures (locks, pg_stat_statements,
// 200 connections' slots), rounded up generously; what is not mapped is given back at the end.
func hugePagesFor(sharedBuffersMB, sizeKB int64) int64 {
	mb := sharedBuffersMB + sharedBuffersMB/16 + 512
	return (mb*1024 + sizeKB - 1) / sizeKB
}

// reserveHugePages makes sure the kernel's huge page pool can hold the shared memory of a
// Postgres with sharedBuffersMB of buffers, growing the pool (vm.nr_hugepages, which needs root)
// when it is short. PostgreSQL's docs ("Managing Kernel Resources", Linux huge pages) advise
// huge pages for large shared_buffers: with 4 KiB pages every backend walks page tables for the
// buffers it touches, and at a million records per side (3 GiB of buffers) that made each random
// index probe about twice as slow as at a hundred thousand. restore gives the pool back its
// size; it is to run after Postgres has stopped. err says why the pool could not be made ready;
// Postgres then runs in normal pages (huge_pages=try).
func reserveHugePages(sharedBuffersMB int64) (restore func(), err error) {
	restore = func() {}
	p, err := readHugePagesPool()
	if err != nil {
		return restore, err
	}
	need := hugePagesFor(sharedBuffersMB, p.SizeKB)
	if p.available() >= need {
		return restore, nil
	}
	if os.Geteuid() != 0 {
		return restore, fmt.Errorf("%d huge pages of %d kB are free and Postgres needs %d: run as root, or raise vm.nr_hugepages by %d",
			p.available(), p.SizeKB, need, need-p.available())
	}
	const knob = "/proc/sys/vm/nr_hugepages"
	set := func(n int64) error { return os.WriteFile(knob, []byte(strconv.FormatInt(n, 10)), 0o644) }
	old := p.Total
	if err := set(old + need - p.available()); err != nil {
		return restore, fmt.Errorf("raise vm.nr_hugepages: %w", err)
	}
	restore = func() { _ = set(old) }
	// The kernel grants what it can find in contiguous free memory, perhaps less.
	if q, err := readHugePagesPool(); err != nil || q.available() < need {
		restore()
		return func() {}, fmt.Errorf("the kernel granted %d of the %d huge pages Postgres needs (memory too fragmented)", q.available(), need)
	}
	return restore, nil
}

// transparentHugePagesKnob is the kernel's system-wide transparent huge page mode
// (Documentation/admin-guide/mm/transhuge.rst): "always", "madvise" or "never", the current one
// in brackets.
const transparentHugePagesKnob = "/sys/kernel/mm/transparent_hugepage/enabled"

// UseTransparentHugePages sets the kernel's transparent huge pages to "always" for the run, so
// the Go processes' heaps (the worker, the emulators) and Postgres's backends' private memory are
// mapped in 2 MiB pages. Go's runtime no longer asks for them itself (since Go 1.21.1 it makes no
// madvise(MADV_HUGEPAGE) call), so under the common "madvise" mode its heaps stay in 4 KiB
// pages; at a million records per side the emulators hold 1.5 GiB and every process's random
// accesses then walk page tables: with "always" the same 1M sync took 8m51s instead of 10m45s
// (worker processor time 489 s instead of 586 s) while the 100k syncs were unchanged.
// was is the mode found; restore sets it back (a no-op when nothing was changed). err says why the
// mode could not be set (not root, no such knob); the run then goes on in the mode found.
func UseTransparentHugePages() (was string, restore func(), err error) {
	restore = func() {}
	b, err := os.ReadFile(transparentHugePagesKnob)
	if err != nil {
		return "", restore, err
	}
	was = currentTransparentHugePageMode(string(b))
	if was == "always" {
		return was, restore, nil
	}
	if os.Geteuid() != 0 {
		return was, restore, fmt.Errorf("transparent huge pages are %q: run as root, or `echo always > %s`", was, transparentHugePagesKnob)
	}
	set := func(mode string) error { return os.WriteFile(transparentHugePagesKnob, []byte(mode), 0o644) }
	if err := set("always"); err != nil {
		return was, restore, fmt.Errorf("set transparent huge pages to always: %w", err)
	}
	return was, func() { _ = set(was) }, nil
}

// currentTransparentHugePageMode is the bracketed word of the knob's text ("always [madvise]
// never" → "madvise"), or the whole text trimmed when none is bracketed.
func currentTransparentHugePageMode(knob string) string {
	for _, w := range strings.Fields(knob) {
		if strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]") {
			return strings.Trim(w, "[]")
		}
	}
	return strings.TrimSpace(knob)
}
