package benchenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// CPUTimes is the processor time each part of the world has used so far (user + system, of
// the live processes and of their waited-for children), keyed by part: "worker",
// "postgres", "temporal" (the dev server) and "emulators" (this process, which hosts both),
// and "other": what the machine's processors did besides (/proc/stat's busy time less the
// parts: kernel threads such as a memory monitor's kdamond or kswapd, interrupts, other
// programs), which a sync's own figures cannot show but its wall time pays for.
type CPUTimes map[string]time.Duration

// CPUParts are the parts of CPUTimes, in the order they are printed.
var CPUParts = []string{"worker", "postgres", "temporal", "emulators", "other"}

// ReadCPUTimes reads CPUTimes from /proc. Processes are told apart by their command name
// (worker, postgres, temporal-dev); a part whose processes cannot be read counts zero.
func ReadCPUTimes() CPUTimes {
	out := CPUTimes{}
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, t, ok := procCPU(d)
		if !ok {
			continue
		}
		switch {
		case pid == self:
			out["emulators"] += t
		case comm == "worker":
			out["worker"] += t
		case comm == "postgres":
			out["postgres"] += t
		case strings.HasPrefix(comm, "temporal-dev"):
			out["temporal"] += t
		}
	}
	if busy, ok := machineBusy(); ok {
		out["other"] = busy - out["worker"] - out["postgres"] - out["temporal"] - out["emulators"]
	}
	return out
}

// machineBusy is the time all processors have spent on anything but idling or waiting for
// I/O since boot: the user, nice, system, irq, softirq and steal columns of /proc/stat's "cpu"
// line (proc(5)), in USER_HZ ticks.
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, true
}

// procCPU reads a process's command name and utime+stime+cutime+cstime from its stat file.
func procCPU(dir string) (string, time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	// Fields after the command: state is field 3, utime..cstime are fields 14–17.
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return "", 0, false
	}
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return s[open+1 : end], time.Duration(ticks) * clockTick, true
}

// Sub returns the time each part used since before.
func (c CPUTimes) Sub(before CPUTimes) CPUTimes {
	out := CPUTimes{}
	for k, v := range c {
		out[k] = v - before[k]
	}
	return out
}

// String lists the parts' times and their share of what the machine's cores could give in
// wall: "worker 310s (26%), postgres ...".
func (c CPUTimes) String(wall time.Duration, cores int) string {
	avail := wall.Seconds() * float64(cores)
	var parts []string
	var total time.Duration
	for _, k := range CPUParts {
		if _, ok := c[k]; !ok {
			continue
		}
		total += c[k]
		parts = append(parts, fmt.Sprintf("%s %.0fs (%.0f%%)", k, c[k].Seconds(), 100*c[k].Seconds()/avail))
	}
	return fmt.Sprintf("%s; total %.0fs of %.0fs (%d cores × wall)", strings.Join(parts, ", "), total.Seconds(), avail, cores)
}
