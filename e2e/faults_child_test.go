package e2e

// A worker in a child process, so that a test can SIGKILL it as an operator's OOM killer or a
// lost machine would: no graceful stop, no last heartbeat, no failure reported. The child is
// this test binary run again with childWorkerEnv set; TestMain hands it to runChildWorker.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/store"
	"deskcrm/workflows"
)

// childWorkerEnv carries a childConfig as JSON to the child process.
const childWorkerEnv = "DESKCRM_E2E_CHILD_WORKER"

// childConfig is what the child worker connects to.
type childConfig struct {
	TemporalAddress string `json:"temporalAddress"`
	TaskQueue       string `json:"taskQueue"`
	DatabaseURL     string `json:"databaseUrl"`
	CRMURL          string `json:"crmUrl"`
	DeskURL         string `json:"deskUrl"`
}

// runChildWorker is the child process: a worker built as the harness builds one (activities.New
// and worker.New), running until it is killed. It prints "ready" once it polls.
func runChildWorker(cfgJSON string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 2
	}
	logger, _ := zap.NewDevelopment()
	ctx := context.Background()
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 1
	}
	acts, err := activities.New(ctx, activities.Config{Store: st, Logger: logger,
		Zoho: config.Zoho{DataCenter: "com", CRMURL: cfg.CRMURL, DeskURL: cfg.DeskURL, AccountsURL: cfg.CRMURL,
			CRMConcurrency: 10, DeskConcurrency: 10}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 1
	}
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Namespace: "default"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 1
	}
	w := worker.New(c, cfg.TaskQueue, worker.Options{Interceptors: activities.WorkerInterceptors()})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 1
	}
	fmt.Println("ready")
	<-worker.InterruptCh()
	w.Stop()
	return 0
}

// childWorker is a running child worker process.
type childWorker struct {
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    strings.Builder // its output, the last 64 KiB
}

// startChild runs a worker process for the world and waits until it polls; it becomes the
// world's child (see restartChild).
func (w *world) startChild() {
	w.t.Helper()
	cw, err := w.spawnChild()
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.child = cw
	w.mu.Unlock()
}

// killChild SIGKILLs the world's worker process, waits until it is gone, and starts another
// in the background, as a supervisor would. It may run in any goroutine.
func (w *world) killChild() {
	w.mu.Lock()
	old := w.child
	w.mu.Unlock()
	w.t.Logf("fault: SIGKILL the worker process %d", old.cmd.Process.Pid)
	old.kill()
	w.background("start a new worker process", func() {
		cw, err := w.spawnChild()
		if err != nil {
			w.t.Errorf("restart the worker: %v", err)
			return
		}
		w.mu.Lock()
		w.child = cw
		w.mu.Unlock()
	})
}

// spawnChild starts a worker process and waits until it polls.
func (w *world) spawnChild() (*childWorker, error) {
	cfg, _ := json.Marshal(childConfig{TemporalAddress: w.temporalAddr, TaskQueue: w.taskQueue, DatabaseURL: w.dbURL,
		CRMURL: w.crmURL, DeskURL: w.deskURL})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childWorkerEnv+"="+string(cfg))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	cw := &childWorker{cmd: cmd, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child worker: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			if !signalled && sc.Text() == "ready" {
				close(ready)
				signalled = true
			}
			cw.append(sc.Text())
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(cw.exited)
	}()
	w.t.Cleanup(func() {
		cw.kill()
		if w.t.Failed() {
			w.t.Logf("child worker %d output (tail):\n%s", cmd.Process.Pid, cw.output())
		}
	})
	select {
	case <-ready:
		return cw, nil
	case <-cw.exited:
		return nil, fmt.Errorf("child worker exited during start-up:\n%s", cw.output())
	case <-time.After(time.Minute):
		cw.kill()
		return nil, fmt.Errorf("child worker not ready within a minute:\n%s", cw.output())
	}
}

func (cw *childWorker) append(line string) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.log.WriteString(line)
	cw.log.WriteByte('\n')
	if cw.log.Len() > 128<<10 {
		s := cw.log.String()
		cw.log.Reset()
		cw.log.WriteString(s[len(s)-64<<10:])
	}
}

func (cw *childWorker) output() string {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	return cw.log.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (cw *childWorker) kill() {
	_ = cw.cmd.Process.Kill()
	<-cw.exited
}
