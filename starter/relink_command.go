package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"go.uber.org/zap"

	"deskcrm/activities"
)

// cmdRelink rebuilds the link table from the counterpart ids both apps hold (CRM Desk_ID,
// Desk cf_crm_id): a dry run by default, --apply to write. Pause the sync first.
func cmdRelink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("relink", &c, stderr)
	apply := fs.Bool("apply", false, "write the links found (default: only report what would change)")
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
	// Links are an integration's: one Postgres does not know has none to rebuild, and a
	// mistyped id would be given the links of another.
	integ, err := requireIntegration(ctx, st, c.integration)
	if err != nil {
		return err
	}
	if integ.State == "deleted" {
		return fmt.Errorf("integration %q was deleted; `starter start --integration %s` begins a new one, then relink", c.integration, c.integration)
	}
	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	rep, err := acts.Relink(ctx, activities.RelinkInput{IntegrationID: c.integration, Mode: integ.Mode, Apply: *apply})
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, rep)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	verb := "would add"
	if *apply {
		verb = "added"
	}
	fmt.Fprintf(w, "module\tpairs in the apps\twith a deleted record\talready linked\t%s\tlinked otherwise\tconflicts\n", verb)
	for _, m := range rep.Modules {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", m.Module, m.Found, m.Deleted, m.Known, m.Added, m.Different, m.Conflicts)
	}
	w.Flush()
	for _, m := range rep.Modules {
		for _, p := range m.ConflictSample {
			fmt.Fprintf(stdout, "conflict: %s %s record %s points at %s, which is missing or claimed twice\n", m.Module, p.Side.Label(), p.ID, p.Counterpart)
		}
	}
	if !*apply {
		fmt.Fprintln(stdout, "dry run: nothing was written; run again with --apply to write the links")
	}
	return nil
}
