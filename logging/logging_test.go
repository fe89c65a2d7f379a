package logging

import (
	"errors"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"deskcrm/config"
)

func TestReportedFailuresAreInfo(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := TemporalWorker(zap.New(core))
	l.Error("Activity error.", "ActivityType", "ReportFailure", "Error", errors.New("contacts 1: AMBIGUOUS_MATCH"))
	l.Error("Activity error.", "ActivityType", "IndexCRM", "Error", errors.New("boom"))
	entries := logs.All()
	if len(entries) != 3 {
		t.Fatalf("got %d entries", len(entries))
	}
	if entries[0].Level != zapcore.InfoLevel || !strings.Contains(entries[0].Message, "record failed") {
		t.Errorf("report logged as %v %q, want info", entries[0].Level, entries[0].Message)
	}
	for _, f := range entries[0].Context {
		if strings.Contains(f.String, "AMBIGUOUS_MATCH") || f.Interface != nil {
			t.Errorf("the info line carries the failure's message (%v): it may quote customer data", f)
		}
	}
	if entries[1].Level != zapcore.DebugLevel {
		t.Errorf("the whole failure logged at %v, want debug", entries[1].Level)
	}
	if entries[2].Level != zapcore.ErrorLevel {
		t.Errorf("a real activity error logged at %v, want error", entries[2].Level)
	}
}

// Colours are for terminals: a log written to a file or a pipe carries no escape codes.
func TestNoColourOutsideATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stderr := os.Stderr
	os.Stderr = f // the logger writes to "stderr": here a file, as when the worker's output is redirected
	l, err := New(config.Log{Format: "console", Level: "info"})
	os.Stderr = stderr
	if err != nil {
		t.Fatal(err)
	}
	l.Warn("hello")
	_ = l.Sync()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "WARN") || strings.Contains(string(b), "\x1b[") {
		t.Errorf("log written to a file = %q, want WARN without escape codes", b)
	}
}
