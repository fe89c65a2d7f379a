package tclient_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"deskcrm/internal/tclient"
)

// A Temporal address nobody answers on is named on the logger while Dial retries, with what
// to check, and in the error once it gives up.
func TestDialSaysWhileItRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var logged bytes.Buffer
	opts := client.Options{HostPort: addr, Namespace: "default",
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(&logged, nil)))}
	_, err = tclient.Dial(context.Background(), opts, 1500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "connect to Temporal at "+addr) {
		t.Errorf("err = %v", err)
	}
	if s := logged.String(); !strings.Contains(s, "Temporal not reachable yet") || !strings.Contains(s, "TEMPORAL_ADDRESS") || !strings.Contains(s, addr) {
		t.Errorf("logged while retrying: %q", s)
	}
}
