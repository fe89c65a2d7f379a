// Package logging builds the zap logger every binary uses, and the adapter that sends the
// Temporal SDK's logs through it.
package logging

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"deskcrm/config"
)

// New returns a console logger for development, or JSON when cfg.Format is "json".
func New(cfg config.Log) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var zc zap.Config
	if cfg.Format == "json" {
		zc = zap.NewProductionConfig()
	} else {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
		if term.IsTerminal(int(os.Stderr.Fd())) {
			zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder // no escape codes in files and pipes
		}
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.OutputPaths = []string{"stderr"}
	return zc.Build()
}

// Temporal adapts a zap logger to the SDK's logger through zap's slog bridge, so the SDK's
// key-value pairs arrive as structured fields.
func Temporal(z *zap.Logger) log.Logger {
	return log.NewStructuredLogger(slog.New(zapslog.NewHandler(z.Core(), zapslog.WithName("temporal"))))
}

// reportedFailures keeps the SDK from logging, as an error with a stack trace, every failed
// record that the sync reports on purpose as a failed ReportFailure activity (so that it
// shows in the workflow history): info gets a line without the failure's message (it may
// quote customer data), debug gets the whole error.
type reportedFailures struct{ log.Logger }

// TemporalWorker is Temporal with the worker's failed-record reports logged at info.
func TemporalWorker(z *zap.Logger) log.Logger { return reportedFailures{Temporal(z)} }

func (r reportedFailures) Error(msg string, keyvals ...any) {
	if msg == "Activity error." && hasKeyValue(keyvals, "ActivityType", "ReportFailure") {
		// The failure's message may quote a customer's value: it goes to debug only; info
		// says where to look.
		kv := make([]any, 0, len(keyvals))
		for i := 0; i+1 < len(keyvals); i += 2 {
			if _, isErr := keyvals[i+1].(error); isErr {
				continue
			}
			kv = append(kv, keyvals[i], keyvals[i+1])
		}
		r.Logger.Info("record failed (see the failure log)", kv...)
		r.Logger.Debug("record failure", keyvals...)
		return
	}
	r.Logger.Error(msg, keyvals...)
}

// With keeps the filter on loggers derived with extra fields.
func (r reportedFailures) With(keyvals ...any) log.Logger {
	if w, ok := r.Logger.(log.WithLogger); ok {
		return reportedFailures{w.With(keyvals...)}
	}
	return r
}

func hasKeyValue(keyvals []any, key, value string) bool {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, _ := keyvals[i].(string); k == key {
			if v, _ := keyvals[i+1].(string); v == value {
				return true
			}
		}
	}
	return false
}
