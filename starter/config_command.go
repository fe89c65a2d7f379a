package main

// The commands that set an integration up: preflight, mapping, set-mode.

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
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
	st, cfg, err := openStore(ctx)
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
	if sub == "import" {
		if fs.NArg() != 1 {
			return usageError{"mapping import needs one FILE: a JSON mapping, or a list of them (see `starter mapping show --json`)"}
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("read mapping file: %w", err)
		}
		if maps, err = mapping.ParseList(data); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
	}
	st, cfg, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Showing reads: a mistyped id is refused, not created. Importing creates the integration.
	if sub == "show" {
		err = requireKnown(ctx, st, c.integration)
	} else {
		_, err = st.EnsureIntegration(ctx, c.integration, activities.ModeTwoWay, 365*24*time.Hour)
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
	return fmt.Errorf("nothing imported: the mapping has %d problem(s), listed above; fix the file and import it again", len(probs))
}

func orString(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// cmdSetMode switches an integration between two-way and one-way CRM → Desk sync, or moves
// a legacy scheduled import to sync (once: it cannot be reverted). The workflow's validator
// answers, so the command reports a definite yes or no.
func cmdSetMode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("set-mode", &c, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"set-mode needs one MODE: two-way, one-way-crm-to-desk, or sync (the one-time switch from the legacy scheduled import)"}
	}
	update, arg := workflows.UpdateSetMode, any(workflows.SetModeRequest{Mode: fs.Arg(0)})
	if fs.Arg(0) == "sync" {
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
	opts := client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(c.integration), UpdateName: update,
		WaitForStage: client.WorkflowUpdateStageCompleted}
	if arg != nil {
		opts.Args = []any{arg}
	}
	handle, err := tc.UpdateWorkflow(ctx, opts)
	if err != nil {
		return fmt.Errorf("ask the sync of integration %q to change its mode: %w", c.integration, err)
	}
	var res workflows.ModeResult
	if err := handle.Get(ctx, &res); err != nil {
		return fmt.Errorf("mode not changed: %w", err)
	}
	if c.json {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "integration %q: mode %s (was %s)\n", c.integration, res.Mode, res.Previous)
	return nil
}
