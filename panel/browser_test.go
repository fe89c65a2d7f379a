package panel_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"deskcrm/internal/browsertest"
)

// TestBrowserRestrictedPanel opens the panel page of a linked contact in headless Chromium as a
// profile without deals and calls, checks what the agent sees and does not see, and saves a
// screenshot to artifacts/panel-restricted.png.
func TestBrowserRestrictedPanel(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, 0)
	e.setPermissions("Light Agent", with(map[string]any{"deals": "restricted", "calls": false}))

	// The agent's Desk token (as the Desk extension holds it) mints a short-lived signed link,
	// which the browser opens: no long-lived secret travels in the URL.
	url := e.srv.URL + e.pageLink("Light Agent", "contacts", e.fx.deskContact)
	// The first call starts the browser and must not carry a timeout (it would stop the
	// browser); later steps get one.
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open the panel page in Chromium: %v", err)
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
		browsertest.SaveScreenshot(t, "panel-restricted.png", shot)
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
