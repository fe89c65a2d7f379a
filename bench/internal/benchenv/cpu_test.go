package benchenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProc writes a /proc/<pid> directory's cmdline (NUL-separated) and stat files.
func fakeProc(t *testing.T, cmdline []string, utime, stime, cutime, cstime string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.Join(cmdline, "\x00")+"\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
	stat := "4242 (postgres) S 1 4242 4242 0 -1 4194560 100 200 0 0 " + strings.Join([]string{utime, stime, cutime, cstime}, " ") + " 20 0 1 0 5 0 0"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPostgresSplit(t *testing.T) {
	const tick = 10 * time.Millisecond
	tests := []struct {
		name    string
		cmdline []string
		want    map[string]time.Duration
	}{
		// The postmaster: its own time is background, its waited-for children's (exited
		// autovacuum workers) is exited.
		{"postmaster", []string{"/usr/lib/postgresql/15/bin/postgres", "-D", "/tmp/pg"},
			map[string]time.Duration{"postgres/background": 30 * tick, "postgres/exited": 700 * tick}},
		{"checkpointer", []string{"postgres: checkpointer "}, map[string]time.Duration{"postgres/background": 999 * tick}},
		{"walwriter", []string{"postgres: walwriter "}, map[string]time.Duration{"postgres/background": 999 * tick}},
		{"running autovacuum worker", []string{"postgres: autovacuum worker deskcrm"}, map[string]time.Duration{"postgres/exited": 999 * tick}},
		{"backend", []string{"postgres: deskcrm deskcrm 127.0.0.1(40112) idle"}, map[string]time.Duration{"postgres/backends": 999 * tick}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fakeProc(t, tt.cmdline, "10", "20", "300", "400")
			got := postgresSplit(dir, 999*tick)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestPostgresString(t *testing.T) {
	c := CPUTimes{"postgres": 300 * time.Second, "postgres/backends": 250 * time.Second, "postgres/exited": 40 * time.Second, "postgres/background": 10 * time.Second}
	if got, want := c.PostgresString(), "backends 250s, autovacuum and other exited 40s, background 10s"; got != want {
		t.Errorf("PostgresString() = %q, want %q", got, want)
	}
	if got := (CPUTimes{"postgres": time.Second}).PostgresString(); got != "" {
		t.Errorf("without a split PostgresString() = %q, want empty", got)
	}
}

func TestCurrentTransparentHugePageMode(t *testing.T) {
	for knob, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]":   "never",
		"madvise\n":                "madvise",
	} {
		if got := currentTransparentHugePageMode(knob); got != want {
			t.Errorf("currentTransparentHugePageMode(%q) = %q, want %q", knob, got, want)
		}
	}
}
