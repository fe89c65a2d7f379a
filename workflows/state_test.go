package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"deskcrm/activities"
	"deskcrm/store"
)

// payloadLimit is the size the continue-as-new input must stay under: half of the size at
// which Temporal starts warning about a payload (512 KiB), an eighth of the size at which it
// refuses one (2 MiB).
const payloadLimit = 256 << 10

// canInputSize returns the encoded size, in bytes, of the input a ContinueAsNewError carries.
func canInputSize(t *testing.T, err error) int {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %T: %v", err, err)
	return proto.Size(can.Input)
}

// longMessage is a failure message as long as Zoho's longest.
var longMessage = strings.Repeat("the value of a field is longer than the field allows; ", 40)

// failures returns n failures with the longest ids and messages.
func failures(from, n int) []store.Failure {
	out := make([]store.Failure, n)
	for i := range out {
		out[i] = store.Failure{ID: int64(1_000_000_000 + from + i), Module: activities.Contacts, Direction: activities.CRMToDesk,
			DeskID: fmt.Sprintf("%019d", from+i), CRMID: fmt.Sprintf("%019d", from+i), Code: "MANDATORY_NOT_FOUND",
			Message: longMessage, Attempts: 99, FirstAt: t0, LastAt: t0}
	}
	return out
}

// fullHistory is the largest history view Postgres returns.
func fullHistory(now time.Time) activities.HistoryResult {
	var res activities.HistoryResult
	for i := range HistoryNewest {
		res.Lines = append(res.Lines, store.RunLine{Time: now.Add(-time.Duration(i) * time.Minute), Runs: 1, Kind: "incremental",
			Module: activities.Contacts, Direction: activities.CRMToDesk, Added: 1_000_000, Updated: 1_000_000, Failed: 1_000_000})
	}
	for d := range 8 {
		for _, kind := range []string{"initial", "incremental", "retry"} {
			for _, m := range modules {
				for _, dir := range []string{activities.DeskToCRM, activities.CRMToDesk} {
					res.Lines = append(res.Lines, store.RunLine{Time: now.Truncate(24 * time.Hour).Add(-time.Duration(d) * 24 * time.Hour),
						DayTotal: true, Runs: 10_080, Kind: kind, Module: m, Direction: dir, Added: 1_000_000, Updated: 1_000_000, Failed: 1_000_000})
				}
			}
		}
	}
	return res
}

// Ten thousand passes with changes, failures and webhook signals, over runs that continue as
// new every thousand minutes: the continue-as-new input stays the same size, far under the
// limit.
func TestContinueAsNewInputStaysSmallOver10000Passes(t *testing.T) {
	const passesPerRun, wantPasses = 1000, 10_000
	in := SyncInput{IntegrationID: "acme", PollInterval: "1m", State: idleState(activities.ModeTwoWay)}
	start := t0
	var sizes []int
	for run := 0; in.State.Passes < wantPasses; run++ {
		require.Less(t, run, 20)
		h := newHarness(t)
		h.env.SetStartTime(start)
		h.env.OnActivity(acts.IncrementalPass, mock.Anything, mock.Anything).Return(
			func(_ context.Context, x activities.IncrementalInput) (activities.IncrementalResult, error) {
				r := incrementalResults[x.Module]
				r.CRMCursor = activities.Cursor{Position: start, Deleted: start}
				r.DeskCursor = r.CRMCursor
				if x.Module == activities.Contacts && len(x.Hints) > 0 {
					r.Failures = failures(run*1000, activities.MaxReportedFailures)
					r.FailedToDesk = len(r.Failures)
				}
				return r, nil
			})
		h.env.OnActivity(acts.FailureSummary, mock.Anything, mock.Anything).Return(
			activities.FailureSummary{Open: 1_000_000, Recent: failures(run*1000, maxKeptFailure)}, nil)
		h.env.OnActivity(acts.RunHistory, mock.Anything, mock.Anything).Return(fullHistory(start), nil)
		// A pass a minute on the poll timer; every 50 minutes webhooks report 50 changed
		// records, which start a pass of their own whose records fail.
		for i := range passesPerRun / 50 {
			ids := make([]string, 50)
			for j := range ids {
				ids[j] = fmt.Sprintf("%019d", run*100_000+i*50+j)
			}
			h.signal(time.Duration(50*i)*time.Minute+30*time.Second, SignalChanges,
				ChangesSignal{Source: activities.SideDesk, Module: activities.Contacts, IDs: ids, Operation: "update"})
		}
		h.at(time.Duration(passesPerRun)*time.Minute-30*time.Second, func() { h.env.SetContinueAsNewSuggested(true) })
		before := in.State.Passes
		h.run(in)

		sizes = append(sizes, canInputSize(t, h.env.GetWorkflowError()))
		in = canInput(t, h.env.GetWorkflowError())
		require.Greater(t, in.State.Passes, before+passesPerRun/2, "run %d", run)
		start = h.env.Now()
	}
	t.Logf("%d passes; the continue-as-new input after each run, in bytes: %v", in.State.Passes, sizes)
	for i, n := range sizes {
		assert.Less(t, n, payloadLimit, "run %d", i)
	}
	assert.LessOrEqual(t, sizes[len(sizes)-1], sizes[0]+1024, "the input does not grow with the passes")
	st := in.State
	assert.LessOrEqual(t, len(st.Runs), keptRuns)
	assert.LessOrEqual(t, len(st.Failures), maxKeptFailure)
	assert.Len(t, st.History, len(fullHistory(start).Lines))
}

