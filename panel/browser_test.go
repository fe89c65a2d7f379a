package panel_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumInstall is how to get the browser the browser test drives.
const chromiumInstall = "install it with `apt-get install -y chromium` (Debian's package; /usr/bin/chromium), or set CHROMIUM_PATH"

// findChromium returns the Chromium binary: CHROMIUM_PATH, else the first on PATH.
func findChromium() (string, bool) {
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

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t *testing.T) string {
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

// TestBrowserRestrictedPanel opens the panel page of a linked contact in headless Chromium as a
// profile without deals and calls, checks what the agent sees and does not see, and saves a
// screenshot to artifacts/panel-restricted.png.
func TestBrowserRestrictedPanel(t *testing.T) {
	chromium, ok := findChromium()
	if !ok {
		t.Fatal("headless Chromium not found: " + chromiumInstall)
	}
	e := newEnv(t, 0)
	e.setPermissions("Light Agent", with(map[string]any{"deals": "restricted", "calls": false}))

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(960, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	// The agent's Desk token (as the Desk extension holds it) mints a short-lived signed link,
	// which the browser opens: no long-lived secret travels in the URL.
	url := e.srv.URL + e.pageLink("Light Agent", "contacts", e.fx.deskContact)
	// The first call starts the browser and must not carry a timeout (it would stop the
	// browser); later steps get one.
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open the panel page in Chromium (%s): %v", chromium, err)
	}
	step, cancelStep := context.WithTimeout(ctx, 60*time.Second)
	defer cancelStep()
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	fail("wait for the page", chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS("#title"))))
	title, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("#title")))
	fail("read the title", err)
	text, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("body")))
	fail("read the page text", err)
	present, err := chromedp.Run(step, chromedp.Evaluate[map[string]bool](
		`Object.fromEntries(["info","deals","notes","calls","events","tasks","problem"].map(id => [id, document.getElementById(id) !== null]))`))
	fail("list the sections", err)
	shot, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	fail("take a screenshot", err)
	if len(shot) > 0 {
		dir := filepath.Join(repoRoot(t), "artifacts")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "panel-restricted.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if title != "Ana Souza" {
		t.Errorf("page title = %q, want the CRM contact's name", title)
	}
	for id, want := range map[string]bool{"info": true, "notes": true, "events": true, "tasks": true, "deals": false, "calls": false, "problem": false} {
		if present[id] != want {
			t.Errorf("section #%s present = %v, want %v", id, present[id], want)
		}
	}
	for _, s := range []string{contactEmail, contactTitle, accountName, noteTitle, noteContent, eventTitle, taskSubject} {
		if !strings.Contains(text, s) {
			t.Errorf("the page does not show %q", s)
		}
	}
	for _, s := range []string{dealName, "Negotiation/Review", callSubject, "Deals", "Calls"} {
		if strings.Contains(text, s) {
			t.Errorf("the page shows %q, which Light Agent may not see", s)
		}
	}
	// The same page without the signed link shows nothing; neither does the link once expired.
	if a := e.do(http.MethodGet, "/panel/contacts/"+e.fx.deskContact+"?profile=Light+Agent", "", nil); a.status != http.StatusUnauthorized || strings.Contains(a.raw, contactEmail) {
		t.Errorf("page without a link: %d", a.status)
	}
	e.advance(time.Hour)
	if err := chromedp.Do(step, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open the expired link: %v", err)
	}
	expired, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("body")))
	fail("read the expired page", err)
	if !strings.Contains(strings.ToLower(expired), "link expired") || strings.Contains(expired, contactEmail) {
		t.Errorf("the expired link shows: %q", expired)
	}
}
