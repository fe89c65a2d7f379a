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
