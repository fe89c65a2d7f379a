package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// clusterName names the single local cluster.
	clusterName = "active"
	// numHistoryShards is 1, as in the official CLI's dev server: one shard is
	// plenty for a single-process dev server and keeps memory and SQLite
	// contention low. It is stored in the database, so it must never change
	// for an existing --db-filename.
	numHistoryShards = 1
	// internalIP is where history, matching and worker listen; only the
	// frontend, HTTP API and UI bind --ip.
	internalIP = "127.0.0.1"
	// readyTimeout bounds the wait for the frontend and UI to answer.
	readyTimeout = 60 * time.Second
)

// ports holds every port the dev server listens on, all resolved (non-zero).
type ports struct {
	GRPC, HTTP, UI            int
	History, Matching, Worker int
}

// devServer is a running Temporal server and, unless headless, its Web UI.
type devServer struct {
	server temporal.Server
	ui     *uiserver.Server
	uiErr  chan error
	ports  ports
}

// portSlot is one listener whose port resolvePorts fills in.
type portSlot struct {
	name string
	port *int
	ip   string
}

// resolvePorts replaces 0 ports in o with free ones on the right interface
// and picks free ports for the internal services. It fails if two listeners
// were given the same port, and never hands out a port already assigned.
func resolvePorts(o options) (ports, error) {
	p := ports{GRPC: o.Port, HTTP: o.HTTPPort, UI: o.UIPort}
	slots := []portSlot{
		{"--port", &p.GRPC, o.IP}, {"--http-port", &p.HTTP, o.IP}, {"--ui-port", &p.UI, o.IP},
		{"history", &p.History, internalIP}, {"matching", &p.Matching, internalIP}, {"worker", &p.Worker, internalIP},
	}
	if o.Headless {
		slots = slices.DeleteFunc(slots, func(s portSlot) bool { return s.port == &p.UI })
	}
	used := map[int]string{}
	for _, s := range slots {
		if *s.port == 0 {
			continue
		}
		if other, dup := used[*s.port]; dup {
			return ports{}, fmt.Errorf("%s and %s both ask for port %d", other, s.name, *s.port)
		}
		used[*s.port] = s.name
	}
	for _, s := range slots {
		for *s.port == 0 {
			port, err := freePort(s.ip)
			if err != nil {
				return ports{}, err
			}
			if _, taken := used[port]; !taken {
				*s.port = port
				used[port] = s.name
			}
		}
	}
	return p, nil
}

// freePort asks the kernel for an unused TCP port on ip.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails early with a clear message when addr is taken, rather
// than letting a server fail deep inside its start-up.
func checkPortFree(what, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s address %s is not available: %w", what, addr, err)
	}
	return l.Close()
}

// dialHost is the address clients on this machine use to reach a listener
// bound to ip: the loopback address when ip is a wildcard.
func dialHost(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil || !parsed.IsUnspecified():
		return ip
	case parsed.To4() != nil:
		return "127.0.0.1"
	default:
		return "::1"
	}
}

// hostPort joins a host and a port, bracketing IPv6 hosts.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// sqlConfig returns the SQLite settings for o: a private in-memory database,
// or the --db-filename file, whose schema is created only when the file is
// new (missing or empty).
func sqlConfig(o options) (*config.SQL, error) {
	cfg := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DBFilename == "" {
		// A random name keeps several in-memory servers in one process apart;
		// the plugin creates the schema when it first opens a memory database.
		cfg.DatabaseName = "devserver-" + strconv.FormatUint(rand.Uint64(), 36)
		cfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		return cfg, nil
	}
	cfg.DatabaseName = o.DBFilename
	cfg.ConnectAttributes = map[string]string{"mode": "rwc"}

	info, err := os.Stat(o.DBFilename)
	switch {
	case err == nil && info.IsDir():
		return nil, fmt.Errorf("--db-filename %s is a directory", o.DBFilename)
	case err == nil && info.Size() > 0:
		return cfg, nil // existing database: keep its schema and data
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("check --db-filename: %w", err)
	}
	if _, err := os.Stat(filepath.Dir(o.DBFilename)); err != nil {
		return nil, fmt.Errorf("directory for --db-filename: %w", err)
	}
	if err := sqliteschema.SetupSchema(cfg); err != nil {
		return nil, fmt.Errorf("create schema in %s: %w", o.DBFilename, err)
	}
	return cfg, nil
}

// serverConfig builds the static server configuration.
func serverConfig(o options, p ports, sqlCfg *config.SQL) *config.Config {
	frontend := hostPort(dialHost(o.IP), p.GRPC)
	httpAddr := hostPort(dialHost(o.IP), p.HTTP)

	var c config.Config
	c.Global.Membership.MaxJoinDuration = 30 * time.Second
	c.Global.Membership.BroadcastAddress = internalIP
	c.Persistence.DefaultStore = "sqlite-default"
	c.Persistence.VisibilityStore = "sqlite-default"
	c.Persistence.NumHistoryShards = numHistoryShards
	c.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlCfg}}
	c.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            httpAddr,
				// Only used for a new database; an existing one keeps its ID.
				ClusterID: uuid.NewString(),
			},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"
	service := func(ip string, grpcPort, httpPort int) config.Service {
		var s config.Service
		s.RPC.BindOnIP = ip
		s.RPC.GRPCPort = grpcPort
		s.RPC.HTTPPort = httpPort
		return s
	}
	c.Services = map[string]config.Service{
		string(primitives.FrontendService): service(o.IP, p.GRPC, p.HTTP),
		string(primitives.HistoryService):  service(internalIP, p.History, 0),
		string(primitives.MatchingService): service(internalIP, p.Matching, 0),
		string(primitives.WorkerService):   service(internalIP, p.Worker, 0),
	}
	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	c.PublicClient.HostPort = frontend
	return &c
}

