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

// PostgresParts split the "postgres" part by what its processes do, told apart by the title
// each server process sets (postgres(1), "ps status display"): "postgres/backends" serve
// the worker's and the benchmark's connections; "postgres/exited" is what the server's
// waited-for children used — chiefly autovacuum workers, which start and exit on their own
// (the pools keep their connections for the whole run); "postgres/background" is the
// postmaster itself and its long-lived helpers (checkpointer, background and WAL writers,
// autovacuum launcher). Which of them grows with the data tells a backend's work per record
// from vacuuming a larger table.
var PostgresParts = []string{"postgres/backends", "postgres/exited", "postgres/background"}

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
			for k, v := range postgresSplit(d, t) {
				out[k] += v
			}
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

// postgresSplit files a Postgres process's processor time t under PostgresParts by its title
// (/proc/<pid>/cmdline): the postmaster's title is its command line, which names no role
// after "postgres:"; its children's is "postgres: <role> ..." (a backend: "postgres: <user>
// <database> <host> <state>"). The postmaster's own time is background, its waited-for
// children's is exited.
func postgresSplit(dir string, t time.Duration) map[string]time.Duration {
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil
	}
	title := strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")
	role, isChild := strings.CutPrefix(title, "postgres: ")
	if !isChild {
		own, children, ok := procOwnAndChildren(dir)
		if !ok {
			return nil
		}
		return map[string]time.Duration{"postgres/background": own, "postgres/exited": children}
	}
	for _, bg := range []string{"checkpointer", "background writer", "walwriter", "autovacuum launcher", "logical replication launcher", "archiver", "stats collector"} {
		if strings.HasPrefix(role, bg) {
			return map[string]time.Duration{"postgres/background": t}
		}
	}
	if strings.HasPrefix(role, "autovacuum worker") {
		// Still running when read: counted with the ones that exited.
		return map[string]time.Duration{"postgres/exited": t}
	}
	return map[string]time.Duration{"postgres/backends": t}
}

// procOwnAndChildren reads a process's own processor time (utime+stime) and its waited-for
// children's (cutime+cstime) from its stat file.
func procOwnAndChildren(dir string) (own, children time.Duration, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return 0, 0, false
	}
	ticks := func(fs []string) time.Duration {
		var n int64
		for _, v := range fs {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		}
		return time.Duration(n) * clockTick
	}
	return ticks(f[11:13]), ticks(f[13:15]), true
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

// PostgresString lists the postgres part's split by process (PostgresParts): "backends 250s,
// autovacuum and other exited 20s, background 6s", or "" when the split was not read.
func (c CPUTimes) PostgresString() string {
	var parts []string
	for _, k := range PostgresParts {
		if v, ok := c[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0fs", postgresPartNames[k], v.Seconds()))
		}
	}
	return strings.Join(parts, ", ")
}

// postgresPartNames are how PostgresParts are printed.
var postgresPartNames = map[string]string{
	"postgres/backends":   "backends",
	"postgres/exited":     "autovacuum and other exited",
	"postgres/background": "background",
}
