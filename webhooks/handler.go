package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of Config.
const (
	DefaultFlushInterval  = 200 * time.Millisecond
	DefaultMaxBatch       = 1000
	DefaultMaxPending     = 100_000
	DefaultMaxBody        = 1 << 20
	DefaultSignalTimeout  = 10 * time.Second
	DefaultJWKSMinRefetch = 5 * time.Second
	DefaultJWKSMaxAge     = time.Hour
	DefaultLeeway         = time.Minute
	// DefaultMaxJWTLifetime caps exp - iat of a Desk delivery JWT (Desk signs for minutes).
	DefaultMaxJWTLifetime = 10 * time.Minute
	// DefaultMaxCallbackAge is how old a CRM callback's server_time may be.
	DefaultMaxCallbackAge = 10 * time.Minute
	// DefaultMaxInFlight is how many webhook requests are served at once; more get 503.
	DefaultMaxInFlight = 64
)

// ErrUnknownWebhook is what Config.WebhookIntegration returns for a Desk webhook id that no
// integration of this deployment subscribed.
var ErrUnknownWebhook = errors.New("unknown desk webhook")

// Config configures the receiver.
type Config struct {
	// TokenSecret derives each integration's CRM channel tokens (see ChannelToken); give the
	// Subscriber the same secret. Required.
	TokenSecret string
	// DeskURL is the Desk host that publishes the webhook signing keys at
	// /.well-known/jwks.json: https://desk.zoho.<dc> or an emulator's URL. Required.
	DeskURL string
	// DeskOrgID is the Desk organization; delivery JWTs must have iss "orgId:<DeskOrgID>".
	// Required.
	DeskOrgID string
	// Signal delivers coalesced changes to an integration's workflow. Required.
	Signal SignalFunc
	// WebhookIntegration names the integration a Desk webhook id was subscribed for
	// (Subscriber.DeskWebhookIntegration), or returns ErrUnknownWebhook: a delivery whose JWT
	// audience is another integration's webhook is refused. Required.
	WebhookIntegration func(ctx context.Context, webhookID string) (string, error)
	// ChannelExpiry reports when an integration's CRM channel expires, when known
	// (Subscriber.Expiry); a callback sent after it is refused. Optional.
	ChannelExpiry func(integrationID string) (time.Time, bool)
	// Logger receives refusals (warn, no customer data) and, at debug, the ids signalled.
	// Default: no logging.
	Logger *zap.Logger
	// HTTPClient fetches the JWKS (default: a client with a 3 s timeout, inside Desk's 5 s).
	HTTPClient *http.Client
	// FlushInterval is how long ids of an integration are gathered before they are
	// signalled (default 200 ms).
	FlushInterval time.Duration
	// MaxBatch is the most ids in one signal; this many pending ids of one source, module
	// and operation are signalled at once (default 1,000).
	MaxBatch int
	// MaxPending is the most ids queued per integration; more are dropped and left to the
	// poll (default 100,000).
	MaxPending int
	// MaxBody is the largest request body accepted; larger ones get 413 (default 1 MiB).
	MaxBody int64
	// SignalTimeout bounds one Signal call (default 10 s).
	SignalTimeout time.Duration
	// JWKSMinRefetch is the least time between two fetches of the JWKS (default 5 s).
	JWKSMinRefetch time.Duration
	// JWKSMaxAge is how long a fetched JWKS is used before it is fetched again (default 1 h).
	JWKSMaxAge time.Duration
	// Leeway is the clock skew allowed on JWT exp and iat and on CRM's server_time (default
	// 1 min).
	Leeway time.Duration
	// MaxJWTLifetime caps exp - iat of a Desk delivery JWT (default 10 min).
	MaxJWTLifetime time.Duration
	// MaxCallbackAge is how old a CRM callback's server_time may be (default 10 min).
	MaxCallbackAge time.Duration
	// MaxInFlight is how many webhook requests are served at once; more get 503 with
	// Retry-After at once (default 64).
	MaxInFlight int
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// withDefaults fills defaults and names every missing required field.
func (c Config) withDefaults() (Config, error) {
	var missing []string
	if c.TokenSecret == "" {
		missing = append(missing, "TokenSecret")
	}
	if c.DeskURL == "" {
		missing = append(missing, "DeskURL")
	}
	if c.DeskOrgID == "" {
		missing = append(missing, "DeskOrgID")
	}
	if c.Signal == nil {
		missing = append(missing, "Signal")
	}
	if c.WebhookIntegration == nil {
		missing = append(missing, "WebhookIntegration")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("webhooks: Config.%s required", strings.Join(missing, ", Config."))
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 3 * time.Second}
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.SignalTimeout <= 0 {
		c.SignalTimeout = DefaultSignalTimeout
	}
	if c.JWKSMinRefetch <= 0 {
		c.JWKSMinRefetch = DefaultJWKSMinRefetch
	}
	if c.JWKSMaxAge <= 0 {
		c.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if c.Leeway <= 0 {
		c.Leeway = DefaultLeeway
	}
	if c.MaxJWTLifetime <= 0 {
		c.MaxJWTLifetime = DefaultMaxJWTLifetime
	}
	if c.MaxCallbackAge <= 0 {
		c.MaxCallbackAge = DefaultMaxCallbackAge
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Stats are the receiver's running totals.
type Stats struct {
	// Deliveries counts accepted callbacks (200), Refused the others (4xx/5xx), Unauthorized
	// the 401s among them.
	Deliveries, Refused, Unauthorized int64
	// Busy counts requests answered 503 because MaxInFlight were being served.
	Busy int64
	// InFlight is how many requests are being served now (at most MaxInFlight).
	InFlight int
	// IDsQueued counts ids enqueued (duplicates of pending ids are not), IDsDropped ids
	// refused because the integration had MaxPending queued or the receiver was closing.
	IDsQueued, IDsDropped int64
	// Signals counts successful Signal calls and SignalIDs the ids they carried;
	// SignalErrors counts batches dropped after retries; NoSyncIDs ids dropped because no
	// sync was running.
	Signals, SignalIDs, SignalErrors, NoSyncIDs int64
}

// Handler is the webhook receiver; it implements http.Handler. Close it on shutdown to
// signal what is still queued.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	slots chan struct{}
	co    *coalescer
	desk  *deskVerifier
	log   *zap.Logger

	deliveries, refused, unauthorized, busy atomic.Int64
}

// NewHandler returns the receiver for cfg. Mount it at "/webhooks/" of the worker's server.
func NewHandler(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger.Named("webhooks"), slots: make(chan struct{}, cfg.MaxInFlight)}
	h.co = newCoalescer(cfg.Signal, cfg.FlushInterval, cfg.MaxBatch, cfg.MaxPending, cfg.SignalTimeout, h.log)
	keys := &keySet{url: joinURL(cfg.DeskURL, JWKSPath), client: cfg.HTTPClient, minRefetch: cfg.JWKSMinRefetch,
		maxAge: cfg.JWKSMaxAge, now: cfg.Now}
	h.desk = &deskVerifier{keys: keys, issuer: "orgId:" + cfg.DeskOrgID, leeway: cfg.Leeway, maxLifetime: cfg.MaxJWTLifetime, now: cfg.Now}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST /webhooks/crm/{integrationId}", h.serveCRM)
	h.mux.HandleFunc("GET /webhooks/desk/{integrationId}", h.serveDeskCheck)
	h.mux.HandleFunc("POST /webhooks/desk/{integrationId}", h.serveDesk)
	return h, nil
}

// ServeHTTP routes a webhook call; wrong methods get 405 and unknown paths 404. When
// MaxInFlight calls are being served, it answers 503 with Retry-After at once, so that slow
// or flooding callers cannot take every connection the worker has.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		h.busy.Add(1)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many webhook calls at once; retry later"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Close stops accepting deliveries (they get 503), signals every queued id and waits for
// the signals, cancelling them when ctx ends.
func (h *Handler) Close(ctx context.Context) error {
	if err := h.co.close(ctx); err != nil {
		return fmt.Errorf("close webhook receiver: %w", err)
	}
	return nil
}

// Stats returns the running totals.
func (h *Handler) Stats() Stats {
	s := &h.co.stats
	return Stats{Deliveries: h.deliveries.Load(), Refused: h.refused.Load(), Unauthorized: h.unauthorized.Load(), Busy: h.busy.Load(), InFlight: len(h.slots),
		IDsQueued: s.idsQueued.Load(), IDsDropped: s.idsDropped.Load(), Signals: s.signals.Load(),
		SignalIDs: s.signalIDs.Load(), SignalErrors: s.signalErrors.Load(), NoSyncIDs: s.noSync.Load()}
}

// refuse answers an error and logs why, with the integration id and the caller's address
// only (never the body).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, source string, status int, msg string, err error) {
	h.refused.Add(1)
	if status == http.StatusUnauthorized {
		h.unauthorized.Add(1)
	}
	fields := []zap.Field{zap.String("source", source), zap.String("integration", r.PathValue("integrationId")),
		zap.Int("status", status), zap.String("remote", r.RemoteAddr), zap.String("reason", msg)}
	if err != nil {
		fields = append(fields, zap.NamedError("detail", err))
	}
	h.log.Warn("webhook refused", fields...)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads at most max bytes; the status is 413 for a larger body and 400 for a
// body that could not be read.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int, error) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds %d", r.ContentLength, max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds %d bytes", max)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	return body, 0, nil
}

// integrationID returns the path's integration id, or answers 404.
func (h *Handler) integrationID(w http.ResponseWriter, r *http.Request, source string) (string, bool) {
	id := r.PathValue("integrationId")
	if !ValidIntegrationID(id) {
		h.refuse(w, r, source, http.StatusNotFound, "unknown integration: ids are 1-64 letters, digits, '.', '_' or '-'", nil)
		return "", false
	}
	return id, true
}

// enqueue hands ids to the coalescer and answers the caller.
func (h *Handler) enqueue(w http.ResponseWriter, r *http.Request, integrationID string, groups map[batchKey][]string) {
	queued := 0
	for k, ids := range groups {
		n, _, err := h.co.add(integrationID, k.source, k.module, k.op, ids)
		if errors.Is(err, errClosed) {
			h.refuse(w, r, k.source, http.StatusServiceUnavailable, "the receiver is shutting down; retry later", nil)
			return
		}
		queued += n
	}
	h.deliveries.Add(1)
	writeJSON(w, http.StatusOK, map[string]int{"queued": queued})
}
