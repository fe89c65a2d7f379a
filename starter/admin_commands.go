package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/store"
)

// stdin is where the delete confirmation is read from (tests replace it).
var stdin io.Reader = os.Stdin

func init() {
	commands["permissions"] = cmdPermissions
	commands["delete"] = cmdDelete
}

// cmdPermissions shows or sets what the CRM panel shows to each Desk profile.
//
//	starter permissions show [--profile NAME] [--integration default] [--json]
//	starter permissions set --profile NAME [--panel=false] [--modules contacts|accounts|both]
//	    [--info full|restricted] [--deals ...] [--notes ...] [--calls=false] [--events=false] [--tasks=false]
func cmdPermissions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "set") {
		return usageError{"permissions needs a subcommand: `starter permissions show [--profile NAME]` or " +
			"`starter permissions set --profile NAME [--panel=false] [--modules contacts|accounts|both] [--info|--deals|--notes full|restricted] [--calls|--events|--tasks=false]`"}
	}
	sub := args[0]
	var c common
	fs := newFlags("permissions "+sub, &c, stderr)
	profile := fs.String("profile", "", "Desk profile name (show: default all stored profiles)")
	// No defaults: a flag left out leaves its setting as it is (the profile's stored value, or
	// the restricted default's for a profile with none); only the flags given change.
	const unchanged = " (left out: unchanged)"
	panelVisible := fs.Bool("panel", false, "whether the CRM panel is visible to the profile: --panel or --panel=false"+unchanged)
	modules := fs.String("modules", "", "records that show the panel: contacts, accounts or both"+unchanged)
	info := fs.String("info", "", "contact/account information: full or restricted"+unchanged)
	deals := fs.String("deals", "", "deals: full or restricted"+unchanged)
	notes := fs.String("notes", "", "notes: full or restricted"+unchanged)
	calls := fs.Bool("calls", false, "show calls: --calls or --calls=false"+unchanged)
	events := fs.Bool("events", false, "show events: --events or --events=false"+unchanged)
	tasks := fs.Bool("tasks", false, "show tasks: --tasks or --tasks=false"+unchanged)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (profile names go in --profile \"Light Agent\")", fs.Arg(0))}
	}
	settable := []string{"panel", "modules", "info", "deals", "notes", "calls", "events", "tasks"}
	changes := false
	fs.Visit(func(f *flag.Flag) { changes = changes || slices.Contains(settable, f.Name) })
	if sub == "set" && strings.TrimSpace(*profile) == "" {
		return usageError{"permissions set needs --profile NAME (a Desk profile, e.g. \"Light Agent\")"}
	}
	if sub == "set" && !changes {
		return usageError{"permissions set changes nothing without a flag: --panel, --modules, --info, --deals, --notes, --calls, --events or --tasks"}
	}
	st, cfg, err := openStoreFor(ctx, c.integration)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "show" {
		var list []store.Permissions
		if *profile != "" {
			name, err := profileToShow(ctx, st, cfg, c.integration, *profile, stderr)
			if err != nil {
				return err
			}
			p, err := st.Permissions(ctx, c.integration, name)
			if err != nil {
				return err
			}
			list = []store.Permissions{p}
		} else if list, err = st.AllPermissions(ctx, c.integration); err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, list)
		}
		if *profile == "" {
			// What a profile without stored permissions gets: the value the store (and so the
			// panel and the admin API's "default") answers with, not a description of it.
			list = append(list, store.DefaultPermissions(otherProfiles))
		}
		printPermissions(stdout, list)
		return nil
	}
	// Permissions of a profile Desk does not have would be stored and never apply: a typo
	// leaves the real profile at its defaults.
	name, names, err := deskProfile(ctx, st, cfg, *profile)
	if err != nil {
		return fmt.Errorf("nothing was stored: %w", err)
	}
	if name == "" {
		return fmt.Errorf("nothing was stored: Desk has no profile %q; its profiles are %s (--profile matches them in any case)", *profile, quoted(names))
	}
	if err := ensureLive(ctx, st, c.integration); err != nil {
		return err
	}
	p, err := st.Permissions(ctx, c.integration, name)
	if err != nil {
		return err
	}
	p.Profile = name
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "panel":
			p.PanelVisible = *panelVisible
		case "modules":
			p.Modules = strings.ToLower(*modules)
		case "info":
			p.Info = strings.ToLower(*info)
		case "deals":
			p.Deals = strings.ToLower(*deals)
		case "notes":
			p.Notes = strings.ToLower(*notes)
		case "calls":
			p.Calls = *calls
		case "events":
			p.Events = *events
		case "tasks":
			p.Tasks = *tasks
		}
	})
	saved, err := st.SetPermissions(ctx, c.integration, p)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(stdout, saved)
	}
	printPermissions(stdout, []store.Permissions{saved})
	return nil
}

