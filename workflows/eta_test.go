package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"deskcrm/activities"
)

// etaState is what the steps of a two-way first sync reported, for the estimate: per step
// name, its size (-1: unknown), whether it is done or in flight, and what it measured.
type etaState map[string]etaStep

// input lays the steps out in the schedule's order with their prerequisites.
func (s etaState) input(now time.Time) etaInput {
	steps := initialSteps(activities.ModeTwoWay)
	prereq := prerequisites(steps, true)
	in := etaInput{Now: now}
	for i, x := range steps {
		e, ok := s[x.name()]
		if !ok {
			e = etaStep{Size: -1}
		}
		e.Kind, e.After = x.kind, prereq[i]
		in.Steps = append(in.Steps, e)
	}
	return in
}

// measuredAccounts is a first sync whose accounts are done and whose contacts are indexed
// and matched: the contacts' creates in CRM work on 40 records, in Desk on 30, their
// reconcile on 60 pairs. The accounts' steps measured 10 min a record for creates in CRM,
// 8 for creates in Desk, 2 for the reconcile.
func measuredAccounts() etaState {
	return etaState{
		"index-desk-accounts":     {Size: 10, Done: true, Ran: 10 * time.Minute, DeskCredits: 1},
		"index-crm-accounts":      {Size: 12, Done: true, Ran: 20 * time.Minute, CRMCredits: 2},
		"match-accounts":          {Size: 22, Done: true, Ran: 5 * time.Minute},
		"create-in-crm-accounts":  {Size: 3, Done: true, Ran: 30 * time.Minute, CRMCredits: 3, DeskCredits: 3},
		"create-in-desk-accounts": {Size: 5, Done: true, Ran: 40 * time.Minute, CRMCredits: 1, DeskCredits: 5},
		"reconcile-accounts":      {Size: 7, Done: true, Ran: 14 * time.Minute, CRMCredits: 1, DeskCredits: 7},
		"index-desk-contacts":     {Size: 100, Done: true, Ran: 10 * time.Minute, DeskCredits: 2},
		"index-crm-contacts":      {Size: 90, Done: true, Ran: 12 * time.Minute, CRMCredits: 1},
		"match-contacts":          {Size: 190, Done: true, Ran: 5 * time.Minute},
		"create-in-crm-contacts":  {Size: 40},
		"create-in-desk-contacts": {Size: 30},
		"reconcile-contacts":      {Size: 60},
	}
}

