package e2e

// The fault matrix's world: both emulators with latency behind taps (faults_tap_test.go),
// Postgres and a dev server that the test may own (to stop and restart them), and a worker in
// this process or in a child process (to SIGKILL it).

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
	"deskcrm/emulator/seed"
	"deskcrm/emulator/zohoauth"
	"deskcrm/internal/pgtest"
	"deskcrm/internal/temporaltest"
	"deskcrm/schema"
	"deskcrm/store"
	"deskcrm/workflows"
)

// bigFaultsEnv turns on the few-thousand-record variants of the fault matrix (make test-faults).
const bigFaultsEnv = "DESKCRM_FAULTS"

// worldSize is how much data a fault-matrix world holds and how slow its APIs answer.
type worldSize struct {
	name               string
	contacts, accounts int // per side, before the ambiguous duplicates
	latency, jitter    time.Duration
	newRecords         int           // contacts each side gains during the bulk update
	outage             time.Duration // how long Postgres or the OAuth server stays down
	temporalOutage     time.Duration // how long the killed Temporal server stays down
	hooksDown          time.Duration // how long the webhook receiver stays down
	timeout            time.Duration // how long the first sync and the bulk update may take
}

var (
	smallWorld = worldSize{name: "small", contacts: 200, accounts: 50, latency: 10 * time.Millisecond, jitter: 5 * time.Millisecond,
		newRecords: 20, outage: 3 * time.Second, temporalOutage: time.Second, hooksDown: 10 * time.Second, timeout: 4 * time.Minute}
	bigWorld = worldSize{name: "big", contacts: 3000, accounts: 600, latency: 50 * time.Millisecond, jitter: 20 * time.Millisecond,
		newRecords: 200, outage: 12 * time.Second, temporalOutage: 10 * time.Second, hooksDown: time.Minute, timeout: 20 * time.Minute}
)

// seedNow is the reference time of every world's seed, so that the clean run and a faulted
// run hold the same records.
var seedNow = time.Now().UTC().Truncate(time.Second)

// forEachSize runs body for the small world, and for the big one when bigFaultsEnv is "big";
// otherwise the big variant is skipped saying how to run it.
func forEachSize(t *testing.T, body func(t *testing.T, size worldSize)) {
	t.Run(smallWorld.name, func(t *testing.T) { body(t, smallWorld) })
	t.Run(bigWorld.name, func(t *testing.T) {
		if os.Getenv(bigFaultsEnv) != "big" {
			t.Skipf("the %d+%d-records-per-side variant takes minutes: run it with `make test-faults` (%s=big)",
				bigWorld.contacts, bigWorld.accounts, bigFaultsEnv)
		}
		body(t, bigWorld)
	})
}

// worldOptions say which parts of a world the test owns.
type worldOptions struct {
	ownPostgres bool   // a cluster of the test's own, which it may stop
	ownTemporal bool   // a dev server on an SQLite file, which it may kill
	latency     bool   // the size's latency on both APIs
	poll        string // the sync's poll interval (default 1s)
}

// world is one fault-matrix world. Its embedded harness gives the workflow helpers (start,
// status, waitInitial, passes, failures, startWorker).
type world struct {
	*harness
	size         worldSize
	opts         worldOptions
	dbURL        string
	temporalAddr string
	pg           *pgtest.Server                 // set with ownPostgres
	dev          *temporaltest.PersistentServer // set with ownTemporal
	auth         *zohoauth.Store                // the OAuth token store both emulators check
	crmTap       *tap                           // in front of the CRM emulator and the accounts server
	deskTap      *tap                           // in front of the Desk emulator
	bg           sync.WaitGroup                 // fault actions still running
	mu           sync.Mutex
	child        *childWorker // the worker process, when the test runs one (guarded by mu)
}

