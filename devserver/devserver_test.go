package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// runMainEnv makes the test binary act as temporal-dev, so the integration
// test exercises the real process (flags, stdout, signals, exit status)
// without a separate `go build`.
const runMainEnv = "TEMPORAL_DEV_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// lockedBuffer is a bytes.Buffer safe for the process's stderr copier and
// the test to use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devProcess is a temporal-dev child process.
type devProcess struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	// lines holds stdout lines up to and including the readiness summary.
	lines []string
}

// freeTestPort reserves nothing; it just finds a currently unused port.
func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDev runs the test binary as temporal-dev with args and waits until it
// prints its readiness summary.
func startDev(t *testing.T, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"server", "start-dev"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p := &devProcess{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start temporal-dev: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				<-p.done
				t.Fatalf("temporal-dev exited before ready (%v); stderr:\n%s", cmd.ProcessState, p.stderr)
			}
			p.lines = append(p.lines, line)
			if strings.HasPrefix(line, "Namespaces:") {
				go func() { // keep draining so the child never blocks on stdout
					for range lines {
					}
				}()
				return p
			}
		case <-deadline:
			t.Fatalf("temporal-dev not ready after 90s; stdout so far %q; stderr:\n%s", p.lines, p.stderr)
		}
	}
}

// stopWith sends sig and requires a clean exit with status 0.
func (p *devProcess) stopWith(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("temporal-dev did not exit within 60s of %v; stderr:\n%s", sig, p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status after %v = %d, want 0; stderr:\n%s", sig, code, p.stderr)
	}
}

// httpGet returns the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// requireSearchAttributes checks that ns has each attribute with its type.
func requireSearchAttributes(t *testing.T, c client.Client, ns string, want map[string]enumspb.IndexedValueType) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("list search attributes of %s: %v", ns, err)
	}
	for name, typ := range want {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("namespace %s: search attribute %s = %v (present %v), want %v; all custom: %v",
				ns, name, got, ok, typ, resp.GetCustomAttributes())
		}
	}
}

// requireNamespaces checks that every namespace can be described.
func requireNamespaces(t *testing.T, c client.Client, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ns := range names {
		if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
			t.Errorf("describe namespace %s: %v", ns, err)
		}
	}
}

func dial(t *testing.T, hostPort string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "orders"})
	if err != nil {
		t.Fatalf("dial %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestDevServerLifecycle starts the dev server with the UI on a new database
// file, checks gRPC, search attributes, the HTTP API and the UI, stops it with
// SIGINT, then restarts it headless on the same file with one more search
// attribute and stops it with SIGTERM.
func TestDevServerLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Temporal servers (~20s); skipped with -short")
	}
	db := filepath.Join(t.TempDir(), "dev.db")
	const kw = enumspb.INDEXED_VALUE_TYPE_KEYWORD

	// First run: new database file, UI on.
	grpcPort, httpPort, uiPort := freeTestPort(t), freeTestPort(t), freeTestPort(t)
	grpcAddr := "127.0.0.1:" + strconv.Itoa(grpcPort)
	p := startDev(t,
		"--ip", "127.0.0.1", "--port", strconv.Itoa(grpcPort),
		"--http-port", strconv.Itoa(httpPort), "--ui-port", strconv.Itoa(uiPort),
		"--namespace", "orders", "--search-attribute", "CustomerId=Keyword",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		"--db-filename", db, "--log-level", "error", "--log-format", "json",
	)
	wantUI := "Temporal UI: http://127.0.0.1:" + strconv.Itoa(uiPort)
	if !strings.Contains(strings.Join(p.lines, "\n"), wantUI) {
		t.Errorf("stdout %q lacks %q", p.lines, wantUI)
	}

	c := dial(t, grpcAddr)
	requireNamespaces(t, c, "default", "orders")
	requireSearchAttributes(t, c, "orders", map[string]enumspb.IndexedValueType{"CustomerId": kw})
	requireSearchAttributes(t, c, "default", map[string]enumspb.IndexedValueType{"CustomerId": kw})

	status, body := httpGet(t, "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/api/v1/namespaces")
	if status != http.StatusOK || !strings.Contains(body, `"orders"`) {
		t.Errorf("HTTP API /api/v1/namespaces = %d %.300s, want 200 listing orders", status, body)
	}
	if status, _ := httpGet(t, "http://127.0.0.1:"+strconv.Itoa(uiPort)+"/"); status != http.StatusOK {
		t.Errorf("UI / = %d, want 200", status)
	}
	c.Close()
	p.stopWith(t, syscall.SIGINT)

	// Second run: same file, headless, new ports, one more search attribute.
	grpcPort, httpPort, uiPort = freeTestPort(t), freeTestPort(t), freeTestPort(t)
	grpcAddr = "127.0.0.1:" + strconv.Itoa(grpcPort)
	p = startDev(t,
		"--port", strconv.Itoa(grpcPort), "--http-port", strconv.Itoa(httpPort), "--ui-port", strconv.Itoa(uiPort),
		"--namespace", "orders", "--search-attribute", "CustomerId=Keyword", "--search-attribute", "Region=Keyword",
		"--db-filename", db, "--headless", "--log-level", "error",
	)
	if strings.Contains(strings.Join(p.lines, "\n"), "Temporal UI:") {
		t.Errorf("headless run printed a UI address: %q", p.lines)
	}
	c = dial(t, grpcAddr)
	requireNamespaces(t, c, "default", "orders")
	requireSearchAttributes(t, c, "orders", map[string]enumspb.IndexedValueType{"CustomerId": kw, "Region": kw})
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(uiPort), time.Second); err == nil {
		conn.Close()
		t.Errorf("headless run is listening on the UI port %d", uiPort)
	}
	c.Close()
	p.stopWith(t, syscall.SIGTERM)
}

// TestDevServerRejectsBadFlags checks the process exits 2 with a message,
// without starting anything.
func TestDevServerRejectsBadFlags(t *testing.T) {
	cmd := exec.Command(os.Args[0], "server", "start-dev", "--search-attribute", "Broken")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit status 2; output: %s", err, out)
	}
	if !strings.Contains(string(out), "want Name=Type") {
		t.Errorf("output %q lacks the reason", out)
	}
}
