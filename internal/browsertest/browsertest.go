// Package browsertest drives headless Chromium for the browser tests (agent panel, Temporal
// UI) and keeps their screenshots under artifacts/.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Install says how to get the browser the tests drive.
const Install = "install it with `apt-get install -y chromium` (Debian's package; /usr/bin/chromium), or set CHROMIUM_PATH"

// Chromium returns the Chromium binary: $CHROMIUM_PATH, else the first one on PATH.
func Chromium() (string, bool) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// New starts a headless Chromium for the test and returns its context (without a deadline:
// the first action starts the browser and must not be cut short). It fails the test when
// Chromium is missing.
func New(t *testing.T) context.Context {
	t.Helper()
	chromium, ok := Chromium()
	if !ok {
		t.Fatal("headless Chromium not found: " + Install)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// RepoRoot walks up from the test's directory to go.mod.
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SaveScreenshot writes png to artifacts/name at the repository root and returns the path.
func SaveScreenshot(t *testing.T, name string, png []byte) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