// newWorld builds a world of the given size, seeds both emulators and returns it; no worker
// runs yet.
func newWorld(t *testing.T, size worldSize, o worldOptions) *world {
	t.Helper()
	w := &world{size: size, opts: o}
	var tc client.Client
	if o.ownTemporal {
		w.dev = temporaltest.StartPersistent(t)
		tc, w.temporalAddr = w.dev.Client(), w.dev.Address()
	} else {
		tc, w.temporalAddr = temporaltest.StartWithAddress(t)
	}
	var pool *pgxpool.Pool
	if o.ownPostgres {
		w.pg = pgtest.Own(t)
		w.dbURL, pool = w.pg.URL(), w.pg.Pool()
	} else {
		w.dbURL = pgtest.URL(t)
		var err error
		if pool, err = pgxpool.New(context.Background(), w.dbURL); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if _, err := schema.Migrate(context.Background(), pool); err != nil {
			t.Fatal(err)
		}
	}
	var lat, jit time.Duration
	if o.latency {
		lat, jit = size.latency, size.jitter
	}
	w.auth = zohoauth.NewStore(zohoauth.Config{})
	c := crmemu.New(crmemu.Config{Auth: w.auth, SearchLag: crmemu.NoSearchLag, NotifyWindow: 50 * time.Millisecond,
		Realism: realism.Config{Latency: lat, Jitter: jit, Seed: 7}})
	d := deskemu.New(deskemu.Config{Auth: w.auth, Realism: realism.New(realism.Config{Latency: lat, Jitter: jit, Seed: 11})})
	w.crmTap, w.deskTap = newTap(c), newTap(d)
	cs, ds := httptest.NewServer(w.crmTap), httptest.NewServer(w.deskTap)
	t.Cleanup(cs.Close)
	t.Cleanup(ds.Close)
	w.harness = &harness{t: t, tc: tc, st: store.New(pool), crm: c, desk: d, crmURL: cs.URL, deskURL: ds.URL,
		taskQueue: fmt.Sprintf("faults-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())}
	t.Cleanup(w.bg.Wait) // before the servers go: a fault action may still be restarting one
	if _, err := seed.Generate(seed.Options{Seed: 13, Now: seedNow, Desk: d, CRM: c,
		DeskContacts: size.contacts, DeskAccounts: size.accounts, CRMContacts: size.contacts, CRMAccounts: size.accounts}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return w
}

// background runs a fault action (kill, wait, restart) without holding up the call that
// triggered it; settle waits for every action to end.
func (w *world) background(what string, action func()) {
	w.bg.Add(1)
	go func() {
		defer w.bg.Done()
		w.t.Logf("fault: %s", what)
		action()
		w.t.Logf("fault over: %s", what)
	}()
}

// settle waits for the fault actions still running.
func (w *world) settle() { w.bg.Wait() }

// startSync starts the integration's sync ("e2e"), polling every second unless the world's
// options say otherwise.
func (w *world) startSync() {
	poll := w.opts.poll
	if poll == "" {
		poll = "1s"
	}
	w.start(workflows.SyncInput{IntegrationID: "e2e", PollInterval: poll})
}

// maxWritesPerRecord bounds how often the sync may write one Desk record in a run of the
// matrix. A retried write (lost response, a transient error) writes a record twice, rarely
// three times; a step that starts its whole batch again after every error writes each record
// once per attempt, for ever. Past the bound the run fails at once, naming the record, rather
// than waiting out its timeout.
const maxWritesPerRecord = 8

// maxAttempts bounds the attempts of one activity during the matrix. The faults cost a step a
// few attempts (a kill, an outage of a few seconds, an unlucky run of errors); by the 8th the
// retry interval has grown past a minute and the step is not going to end on its own.
const maxAttempts = 8

// livelocked reports a Desk record the sync has written more than maxWritesPerRecord times, or
// an activity past maxAttempts, with what its last attempt failed with.
func (w *world) livelocked() (bool, string) {
	for call, n := range w.deskTap.callsPerPath() {
		if n > maxWritesPerRecord && strings.HasPrefix(call, "PATCH ") {
			return true, fmt.Sprintf("the sync sent %s %d times: a step or pass starts its whole batch again after each error and makes no progress", call, n)
		}
	}
	for _, a := range w.pendingActivities() {
		if a.GetAttempt() >= maxAttempts {
			return true, fmt.Sprintf("activity %s is on attempt %d; the last failed with: %s", a.GetActivityType().GetName(),
				a.GetAttempt(), a.GetLastFailure().GetMessage())
		}
	}
	return false, ""
}

// pendingActivity describes the running activity of the given type, if any.
func (w *world) pendingActivity(activityType string) *workflowpb.PendingActivityInfo {
	for _, a := range w.pendingActivities() {
		if a.GetActivityType().GetName() == activityType {
			return a
		}
	}
	return nil
}

// pendingActivities describes the sync's running activities (none while the server is down).
func (w *world) pendingActivities() []*workflowpb.PendingActivityInfo {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := w.tc.DescribeWorkflow(ctx, workflows.WorkflowID("e2e"), "")
	if err != nil {
		return nil
	}
	return d.RawResponse.GetPendingActivities()
}
