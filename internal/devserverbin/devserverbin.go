// Package devserverbin finds the embedded Temporal dev server binary (bin/temporal-dev, built
// from the devserver/ module) for tests, and builds it when it is missing, so that a plain
// `go test ./...` works on a fresh checkout without `make`.
//
// Every test that needs the dev server gets its path from Path (internal/temporaltest does);
// nothing else reads DESKCRM_TEMPORAL_DEV.
package devserverbin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar names an existing dev server binary to use instead of <repo>/bin/temporal-dev
// (make test sets it; so may a developer who keeps the binary elsewhere).
const EnvVar = "DESKCRM_TEMPORAL_DEV"

// modulePath is the main module's path, which identifies the repository root.
const modulePath = "deskcrm"

var (
	mu     sync.Mutex
	cached string
)

// Path returns the dev server binary tests should run:
//
//   - $DESKCRM_TEMPORAL_DEV when it is set (it must name an executable file);
//   - otherwise <repo>/bin/temporal-dev, where <repo> is the directory of the deskcrm go.mod
//     above the working directory; when that file is missing, or older than a file of the
//     devserver module (the rule of the Makefile), it is built there first.
//
// A build logs one line to stderr and takes a few minutes; it is guarded by a file lock
// (<repo>/bin/.temporal-dev.lock), so test packages running in parallel build it once and
// the others wait for it. The result is cached for the life of the process.
func Path() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	p, err := find()
	if err != nil {
		return "", err
	}
	cached = p
	return p, nil
}

func find() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w (unset it to let the tests build bin/temporal-dev)", EnvVar, p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return ensureBuilt(root, os.Stderr)
}

// executable checks that p is a regular file with an execute bit.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod declares the
// deskcrm module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory; set %s to a dev server binary", modulePath, EnvVar)
		}
		dir = parent
	}
}

// isMainModule reports whether the go.mod at p declares module deskcrm.
func isMainModule(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// ensureBuilt returns <root>/bin/temporal-dev, building it first when it is missing or stale;
// a build is announced on log.
func ensureBuilt(root string, log io.Writer) (string, error) {
	bin := filepath.Join(root, "bin", "temporal-dev")
	src := filepath.Join(root, "devserver")
	if fresh(bin, src) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(root, "bin", ".temporal-dev.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("open the build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	// Another test process may have built it while this one waited for the lock.
	if fresh(bin, src) {
		return bin, nil
	}
	if err := build(bin, src, log); err != nil {
		return "", err
	}
	return bin, nil
}

// fresh reports whether bin exists and is newer than every file of the devserver module the
// Makefile's rule depends on (*.go, go.mod, go.sum).
func fresh(bin, src string) bool {
	fi, err := os.Stat(bin)
	if err != nil || executable(bin) != nil {
		return false
	}
	built := fi.ModTime()
	names, _ := filepath.Glob(filepath.Join(src, "*.go"))
	names = append(names, filepath.Join(src, "go.mod"), filepath.Join(src, "go.sum"))
	for _, n := range names {
		if si, err := os.Stat(n); err == nil && si.ModTime().After(built) {
			return false
		}
	}
	return true
}

// build compiles the devserver module into bin: into a temporary file beside it, renamed into
// place when complete, so a concurrent reader never sees half a binary.
func build(bin, src string, log io.Writer) error {
	goCmd, err := goTool()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "devserverbin: building the Temporal dev server into %s (once; this takes a few minutes, "+
		"`make devserver` does the same)\n", bin)
	start := time.Now()
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.Command(goCmd, "build", "-o", tmp, ".")
	cmd.Dir = src
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the dev server (cd %s && go build -o %s .): %w\n%s", src, bin, err, tail(out.String(), 4000))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("install the dev server binary: %w", err)
	}
	fmt.Fprintf(log, "devserverbin: built %s in %s\n", bin, time.Since(start).Round(time.Second))
	return nil
}

// goTool finds the go command: on PATH (go test puts GOROOT/bin first on it), else in
// $GOROOT/bin.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the go command is not on PATH: cannot build the dev server; run `make devserver` or set %s", EnvVar)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