// A state with every list at its bound still encodes far under the limit.
func TestStateAtEveryBoundFits(t *testing.T) {
	st := idleState(activities.ModeTwoWay)
	st.Failures = keptFailures(failures(0, 5*maxKeptFailure))
	overflow := false
	for _, key := range []string{"crm/contacts", "crm/accounts", "desk/contacts", "desk/accounts"} {
		side, module, _ := strings.Cut(key, "/")
		ids := make([]string, MaxPendingIDs+10)
		for i := range ids {
			ids[i] = fmt.Sprintf("%019d", i)
		}
		st.Pending = addPending(st.Pending, ChangesSignal{Source: side, Module: module, IDs: ids}, &overflow)
	}
	for i := range maxRetryIDs {
		st.RetryIDs = append(st.RetryIDs, int64(1_000_000_000_000+i))
	}
	for i := range keptRuns {
		st.Runs = append(st.Runs, RunSummary{Time: t0.Add(-time.Duration(i) * time.Minute), Kind: "incremental", Module: activities.Contacts,
			Direction: activities.CRMToDesk, Added: 1_000_000, Updated: 1_000_000, Failed: 1_000_000, Runs: 1})
	}
	for _, l := range fullHistory(t0).Lines {
		st.History = append(st.History, RunSummary{Time: l.Time, Kind: l.Kind, Module: l.Module, Direction: l.Direction,
			Added: l.Added, Updated: l.Updated, Failed: l.Failed, Runs: l.Runs, DayTotal: l.DayTotal})
	}
	st.Cursors = map[string]activities.Cursor{}
	for _, k := range []string{"accounts/crm", "accounts/desk", "contacts/crm", "contacts/desk"} {
		st.Cursors[k] = activities.Cursor{Position: t0, Deleted: t0}
	}
	// Preflight problems are bounded by the mapping's fields, not by the workflow: a large one.
	for i := range 60 {
		st.Problems = append(st.Problems, activities.PreflightProblem{Code: "TYPE_MISMATCH", Module: activities.Contacts,
			Desk: fmt.Sprintf("cf_custom_field_%d", i), CRM: fmt.Sprintf("Custom_Field_%d", i), Message: longMessage[:200]})
	}
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(SyncInput{IntegrationID: "acme", PollInterval: "1m", State: st})
	require.NoError(t, err)
	size := proto.Size(payloads)
	t.Logf("a state at every bound encodes to %d bytes", size)
	assert.Less(t, size, payloadLimit)
}

// The state an older version carried over continue-as-new (seven days of run lines, whole
// failure messages, fields since removed) starts a run and is cut to the bounds.
func TestOldStateIsCutToTheBounds(t *testing.T) {
	var runs []map[string]any
	for at := t0.Add(-HistoryKeep); at.Before(t0); at = at.Add(time.Minute) {
		runs = append(runs, map[string]any{"time": at, "kind": "incremental", "module": "contacts", "direction": "crm-to-desk", "added": 1})
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i] // newest first
	}
	old := map[string]any{"integrationId": "acme", "mode": "two-way", "phase": "idle", "step": 12, "initialDone": true,
		"initialStart": t0.Add(-30 * 24 * time.Hour), "progress": twoWayProgress(), "runs": runs, "failures": failures(0, 3),
		"someFieldSinceRemoved": true}
	b, err := json.Marshal(map[string]any{"integrationId": "acme", "pollInterval": "1h", "state": old})
	require.NoError(t, err)
	require.Greater(t, len(b), 500_000, "the old state is large")
	var in SyncInput
	require.NoError(t, json.Unmarshal(b, &in))

	h := newHarness(t)
	h.env.SetCurrentHistoryLength(2001)
	h.signal(10*time.Minute, SignalSyncNow, nil)
	h.run(in)
	next := canInput(t, h.env.GetWorkflowError())
	assert.Less(t, canInputSize(t, h.env.GetWorkflowError()), 64<<10)
	assert.Len(t, next.State.Runs, keptRuns)
	assert.Equal(t, "incremental", next.State.Runs[0].Kind)
	assert.Equal(t, t0.Add(10*time.Minute), next.State.Runs[0].Time.UTC())
	for _, f := range next.State.Failures {
		assert.LessOrEqual(t, len(f.Message), maxKeptMessage)
	}
	assert.True(t, next.State.InitialDone)
	assert.Equal(t, twoWayProgress()[activities.Contacts].Desk.Added+4, next.State.Progress[activities.Contacts].Desk.Added)
}

func TestCutMessageKeepsCharactersWhole(t *testing.T) {
	assert.Equal(t, "short", cutMessage("short"))
	long := strings.Repeat("é", maxKeptMessage) // two bytes each
	cut := cutMessage(long)
	assert.LessOrEqual(t, len(cut), maxKeptMessage)
	assert.True(t, strings.HasSuffix(cut, "…"))
	assert.True(t, json.Valid([]byte(fmt.Sprintf("%q", cut))))
	assert.Equal(t, strings.Repeat("é", (maxKeptMessage-len("…"))/2)+"…", cut)
}
