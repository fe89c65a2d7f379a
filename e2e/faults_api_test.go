package e2e

// The fault matrix's API faults: both Zoho APIs answering 5xx, 429, losing responses and
// resetting connections at once, and Zoho's OAuth server refusing to refresh tokens for a while.

import (
	"fmt"
	"testing"
	"time"

	"deskcrm/emulator/realism"
)

// chaos is the mix of faults the matrix injects into every call of both APIs: 5% 5xx, 5% 429,
// 2% lost responses (the call is carried out, the answer never arrives), 1% reset connections.
var chaos = []realism.Fault{
	{Kind: realism.FaultStatus, Status: 500, Rate: 0.025},
	{Kind: realism.FaultStatus, Status: 503, Rate: 0.025},
	{Kind: realism.FaultStatus, Status: 429, Rate: 0.05},
	{Kind: realism.FaultLost, Rate: 0.02},
	{Kind: realism.FaultReset, Rate: 0.01},
}

// TestFaultsAPIChaos runs the first sync and the bulk update with chaos on every call of both
// APIs (the users' calls too: they try again, as people do). The emulators draw the faults from
// seeded generators.
func TestFaultsAPIChaos(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		runFaultScenario(t, size, faultScenario{
			opts: worldOptions{latency: true},
			initial: func(w *world) {
				for _, e := range []*realism.Engine{w.crm.Realism(), w.desk.Realism()} {
					for _, f := range chaos {
						if _, err := e.AddFault(f); err != nil {
							t.Fatal(err)
						}
					}
				}
			},
			verify: func(t *testing.T, w *world) {
				// Each kind must have struck; CRM takes 100 records a call and makes too few
				// calls for each of its rules to be sure to fire, so the kinds are counted over
				// both APIs.
				total := map[string]int{}
				for name, e := range map[string]*realism.Engine{"CRM": w.crm.Realism(), "Desk": w.desk.Realism()} {
					n := injected(e)
					for k, v := range n {
						total[k] += v
					}
					t.Logf("%s: %d calls, faults injected: %v", name, e.Calls().Total, n)
				}
				for k, v := range total {
					if v == 0 {
						t.Errorf("no %s fault struck: the test did not exercise it", k)
					}
				}
			},
		})
	})
}

// injected lists how often each fault fired.
func injected(e *realism.Engine) map[string]int {
	out := map[string]int{}
	for _, f := range e.Faults() {
		k := string(f.Kind)
		if f.Status != 0 {
			k = fmt.Sprintf("status %d", f.Status)
		}
		out[k] += f.Injected
	}
	return out
}

// TestFaultsOAuthRefreshFailing expires every access token and takes Zoho's token endpoint
// down (503s and cut connections by turns) for the size's outage, while the first sync
// creates contacts in CRM and again during the bulk update; then it comes back.
func TestFaultsOAuthRefreshFailing(t *testing.T) {
	t.Parallel()
	forEachSize(t, func(t *testing.T, size worldSize) {
		outage := func(w *world) func() {
			return func() {
				w.background("expire the tokens, token endpoint down for "+size.outage.String(), func() {
					w.crmTap.accountsDown.Store(true)
					w.auth.ExpireAll()
					time.Sleep(size.outage)
					w.crmTap.accountsDown.Store(false)
				})
			}
		}
		runFaultScenario(t, size, faultScenario{
			opts:    worldOptions{latency: true},
			initial: func(w *world) { w.crmTap.at("POST", crmContacts, 1, outage(w)) },
			bulk:    func(w *world) { w.deskTap.at("PATCH", deskContact, 10, outage(w)) },
			verify: func(t *testing.T, w *world) {
				if n := w.crmTap.refused.Load(); n < 2 {
					t.Errorf("the token endpoint refused %d refreshes, want several: the outage was not exercised", n)
				}
			},
		})
	})
}
