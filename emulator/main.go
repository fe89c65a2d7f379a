// Command emulator runs the local Zoho CRM v8 and Zoho Desk v1 emulators
// side by side, sharing one OAuth token store so one client serves both,
// optionally seeded with deterministic demo data.
//
//	go run ./emulator                         # CRM on :8091, Desk on :8092, demo data
//	go run ./emulator --seed-contacts 0       # empty
//	go run ./emulator --latency 80ms --concurrency 10 --credits 5000 \
//	    --fault 'lost POST /api/v1/contacts rate=0.05'
//
// Every flag can also be set by an environment variable (see Config). Ctrl-C
// stops both servers cleanly. With --data-dir the world survives a restart:
// the emulators' state is saved there (after seeding, every
// --snapshot-interval and on shutdown) and loaded at the next start, which
// then seeds nothing (see persist.go).
package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"

	"deskcrm/emulator/crm"
	"deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/seed"
	"deskcrm/emulator/zohoauth"
)

// Config is the emulator command's configuration: environment variables
// first, then flags.
type Config struct {
	Host         string        `env:"EMULATOR_HOST" envDefault:"127.0.0.1"`
	CRMPort      int           `env:"EMULATOR_CRM_PORT" envDefault:"8091"`
	DeskPort     int           `env:"EMULATOR_DESK_PORT" envDefault:"8092"`
	Seed         uint64        `env:"EMULATOR_SEED" envDefault:"42"`
	SeedContacts int           `env:"EMULATOR_SEED_CONTACTS" envDefault:"500"`
	SeedAccounts int           `env:"EMULATOR_SEED_ACCOUNTS" envDefault:"100"`
	Latency      time.Duration `env:"EMULATOR_LATENCY" envDefault:"0s"`
	Jitter       time.Duration `env:"EMULATOR_JITTER" envDefault:"0s"`
	Concurrency  int           `env:"EMULATOR_CONCURRENCY" envDefault:"0"`
	Credits      int64         `env:"EMULATOR_CREDITS" envDefault:"0"`
	Faults       []string      `env:"EMULATOR_FAULTS" envSeparator:";"`
	ClientID     string        `env:"EMULATOR_CLIENT_ID"`
	ClientSecret string        `env:"EMULATOR_CLIENT_SECRET"`
	RefreshToken string        `env:"EMULATOR_REFRESH_TOKEN"`
	OrgID        string        `env:"EMULATOR_DESK_ORG_ID" envDefault:"1000000001"`
	// SearchLag is the CRM search index delay (crm.Config.SearchLag); 0 = off.
	SearchLag time.Duration `env:"EMULATOR_SEARCH_LAG" envDefault:"2s"`
	// DataDir keeps the emulators' state between runs ("" = in memory only).
	DataDir string `env:"EMULATOR_DATA_DIR"`
	// SnapshotInterval is how often the state is saved to DataDir (0 = only
	// after seeding and on shutdown).
	SnapshotInterval time.Duration `env:"EMULATOR_SNAPSHOT_INTERVAL" envDefault:"30s"`
}

// faultList collects repeated --fault flags.
type faultList []string

func (f *faultList) String() string     { return strings.Join(*f, "; ") }
func (f *faultList) Set(v string) error { *f = append(*f, v); return nil }

