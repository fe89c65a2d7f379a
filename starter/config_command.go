package main

// The commands that set an integration up: preflight, mapping, set-mode.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/workflows"
)

// cmdPreflight checks the stored mapping against both sides' live field metadata and prints
// each problem with what to fix; it writes nothing.
func cmdPreflight(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("preflight", &c, stderr)
	mode := fs.String("mode", "", "check for this mode (default: the integration's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	// The preflight activity registers an integration it does not know: a mistyped id would
	// become an integration. Before the first start there is none, and the check may go first.
	st, cfg, err := openStoreFor(ctx, c.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	res, err := acts.Preflight(ctx, activities.PreflightInput{IntegrationID: c.integration, Mode: *mode})
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, res)
	}
	if len(res.Problems) == 0 {
		fmt.Fprintln(stdout, "mapping OK: every mapped field exists on both sides with compatible types, and every mandatory field is mapped")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "code\tmodule\tdesk field\tcrm field\tproblem")
	for _, p := range res.Problems {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.Module, orDash(p.Desk), orDash(p.CRM), p.Message)
	}
	w.Flush()
	return fmt.Errorf("the mapping has %d problem(s); fix them with `starter mapping import`", len(res.Problems))
}

// cmdMapping shows the stored field mapping of a module, or imports one from a file (the
// same code as the console's mapping page saves through).
func cmdMapping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "import") {
		return usageError{"mapping needs a subcommand: `starter mapping show [--module contacts]` or `starter mapping import FILE`"}
	}
	sub := args[0]
	var c common
	fs := newFlags("mapping "+sub, &c, stderr)
	module := fs.String("module", "", "contacts or accounts (show: default both)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	modules := []string{activities.Accounts, activities.Contacts}
	if sub == "show" {
		if err := noArguments(fs); err != nil {
			return err
		}
		if *module != "" && !slices.Contains(modules, *module) {
			return usageError{fmt.Sprintf("--module %q is not a synced module: give %s, or leave it out for both", *module, quoted(modules))}
		}
	}
	// An import file is checked before anything is opened or stored.
	var maps []mapping.Mapping
	var structural error // the file's structural problems (mapping.ValidationError), if any
	if sub == "import" {
		if fs.NArg() != 1 {
			return usageError{"mapping import needs one FILE: a JSON mapping, or a list of them (see `starter mapping show --json`)"}
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("read mapping file: %w", err)
		}
		if maps, err = mapping.ParseList(data); err != nil {
			var ve *mapping.ValidationError
			if !errors.As(err, &ve) {
				return fmt.Errorf("%s: %w", fs.Arg(0), err)
			}
			// A field mapped twice, a direction that is none: the preflight below names these
			// together with the problems against Zoho's fields, so that the file is fixed
			// once. Without Postgres or Zoho, these alone are the answer.
			structural = fmt.Errorf("%s: %w", fs.Arg(0), err)
			if maps, err = mapping.DecodeList(data); err != nil {
				return structural
			}
		}
		if len(maps) == 0 {
			return fmt.Errorf("%s holds an empty list, no mapping: nothing imported; give a module's mapping, or a list of them, as `starter mapping show --json` prints", fs.Arg(0))
		}
	}
	st, cfg, err := openStore(ctx)
	if err != nil {
		if structural != nil {
			return structural
		}
		return err
	}
	defer st.Close()
	// A mistyped id is refused, not created. An import before the first start, when no
	// integration exists yet, creates it (ensureLive).
	if sub == "show" {
		err = requireKnown(ctx, st, c.integration)
	} else {
		err = ensureLive(ctx, st, c.integration)
	}
	if err != nil {
		return err
	}
	defaults := mapping.Default
	if cfg.Zoho.Emulated() {
		defaults = mapping.DemoMapping
	}
	if sub == "show" {
		var out []mapping.Mapping
		for _, m := range modules {
			if *module != "" && *module != m {
				continue
			}
			rows, err := st.Mapping(ctx, c.integration, m)
			if err != nil {
				return err
			}
			mp := defaults(mapping.Module(m))
			if len(rows) > 0 {
				mp = mapping.Mapping{Module: mapping.Module(m)}
				for _, r := range rows {
					mp.Fields = append(mp.Fields, mapping.FieldMap{Desk: r.DeskField, CRM: r.CRMField, Direction: mapping.Direction(r.Direction), Policy: mapping.Policy(r.Policy)})
				}
			}
			out = append(out, mp)
		}
		if c.json {
			return printJSON(stdout, out)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "module\tdesk field\tcrm field\tdirection\tpolicy")
		for _, mp := range out {
			for _, f := range mp.Fields {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mp.Module, f.Desk, f.CRM, orDash(string(f.Direction)), orDash(string(f.Policy)))
			}
		}
		return w.Flush()
	}
	// The mapping is checked against both sides' live field metadata before anything is stored,
	// as the console's mapping page does: a mapping naming a field Zoho does not have would be
	// stored and then fail every pass.
	if err := preflightImport(ctx, st, cfg, c.integration, maps, stdout); err != nil {
		if structural != nil && !errors.Is(err, errMappingProblems) {
			return fmt.Errorf("%w\n(not also checked against Zoho's fields: %v)", structural, err)
		}
		return err
	}
	for _, mp := range maps {
		n, err := activities.ImportMapping(ctx, st, c.integration, mp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d %s field(s), checked against both sides' fields\n", n, mp.Module)
	}
	return nil
}

