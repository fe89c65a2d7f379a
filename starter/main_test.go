package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"deskcrm/workflows"
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
		// A yes/no flag given its value as other flags take theirs, in every command.
		{[]string{"permissions", "set", "--profile", "Agent", "--calls", "no"}, `write --calls=false instead of "--calls no"`},
		{[]string{"permissions", "set", "--profile", "Agent", "--calls", "false"}, `write --calls=false instead of "--calls false"`},
		{[]string{"permissions", "set", "--profile", "Agent", "--tasks", "true"}, `write --tasks (or --tasks=true) instead of "--tasks true"`},
		{[]string{"permissions", "set", "--profile", "Agent", "--panel=no"}, `write --panel=false instead of "--panel=no"`},
		{[]string{"permissions", "show", "--json", "off"}, `write --json=false instead of "--json off"`},
		{[]string{"start", "--wait", "yes"}, `write --wait (or --wait=true)`},
		{[]string{"start", "--new", "False"}, `write --new=false`},
		{[]string{"relink", "--apply", "no"}, `write --apply=false`},
		{[]string{"history", "--all", "false"}, `write --all=false`},
		{[]string{"status", "--json", "no"}, `write --json=false`},
		{[]string{"retry", "--json", "false", "3"}, `write --json=false`},
		{[]string{"delete", "--yes", "yes"}, `write --yes (or --yes=true)`},
		{[]string{"preflight", "--json", "true"}, `write --json (or --json=true)`},
		{[]string{"mapping", "show", "--json", "no"}, `write --json=false`},
		// Before the command only the common flags may stand.
		{[]string{"--mode", "two-way", "start"}, "--mode before the command: only the common flags --integration and --json may stand before it"},
		{[]string{"--integration", "acme"}, "no command after --integration acme"},
		{[]string{"--json", "no", "status"}, `write --json=false`},
		{[]string{"--integration"}, "--integration needs an integration id"},
		// A flag where a flag's value should be: the value was left out (a trial's
		// `status --integration` read "--" as the id).
		{[]string{"--integration", "--json", "status"}, "--integration needs an integration id"},
		{[]string{"failures", "--integration", "--json"}, "--integration needs a value before --json"},
		{[]string{"status", "--integration", "--"}, "--integration needs a value before --"},
		// set-mode names the modes it takes before asking anything.
		{[]string{"set-mode", "one-way"}, `set-mode "one-way": give two-way, one-way-crm-to-desk, or sync`},
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

// A mapping file with mistakes is refused before anything is stored; so is an empty list,
// which imported nothing and said nothing.
func TestMappingImportRefusesABadFile(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(" [ ]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
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
	out.Reset()
	err = run(context.Background(), []string{"mapping", "import", empty}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), empty+" holds an empty list, no mapping: nothing imported") {
		t.Errorf("an empty list: err = %v, printed %q; want it refused", err, out.String())
	}
	err = run(context.Background(), []string{"mapping", "import"}, &out, &out)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("import without a file: err = %v, want a usage error", err)
	}
}

// The flags common to every command may also stand before it, as the help's "Flags common to
// every command" invites: `starter --integration acme status` is `starter status --integration
// acme` (it used to be "unknown command \"--integration\"").
func TestCommonFlagsBeforeTheCommand(t *testing.T) {
	st := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseIdle}
	f := &fakeTemporal{workflows: map[string]*fakeWorkflow{
		"deskcrm-sync-acme":    running(map[string]any{workflows.QueryStatus: st}),
		"deskcrm-sync-default": running(map[string]any{workflows.QueryStatus: workflows.Status{IntegrationID: "default"}}),
	}}
	useFakeTemporal(t, f)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--integration", "acme", "status"}, `integration +acme\n`},
		{[]string{"--integration=acme", "--json", "status"}, `"integrationId": "acme"`},
		{[]string{"-integration", "acme", "pause"}, `sync of integration "acme" paused`},
		// The same flag after the command wins, as a later flag does.
		{[]string{"--integration", "default", "status", "--integration", "acme"}, `integration +acme\n`},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), tc.args, &out, &errOut); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if !regexp.MustCompile(tc.want).MatchString(out.String()) {
			t.Errorf("%v: printed %q, want %q", tc.args, out.String(), tc.want)
		}
	}
	// A command with a subcommand keeps it first.
	var c common
	if got := withFlags([]string{"show", "--module", "contacts"}, []string{"--json"}); !slices.Equal(got, []string{"show", "--json", "--module", "contacts"}) {
		t.Errorf("withFlags: %v", got)
	}
	fs := newFlags("retry", &c, io.Discard)
	if err := parse(fs, withFlags([]string{"--", "3"}, []string{"--integration", "acme"})); err != nil || c.integration != "acme" || fs.Arg(0) != "3" {
		t.Errorf("flags before a \"--\": %v, integration %q, args %v", err, c.integration, fs.Args())
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