func TestEstimate(t *testing.T) {
	now := t0
	// The contacts' remaining steps: 400 min in CRM creates, 240 in Desk creates, 120 of
	// reconcile, side by side; CRM credits 40×1 + 30×0.2 + 60×1/7 ≈ 55, Desk 40 + 30 + 60 = 130.
	const work = 400 * time.Minute
	tests := []struct {
		name   string
		state  etaState
		change func(*etaInput)
		finish time.Time // zero: unknown
		resets int
		crm    *EstimateCredits
		desk   *EstimateCredits
		basis  []string
	}{
		{name: "the contacts not indexed yet",
			state: func() etaState {
				s := measuredAccounts()
				for _, n := range []string{"index-crm-contacts", "match-contacts", "create-in-crm-contacts", "create-in-desk-contacts", "reconcile-contacts"} {
					s[n] = etaStep{Size: -1}
				}
				return s
			}(),
			basis: []string{"known once both sides of every module are indexed"}},
		{name: "every kind measured, no daily limit known", state: measuredAccounts(),
			finish: now.Add(work), crm: &EstimateCredits{Needed: 55}, desk: &EstimateCredits{Needed: 130},
			basis: []string{"time per record measured", "no daily CRM allowance known (ZOHO_CRM_DAILY_CREDITS)",
				"no daily Desk allowance known (ZOHO_DESK_DAILY_CREDITS)"}},
		{name: "daily allowances: the rest needs two resets",
			state: measuredAccounts(),
			change: func(in *etaInput) {
				in.CRM = etaCredits{Daily: 50}             // 40 a day: 55 needs one reset
				in.Desk = etaCredits{Daily: 100, Left: 50} // 80 a day, 30 today: 130 needs two
			},
			finish: now.Add(2*day + work), resets: 2,
			crm:  &EstimateCredits{Needed: 55, PerDay: 40, Today: 40, Resets: 1},
			desk: &EstimateCredits{Needed: 130, PerDay: 80, Today: 30, Resets: 2},
			basis: []string{"CRM allows 40 credits a day (the allowance less the reserve left to other integrations), 40 today",
				"Desk allows 80 credits a day", "each credit reset counted as a whole day"}},
		{name: "enough credits today: no reset",
			state:  measuredAccounts(),
			change: func(in *etaInput) { in.CRM, in.Desk = etaCredits{Daily: 1000}, etaCredits{Daily: 1000, Left: 500} },
			finish: now.Add(work),
			crm:    &EstimateCredits{Needed: 55, PerDay: 800, Today: 800},
			desk:   &EstimateCredits{Needed: 130, PerDay: 800, Today: 300}},
		{name: "waiting for the credits: the first reset is the wait's end",
			state: measuredAccounts(),
			change: func(in *etaInput) {
				in.Desk = etaCredits{Daily: 1000}
				in.CreditsUntil = now.Add(3 * time.Hour)
			},
			finish: now.Add(3*time.Hour + work), resets: 1,
			crm:  &EstimateCredits{Needed: 55},
			desk: &EstimateCredits{Needed: 130, PerDay: 800, Today: 0, Resets: 1}},
		{name: "a step in flight has done its share",
			state: func() etaState {
				s := measuredAccounts()
				s["create-in-crm-contacts"] = etaStep{Size: 40, InFlight: true, Ran: 100 * time.Minute} // 300 of 400 min left
				return s
			}(),
			finish: now.Add(300 * time.Minute), crm: &EstimateCredits{Needed: 45}, desk: &EstimateCredits{Needed: 120}},
		{name: "a kind not measured yet: credits from Zoho's costs, no finish",
			state: func() etaState {
				s := measuredAccounts()
				s["create-in-crm-accounts"] = etaStep{Size: 3, InFlight: true, Ran: time.Minute}
				s["create-in-desk-accounts"] = etaStep{Size: 5, InFlight: true, Ran: time.Minute}
				s["reconcile-accounts"] = etaStep{Size: 7, InFlight: true, Ran: time.Minute}
				return s
			}(),
			// CRM: 43×0.11 + 35×0.1 + 67×0.1 = 14.93; Desk: 43×1 + 35×1.03 + 67×1 = 146.05.
			crm: &EstimateCredits{Needed: 15}, desk: &EstimateCredits{Needed: 146},
			basis: []string{"Zoho's published costs for create-in-crm, create-in-desk, reconcile",
				"the finish is known once a step of each kind has finished (create-in-crm, create-in-desk, reconcile not yet)"}},
		{name: "before the contacts' match every record counts as a create",
			state: func() etaState {
				s := measuredAccounts()
				s["match-contacts"] = etaStep{Size: 190}
				s["create-in-crm-contacts"] = etaStep{Size: 100}
				s["create-in-desk-contacts"] = etaStep{Size: 90}
				s["reconcile-contacts"] = etaStep{Size: 0}
				return s
			}(),
			// The match at the accounts' 5 min for 22 records, then 100 CRM creates at 10 min;
			// CRM 100×1 + 90×0.2, Desk 100×1 + 90×1.
			finish: now.Add(190*(5*time.Minute/22) + 1000*time.Minute), crm: &EstimateCredits{Needed: 100 + 18}, desk: &EstimateCredits{Needed: 100 + 90},
			basis: []string{"before a module's match, every indexed record counts as a create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.state.input(now)
			if tt.change != nil {
				tt.change(&in)
			}
			got := estimate(in)
			assert.Equal(t, now, got.AsOf)
			assert.Equal(t, tt.finish, got.Finish)
			if !tt.finish.IsZero() {
				assert.Equal(t, int64((tt.finish.Sub(now)-waitOf(tt.resets, in))/time.Second), got.WorkSeconds, "the finish is the work after the waits")
			}
			assert.Equal(t, tt.resets, got.CreditResets)
			assert.Equal(t, tt.crm, got.CRM)
			assert.Equal(t, tt.desk, got.Desk)
			for _, b := range tt.basis {
				assert.Contains(t, got.Basis, b)
			}
		})
	}
}

// waitOf is the credits wait the cases above count.
func waitOf(resets int, in etaInput) time.Duration {
	switch {
	case in.CreditsUntil.After(in.Now):
		return in.CreditsUntil.Sub(in.Now) + time.Duration(max(0, resets-1))*day
	default:
		return time.Duration(resets) * day
	}
}