// preflightImport checks mappings against Desk's and CRM's field metadata (two API calls per
// module) for the integration's mode, and refuses them all, printing every problem, when any
// has one: nothing is stored then.
func preflightImport(ctx context.Context, st *store.Store, cfg config.Starter, integration string, maps []mapping.Mapping, stdout io.Writer) error {
	in, err := st.Integration(ctx, integration)
	if err != nil {
		return err
	}
	mode := mapping.OneWay
	if in.Mode == activities.ModeTwoWay {
		mode = mapping.TwoWay
	}
	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	var probs []mapping.Problem
	for _, mp := range maps {
		if !mp.Module.Valid() {
			// No app has fields of a module deskcrm does not sync: its own problems (the module
			// first) are all there is to say, and the other mappings are still checked.
			var ve *mapping.ValidationError
			if errors.As(mp.Validate(), &ve) {
				probs = append(probs, ve.Problems...)
			}
			continue
		}
		deskMeta, crmMeta, err := activities.FieldMetadata(ctx, acts, string(mp.Module))
		if err != nil {
			return fmt.Errorf("check the %s mapping against Zoho's fields (nothing was imported): %w", mp.Module, err)
		}
		probs = append(probs, mapping.PreflightMode(mode, mp, deskMeta, crmMeta)...)
	}
	if len(probs) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "code\tmodule\tdesk field\tcrm field\tproblem")
	for _, p := range probs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Code, p.Module, orDash(p.Desk), orDash(p.CRM), p.Message)
	}
	w.Flush()
	return fmt.Errorf("%w: the mapping has %d problem(s), listed above; fix the file and import it again", errMappingProblems, len(probs))
}

// errMappingProblems is the error of a mapping refused for the problems preflightImport listed.
var errMappingProblems = errors.New("nothing imported")

