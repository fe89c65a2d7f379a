package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"deskcrm/mapping"
)

// Every command that reads or configures an integration in Postgres refuses an id Postgres
// does not know while others exist, naming them, and creates nothing: `preflight
// --integration defualt` used to print "mapping OK" and leave an integration "defualt" behind
// (the preflight activity registers the integrations it does not know), which `mapping show`
// then showed and `relink` would have filled with links. Before any integration exists only
// relink, which works on an integration's links, refuses; the commands that set one up
// (preflight, plan, mapping import, permissions) may come before the first start. A deleted
// integration is not brought back by `mapping import`.
func TestUnknownIntegrationsAreRefusedNotCreated(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	f := &fakeTemporal{}
	useFakeTemporal(t, f)
	// Zoho is out of reach: every refusal comes before it is needed.
	t.Setenv("ZOHO_DESK_URL", "http://127.0.0.1:1")
	t.Setenv("ZOHO_CRM_URL", "http://127.0.0.1:1")
	t.Setenv("ZOHO_ACCOUNTS_URL", "http://127.0.0.1:1")
	file := filepath.Join(t.TempDir(), "mapping.json")
	data, err := json.Marshal(mapping.DemoMapping(mapping.Module("contacts")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err = run(ctx, []string{"relink", "--integration", "default"}, &out, &out)
	if want := `integration "default" does not exist, and no integration does yet (` + "`starter start --integration NAME` creates one)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("relink before any integration: err = %v, want %q", err, want)
	}

	if _, err := st.RecordMode(ctx, "default", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordMode(ctx, "old", "two-way", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteIntegration(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"preflight"},
		{"plan"},
		{"relink"},
		{"relink", "--apply"},
		{"mapping", "show"},
		{"mapping", "import", file},
		{"permissions", "show"},
		{"permissions", "show", "--profile", "Agent"},
		{"permissions", "set", "--profile", "Agent", "--deals", "full"},
		{"history"},
	} {
		out.Reset()
		args = append(args, "--integration", "defualt")
		err := run(ctx, args, &out, &out)
		want := `integration "defualt" does not exist; the integrations are "default": pass one with --integration (` + "`starter start --integration NAME` creates one)"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q\n%s", args, err, want, out.String())
		}
	}
	out.Reset()
	err = run(ctx, []string{"mapping", "import", file, "--integration", "old"}, &out, &out)
	if want := `integration "old" was deleted`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("mapping import of a deleted integration: err = %v, want %q", err, want)
	}

	ids, err := st.IntegrationIDs(ctx)
	if err != nil || !slices.Equal(ids, []string{"default"}) {
		t.Errorf("integrations after the refusals: %v %v, want only default", ids, err)
	}
	if len(f.started) != 0 {
		t.Errorf("started %v for an unknown integration", f.started)
	}
}
