package devserverbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRepo lays out a repository root with a devserver module that is a tiny program (the real
// one takes minutes to build), and returns the root.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module deskcrm\n\ngo 1.26.0\n")
	write("devserver/go.mod", "module deskcrm/devserver\n\ngo 1.26.0\n")
	write("devserver/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"fake dev server\") }\n")
	return root
}

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConcurrentCallersBuildOnce starts several builders of one missing binary at once, as
// parallel test packages do: the file lock lets one build it and the others use the result.
func TestConcurrentCallersBuildOnce(t *testing.T) {
	root := fakeRepo(t)
	var log lockedBuffer
	const callers = 4
	paths := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { paths[i], errs[i] = ensureBuilt(root, &log) })
	}
	wg.Wait()
	want := filepath.Join(root, "bin", "temporal-dev")
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if paths[i] != want {
			t.Fatalf("caller %d got %s, want %s", i, paths[i], want)
		}
	}
	if n := strings.Count(log.String(), "devserverbin: building"); n != 1 {
		t.Fatalf("built %d times, want once; log:\n%s", n, log.String())
	}
	out, err := exec.Command(want).Output()
	if err != nil || strings.TrimSpace(string(out)) != "fake dev server" {
		t.Fatalf("run the built binary: %v %q", err, out)
	}
	if left, _ := filepath.Glob(want + ".tmp-*"); len(left) > 0 {
		t.Fatalf("temporary build files left behind: %v", left)
	}

	// Built and fresh: no second build.
	if _, err := ensureBuilt(root, &log); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "devserverbin: building"); n != 1 {
		t.Fatalf("rebuilt a fresh binary; log:\n%s", log.String())
	}

	// A devserver source newer than the binary makes it stale, as in the Makefile's rule.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(root, "devserver", "main.go"), future, future); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureBuilt(root, &log); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "devserverbin: building"); n != 2 {
		t.Fatalf("a stale binary was not rebuilt; log:\n%s", log.String())
	}
}

// TestBuildFailureSaysWhat checks that a devserver module that does not compile gives an
// error naming the command and the compiler's output.
func TestBuildFailureSaysWhat(t *testing.T) {
	root := fakeRepo(t)
	if err := os.WriteFile(filepath.Join(root, "devserver", "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ensureBuilt(root, &lockedBuffer{})
	if err == nil || !strings.Contains(err.Error(), "go build -o") || !strings.Contains(err.Error(), "undefinedThing") {
		t.Fatalf("want an error naming the build command and the compile error, got %v", err)
	}
}

// TestEnvVar checks that $DESKCRM_TEMPORAL_DEV wins, and that a wrong value is an error that
// names it rather than a silent build.
func TestEnvVar(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, exe)
	if p, err := find(); err != nil || p != exe {
		t.Fatalf("find() = %q, %v; want %s", p, err, exe)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	t.Setenv(EnvVar, missing)
	if _, err := find(); err == nil || !strings.Contains(err.Error(), EnvVar+"="+missing) {
		t.Fatalf("want an error naming %s, got %v", EnvVar, err)
	}
}

// TestRepoRoot finds the deskcrm module root from this package's directory.
func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "devserver", "go.mod")); err != nil {
		t.Fatalf("root %s has no devserver module: %v", root, err)
	}
}
