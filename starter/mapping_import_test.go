package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"deskcrm/internal/pgtest"
)

// `mapping import` checks the file against both sides' live fields before storing it, as the
// console does: a mapping that names a field Zoho does not have is refused whole, with the
// problem named, and the stored mapping stays as it was (before, it was stored, and every pass
// then failed with INVALID_DATA while the status said idle).
func TestMappingImportChecksAgainstZohoFirst(t *testing.T) {
	ctx := context.Background()
	useEmulators(t)
	t.Setenv("DATABASE_URL", pgtest.URL(t))

	var out bytes.Buffer
	if err := run(ctx, []string{"mapping", "show", "--module", "contacts", "--json"}, &out, &out); err != nil {
		t.Fatalf("mapping show: %v\n%s", err, out.String())
	}
	good := out.String()
	dir := t.TempDir()
	goodFile, badFile := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(goodFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badFile, []byte(`{"module":"contacts","fields":[{"desk":"lastName","crm":"Nope_Field"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"mapping", "import", goodFile}, &out, &out); err != nil {
		t.Fatalf("importing the mapping shown: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"mapping", "show", "--module", "contacts", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	stored := out.String()
	out.Reset()
	err := run(ctx, []string{"mapping", "import", badFile}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("importing a mapping with an unknown CRM field: err = %v, want it refused\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Nope_Field") {
		t.Errorf("the refusal does not name the unknown field:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"mapping", "show", "--module", "contacts", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != stored {
		t.Errorf("the stored mapping changed after a refused import:\n%s\nwant\n%s", out.String(), stored)
	}

	// Problems of every kind in one file are named at once: a field mapped twice and a
	// direction that is none beside an unknown field and the mandatory one left unmapped.
	worse := filepath.Join(dir, "worse.json")
	if err := os.WriteFile(worse, []byte(`{"module":"contacts","fields":[{"desk":"firstName","crm":"First_Name"},
		{"desk":"firstName","crm":"Title"},{"desk":"email","crm":"Email","direction":"sideways"},{"desk":"cf_nope","crm":"Phone"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, []string{"mapping", "import", worse}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("importing a mapping with problems of every kind: err = %v\n%s", err, out.String())
	}
	for _, code := range []string{"DUPLICATE_FIELD", "INVALID_MAPPING", "UNKNOWN_FIELD", "MANDATORY_FIELD_MISSING"} {
		if !strings.Contains(out.String(), code) {
			t.Errorf("the refusal does not name %s:\n%s", code, out.String())
		}
	}

	// A module deskcrm does not sync, in a list, is one more problem: the others are still
	// checked against Zoho (no app is asked for a "deals" mapping's fields).
	list := filepath.Join(dir, "list.json")
	if err := os.WriteFile(list, []byte(`[{"module":"deals","fields":[{"desk":"a","crm":"b"}]},
		{"module":"contacts","fields":[{"desk":"cf_nope","crm":"Phone"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, []string{"mapping", "import", list}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing imported") || strings.Contains(err.Error(), "422") {
		t.Fatalf("importing a list with an unknown module: err = %v\n%s", err, out.String())
	}
	for _, want := range []string{"deals", "cf_nope", "MANDATORY_FIELD_MISSING"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the refusal does not name %s:\n%s", want, out.String())
		}
	}
}
