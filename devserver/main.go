// Command temporal-dev is a local Temporal development server with the Web UI,
// a stand-in for `temporal server start-dev` built from the server's own Go
// packages and SQLite persistence (in memory, or in a file with --db-filename).
//
// It accepts the arguments go.temporal.io/sdk/testsuite.StartDevServer passes
// to the official CLI:
//
//	temporal-dev server start-dev --ip 127.0.0.1 --port 7233 --namespace default \
//	    --search-attribute CustomerId=Keyword --dynamic-config-value k=v --headless
//
// The leading "server start-dev" words are optional. Once the frontend serves
// every namespace (and the UI answers, unless --headless) it prints the gRPC,
// HTTP API and UI addresses to stdout; logs go to stderr. SIGINT or SIGTERM
// stop it cleanly with exit status 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 2
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	logger, err := newServerLogger(o.LogLevel, o.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 1
	}
	began := time.Now()
	d, err := startDevServer(ctx, o, logger)
	if err != nil && ctx.Err() != nil {
		// SIGINT/SIGTERM while starting: a requested stop, not a failure.
		fmt.Fprintln(stderr, "temporal-dev: interrupted during start-up")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 1
	}
	logger.steadyState()
	printAddresses(stdout, o, d.ports, time.Since(began))

	var uiErr error
	select {
	case <-ctx.Done():
	case uiErr = <-d.uiErr: // nil channel when headless: never fires
		if uiErr == nil {
			uiErr = errors.New("web UI stopped unexpectedly")
		}
	}
	stopSignals() // a second Ctrl-C now kills the process the default way
	logger.settle()
	if err := d.stop(); err != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", err)
		return 1
	}
	if uiErr != nil {
		fmt.Fprintf(stderr, "temporal-dev: %v\n", uiErr)
		return 1
	}
	return 0
}

// printAddresses tells the user where everything is.
func printAddresses(w io.Writer, o options, p ports, took time.Duration) {
	fmt.Fprintf(w, "Temporal gRPC: %s\n", hostPort(o.IP, p.GRPC))
	fmt.Fprintf(w, "Temporal HTTP API: http://%s\n", hostPort(o.IP, p.HTTP))
	if !o.Headless {
		fmt.Fprintf(w, "Temporal UI: http://%s\n", hostPort(o.IP, p.UI))
	}
	store := "in memory"
	if o.DBFilename != "" {
		store = o.DBFilename
	}
	fmt.Fprintf(w, "Namespaces: %v; database: %s; ready in %s\n", o.Namespaces, store, took.Round(time.Millisecond))
}