// ensureLive readies an integration for a command that configures it (`mapping import`,
// `permissions set`): an id Postgres does not know is refused while other integrations exist
// (a mistyped id would become a new integration), and created before the first start, when
// none does; a deleted one is refused, since only `starter start` brings it back.
func ensureLive(ctx context.Context, st *store.Store, id string) error {
	in, err := st.Integration(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if err := requireKnown(ctx, st, id); err != nil {
			return err
		}
		_, err = st.EnsureIntegration(ctx, id, activities.ModeTwoWay, 365*24*time.Hour)
		return err
	}
	if err != nil {
		return err
	}
	if in.State == "deleted" {
		return fmt.Errorf("integration %q was deleted; `starter start --integration %s` begins a new one", id, id)
	}
	return nil
}

// deskProfile finds the Desk profile named name, matched as permissions are stored
// (store.ProfileKey: trimmed, in any case), in Desk's list of profiles (GET /api/v1/profiles,
// as the console's permissions page lists them). found is Desk's spelling, "" when Desk has no
// such profile; names are all of Desk's profiles. An error says Desk could not be asked.
func deskProfile(ctx context.Context, st *store.Store, cfg config.Starter, name string) (found string, names []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: zap.NewNop()})
	if err != nil {
		return "", nil, fmt.Errorf("check --profile %q against Desk's profiles: %w", name, err)
	}
	list, err := acts.Desk.Profiles(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("could not list Desk's profiles to check --profile %q (is Desk reachable with the ZOHO_* settings?): %w", name, err)
	}
	for _, p := range list {
		names = append(names, p.Name)
	}
	return store.MatchProfile(names, name), names, nil
}

// profileToShow is the profile `permissions show --profile NAME` shows: Desk's profile of that
// name, or one Desk no longer has (renamed or removed) whose permissions are stored, with a note
// on out. A name that is neither is refused with Desk's profiles; so is any name when Desk
// cannot be asked, since a mistyped name would show the defaults as if they were its.
func profileToShow(ctx context.Context, st *store.Store, cfg config.Starter, integration, name string, out io.Writer) (string, error) {
	found, names, err := deskProfile(ctx, st, cfg, name)
	if err != nil {
		return "", fmt.Errorf("%w; `starter permissions show` without --profile lists the stored permissions", err)
	}
	if found != "" {
		return found, nil
	}
	stored, err := st.AllPermissions(ctx, integration)
	if err != nil {
		return "", err
	}
	for _, p := range stored {
		if store.ProfileKey(p.Profile) == store.ProfileKey(name) {
			fmt.Fprintf(out, "note: Desk has no profile %q any more (renamed or removed?); its profiles are %s\n", p.Profile, quoted(names))
			return p.Profile, nil
		}
	}
	return "", fmt.Errorf("nothing to show: Desk has no profile %q; its profiles are %s (--profile matches them in any case)", name, quoted(names))
}

// otherProfiles names the line of `permissions show` with what profiles not listed get.
const otherProfiles = "any other profile"

// printPermissions prints permissions as a table; those not stored (the default) say so.
func printPermissions(w io.Writer, list []store.Permissions) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "profile\tpanel\tmodules\tinfo\tdeals\tnotes\tcalls\tevents\ttasks")
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	for _, p := range list {
		name := p.Profile
		if !p.Stored {
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, map[bool]string{true: "visible", false: "hidden"}[p.PanelVisible],
			p.Modules, p.Info, p.Deals, p.Notes, onOff(p.Calls), onOff(p.Events), onOff(p.Tasks))
	}
	tw.Flush()
}

