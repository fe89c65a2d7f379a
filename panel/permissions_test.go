package panel_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/store"
)

const profilesEndpoint = "GET /api/v1/profiles"

// deskProfileNames are the names of the Desk emulator's seeded profiles.
func deskProfileNames() []string {
	var out []string
	for _, p := range deskemu.Profiles {
		out = append(out, p.Name)
	}
	return out
}

// The admin API stores permissions only for a profile Desk has: a typo ("Agnet") would
// otherwise be stored while the real profile stays at the restricted default.
func TestPermissionsOfAProfileDeskLacksAreRefused(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	for _, name := range []string{"Ghost Profile", "Agnet"} {
		t.Run(name, func(t *testing.T) {
			a := e.do(http.MethodPut, "/api/v1/permissions/"+strings.ReplaceAll(name, " ", "%20"), adminToken, full)
			if a.status != http.StatusBadRequest || a.body["error"] != "unknown_profile" || a.body["profile"] != name {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if got := toStrings(a.body["profiles"]); !slices.Equal(got, deskProfileNames()) {
				t.Errorf("profiles = %v, want Desk's %v", got, deskProfileNames())
			}
			msg, _ := a.body["message"].(string)
			if !strings.Contains(msg, `"`+name+`"`) || !strings.Contains(msg, "Light Agent") {
				t.Errorf("the message names neither the profile nor Desk's profiles: %q", msg)
			}
			if p, err := e.st.Permissions(ctx, "default", name); err != nil || p.Stored {
				t.Fatalf("a refused profile was stored: %+v %v", p, err)
			}
		})
	}
	if p, err := e.st.Permissions(ctx, "default", "Agent"); err != nil || p.Stored {
		t.Fatalf("the typo changed the real profile: %+v %v", p, err)
	}

	t.Run("matched as stored: trimmed, any case; Desk's list is reused", func(t *testing.T) {
		e.advance(2 * time.Minute) // past the list the refusals read
		e.resetCalls()
		for _, name := range []string{"light%20agent", "LIGHT%20AGENT%20", "Agent"} {
			if a := e.do(http.MethodPut, "/api/v1/permissions/"+name, adminToken, map[string]any{"deals": "full"}); a.status != http.StatusOK {
				t.Fatalf("PUT %s: %d %s", name, a.status, a.raw)
			}
		}
		if n := e.deskEngine.Count(profilesEndpoint); n != 1 {
			t.Fatalf("Desk's profiles were listed %d times for three changes, want 1", n)
		}
	})

	t.Run("a profile created in Desk a moment ago is found", func(t *testing.T) {
		e.agentToken("Night Shift") // adds the profile to Desk
		if a := e.do(http.MethodPut, "/api/v1/permissions/Night%20Shift", adminToken, full); a.status != http.StatusOK || a.body["stored"] != true {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})

	for _, f := range []realism.Fault{
		{Method: "GET", Path: "/api/v1/profiles", Kind: realism.FaultStatus, Status: 500},
		{Method: "GET", Path: "/api/v1/profiles", Kind: realism.FaultReset},
	} {
		t.Run("Desk cannot be asked: "+string(f.Kind), func(t *testing.T) {
			e.advance(2 * time.Minute) // past the kept list
			id, err := e.deskEngine.AddFault(f)
			if err != nil {
				t.Fatal(err)
			}
			defer e.deskEngine.RemoveFault(id)
			a := e.do(http.MethodPut, "/api/v1/permissions/Support%20Manager", adminToken, full)
			if a.status != http.StatusBadGateway || !strings.HasPrefix(a.body["error"].(string), "desk_") ||
				!strings.Contains(a.body["message"].(string), `could not check with Zoho Desk that profile "Support Manager" exists`) {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			if p, err := e.st.Permissions(ctx, "default", "Support Manager"); err != nil || p.Stored {
				t.Fatalf("stored without the check: %+v %v", p, err)
			}
			// GET still answers, without saying whether Desk has the profile.
			g := e.do(http.MethodGet, "/api/v1/permissions/Support%20Manager", adminToken, nil)
			if v, ok := g.body["inDesk"]; g.status != http.StatusOK || !ok || v != nil {
				t.Fatalf("GET while Desk fails: %d %s", g.status, g.raw)
			}
		})
	}
}

// GET says whether Desk has the profile; DELETE removes a stored row (a stray one of a
// profile Desk lacks, or a real profile's) so the profile gets the defaults again.
func TestDeletePermissions(t *testing.T) {
	e := newEnv(t, -1)
	ctx := context.Background()
	// A row stored before names were checked, for a profile Desk does not have.
	stray := store.DefaultPermissions("Agnet")
	stray.Deals = store.AccessFull
	if _, err := e.st.SetPermissions(ctx, "default", stray); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"Agnet": false, "agent": true, "Ghost%20Profile": false} {
		a := e.do(http.MethodGet, "/api/v1/permissions/"+path, adminToken, nil)
		if a.status != http.StatusOK || a.body["inDesk"] != want {
			t.Errorf("GET %s: %d %s, want inDesk %v", path, a.status, a.raw, want)
		}
	}
	if a := e.do(http.MethodGet, "/api/v1/permissions/Agnet", adminToken, nil); a.body["stored"] != true || a.body["deals"] != "full" {
		t.Fatalf("GET of the stray row: %s", a.raw)
	}

	if a := e.send(http.MethodDelete, "/api/v1/permissions/Agnet", "Bearer "+adminToken+"x", nil); a.status != http.StatusUnauthorized {
		t.Fatalf("DELETE with a wrong token: %d %s", a.status, a.raw)
	}
	if p, _ := e.st.Permissions(ctx, "default", "Agnet"); !p.Stored {
		t.Fatal("an unauthorized DELETE removed the row")
	}
	if a := e.do(http.MethodDelete, "/api/v1/permissions/Agnet?integration=nope", adminToken, nil); a.status != http.StatusNotFound ||
		a.body["error"] != "integration_not_found" {
		t.Fatalf("DELETE of another integration: %d %s", a.status, a.raw)
	}

	e.resetCalls()
	a := e.do(http.MethodDelete, "/api/v1/permissions/agnet", adminToken, nil)
	if a.status != http.StatusOK || a.body["deleted"] != true || a.body["profile"] != "agnet" {
		t.Fatalf("DELETE: %d %s", a.status, a.raw)
	}
	if _, deskCalls := e.calls(); deskCalls != 0 {
		t.Errorf("DELETE cost %d Desk calls; a stray row needs no check", deskCalls)
	}
	if all, err := e.st.AllPermissions(ctx, "default"); err != nil || len(all) != 0 {
		t.Fatalf("rows after DELETE: %+v %v", all, err)
	}
	if a := e.do(http.MethodGet, "/api/v1/permissions/Agnet", adminToken, nil); a.status != http.StatusOK || a.body["stored"] != false {
		t.Fatalf("GET after DELETE: %d %s", a.status, a.raw)
	}
	if a := e.do(http.MethodDelete, "/api/v1/permissions/Agnet", adminToken, nil); a.status != http.StatusNotFound ||
		a.body["error"] != "permissions_not_found" || !strings.Contains(a.body["message"].(string), `"Agnet"`) {
		t.Fatalf("second DELETE: %d %s", a.status, a.raw)
	}

	t.Run("a real profile falls back to the restricted default", func(t *testing.T) {
		e.setPermissions("Agent", full)
		path := "/api/v1/panel/contacts/" + e.fx.deskContact
		if a := e.as("Agent", path); a.status != http.StatusOK || len(sectionsOf(a.body)) != 6 {
			t.Fatalf("before: %d %s", a.status, a.raw)
		}
		if a := e.do(http.MethodDelete, "/api/v1/permissions/Agent", adminToken, nil); a.status != http.StatusOK {
			t.Fatalf("DELETE: %d %s", a.status, a.raw)
		}
		if a := e.as("Agent", path); a.status != http.StatusOK || !slices.Equal(sectionsOf(a.body), []string{"info"}) {
			t.Fatalf("after: %d %s", a.status, a.raw)
		}
	})
}
