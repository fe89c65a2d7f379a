package main

import (
	"fmt"

	"go.temporal.io/server/common/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// serverLogger is the server's logger with a level that can change while
// it runs.
type serverLogger struct {
	log.Logger
	level    zap.AtomicLevel
	steady   zapcore.Level
	settling zapcore.Level
}

// newServerLogger builds a stderr logger in format ("console" or "json").
// While the server starts and stops, its services retry connections to each
// other and log harmless "dial error" and "failed to poll" warnings; at the
// default warn level those are hidden until ready and again from shutdown
// on (see settle and steadyState). debug and info are never raised.
func newServerLogger(level, format string) (*serverLogger, error) {
	steady := log.ParseZapLevel(level)
	settling := max(steady, zapcore.ErrorLevel)
	if steady < zapcore.WarnLevel {
		settling = steady
	}
	atomic := zap.NewAtomicLevelAt(settling)
	encoding := "json"
	if format == "console" {
		encoding = "console"
	}
	zl, err := zap.Config{
		Level:            atomic,
		Encoding:         encoding,
		EncoderConfig:    log.DefaultZapEncoderConfig,
		OutputPaths:      []string{"stderr"},
		ErrorOutputPaths: []string{"stderr"},
		DisableCaller:    true,
	}.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return &serverLogger{Logger: log.NewZapLogger(zl), level: atomic, steady: steady, settling: settling}, nil
}

// steadyState switches to the configured level once the server is ready.
func (l *serverLogger) steadyState() { l.level.SetLevel(l.steady) }

// settle hides start-up/shutdown noise again before stopping.
func (l *serverLogger) settle() { l.level.SetLevel(l.settling) }
