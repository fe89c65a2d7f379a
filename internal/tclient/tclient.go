// Package tclient dials Temporal from configuration, for the worker and the starter.
package tclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"deskcrm/codec"
	"deskcrm/config"
)

// Options builds SDK client options from configuration. With DESKCRM_PAYLOAD_KEY set,
// every payload and failure message is sealed by the codec (see package codec).
func Options(cfg config.Temporal, logger log.Logger, metrics client.MetricsHandler) (client.Options, error) {
	opts := client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		Logger:         logger,
		MetricsHandler: metrics,
	}
	c, err := codec.FromConfig(cfg)
	if err != nil {
		return opts, err
	}
	if c != nil {
		opts.DataConverter, opts.FailureConverter = codec.DataConverter(c), codec.FailureConverter(c)
	}
	if cfg.TLSCertPath != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertPath, cfg.TLSKeyPath)
		if err != nil {
			return opts, fmt.Errorf("load TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		opts.ConnectionOptions.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	if cfg.TLSCAPath != "" || cfg.TLSServerName != "" || cfg.APIKey != "" {
		if opts.ConnectionOptions.TLS == nil {
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts.ConnectionOptions.TLS.ServerName = cfg.TLSServerName
	}
	if cfg.TLSCAPath != "" {
		pem, err := os.ReadFile(cfg.TLSCAPath)
		if err != nil {
			return opts, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", cfg.TLSCAPath)
		}
		opts.ConnectionOptions.TLS.RootCAs = roots
	}
	return opts, nil
}

// tlsNote says that TLS is on, and what turned it on, when it is: a plain-gRPC server answers a
// TLS client "first record does not look like a TLS handshake", which named neither (a trial).
func tlsNote(opts client.Options) string {
	if opts.ConnectionOptions.TLS == nil {
		return ""
	}
	return "; TLS is on — TEMPORAL_API_KEY, TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_TLS_SERVER_NAME is set — so the server must speak TLS"
}

// dialNote is how often Dial says it is still retrying.
const dialNote = 10 * time.Second

// Dial connects to Temporal, retrying for up to wait so that a server still starting is not
// an error. While it retries it says so on opts.Logger (when set) every dialNote, with the
// error: a worker pointed at the wrong address is not silent until wait is over.
func Dial(ctx context.Context, opts client.Options, wait time.Duration) (client.Client, error) {
	deadline := time.Now().Add(wait)
	var noted time.Time
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s (namespace %s%s): %w", opts.HostPort, opts.Namespace, tlsNote(opts), err)
		}
		if opts.Logger != nil && time.Since(noted) >= dialNote {
			noted = time.Now()
			opts.Logger.Warn("Temporal not reachable yet; retrying (check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE"+tlsNote(opts)+")",
				"address", opts.HostPort, "namespace", opts.Namespace, "gives up in", time.Until(deadline).Round(time.Second).String(), "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// EnsureSearchAttributes registers the custom search attributes the workflows set, when the
// server allows it (self-hosted and dev servers; Temporal Cloud needs them added in its UI).
// It returns the names it added.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) ([]string, error) {
	op := c.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var names []string
	for name, typ := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return nil, fmt.Errorf("add search attributes %v: %w", names, err)
	}
	return names, nil
}
