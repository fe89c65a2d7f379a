// Command starter is deskcrm's command line: start a sync and pause, resume, inspect and
// retry it, check and edit the field mapping.
//
//	starter start [--integration default] [--mode two-way] [--wait] [--new]
//	starter pause|resume|sync-now|status|history|failures [--integration default] [--json]
//	starter history [--all]
//	starter retry [--integration default] [ids...]
//	starter preflight [--integration default]
//	starter mapping show|import FILE [--integration default] [--module contacts]
//	starter permissions show|set [--profile NAME] ...
//	starter delete [--integration default] [--yes]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"deskcrm/codec"
)

const usage = `deskcrm starter: control the Desk ⇄ CRM sync.

Usage:
  starter <command> [flags]

Commands:
  start        start the sync workflow of an integration (--wait shows the first sync's progress;
               --new starts an integration that never ran while others run)
  pause        pause the sync: no API calls until resume
  resume       resume a paused sync where it stopped
  sync-now     run an incremental pass now, without waiting for changes or the poll timer
  status       phase, mode, steps running, progress, credits, the first sync's estimated end, what it waits for
  history      sync runs of the last seven days, from Postgres (--all: every run, not day totals)
  failures     open failures: time, module, direction, ids, code, message, attempts
  conflicts    fields that held two values in the last seven days (changed on both sides, or different when first synced), and which the sync kept
  retry        retry failed records: ids as arguments, or none for all
  preflight    check the field mapping against both sides' field metadata
  mapping      show the field mapping, or import one from a JSON file
  set-mode     two-way | one-way-crm-to-desk | sync (the one-time switch from the legacy import)
  plan         what the first sync would do, without writing anything (a dry run)
  relink       rebuild the link table from the ids both apps hold (dry run; --apply to write)
  permissions  show or set what a Desk profile sees in the CRM panel
  delete       delete the integration: stop its sync, webhooks, panel and handshake mode

Flags common to every command (after the command, or before it: starter --integration acme status):
  --integration ID   integration id (default "default")
  --json             print JSON instead of tables

Configuration comes from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL,
ZOHO_*); see the README.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "starter:", err)
		if h := codec.Hint(err); h != "" {
			fmt.Fprintln(os.Stderr, "starter:", h)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	lead, args, err := leadingCommonFlags(args)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q; run `starter --help` for the list", args[0])}
	}
	err = cmd(ctx, withFlags(args[1:], lead), stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // a command's --help printed its flags and did nothing else
	}
	return err
}

// leadingCommonFlags takes the flags common to every command (--integration ID, --json) from
// before the command, as the help's "Flags common to every command" invites:
// `starter --integration acme status` is `starter status --integration acme`. It returns them
// and the command line from the command on. Any other flag before the command is refused,
// saying where flags go; so is a command line of common flags only.
func leadingCommonFlags(args []string) (lead, rest []string, err error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		a := args[0]
		if a == "-h" || a == "--help" || a == "-help" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "integration":
			if !hasValue {
				if len(args) < 2 || (strings.HasPrefix(args[1], "-") && len(args[1]) > 1) {
					return nil, nil, usageError{"--integration needs an integration id: `starter status --integration default`"}
				}
				lead, args = append(lead, a, args[1]), args[2:]
				continue
			}
		case "json":
			next := ""
			if len(args) > 1 {
				next = args[1]
			}
			if err := boolValueMistake("COMMAND", name, value, hasValue, next); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, usageError{fmt.Sprintf("%s before the command: only the common flags --integration and --json may stand before it; "+
				"a command's own flags go after it, e.g. `starter start --mode two-way` (`starter COMMAND --help` lists them)", a)}
		}
		lead, args = append(lead, a), args[1:]
	}
	if len(lead) > 0 && len(args) == 0 {
		return nil, nil, usageError{fmt.Sprintf("no command after %s: give one, e.g. `starter %s status`; `starter --help` lists them", strings.Join(lead, " "), strings.Join(lead, " "))}
	}
	return lead, args, nil
}

// withFlags adds flags to a command's arguments: after its first argument when that is a
// subcommand or another word (`mapping show`), else first, so that the same flag given again
// after the command wins, and never after a "--" that ends the flags.
func withFlags(args, flags []string) []string {
	if len(flags) == 0 {
		return args
	}
	at := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		at = 1
	}
	return slices.Concat(args[:at], flags, args[at:])
}