func orString(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// cmdSetMode switches an integration between two-way and one-way CRM → Desk sync, or moves
// a legacy scheduled import to sync (once: it cannot be reverted). It reads the sync's status
// first, and refuses what does not apply to the integration's mode in the starter's terms; the
// workflow's validator then answers, so the command reports a definite yes or no.
func cmdSetMode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("set-mode", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"set-mode needs one MODE: two-way, one-way-crm-to-desk, or sync (the one-time switch from the legacy scheduled import)"}
	}
	want := fs.Arg(0)
	if !slices.Contains([]string{activities.ModeTwoWay, activities.ModeOneWayToDesk, modeSync}, want) {
		return usageError{fmt.Sprintf("set-mode %q: give two-way, one-way-crm-to-desk, or sync (the one-time switch from the legacy scheduled import)", want)}
	}
	update, arg := workflows.UpdateSetMode, any(workflows.SetModeRequest{Mode: want})
	if want == modeSync {
		update, arg = workflows.UpdateSwitchToSync, nil
	}
	tc, _, err := dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := requireRunning(ctx, tc, c.integration); err != nil {
		return err
	}
	st, err := syncStatus(ctx, tc, c.integration)
	if err != nil {
		return fmt.Errorf("mode not changed: %w", err)
	}
	if err := checkModeChange(c.integration, want, st); err != nil {
		return err
	}
	opts := client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(c.integration), UpdateName: update,
		WaitForStage: client.WorkflowUpdateStageCompleted}
	if arg != nil {
		opts.Args = []any{arg}
	}
	handle, err := tc.UpdateWorkflow(ctx, opts)
	if err != nil {
		return fmt.Errorf("ask the sync of integration %q to change its mode: %w", c.integration, modeRefusal(err))
	}
	var res workflows.ModeResult
	if err := handle.Get(ctx, &res); err != nil {
		return fmt.Errorf("mode not changed: %w", modeRefusal(err))
	}
	if c.json {
		return printJSON(stdout, res)
	}
	if res.Mode == res.Previous {
		fmt.Fprintf(stdout, "integration %q: mode is already %s\n", c.integration, res.Mode)
		return nil
	}
	fmt.Fprintf(stdout, "integration %q: mode %s (was %s)\n", c.integration, res.Mode, res.Previous)
	if !res.CatchUpSince.IsZero() {
		fmt.Fprintf(stdout, "the next pass sends to CRM the Desk records and edits made since %s, which one-way held back "+
			"(clears included; a Desk edit of a field CRM changed meanwhile was overwritten by a one-way pass already; "+
			"a field changed on both sides since the last pass takes the record modified last or its policy; `starter conflicts` lists those)\n",
			res.CatchUpSince.Local().Format(time.RFC1123))
	}
	return nil
}

// modeSync is set-mode's word for the one-time switch of a legacy import to sync.
const modeSync = "sync"

// checkModeChange refuses, from the sync's status, a mode change that does not apply to the
// integration, saying what to run instead: `set-mode sync` of an integration that is no
// legacy import, or a sync mode for one that still is. What it lets through, the workflow's
// validator decides.
func checkModeChange(integration, want string, st workflows.Status) error {
	modes := "`starter set-mode two-way` or `starter set-mode one-way-crm-to-desk`"
	switch {
	case want == modeSync && st.SwitchedToSync:
		return fmt.Errorf("mode not changed: integration %q was already switched from the legacy import to sync (its mode is %s), "+
			"a switch made once; to change between two-way and one-way sync use %s", integration, st.Mode, modes)
	case want == modeSync && st.Mode != workflows.ModeLegacyImport:
		return fmt.Errorf("mode not changed: `set-mode sync` is only the one-time switch from the legacy import, and integration %q "+
			"is not a legacy import (its mode is %s); to change between two-way and one-way sync use %s", integration, st.Mode, modes)
	case want != modeSync && st.Mode == workflows.ModeLegacyImport:
		return fmt.Errorf("mode not changed: integration %q is a legacy one-way import; `starter set-mode sync` moves it to two-way sync "+
			"(once: it cannot be reverted), and then set-mode two-way or one-way-crm-to-desk changes its sync type", integration)
	}
	return nil
}

// validatorWords turn the phrases of the sync's update validators (workflows/handlers.go:
// validateSetMode, validateSwitchToSync) that name the workflow's updates and queries into
// what a starter user runs.
var validatorWords = strings.NewReplacer(
	"use "+workflows.UpdateSetMode+" to change its sync type",
	"`set-mode sync` is only the one-time switch from the legacy import; to change between two-way and one-way sync use "+
		"`starter set-mode two-way` or `starter set-mode one-way-crm-to-desk`",
	"use the "+workflows.UpdateSwitchToSync+" update to move it to sync",
	"`starter set-mode sync` moves it to sync (once: it cannot be reverted)",
	"(the status query shows its progress)", "(`starter status` shows its progress)",
)

// modeRefusal is the error of a mode change the sync refused or failed: the validator's own
// message in the starter's words, without the SDK's decorations, or the explanation of a
// failure sealed with another payload key than this starter's.
func modeRefusal(err error) error {
	if sealed := sealedFailure(err); sealed != nil {
		return sealed
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return errors.New(validatorWords.Replace(failureText(ae)))
	}
	return err
}