func TestDailyCredits(t *testing.T) {
	tests := []struct {
		name    string
		needed  int64
		c       etaCredits
		waiting bool
		want    EstimateCredits
	}{
		{"no allowance known", 1_000_000, etaCredits{}, false, EstimateCredits{Needed: 1_000_000}},
		{"fits today, nothing said", 79, etaCredits{Daily: 100}, false, EstimateCredits{Needed: 79, PerDay: 80, Today: 80}},
		{"exactly a day", 80, etaCredits{Daily: 100}, false, EstimateCredits{Needed: 80, PerDay: 80, Today: 80}},
		{"one more credit: a reset", 81, etaCredits{Daily: 100}, false, EstimateCredits{Needed: 81, PerDay: 80, Today: 80, Resets: 1}},
		{"what the server said is left, less the reserve", 50, etaCredits{Daily: 100, Left: 40}, false,
			EstimateCredits{Needed: 50, PerDay: 80, Today: 20, Resets: 1}},
		{"less left than the reserve: nothing today", 160, etaCredits{Daily: 100, Left: 10}, false,
			EstimateCredits{Needed: 160, PerDay: 80, Today: 0, Resets: 2}},
		{"waiting: nothing today", 1, etaCredits{Daily: 100, Left: 90}, true, EstimateCredits{Needed: 1, PerDay: 80, Resets: 1}},
		{"a million records at Desk Professional's 75,000 a day", 1_030_000, etaCredits{Daily: 75_000}, false,
			EstimateCredits{Needed: 1_030_000, PerDay: 60_000, Today: 60_000, Resets: 17}},
		{"the reserve the activities reported (DESKCRM_CREDIT_RESERVE=50)", 100, etaCredits{Daily: 100, Left: 70, Reserve: 50, ReserveKnown: true}, false,
			EstimateCredits{Needed: 100, PerDay: 50, Today: 20, Resets: 2}},
		{"no reserve (DESKCRM_CREDIT_RESERVE=0): the whole day", 100, etaCredits{Daily: 100, Left: 70, ReserveKnown: true}, false,
			EstimateCredits{Needed: 100, PerDay: 100, Today: 70, Resets: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, &tt.want, dailyCredits(tt.needed, tt.c, tt.waiting))
		})
	}
}

// The status shows the estimate from what the steps reported: none before the contacts are
// indexed, then the finish along the contacts' writes measured on the accounts', a day later
// when the CRM credits a server said are left do not cover them.
func TestStatusEstimatesTheFirstSyncsEnd(t *testing.T) {
	h := newHarness(t)
	r := stepResults["IndexCRM/contacts"]
	r.CRMDailyCredits, r.CRMCreditsLeft = 50, 30 // 40 a day, 20 usable today
	h.env.OnActivity(acts.IndexCRM, mock.Anything, stepMatching(activities.Contacts)).Return(r, nil).After(12 * time.Minute)
	h.stepsTake(stepDurations)
	var early, late, done Status
	h.at(30*time.Minute, func() { early = h.status() })
	h.at(66*time.Minute, func() { late = h.status() })
	h.at(3*time.Hour, func() { done = h.status(); h.env.CancelWorkflow() })
	h.run(SyncInput{PollInterval: "6h"})

	require.NotNil(t, early.Estimate)
	assert.True(t, early.Estimate.Finish.IsZero())
	assert.Contains(t, early.Estimate.Basis, "indexed")

	// At minute 66 the contacts' writes have run a minute: creates in CRM take 40 records × 10
	// min (the accounts' 30 min for 3), so 399 min are left; ~22 CRM credits exceed the 20
	// left today: one reset.
	e := late.Estimate
	require.NotNil(t, e)
	assert.Equal(t, t0.Add(66*time.Minute), e.AsOf.UTC())
	assert.Equal(t, int64(399*60), e.WorkSeconds)
	assert.Equal(t, 1, e.CreditResets)
	assert.Equal(t, t0.Add(66*time.Minute+day+399*time.Minute), e.Finish.UTC())
	assert.Equal(t, int64(40), e.CRM.PerDay)
	assert.Equal(t, int64(20), e.CRM.Today)
	assert.Zero(t, e.Desk.PerDay, "no Desk allowance reported")
	assert.Nil(t, done.Estimate)
}