// dynamicConfig returns the dev defaults overlaid with --dynamic-config-value.
func dynamicConfig(values map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// A smaller mutable-state cache than the server default (128k) keeps
		// the idle footprint of a dev server down.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8192,
		// The UI lists workflows often; the default of 10 RPS throttles it.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	for k, v := range values {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// startDevServer prepares the database and namespaces, starts Temporal and
// the UI, and returns once the frontend answers for every namespace and the
// UI answers HTTP.
func startDevServer(ctx context.Context, o options, logger log.Logger) (*devServer, error) {
	p, err := resolvePorts(o)
	if err != nil {
		return nil, err
	}
	checks := map[string]string{
		"gRPC":     hostPort(o.IP, p.GRPC),
		"HTTP API": hostPort(o.IP, p.HTTP),
	}
	if !o.Headless {
		checks["UI"] = hostPort(o.IP, p.UI)
	}
	for what, addr := range checks {
		if err := checkPortFree(what, addr); err != nil {
			return nil, err
		}
	}

	sqlCfg, err := sqlConfig(o)
	if err != nil {
		return nil, err
	}
	if err := ensureNamespaces(ctx, sqlCfg, clusterName, o.Namespaces, o.SearchAttributes, logger); err != nil {
		return nil, err
	}

	cfg := serverConfig(o, p, sqlCfg)
	frontendDial := hostPort(dialHost(o.IP), p.GRPC)
	internal := func(port int) static.Hosts { return static.SingleLocalHost(hostPort(internalIP, port)) }
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontendDial),
			primitives.HistoryService:  internal(p.History),
			primitives.MatchingService: internal(p.Matching),
			primitives.WorkerService:   internal(p.Worker),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dynamicConfig(o.DynamicConfig)),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	d := &devServer{server: srv, ports: p}

	readyCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := waitFrontend(readyCtx, frontendDial, o.Namespaces); err != nil {
		_ = d.stop()
		return nil, err
	}

	if !o.Headless {
		d.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost(o.IP),
			Port:                p.UI,
			TemporalGRPCAddress: frontendDial,
			EnableUI:            true,
			DefaultNamespace:    defaultNamespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
			Codec:               uiconfig.Codec{Endpoint: o.UICodecEndpoint, IncludeCredentials: o.UICodecIncludeCredentials},
		}))
		d.uiErr = make(chan error, 1)
		go func() { d.uiErr <- d.ui.Start() }()
		if err := waitHTTP(readyCtx, "http://"+hostPort(dialHost(o.IP), p.UI)+"/", d.uiErr); err != nil {
			_ = d.stop()
			return nil, fmt.Errorf("web UI: %w", err)
		}
	}
	return d, nil
}

// uiHost formats ip the way the UI server's "host:port" listen address needs.
func uiHost(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		return "[" + ip + "]"
	}
	return ip
}

// stop shuts the UI and then the server down.
func (d *devServer) stop() error {
	if d.ui != nil {
		d.ui.Stop()
	}
	if err := d.server.Stop(); err != nil {
		return fmt.Errorf("stop temporal server: %w", err)
	}
	return nil
}

// waitFrontend polls the frontend until every namespace can be described.
func waitFrontend(ctx context.Context, addr string, namespaces []string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial frontend %s: %w", addr, err)
	}
	defer conn.Close()
	client := workflowservice.NewWorkflowServiceClient(conn)
	return poll(ctx, func(ctx context.Context) error {
		if _, err := client.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); err != nil {
			return fmt.Errorf("frontend %s not ready: %w", addr, err)
		}
		for _, ns := range namespaces {
			if _, err := client.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
				return fmt.Errorf("namespace %s not ready: %w", ns, err)
			}
		}
		return nil
	})
}

// waitHTTP polls url until it answers with any status, or the server
// goroutine reports that it stopped.
func waitHTTP(ctx context.Context, url string, stopped <-chan error) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, func(ctx context.Context) error {
		select {
		case err := <-stopped:
			return fmt.Errorf("server stopped: %w", errors.Join(err, errStopped))
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		return resp.Body.Close()
	})
}

// errStopped marks a failure that retrying cannot fix.
var errStopped = errors.New("stopped")

// poll calls check every 100ms until it succeeds, fails with errStopped, or
// ctx ends; it then returns the last error.
func poll(ctx context.Context, check func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := check(attemptCtx)
		cancel()
		if err == nil || errors.Is(err, errStopped) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready before deadline: %w", err)
		case <-tick.C:
		}
	}
}