// parseConfig reads the environment (through getenv) and then args.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var cfg Config
	envs := map[string]string{}
	for _, k := range []string{"EMULATOR_HOST", "EMULATOR_CRM_PORT", "EMULATOR_DESK_PORT", "EMULATOR_SEED",
		"EMULATOR_SEED_CONTACTS", "EMULATOR_SEED_ACCOUNTS", "EMULATOR_LATENCY", "EMULATOR_JITTER",
		"EMULATOR_CONCURRENCY", "EMULATOR_CREDITS", "EMULATOR_FAULTS", "EMULATOR_CLIENT_ID",
		"EMULATOR_CLIENT_SECRET", "EMULATOR_REFRESH_TOKEN", "EMULATOR_DESK_ORG_ID", "EMULATOR_SEARCH_LAG",
		"EMULATOR_DATA_DIR", "EMULATOR_SNAPSHOT_INTERVAL"} {
		if v := getenv(k); v != "" {
			envs[k] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: envs}); err != nil {
		return cfg, fmt.Errorf("read environment: %w", err)
	}
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.Host, "host", cfg.Host, "address to listen on (EMULATOR_HOST)")
	fs.IntVar(&cfg.CRMPort, "crm-port", cfg.CRMPort, "CRM emulator port, 0 = any free port (EMULATOR_CRM_PORT)")
	fs.IntVar(&cfg.DeskPort, "desk-port", cfg.DeskPort, "Desk emulator port, 0 = any free port (EMULATOR_DESK_PORT)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the demo data generator (EMULATOR_SEED)")
	fs.IntVar(&cfg.SeedContacts, "seed-contacts", cfg.SeedContacts, "contacts per side, 0 = empty (EMULATOR_SEED_CONTACTS)")
	fs.IntVar(&cfg.SeedAccounts, "seed-accounts", cfg.SeedAccounts, "accounts per side (EMULATOR_SEED_ACCOUNTS)")
	fs.DurationVar(&cfg.Latency, "latency", cfg.Latency, "fixed latency added to every API call (EMULATOR_LATENCY)")
	fs.DurationVar(&cfg.Jitter, "jitter", cfg.Jitter, "maximum random extra latency (EMULATOR_JITTER)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "calls in flight allowed per API, 0 = unlimited (EMULATOR_CONCURRENCY)")
	fs.Int64Var(&cfg.Credits, "credits", cfg.Credits, "daily API credits per API, 0 = unlimited (EMULATOR_CREDITS)")
	fs.DurationVar(&cfg.SearchLag, "search-lag", cfg.SearchLag, "how long a CRM record created or edited through the API stays out of search results, 0 = off (EMULATOR_SEARCH_LAG)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory that keeps the emulators' state between runs; empty = in memory only (EMULATOR_DATA_DIR)")
	fs.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", cfg.SnapshotInterval, "how often the state is saved to --data-dir, 0 = after seeding and on shutdown only (EMULATOR_SNAPSHOT_INTERVAL)")
	faults := faultList(cfg.Faults)
	fs.Var(&faults, "fault", "fault rule 'KIND METHOD PATH [rate=R] [count=N] [hold=D]', KIND = HTTP status, reset, timeout or lost; repeatable (EMULATOR_FAULTS, ';'-separated)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.Faults = faults
	if cfg.SeedContacts < 0 || cfg.SeedAccounts < 0 {
		return cfg, errors.New("seed sizes must not be negative")
	}
	if cfg.SearchLag < 0 {
		return cfg, errors.New("search lag must not be negative")
	}
	if cfg.SnapshotInterval < 0 {
		return cfg, errors.New("snapshot interval must not be negative")
	}
	return cfg, nil
}

// parseFault reads 'KIND METHOD PATH [rate=R] [count=N] [hold=D]'.
func parseFault(s string) (realism.Fault, error) {
	parts := strings.Fields(s)
	if len(parts) < 3 {
		return realism.Fault{}, fmt.Errorf("fault %q: want 'KIND METHOD PATH [rate=R] [count=N] [hold=D]'", s)
	}
	f := realism.Fault{Method: parts[1], Path: parts[2]}
	if n, err := strconv.Atoi(parts[0]); err == nil {
		f.Kind, f.Status = realism.FaultStatus, n
	} else {
		f.Kind = realism.FaultKind(parts[0])
	}
	for _, opt := range parts[3:] {
		k, v, ok := strings.Cut(opt, "=")
		var err error
		switch {
		case !ok:
			err = errors.New("options are key=value")
		case k == "rate":
			f.Rate, err = strconv.ParseFloat(v, 64)
		case k == "count":
			f.Count, err = strconv.Atoi(v)
		case k == "hold":
			var d time.Duration
			d, err = time.ParseDuration(v)
			f.HoldMS = d.Milliseconds()
		default:
			err = fmt.Errorf("unknown option %q", k)
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: %w", s, err)
		}
	}
	return f, nil
}

// Addrs are the base URLs the emulators listen on.
type Addrs struct {
	CRM, Desk string
}

// run starts both emulators, seeds them and serves until ctx ends. ready,
// when not nil, receives the listening addresses.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer, ready func(Addrs)) error {
	cfg, err := parseConfig(args, getenv, out)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	store := zohoauth.NewStore(zohoauth.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RefreshToken: cfg.RefreshToken})
	limits := realism.Limits{MaxInFlight: cfg.Concurrency, DailyCredits: cfg.Credits}
	var signKey *rsa.PrivateKey
	if cfg.DataDir != "" {
		release, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return err
		}
		defer release()
		if signKey, err = signingKey(cfg.DataDir); err != nil {
			return err
		}
	}

	crmLn, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.CRMPort)))
	if err != nil {
		return fmt.Errorf("listen for CRM: %w", err)
	}
	deskLn, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.DeskPort)))
	if err != nil {
		_ = crmLn.Close()
		return fmt.Errorf("listen for Desk: %w", err)
	}
	addrs := Addrs{CRM: "http://" + crmLn.Addr().String(), Desk: "http://" + deskLn.Addr().String()}

	searchLag := cfg.SearchLag
	if searchLag == 0 {
		searchLag = crm.NoSearchLag
	}
	crmSrv := crm.New(crm.Config{BaseURL: addrs.CRM, Auth: store, SearchLag: searchLag,
		Realism: realism.Config{Latency: cfg.Latency, Jitter: cfg.Jitter, Seed: cfg.Seed, Limits: limits}})
	deskSrv := desk.New(desk.Config{OrgID: cfg.OrgID, Auth: store, SigningKey: signKey,
		Realism: realism.New(realism.Config{Latency: cfg.Latency, Jitter: cfg.Jitter, Seed: cfg.Seed + 1, Limits: limits})})
	defer deskSrv.Close()
	for _, spec := range cfg.Faults {
		f, err := parseFault(spec)
		if err != nil {
			_ = crmLn.Close()
			_ = deskLn.Close()
			return err
		}
		for _, eng := range []*realism.Engine{crmSrv.Realism(), deskSrv.Realism()} {
			if _, err := eng.AddFault(f); err != nil {
				_ = crmLn.Close()
				_ = deskLn.Close()
				return fmt.Errorf("fault %q: %w", spec, err)
			}
		}
	}

	var snap *persister
	loaded := false
	if cfg.DataDir != "" {
		snap = newPersister(cfg.DataDir, crmSrv, deskSrv, store, log)
		if loaded, err = snap.load(); err != nil {
			_ = crmLn.Close()
			_ = deskLn.Close()
			return err
		}
	}
	if !loaded && (cfg.SeedContacts > 0 || cfg.SeedAccounts > 0) {
		start := time.Now()
		log.Info("seeding", "contacts_per_side", cfg.SeedContacts, "accounts_per_side", cfg.SeedAccounts, "seed", cfg.Seed)
		sum, err := seed.Generate(seed.Options{Seed: cfg.Seed, Desk: deskSrv, CRM: crmSrv,
			DeskContacts: cfg.SeedContacts, CRMContacts: cfg.SeedContacts, DeskAccounts: cfg.SeedAccounts, CRMAccounts: cfg.SeedAccounts})
		if err != nil {
			_ = crmLn.Close()
			_ = deskLn.Close()
			return fmt.Errorf("seed: %w", err)
		}
		log.Info("seeded", "took", time.Since(start).Round(time.Millisecond),
			"desk_contacts", sum.Desk.Contacts, "desk_accounts", sum.Desk.Accounts, "desk_tickets", sum.Desk.Tickets,
			"crm_contacts", sum.CRM.Contacts, "crm_accounts", sum.CRM.Accounts,
			"overlap_contacts", sum.OverlapContacts, "overlap_accounts", sum.OverlapAccounts)
	}
	if snap != nil && !loaded {
		if err := snap.save("seeded"); err != nil {
			_ = crmLn.Close()
			_ = deskLn.Close()
			return err
		}
	}
	saverCtx, stopSaver := context.WithCancel(ctx)
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		if snap != nil {
			snap.loop(saverCtx, cfg.SnapshotInterval)
		}
	}()
	defer func() { stopSaver(); <-saverDone }()

	servers := []*http.Server{
		{Handler: crmSrv, ReadHeaderTimeout: 10 * time.Second},
		{Handler: deskSrv, ReadHeaderTimeout: 10 * time.Second},
	}
	errc := make(chan error, 2)
	for i, ln := range []net.Listener{crmLn, deskLn} {
		go func() { errc <- servers[i].Serve(ln) }()
	}
	log.Info("Zoho CRM emulator listening", "url", addrs.CRM+"/crm/v8/", "token_url", addrs.CRM+zohoauth.TokenPath)
	log.Info("Zoho Desk emulator listening", "url", addrs.Desk+"/api/v1/", "org_id", deskSrv.OrgID(), "jwks", addrs.Desk+"/.well-known/jwks.json")
	if cfg.ClientID == "" && cfg.ClientSecret == "" && cfg.RefreshToken == "" {
		log.Info("OAuth client (local development defaults; one client serves both APIs)",
			"client_id", zohoauth.DefaultClientID, "client_secret", zohoauth.DefaultClientSecret, "refresh_token", zohoauth.DefaultRefreshToken)
	} else {
		log.Info("OAuth client credentials taken from the environment (not printed)")
	}
	if ready != nil {
		ready(addrs)
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	if snap != nil {
		stopSaver()
		<-saverDone
		if err := snap.save("shutdown"); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}