// cmdDelete deletes an integration through the worker's admin API, which stops the sync,
// unsubscribes webhooks and notifications, turns off the panel and handshake mode, and keeps
// the history and failure log.
//
//	starter delete [--integration default] [--yes] [--worker-url URL]
func cmdDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("delete", &c, stderr)
	yes := fs.Bool("yes", false, "do not ask for confirmation (for scripts)")
	workerURL := fs.String("worker-url", defaultWorkerURL(), "the worker's HTTP address (env DESKCRM_PUBLIC_URL, else http://DESKCRM_HTTP_ADDR)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	token := os.Getenv("DESKCRM_ADMIN_TOKEN")
	if path := os.Getenv("DESKCRM_ADMIN_TOKEN_FILE"); token == "" && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("DESKCRM_ADMIN_TOKEN_FILE: %w", err)
		}
		token = strings.TrimRight(string(b), "\r\n")
	}
	if token == "" {
		token = "deskcrm-dev-admin" // the worker's default for local runs
	}
	if !*yes {
		// An id Postgres does not know is refused before the question (a trial was asked to
		// confirm deleting "nope"); with Postgres out of reach the worker refuses it instead.
		if st, _, err := openStore(ctx); err == nil {
			_, err := st.Integration(ctx, c.integration)
			var ids []string
			if errors.Is(err, store.ErrNotFound) {
				ids, err = st.IntegrationIDs(ctx)
				if err == nil {
					err = unknownIntegration(c.integration, ids)
				}
			} else {
				err = nil
			}
			st.Close()
			if err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "Delete integration %q? The sync stops, webhooks are unsubscribed, and the CRM panel and handshake mode go away.\n"+
			"Sync history, the failure log, panel permissions and handshake settings are kept (a new start applies them). Type the integration id to confirm: ", c.integration)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(line) != c.integration {
			return errors.New("not confirmed; nothing was deleted (use --yes in scripts)")
		}
	}
	u := strings.TrimRight(*workerURL, "/") + "/api/v1/integrations/" + url.PathEscape(c.integration) + "/delete"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return usageError{fmt.Sprintf("--worker-url %q: %v", *workerURL, err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("reach the worker at %s (it performs the delete; is it running?): %w", *workerURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Error          string `json:"error"`
		Message        string `json:"message"`
		Warning        string `json:"warning"`
		AlreadyDeleted bool   `json:"alreadyDeleted"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized {
			return errors.New("the worker refused the admin token: set DESKCRM_ADMIN_TOKEN to the worker's")
		}
		if resp.StatusCode == http.StatusNotFound && out.Error == "integration_not_found" {
			return fmt.Errorf("nothing was deleted: %w", unknownToWorker(ctx, c.integration))
		}
		return fmt.Errorf("delete integration %q: worker answered %s: %s", c.integration, resp.Status, orString(out.Message, strings.TrimSpace(string(body))))
	}
	if c.json {
		_, err := stdout.Write(body)
		return err
	}
	if out.AlreadyDeleted {
		fmt.Fprintf(stdout, "integration %q was already deleted\n", c.integration)
		return nil
	}
	fmt.Fprintf(stdout, "integration %q deleted: %s\n", c.integration, out.Message)
	if out.Warning != "" {
		fmt.Fprintf(stdout, "warning: %s\n", out.Warning)
	}
	return nil
}

// unknownToWorker is the error for an integration the worker does not know, naming the
// integrations Postgres holds when it can be read within a few seconds (delete goes through
// the worker and needs no database otherwise).
func unknownToWorker(ctx context.Context, integration string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if st, _, err := openStore(ctx); err == nil {
		defer st.Close()
		if ids, err := st.IntegrationIDs(ctx); err == nil {
			return unknownIntegration(integration, ids)
		}
	}
	return fmt.Errorf("integration %q does not exist: check --integration", integration)
}

// defaultWorkerURL is where the worker's HTTP server listens by the worker's configuration.
func defaultWorkerURL() string {
	if u := os.Getenv("DESKCRM_PUBLIC_URL"); u != "" {
		return u
	}
	if a := os.Getenv("DESKCRM_HTTP_ADDR"); a != "" {
		return "http://" + a
	}
	return "http://127.0.0.1:8090"
}
