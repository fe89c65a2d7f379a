// Package pgcluster runs a throwaway PostgreSQL cluster from the server binaries installed
// on the machine (Debian's postgresql package). Tests use it when DATABASE_URL is not set.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// User is the superuser the cluster is created with (trust authentication on loopback).
const User = "deskcrm"

// Cluster is a running PostgreSQL server owned by this process.
type Cluster struct {
	Dir    string
	Port   int
	opts   Options
	bindir string
	cred   *syscall.Credential
}

// Options tune a cluster. The zero value is the fastest: no fsync, and commits acknowledged
// before their WAL is written (synchronous_commit=off), so a crash of the server — a stop
// with StopImmediate — loses the last fraction of a second of commits.
type Options struct {
	// DurableCommits makes every acknowledged commit survive a crash of the server
	// (synchronous_commit=on, PostgreSQL's default), as a production server does; fsync stays
	// off, so they would not survive a crash of the machine. A test that crashes the server
	// under the code it tests needs it.
	DurableCommits bool
	// Settings are extra server settings, each "name=value" (passed as -c name=value), such
	// as the shared_buffers and max_wal_size a large database needs.
	Settings []string
}

// BinDir finds the directory holding initdb, pg_ctl and postgres.
func BinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(matches)))
	candidates = append(candidates, matches...)
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
				return dir, nil
			}
		}
	}
	return "", errors.New("no PostgreSQL server binaries found (looked at pg_config --bindir and /usr/lib/postgresql/*/bin): install them with `apt-get install postgresql` or set DATABASE_URL")
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeStablePort returns a free TCP port on 127.0.0.1 below the kernel's ephemeral port range,
// for a server that is stopped and started again on the same port. A port from FreePort (or
// any listener on port 0, such as httptest's) comes from the ephemeral range, and while the
// server is down the kernel may hand it to another test's listener; ports below the range are
// only ever taken by someone who asks for them by number.
func FreeStablePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const floor = 10000
	if low <= floor+100 {
		return FreePort() // an unusual range: settle for an ephemeral port
	}
	for range 200 {
		port := floor + rand.IntN(low-floor)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port found between %d and %d", floor, low)
}

// Start initialises dir if it holds no cluster yet and starts the server on 127.0.0.1:port,
// with the zero Options. PostgreSQL refuses to run as root, so as root it runs as the
// "postgres" system user.
func Start(ctx context.Context, dir string, port int) (*Cluster, error) {
	return StartWith(ctx, dir, port, Options{})
}

// StartWith is Start with options.
func StartWith(ctx context.Context, dir string, port int, opts Options) (*Cluster, error) {
	bindir, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Port: port, opts: opts, bindir: bindir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user to own the cluster: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		if err := c.run(ctx, "initdb", "-D", dir, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
			return nil, err
		}
	}
	if err := c.Restart(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Restart starts the server of a stopped cluster again, on the same data directory and port,
// and waits until it accepts connections (after crash recovery, when it was stopped
// immediately).
func (c *Cluster) Restart(ctx context.Context) error {
	commit := "off"
	if c.opts.DurableCommits {
		commit = "on"
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=%s -c full_page_writes=off -c max_connections=200",
		c.Port, c.Dir, commit)
	for _, kv := range c.opts.Settings {
		opts += " -c " + kv
	}
	return c.run(ctx, "pg_ctl", "-D", c.Dir, "-o", opts, "-l", filepath.Join(c.Dir, "server.log"), "-w", "-t", "60", "start")
}

// URL returns a connection URL for the named database.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, c.Port, database)
}

// StopMode is a shutdown mode of pg_ctl stop.
type StopMode string

// The shutdown modes (PostgreSQL docs, pg_ctl): smart waits for every client to disconnect;
// fast rolls back open transactions, disconnects the clients and shuts down cleanly;
// immediate aborts every server process at once, like a crash, so the next start runs
// crash recovery.
const (
	StopSmart     StopMode = "smart"
	StopFast      StopMode = "fast"
	StopImmediate StopMode = "immediate"
)

// Stop shuts the server down fast (open connections are closed).
func (c *Cluster) Stop() error { return c.StopWith(StopFast) }

// StopWith shuts the server down in the given mode and waits until it has exited.
func (c *Cluster) StopWith(mode StopMode) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.run(ctx, "pg_ctl", "-D", c.Dir, "-m", string(mode), "-w", "stop")
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.Dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	return nil
}
