package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"deskcrm/store"
)

// `permissions show` states what a profile without stored permissions gets — the store's
// default, as the panel and the admin API apply it — and reads of an unknown integration are
// errors that create nothing.
func TestPermissionsShowTheRealDefaultAndUnknownIntegrationsAreErrors(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)

	// Before any integration exists, reads answer what a new one has.
	var out bytes.Buffer
	if err := run(ctx, []string{"mapping", "show", "--module", "contacts"}, &out, &out); err != nil {
		t.Fatalf("mapping show before the first start: %v", err)
	}
	if _, err := st.RecordMode(ctx, "acme", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	agent := store.DefaultPermissions("Agent")
	agent.Deals, agent.Calls = store.AccessFull, true
	if _, err := st.SetPermissions(ctx, "acme", agent); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"permissions", "show", "--integration", "acme"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "see everything") {
		t.Errorf("claims profiles not listed see everything:\n%s", out.String())
	}
	var want bytes.Buffer
	printPermissions(&want, []store.Permissions{store.DefaultPermissions(otherProfiles)})
	wantRow := strings.Fields(strings.Split(strings.TrimSpace(want.String()), "\n")[1])
	found := false
	for line := range strings.SplitSeq(out.String(), "\n") {
		found = found || slices.Equal(strings.Fields(line), wantRow)
	}
	if !found || !strings.Contains(out.String(), "Agent") {
		t.Errorf("want the stored Agent and the row %v:\n%s", wantRow, out.String())
	}

	for _, args := range [][]string{
		{"permissions", "show", "--integration", "nope"},
		{"mapping", "show", "--integration", "nope"},
		{"history", "--integration", "nope"},
	} {
		err := run(ctx, args, &out, &out)
		if want := `integration "nope" does not exist; the integrations are "acme"`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q", args, err, want)
		}
	}
	ids, err := st.IntegrationIDs(ctx)
	if err != nil || !slices.Equal(ids, []string{"acme"}) {
		t.Errorf("integrations after the reads: %v %v, want only acme (a read creates nothing)", ids, err)
	}
}

// `permissions set` stores permissions only for a profile Desk has, by Desk's spelling: a typo
// ("Agnet") used to be stored as a profile of its own while the real one stayed at its
// defaults. `permissions show --profile` refuses a name Desk does not have likewise, unless its
// permissions are stored (a profile renamed in Desk since). When Desk cannot be asked, nothing
// is stored and the command says so.
func TestPermissionsCheckTheProfileWithDesk(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	ds := useEmulators(t)
	if _, err := st.RecordMode(ctx, "default", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	renamed := store.DefaultPermissions("Tier 3")
	if _, err := st.SetPermissions(ctx, "default", renamed); err != nil {
		t.Fatal(err)
	}
	profiles := `"Administrator", "Agent", "Support Manager", "Newbie Agent", "Light Agent"`

	var out bytes.Buffer
	for _, args := range [][]string{
		{"permissions", "set", "--profile", "Agnet", "--deals", "full"},
		{"permissions", "show", "--profile", "Agnet"},
	} {
		err := run(ctx, args, &out, &out)
		if want := `Desk has no profile "Agnet"; its profiles are ` + profiles; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q", args, err, want)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"permissions", "set", "--profile", "agent", "--deals", "full", "--calls=false"}, &out, &out); err != nil {
		t.Fatalf("set of the Agent profile: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"permissions", "show", "--profile", "AGENT", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"profile": "Agent"`) || !strings.Contains(out.String(), `"deals": "full"`) {
		t.Errorf("show of the Agent profile:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"permissions", "show", "--profile", "Tier 3"}, &out, &out); err != nil || !strings.Contains(out.String(), `Desk has no profile "Tier 3" any more`) {
		t.Errorf("show of a stored profile Desk no longer has: %v\n%s", err, out.String())
	}

	// Desk out of reach: nothing is stored blindly.
	ds.Close()
	err := run(ctx, []string{"permissions", "set", "--profile", "Light Agent", "--deals", "full"}, &out, &out)
	if want := `nothing was stored: could not list Desk's profiles to check --profile "Light Agent"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Desk unreachable: err = %v, want %q", err, want)
	}
	stored, err := st.AllPermissions(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range stored {
		names = append(names, p.Profile)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Agent", "Tier 3"}) {
		t.Errorf("stored profiles %v, want Agent and Tier 3 only", names)
	}
}
