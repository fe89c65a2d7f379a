// Package logging builds the zap logger every binary uses, and the adapter that sends the
// Temporal SDK's logs through it.
package logging

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"

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
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
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
