package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{[]string{"status", "--nope"}, "flag provided but not defined: -nope (`starter status --help` lists its flags)"},
		{[]string{"start", "extra-arg"}, `start takes no arguments, but was given "extra-arg"; an integration id goes in --integration ID`},
		{[]string{"status", "default"}, `status takes no arguments, but was given "default"`},
		{[]string{"sync-now", "a", "b"}, `sync-now takes no arguments, but was given "a", "b"`},
		{[]string{"history", "--all", "acme"}, `history takes no arguments, but was given "acme"`},
		{[]string{"failures", "acme"}, `failures takes no arguments`},
		{[]string{"preflight", "acme"}, `preflight takes no arguments`},
		{[]string{"plan", "acme"}, `plan takes no arguments`},
		{[]string{"relink", "acme"}, `relink takes no arguments`},
		{[]string{"delete", "--yes", "acme"}, `delete takes no arguments`},
		{[]string{"mapping", "show", "contacts"}, `mapping show takes no arguments, but was given "contacts"`},
		{[]string{"mapping", "show", "--module", "tickets"}, `--module "tickets" is not a synced module: give "accounts", "contacts", or leave it out for both`},
	} {
		// Nothing may be reached: a refused command line dials nothing and opens nothing.
		f := &fakeTemporal{}
		useFakeTemporal(t, f)
		t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, tc.args, &out, &errOut)
		cancel()
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want a usage error containing %q", tc.args, err, tc.want)
		}
		if f.dials != 0 {
			t.Errorf("%v: dialled Temporal", tc.args)
		}
	}
}

// A flag mistake is reported once, by the returned error (main prints it): the flag package's
// own copy and its list of flags are not printed too. --help prints the list and does nothing.
func TestFlagMistakesAreReportedOnceAndHelpDoesNothing(t *testing.T) {
	f := &fakeTemporal{}
	useFakeTemporal(t, f)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"status", "--nope"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not defined: -nope") {
		t.Fatalf("err = %v", err)
	}
	if out.Len()+errOut.Len() != 0 {
		t.Errorf("printed besides the error: %q %q", out.String(), errOut.String())
	}
	for _, args := range [][]string{{"start", "--help"}, {"start", "-h", "--integration", "t1"}, {"retry", "--help", "7"}} {
		out.Reset()
		errOut.Reset()
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(errOut.String(), "-integration") {
			t.Errorf("%v: printed %q, want the flags", args, errOut.String())
		}
	}
	if f.dials != 0 || len(f.started) != 0 {
		t.Errorf("--help dialled %d time(s) and started %v", f.dials, f.started)
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
