package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"deskcrm/activities"
)

// passInputs returns the inputs of the incremental passes started in [t0+from, t0+to), in
// order, as "module sides hints".
func (h *harness) passInputs(from, to time.Duration) []string {
	var out []string
	for _, s := range h.ordered() {
		in, ok := s.Input.(activities.IncrementalInput)
		if !ok || s.At.Before(t0.Add(from)) || !s.At.Before(t0.Add(to)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %v %v", in.Module, in.Sides, in.Hints))
	}
	return out
}

// A webhook's hint runs a pass of its module and side only (a contact's also reads its side's
// accounts first: the contact may point at an account whose hint has not come yet; the pass
// reads the other side's first changes too, activities.OtherSideChanges); sync-now, a
// malformed hint and the poll timer run a full pass of both modules and sides.
func TestAChangesSignalRunsAPassOfItsModuleAndSideOnly(t *testing.T) {
	tests := []struct {
		name    string
		signals []any // sent together
		want    []string
	}{
		{"a CRM contact", []any{ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c2", "c1"}, Operation: "update"}},
			[]string{"accounts [crm] map[]", "contacts [crm] map[crm:[c1 c2]]"}},
		{"a Desk account", []any{ChangesSignal{Source: "desk", Module: "accounts", IDs: []string{"a1"}, Operation: "insert"}},
			[]string{"accounts [desk] map[desk:[a1]]"}},
		{"a deletion: no ids, the side's deletions are read", []any{ChangesSignal{Source: "crm", Module: "accounts", IDs: []string{"a1"}, Operation: "delete"}},
			[]string{"accounts [crm] map[]"}},
		{"both modules, accounts first", []any{
			ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"},
			ChangesSignal{Source: "desk", Module: "accounts", IDs: []string{"a1"}, Operation: "update"}},
			[]string{"accounts [crm desk] map[desk:[a1]]", "contacts [crm] map[crm:[c1]]"}},
		{"both sides of a module", []any{
			ChangesSignal{Source: "desk", Module: "contacts", IDs: []string{"d1"}, Operation: "update"},
			ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"}},
			[]string{"accounts [crm desk] map[]", "contacts [crm desk] map[crm:[c1] desk:[d1]]"}},
		{"a malformed hint: a full pass", []any{ChangesSignal{Source: "erp", Module: "contacts", IDs: []string{"x"}}},
			[]string{"accounts [] map[]", "contacts [] map[]"}},
		{"sync-now: a full pass, with the hints", []any{
			ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"}, SignalSyncNow},
			[]string{"accounts [] map[]", "contacts [] map[crm:[c1]]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			// The signals come while paused, so that one pass takes them all.
			h.signal(5*time.Minute, SignalPause, nil)
			h.signal(11*time.Minute, SignalResume, nil)
			h.at(10*time.Minute, func() {
				for _, s := range tt.signals {
					if s == SignalSyncNow {
						h.env.SignalWorkflow(SignalSyncNow, nil)
						continue
					}
					h.env.SignalWorkflow(SignalChanges, s)
				}
			})
			var done Status
			h.at(20*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
			h.run(SyncInput{PollInterval: "1h"})

			assert.Equal(t, tt.want, h.passInputs(10*time.Minute, 20*time.Minute))
			assert.Equal(t, 1, done.Passes, "one pass")
			assert.Empty(t, done.Hinted)
			assert.Empty(t, done.Pending)
			assert.False(t, done.SyncRequested)
		})
	}
}

// Hints that come during a pass are read by it when their module's turn is still to come, else
// by one more pass of theirs.
func TestHintsDuringAPassAreCoalesced(t *testing.T) {
	h := newHarness(t)
	// The first pass's contacts take five minutes; 200 hints of Desk contacts arrive meanwhile.
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Contacts)).
		Return(incrementalResults[activities.Contacts], nil).After(5 * time.Minute).Once()
	h.signal(10*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"})
	for i := range 200 {
		h.signal(11*time.Minute+time.Duration(i)*time.Second, SignalChanges,
			ChangesSignal{Source: "desk", Module: "contacts", IDs: []string{fmt.Sprintf("d%02d", i%50)}, Operation: "update"})
	}
	// An account hinted during the contacts' pass: accounts' turn has passed, so one more pass.
	h.signal(12*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "accounts", IDs: []string{"a1"}, Operation: "update"})
	var during Status
	h.at(13*time.Minute, func() { during = h.status() })
	var done Status
	h.at(50*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	inputs := h.passInputs(10*time.Minute, 50*time.Minute)
	require.Len(t, inputs, 4, "%v", inputs)
	assert.Equal(t, "accounts [crm] map[]", inputs[0], "a contact's side's accounts go first")
	assert.Equal(t, "contacts [crm] map[crm:[c1]]", inputs[1])
	assert.Equal(t, "accounts [crm desk] map[crm:[a1]]", inputs[2], "the second pass: the accounts, then the Desk contacts")
	second := h.startsOf("IncrementalPass/contacts")[1].Input.(activities.IncrementalInput)
	assert.Equal(t, []string{"desk"}, second.Sides)
	assert.Len(t, second.Hints["desk"], 50, "deduplicated")
	assert.Equal(t, []string{"crm/accounts", "desk/accounts", "desk/contacts"}, during.Hinted)
	assert.Equal(t, 201+1, done.ChangesSignals)
	assert.Equal(t, 2, done.Passes)
	assert.Empty(t, done.Hinted)
}

// A hint that comes during the accounts' pass is read by the contacts' pass that follows in
// the same pass (the accounts of the contact's side, whose turn has passed, in one more).
func TestAHintForALaterModuleJoinsThePassUnderWay(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Accounts)).
		Return(incrementalResults[activities.Accounts], nil).After(5 * time.Minute).Once()
	h.signal(10*time.Minute, SignalChanges, ChangesSignal{Source: "desk", Module: "accounts", IDs: []string{"a1"}, Operation: "update"})
	h.signal(11*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"})
	var done Status
	h.at(30*time.Minute, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "1h"})

	assert.Equal(t, []string{"accounts [desk] map[desk:[a1]]", "contacts [crm] map[crm:[c1]]", "accounts [crm] map[]"},
		h.passInputs(10*time.Minute, 30*time.Minute))
	assert.Equal(t, 2, done.Passes)
}

// However often webhooks hint, a full pass of both modules and sides runs every poll
// interval: the sides no hint named are read too.
func TestAFullPassRunsEveryPollIntervalHoweverOftenHintsCome(t *testing.T) {
	h := newHarness(t)
	for m := 1; m < 35; m += 2 {
		h.signal(time.Duration(m)*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "contacts", IDs: []string{"c1"}, Operation: "update"})
	}
	h.cancelAt(35 * time.Minute)
	h.run(SyncInput{PollInterval: "10m"})

	var full []time.Duration
	for _, s := range h.startsOf("IncrementalPass/accounts") {
		if len(s.Input.(activities.IncrementalInput).Sides) == 0 { // a hinted contact's side's accounts otherwise
			full = append(full, s.At.Sub(t0))
		}
	}
	assert.Equal(t, []time.Duration{10 * time.Minute, 20 * time.Minute, 30 * time.Minute}, full)
	hinted := 0
	for _, s := range h.startsOf("IncrementalPass/contacts") {
		if len(s.Input.(activities.IncrementalInput).Sides) > 0 {
			hinted++
		}
	}
	assert.Equal(t, 17, hinted, "every hint ran its own pass")
}

// A hinted pass whose side had more changes than one pass reads runs another of that side.
func TestAHintedPassWithMoreRunsAgainForItsSide(t *testing.T) {
	h := newHarness(t)
	more := incrementalResults[activities.Contacts]
	more.More = true
	h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Contacts)).Return(more, nil).Once()
	h.signal(10*time.Minute, SignalChanges, ChangesSignal{Source: "desk", Module: "contacts", IDs: []string{"d1"}, Operation: "update"})
	h.cancelAt(20 * time.Minute)
	h.run(SyncInput{PollInterval: "1h"})
	assert.Equal(t, []string{"accounts [desk] map[]", "contacts [desk] map[desk:[d1]]", "contacts [desk] map[]"}, h.passInputs(10*time.Minute, 20*time.Minute))
}

