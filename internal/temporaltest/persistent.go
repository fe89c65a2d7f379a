package temporaltest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"deskcrm/internal/pgcluster"
	"deskcrm/internal/tclient"
	"deskcrm/workflows"
)

// PersistentServer is a dev server process of one test's own that persists to an SQLite file, so that
// the test can kill it (SIGKILL: no shutdown of any kind) and start it again on the same file
// and port, as an operator restarts a crashed Temporal server. Clients made before the kill
// reconnect by themselves once it is back.
type PersistentServer struct {
	t      testing.TB
	bin    string
	args   []string
	addr   string
	client client.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
	logs *bytes.Buffer // stderr of every run, for failure messages
}

// StartPersistent starts a dev server on an SQLite file in t's temporary directory, on a
// gRPC port that stays free while it is down, and returns it once it serves; deskcrm's search
// attributes are registered. It is killed when t ends.
func StartPersistent(t testing.TB) *PersistentServer {
	t.Helper()
	bin, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	port, err := pgcluster.FreeStablePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &PersistentServer{t: t, bin: bin, addr: "127.0.0.1:" + strconv.Itoa(port), logs: &bytes.Buffer{}}
	s.args = []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--headless",
		"--db-filename", filepath.Join(t.TempDir(), "temporal.db"), "--log-level", "error",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false"}
	for sa := range workflows.SearchAttributeDeclarations().GetUntypedValues() {
		s.args = append(s.args, "--search-attribute", sa.GetName()+"="+sa.GetValueType().String())
	}
	t.Cleanup(s.kill)
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: s.addr, Namespace: "default",
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatalf("dial dev server: %v", err)
	}
	t.Cleanup(c.Close)
	s.client = c
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := tclient.EnsureSearchAttributes(ctx, c, "default", workflows.SearchAttributes()); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	return s
}

// Client is a client of the server; it outlives kills and restarts.
func (s *PersistentServer) Client() client.Client { return s.client }

// Address is the server's gRPC host:port.
func (s *PersistentServer) Address() string { return s.addr }

// Kill kills the server process with SIGKILL and waits until it has exited.
func (s *PersistentServer) Kill() {
	s.kill()
}

// Restart starts the killed server again on the same SQLite file and port and waits until it
// serves. A failure is reported with t.Errorf (it may be called from any goroutine).
func (s *PersistentServer) Restart() {
	if err := s.run(); err != nil {
		s.t.Errorf("restart dev server: %v", err)
	}
}

func (s *PersistentServer) kill() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exit
}

// run starts the process and waits for the line it prints once every namespace is served.
func (s *PersistentServer) run() error {
	cmd := exec.Command(s.bin, s.args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.mu.Lock()
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: s.logs}
	s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exit := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.HasPrefix(sc.Text(), "Temporal gRPC:") {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		close(exit)
	}()
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-exit:
		return fmt.Errorf("dev server exited during start-up:\n%s", s.stderr())
	case <-time.After(2 * time.Minute):
		s.kill()
		return fmt.Errorf("dev server not ready within 2 minutes:\n%s", s.stderr())
	}
}

func (s *PersistentServer) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// lockedWriter serialises writes to w with mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
