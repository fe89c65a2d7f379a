package e2e

// The fault matrix's process faults: the worker SIGKILLed, the Temporal server SIGKILLed and
// restarted on its SQLite file, Postgres stopped (fast and immediate) and restarted. Each
// strikes at the sync's nth call of an endpoint, so it lands in the middle of a step.

import (
	"testing"
	"time"

	"deskcrm/internal/pgcluster"
)

// Endpoints the triggers count (the sync's calls only; the users' are not counted).
const (
	deskContacts     = "/api/v1/contacts"
	deskContact      = "/api/v1/contacts/{id}"
	deskContactsScan = "/api/v1/contacts/search"
	crmContacts      = "/crm/v8/Contacts"
)

// TestFaultsWorkerKilled kills the worker process with SIGKILL twice during the first sync
// (while it indexes Desk contacts, and while it creates contacts in Desk) and once during the
// bulk update (while a pass reads CRM's changes); a new worker process starts at once each
// time. The call that triggers a kill never gets its answer, so each kill lands exactly there.
func TestFaultsWorkerKilled(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		runFaultScenario(t, size, faultScenario{
			opts:    worldOptions{latency: true},
			workers: func(w *world) { w.startChild() },
			initial: func(w *world) {
				w.deskTap.dropAt("GET", deskContactsScan, 3, w.killChild)
				// The fifth create: before the first hundred are settled (see
				// TestWorkerKilledAfterCreatesKeepsCounterpartIDs for a kill after).
				w.deskTap.dropAt("POST", deskContacts, 5, w.killChild)
			},
			bulk: func(w *world) { w.crmTap.dropAt("GET", crmContacts, 3, w.killChild) },
		})
	})
}

// TestFaultsTemporalKilled kills the Temporal dev server with SIGKILL while the first sync
// creates contacts in Desk and again while the bulk update is carried to Desk; it is started
// again on the same SQLite file after the size's outage (small: 1 s, so that it is back before
// the running step's heartbeat timeout; big: 10 s, so that the step times out on the server
// while its worker still runs it, and runs again beside it).
func TestFaultsTemporalKilled(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		outage := func(w *world) func() {
			return func() {
				w.background("SIGKILL the Temporal server, restart it on its file after "+size.temporalOutage.String(), func() {
					w.dev.Kill()
					time.Sleep(size.temporalOutage)
					w.dev.Restart()
				})
			}
		}
		runFaultScenario(t, size, faultScenario{
			opts:    worldOptions{latency: true, ownTemporal: true},
			initial: func(w *world) { w.deskTap.at("POST", deskContacts, 5, outage(w)) },
			bulk:    func(w *world) { w.deskTap.at("PATCH", deskContact, 10, outage(w)) },
		})
	})
}

// TestFaultsPostgresRestarted stops Postgres during the first sync twice — with -m fast while
// Desk contacts are indexed, with -m immediate (a crash: recovery at the next start) while
// contacts are created in CRM — and with -m immediate during the bulk update; each time it
// starts again after the size's outage.
func TestFaultsPostgresRestarted(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		outage := func(w *world, mode pgcluster.StopMode) func() {
			return func() {
				w.background("stop Postgres -m "+string(mode)+", start it after "+size.outage.String(), func() {
					w.pg.Stop(mode)
					time.Sleep(size.outage)
					w.pg.Start()
				})
			}
		}
		runFaultScenario(t, size, faultScenario{
			opts: worldOptions{latency: true, ownPostgres: true},
			initial: func(w *world) {
				w.deskTap.at("GET", deskContactsScan, 3, outage(w, pgcluster.StopFast))
				w.crmTap.at("POST", crmContacts, 1, outage(w, pgcluster.StopImmediate))
			},
			bulk: func(w *world) { w.deskTap.at("PATCH", deskContact, 10, outage(w, pgcluster.StopImmediate)) },
		})
	})
}
