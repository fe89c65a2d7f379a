// Command worker is deskcrm's Temporal worker: it runs the sync workflows and their
// activities on task queue "deskcrm-sync", and serves HTTP for webhooks, the agent panel, the
// admin console (/console/), health and metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/codec"
	"deskcrm/config"
	"deskcrm/console"
	"deskcrm/internal/tclient"
	"deskcrm/logging"
	"deskcrm/panel"
	"deskcrm/store"
	"deskcrm/webhooks"
	"deskcrm/workflows"
	"deskcrm/zoho"
)

func main() {
	cfg, err := config.LoadWorker()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	logger, err := logging.New(cfg.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker: DESKCRM_CPU_PROFILE:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, cfg, logger, nil); err != nil {
		pprof.StopCPUProfile()
		logger.Error("worker stopped", zap.Error(err))
		os.Exit(1)
	}
}

// run wires the worker together and blocks until ctx is done. ready, when not nil, receives
// the HTTP address once everything serves (tests use it).
func run(ctx context.Context, cfg config.Worker, logger *zap.Logger, ready chan<- string) error {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return fmt.Errorf("metrics exporter: %w", err)
	}
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)).Meter("temporal-sdk-go")
	metrics := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   meter,
		OnError: func(err error) { logger.Warn("temporal metric", zap.Error(err)) },
	})

	// Temporal is reached before the schema is migrated, so that a worker pointed at the wrong
	// cluster or namespace changes nothing (a trial saw "schema migrated", then the exit).
	opts, err := tclient.Options(cfg.Temporal, logging.TemporalWorker(logger), metrics)
	if err != nil {
		return err
	}
	tc, err := tclient.Dial(ctx, opts, 60*time.Second)
	if err != nil {
		return err
	}
	defer tc.Close()

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	logger.Info("schema migrated")
	if cfg.RegisterSearchAttributes {
		added, err := tclient.EnsureSearchAttributes(ctx, tc, cfg.Temporal.Namespace, workflows.SearchAttributes())
		if err != nil {
			// Temporal Cloud refuses this call: the attributes are added in its UI instead.
			logger.Warn("could not register search attributes; add them on the server", zap.Error(err))
		} else if len(added) > 0 {
			logger.Info("registered search attributes", zap.Strings("names", added))
		}
	}

	acts, err := activities.New(ctx, activities.Config{Store: st, Zoho: cfg.Zoho, Logger: logger, Registry: registry})
	if err != nil {
		return err
	}
	if err := checkZohoCredentials(ctx, cfg, acts, logger); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on DESKCRM_HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	subs, err := webhooks.NewSubscriber(webhooks.SubscriberConfig{
		CRM: acts.CRM, Desk: acts.Desk, PublicURL: publicURL, TokenSecret: cfg.WebhookToken,
		DeskSourceID: activities.SourceID(), Integrations: st.IntegrationIDs, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("webhook subscriber: %w", err)
	}
	hooks, err := webhooks.NewHandler(webhooks.Config{
		TokenSecret: cfg.WebhookToken, DeskURL: acts.DeskURL, DeskOrgID: acts.DeskOrgID, Logger: logger,
		Signal: func(ctx context.Context, integrationID string, p webhooks.Changes) error {
			return tc.SignalWorkflow(ctx, workflows.WorkflowID(integrationID), "", workflows.SignalChanges, p)
		},
		WebhookIntegration: subs.DeskWebhookIntegration, ChannelExpiry: subs.Expiry,
	})
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	subsDone := make(chan struct{})
	if cfg.Webhooks {
		acts.Webhooks = subs
		go func() {
			defer close(subsDone)
			if err := subs.Run(ctx); err != nil {
				logger.Warn("webhook subscriptions stopped", zap.Error(err))
			}
		}()
	} else {
		close(subsDone)
		logger.Info("webhooks off (DESKCRM_WEBHOOKS=false): changes arrive by polling")
	}

	w := worker.New(tc, config.TaskQueue, worker.Options{Interceptors: activities.WorkerInterceptors()})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	logger.Info("worker polling", zap.String("taskQueue", config.TaskQueue), zap.String("temporal", cfg.Temporal.Address),
		zap.String("namespace", cfg.Temporal.Namespace))

	mux := http.NewServeMux()
	if cfg.Webhooks {
		mux.Handle("/webhooks/", hooks)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", healthz(tc, st, cfg.AdminToken))
	payloads, err := codec.FromConfig(cfg.Temporal)
	if err != nil {
		return err
	}
	mux.Handle(codec.Prefix+"/", codecHandler(payloads, cfg.AdminToken, cfg.CodecOrigins))
	if payloads != nil {
		logger.Info("payloads encrypted; codec server at "+codec.Prefix, zap.String("keyId", payloads.KeyID()),
			zap.Strings("origins", cfg.CodecOrigins))
	}
	adminAPI := panel.New(panel.Config{
		Store: st, CRM: acts.CRM, Desk: acts.Desk, Logger: logger,
		AdminToken: cfg.AdminToken, LinkKey: cfg.PanelLinkKey, FrameAncestors: []string{origin(acts.DeskURL)},
		Deleter: func(ctx context.Context, integrationID string) error {
			if err := stopSync(ctx, tc, integrationID); err != nil {
				return err
			}
			if err := subs.Unsubscribe(ctx, integrationID); err != nil {
				return &panel.UnsubscribeError{Err: err}
			}
			return nil
		},
	})
	mux.Handle(console.Prefix, consoleHandler(cfg, st, tc, opts.FailureConverter, acts, adminAPI, logger))
	mux.Handle("/", adminAPI)
	srv := newHTTPServer(mux, defaultTimeouts)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("http serving", zap.String("addr", ln.Addr().String()), zap.String("console", "http://"+ln.Addr().String()+console.Prefix))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if cerr := hooks.Close(shutdownCtx); cerr != nil && err == nil {
		err = cerr
	}
	<-subsDone
	return err
}

// origin returns the scheme://host[:port] of a URL (the Desk web origin of its API host).
func origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// stopSync ends an integration's sync workflow (deleting the integration); a sync that is not
// running is fine, so deleting twice is safe.
func stopSync(ctx context.Context, tc client.Client, integrationID string) error {
	err := tc.TerminateWorkflow(ctx, workflows.WorkflowID(integrationID), "", "integration deleted")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("stop the sync of %s: %w", integrationID, err)
	}
	return nil
}

// checkZohoCredentials mints the first access token at start when Zoho is real, so that a
// wrong client secret or refresh token stops the worker with the setting to fix instead of
// failing every sync later (a trial: the worker started, and only `starter status` showed
// "invalid_client", four times). A server that cannot be reached is only a warning: the syncs
// retry, and Zoho may be back by then. The token is kept for the first calls.
func checkZohoCredentials(ctx context.Context, cfg config.Worker, acts *activities.Activities, logger *zap.Logger) error {
	if cfg.Zoho.ClientID == "" || acts.Tokens == nil {
		return nil // the emulators: make run starts them beside the worker
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := acts.Tokens.TokenContext(ctx)
	switch {
	case err == nil:
		return nil
	case zoho.FailureCode(err) == zoho.CodeAuthRevoked:
		return fmt.Errorf("zoho refused the worker's OAuth credentials: %w", err)
	}
	logger.Warn("could not check the Zoho OAuth credentials at start; the syncs will retry", zap.Error(err))
	return nil
}
