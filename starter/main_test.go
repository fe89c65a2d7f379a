package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Mistakes on the command line are refused before anything is dialled, with a message that
// says what to do.
func TestCommandLineMistakes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"retry", "abc"}, `failure id "abc" must be a positive number`},
		{[]string{"retry", "--", "-3"}, `failure id "-3" must be a positive number`},
		{[]string{"retry", "-3"}, `failure id "-3" must be a positive number`},
		{[]string{"set-mode"}, "set-mode needs one MODE"},
		{[]string{"set-mode", "a", "b", "--json"}, "set-mode needs one MODE"},
		{[]string{"mapping"}, "mapping needs a subcommand"},
		{[]string{"mapping", "list"}, "mapping needs a subcommand"},
		{[]string{"status", "--nope"}, "flag provided but not defined: -nope"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for name := range commands {
		if !strings.Contains(out.String(), "\n  "+name+" ") {
			t.Errorf("help does not list %q:\n%s", name, out.String())
		}
	}
}

// A bad configuration stops a command with every problem named.
func TestBadConfigurationIsNamed(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "no-port")
	t.Setenv("LOG_FORMAT", "xml")
	var out bytes.Buffer
	err := run(context.Background(), []string{"status"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_ADDRESS") || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Errorf("err = %v, want both problems named", err)
	}
}

// A mapping file with mistakes is refused before anything is stored.
func TestMappingImportRefusesABadFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(f, []byte(`{"module":"contacts","fields":[{"desk":"lastName"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// No database is reachable here: the file must be refused before one is needed.
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	var out bytes.Buffer
	err := run(context.Background(), []string{"mapping", "import", f}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "crm") {
		t.Fatalf("err = %v, want the file named and its missing crm field", err)
	}
	if _, err := os.Stat(f); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"mapping", "import"}, &out, &out)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("import without a file: err = %v, want a usage error", err)
	}
}

// Flags may follow the positional arguments, as people type them.
func TestFlagsAfterArguments(t *testing.T) {
	var c common
	var out bytes.Buffer
	fs := newFlags("retry", &c, &out)
	if err := parse(fs, []string{"3", "--json", "--integration", "acme", "4"}); err != nil {
		t.Fatal(err)
	}
	if !c.json || c.integration != "acme" || strings.Join(fs.Args(), ",") != "3,4" {
		t.Errorf("json=%v integration=%q args=%v", c.json, c.integration, fs.Args())
	}
}