// A hinted accounts pass that linked accounts (a rename fixed an ambiguous match) is followed
// by a contacts pass of its sides, which carries the contacts' references to them; one that
// linked none is not. The contacts waited for the next full pass.
func TestAnAccountsPassThatLinksRunsTheContactsPass(t *testing.T) {
	for _, tt := range []struct {
		name   string
		result activities.IncrementalResult
		want   []string
	}{
		{"matched", activities.IncrementalResult{Matched: 1}, []string{"accounts [crm] map[crm:[a1]]", "contacts [crm] map[]"}},
		{"created in Desk", activities.IncrementalResult{StepResult: activities.StepResult{CreatedInDesk: 1}}, []string{"accounts [crm] map[crm:[a1]]", "contacts [crm] map[]"}},
		{"updated only", incrementalResults[activities.Accounts], []string{"accounts [crm] map[crm:[a1]]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env.OnActivity(acts.IncrementalPass, mock.Anything, incrementalMatching(activities.Accounts)).Return(tt.result, nil).Once()
			h.signal(10*time.Minute, SignalChanges, ChangesSignal{Source: "crm", Module: "accounts", IDs: []string{"a1"}, Operation: "update"})
			h.cancelAt(20 * time.Minute)
			h.run(SyncInput{PollInterval: "1h"})
			assert.Equal(t, tt.want, h.passInputs(10*time.Minute, 20*time.Minute))
		})
	}
}
