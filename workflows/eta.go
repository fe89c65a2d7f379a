package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"deskcrm/activities"
)

// The status' estimate of when the first sync ends. The model, kept simple on purpose:
//
//   - Size: each remaining step works on a number of records known from the indexes and the
//     match: a module's creates in CRM work on its Desk records the match did not link, its
//     creates in Desk on its CRM records the match did not link, its reconcile on the pairs
//     the match linked (before the match, every indexed record counts as a create: an upper
//     bound). Before every side of every module is indexed, there is no estimate.
//   - Rates: credits and time per record are measured on the finished steps of the same kind
//     (the accounts' steps measure the contacts'); credits per record of a kind not finished
//     yet come from Zoho's published costs (defaultCredits); its time is unknown, and so is
//     the finish until a step of that kind has finished.
//   - A step in flight has done the share of its work that its running time is of its
//     estimated time.
//   - Time: the longest chain of remaining steps, each waiting for those it waits for in the
//     schedule (prerequisites).
//   - Credits: a day allows the configured allowance less the reserve left to the org's other
//     integrations (creditReservePercent); today allows what the servers last said is left
//     less the reserve (a full day when they said nothing), nothing while the sync waits for
//     credits. When an API's remaining credits exceed today's, each further day's allowance
//     takes a reset, and each reset is counted as a whole day (the first one ends when the
//     credits wait ends, while the sync waits): the finish is an upper bound.

// creditReservePercent is the share of a daily allowance the sync leaves to the org's other
// integrations when the activities have not reported theirs: DESKCRM_CREDIT_RESERVE's default.
const creditReservePercent = 20

// defaultCredits are the credits one record costs on each API in a step of a kind no step
// has finished yet, from Zoho's published costs (../shared/reference/zoho-api.md A10, Desk
// credits) and the calls the writer makes (activities.PlanFirstSync counts the same):
//
//   - create in CRM: the key looked up in CRM (1 credit per 100 keys) and the insert (1 per 10
//     records) on CRM, and the new CRM id written to the Desk record (1 call, 1 credit);
//   - create in Desk: the create (1 credit) and the key looked up (a search, 3 credits per 100
//     keys) on Desk, and the new Desk id written to the CRM record (1 per 10 records);
//   - reconcile: at most an update of each record of the pair (CRM 1 per 10, Desk 1).
var defaultCredits = map[stepKind]struct{ crm, desk float64 }{
	stepCreateInCRM:  {crm: 0.01 + 0.1, desk: 1},
	stepCreateInDesk: {crm: 0.1, desk: 1 + 0.03},
	stepReconcile:    {crm: 0.1, desk: 1},
}

// day is the time a credit reset is counted for.
const day = 24 * time.Hour

// etaStep is one first-sync step as the estimate sees it.
type etaStep struct {
	Kind stepKind
	// Size is the records it works on (-1: not known yet).
	Size int
	Done bool
	// InFlight: it runs now; Ran is how long its attempts ran, the one in flight included.
	InFlight bool
	Ran      time.Duration
	// CRMCredits and DeskCredits are the credits a finished step spent.
	CRMCredits, DeskCredits int
	// After lists the indexes of the steps it waits for.
	After []int
}

// etaCredits is one API's daily credits: the allowance (0: no daily limit known) and what
// the server last said is left today (0: not said).
type etaCredits struct {
	Daily, Left int64
	// Reserve is the credits of each day left to other integrations, if ReserveKnown
	// (otherwise creditReservePercent of Daily is assumed).
	Reserve      int64
	ReserveKnown bool
}

// reserve returns the credits of each day the sync leaves untouched.
func (c etaCredits) reserve() int64 {
	if c.ReserveKnown {
		return c.Reserve
	}
	return c.Daily * creditReservePercent / 100
}

// etaInput is everything the estimate is made from.
type etaInput struct {
	Now   time.Time
	Steps []etaStep
	CRM   etaCredits
	Desk  etaCredits
	// CreditsUntil: the sync waits for the daily credits until then (zero: not waiting).
	CreditsUntil time.Time
}

// Estimate is when the first sync should end and what it is based on.
type Estimate struct {
	// AsOf is the workflow's time the estimate was made at (the time of its last event).
	AsOf time.Time `json:"asOf"`
	// Finish is when the first sync should end, an upper bound (zero: not known yet, see Basis).
	Finish time.Time `json:"finish,omitzero"`
	// WorkSeconds is the time the remaining steps take at the measured rates, waits left out.
	WorkSeconds int64 `json:"workSeconds,omitempty"`
	// CreditResets counts the daily credit resets the rest needs to wait for.
	CreditResets int `json:"creditResets,omitempty"`
	// CRM and Desk are each API's credits, once the sizes are known.
	CRM  *EstimateCredits `json:"crm,omitempty"`
	Desk *EstimateCredits `json:"desk,omitempty"`
	// Basis says in words what the estimate is based on.
	Basis string `json:"basis"`
}

// EstimateCredits is one API's credits in the estimate.
type EstimateCredits struct {
	// Needed is what the remaining steps should spend.
	Needed int64 `json:"needed"`
	// PerDay is the allowance less the reserve (0: no daily limit known); Today what is
	// usable today.
	PerDay int64 `json:"perDay,omitempty"`
	Today  int64 `json:"today,omitempty"`
	// Resets is the daily resets this API needs to wait for.
	Resets int `json:"resets,omitempty"`
}

// rate is what one record of a step kind costs.
type rate struct {
	perRecord   time.Duration // 0 with timed false: not measured
	timed       bool
	crm, desk   float64
	defaultCost bool // credits from defaultCredits
}

// estimate is the model above: a pure function of what the steps reported.
func estimate(in etaInput) Estimate {
	out := Estimate{AsOf: in.Now}
	for _, x := range in.Steps {
		if !x.Done && x.Size < 0 {
			out.Basis = "known once both sides of every module are indexed (the contacts are indexed while the accounts are written)"
			return out
		}
	}
	rates := measuredRates(in.Steps)
	finish := make([]time.Duration, len(in.Steps)) // from now, along the chain of prerequisites
	timeKnown, matched := true, true
	var crm, desk float64
	var untimed, defaulted []string
	for i, x := range in.Steps {
		for _, j := range x.After {
			finish[i] = max(finish[i], finish[j])
		}
		if x.Done {
			continue
		}
		if x.Kind == stepMatch {
			matched = false
		}
		r := rates[x.Kind]
		left := 1.0
		if x.Size > 0 && r.timed {
			est := time.Duration(x.Size) * r.perRecord
			remaining := max(0, est-x.Ran)
			if est > 0 {
				left = float64(remaining) / float64(est)
			}
			finish[i] += remaining
		} else if x.Size > 0 && !slices.Contains(untimed, string(x.Kind)) {
			timeKnown = false
			untimed = append(untimed, string(x.Kind))
		}
		if x.Size > 0 && r.defaultCost && !slices.Contains(defaulted, string(x.Kind)) {
			defaulted = append(defaulted, string(x.Kind))
		}
		crm += float64(x.Size) * r.crm * left
		desk += float64(x.Size) * r.desk * left
	}
	waiting := in.CreditsUntil.After(in.Now)
	out.CRM = dailyCredits(int64(crm+0.5), in.CRM, waiting)
	out.Desk = dailyCredits(int64(desk+0.5), in.Desk, waiting)
	out.CreditResets = max(out.CRM.Resets, out.Desk.Resets)
	var wait time.Duration
	if out.CreditResets > 0 {
		first := day
		if waiting {
			first = in.CreditsUntil.Sub(in.Now)
		}
		wait = first + time.Duration(out.CreditResets-1)*day
	} else if waiting {
		wait = in.CreditsUntil.Sub(in.Now)
	}
	if timeKnown {
		work := slices.Max(append(finish, 0))
		out.WorkSeconds = int64(work / time.Second)
		out.Finish = in.Now.Add(wait + work)
	}
	out.Basis = basis(matched, defaulted, untimed, out)
	return out
}

// measuredRates returns the rates of each step kind: measured on its finished steps of a
// known size, else credits from defaultCredits and an unknown time.
func measuredRates(steps []etaStep) map[stepKind]rate {
	type sum struct {
		ran       time.Duration
		size      int
		crm, desk int
	}
	sums := map[stepKind]*sum{}
	for _, x := range steps {
		if !x.Done || x.Size <= 0 {
			continue
		}
		if sums[x.Kind] == nil {
			sums[x.Kind] = &sum{}
		}
		s := sums[x.Kind]
		s.ran, s.size, s.crm, s.desk = s.ran+x.Ran, s.size+x.Size, s.crm+x.CRMCredits, s.desk+x.DeskCredits
	}
	out := map[stepKind]rate{}
	for _, k := range []stepKind{stepIndexDesk, stepIndexCRM, stepMatch, stepCreateInCRM, stepCreateInDesk, stepReconcile} {
		if s := sums[k]; s != nil {
			out[k] = rate{perRecord: s.ran / time.Duration(s.size), timed: true,
				crm: float64(s.crm) / float64(s.size), desk: float64(s.desk) / float64(s.size)}
			continue
		}
		d, ok := defaultCredits[k]
		out[k] = rate{crm: d.crm, desk: d.desk, defaultCost: ok}
	}
	return out
}

// dailyCredits compares the credits an API still needs with what its allowance gives today
// and per day, and counts the resets to wait for.
func dailyCredits(needed int64, c etaCredits, waiting bool) *EstimateCredits {
	out := &EstimateCredits{Needed: needed}
	reserve := c.reserve()
	out.PerDay = max(0, c.Daily-reserve)
	if out.PerDay == 0 {
		return out
	}
	switch {
	case waiting:
		out.Today = 0
	case c.Left > 0:
		out.Today = max(0, c.Left-reserve)
	default:
		out.Today = out.PerDay
	}
	if needed > out.Today {
		out.Resets = int((needed - out.Today + out.PerDay - 1) / out.PerDay)
	}
	return out
}

// basis says what the estimate rests on, in words.
func basis(matched bool, defaulted, untimed []string, e Estimate) string {
	parts := []string{"records from the indexes and the matches"}
	if !matched {
		parts[0] += " (before a module's match, every indexed record counts as a create)"
	}
	credits := "credits per record measured on the finished steps of each kind"
	if len(defaulted) > 0 {
		credits += ", Zoho's published costs for " + strings.Join(defaulted, ", ")
	}
	parts = append(parts, credits)
	if len(untimed) > 0 {
		parts = append(parts, "the finish is known once a step of each kind has finished ("+strings.Join(untimed, ", ")+" not yet)")
	} else {
		parts = append(parts, "time per record measured on the finished steps of each kind, along the longest chain of remaining steps")
	}
	for _, a := range []struct {
		name, env string
		c         *EstimateCredits
	}{{"CRM", "ZOHO_CRM_DAILY_CREDITS", e.CRM}, {"Desk", "ZOHO_DESK_DAILY_CREDITS", e.Desk}} {
		if a.c.PerDay == 0 {
			parts = append(parts, fmt.Sprintf("no daily %s allowance known (%s): no wait for its resets counted", a.name, a.env))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s allows %d credits a day (the allowance less the reserve left to other integrations), %d today",
			a.name, a.c.PerDay, a.c.Today))
	}
	if e.CreditResets > 0 {
		parts = append(parts, "each credit reset counted as a whole day")
	}
	return strings.Join(parts, "; ")
}

// estimateInput gathers the estimate's input from the state: the steps with their sizes and
// measures, those in flight, and the newest view of the credits (what is left only when said
// in the last day).
func (s *syncImpl) estimateInput(now time.Time) etaInput {
	done := map[string]bool{}
	if s.overlap {
		for _, n := range s.st.Done {
			done[n] = true
		}
	} else {
		for _, x := range s.steps[:min(s.st.Step, len(s.steps))] {
			done[x.name()] = true
		}
	}
	in := etaInput{Now: now, CreditsUntil: s.creditsUntil,
		CRM:  etaCredits{Daily: s.st.Credits.CRMDaily, Reserve: s.st.Credits.CRMReserve, ReserveKnown: s.st.Credits.ReserveReported},
		Desk: etaCredits{Daily: s.st.Credits.DeskDaily, Reserve: s.st.Credits.DeskReserve, ReserveKnown: s.st.Credits.ReserveReported}}
	if now.Sub(s.st.Credits.At) < day {
		in.CRM.Left, in.Desk.Left = s.st.Credits.CRMLeft, s.st.Credits.DeskLeft
	}
	prereq := prerequisites(s.steps, s.overlap)
	for i, x := range s.steps {
		m := s.st.Measured[x.name()]
		e := etaStep{Kind: x.kind, Size: s.stepSize(x, done), Done: done[x.name()], Ran: m.Ran,
			CRMCredits: m.CRMCredits, DeskCredits: m.DeskCredits, After: prereq[i]}
		if k := slices.IndexFunc(s.running, func(r runningStep) bool { return r.name == x.name() }); k >= 0 {
			e.InFlight, e.Ran = true, e.Ran+now.Sub(s.running[k].since)
		}
		in.Steps = append(in.Steps, e)
	}
	return in
}

// stepSize is the records a first-sync step works on, as the model above says (-1: not known).
func (s *syncImpl) stepSize(x step, done map[string]bool) int {
	p := s.st.Progress[x.module]
	desk, crm := done[string(stepIndexDesk)+"-"+x.module], done[string(stepIndexCRM)+"-"+x.module]
	matchName := string(stepMatch) + "-" + x.module
	matched := 0
	if done[matchName] {
		m, ok := s.st.Measured[matchName]
		matched = m.Linked
		if !ok { // matched before the steps were measured: what the creates did not link
			matched = max(0, p.Linked-p.CRM.Added-p.Desk.Added)
		}
	}
	switch {
	case x.kind == stepIndexDesk && desk:
		return p.Desk.Indexed
	case x.kind == stepIndexCRM && crm:
		return p.CRM.Indexed
	case x.kind == stepMatch && desk && crm:
		return p.Desk.Indexed + p.CRM.Indexed
	case x.kind == stepCreateInCRM && desk:
		return max(0, p.Desk.Indexed-matched)
	case x.kind == stepCreateInDesk && crm:
		return max(0, p.CRM.Indexed-matched)
	case x.kind == stepReconcile && desk && crm:
		return matched
	}
	return -1
}

// measure adds what one attempt of a first-sync step measured: how long it ran, and for a
// success its credits and the pairs it linked.
func (s *syncImpl) measure(x step, ran time.Duration, r activities.StepResult, ok bool) {
	if s.st.Measured == nil {
		s.st.Measured = map[string]StepMeasure{}
	}
	m := s.st.Measured[x.name()]
	m.Ran += ran
	if ok {
		m.CRMCredits, m.DeskCredits, m.Linked = r.CRMCredits, r.DeskCredits, r.Linked
	}
	s.st.Measured[x.name()] = m
}

// noteCredits keeps the newest view of the day's credits an activity reported.
func (s *syncImpl) noteCredits(ctx workflow.Context, r activities.StepResult) {
	c := &s.st.Credits
	if r.CRMDailyCredits > 0 {
		c.CRMDaily = r.CRMDailyCredits
	}
	if r.DeskDailyCredits > 0 {
		c.DeskDaily = r.DeskDailyCredits
	}
	if r.CreditReserveReported {
		c.CRMReserve, c.DeskReserve, c.ReserveReported = r.CRMCreditReserve, r.DeskCreditReserve, true
	}
	if r.CRMCreditsLeft > 0 || r.DeskCreditsLeft > 0 {
		c.CRMLeft, c.DeskLeft, c.At = r.CRMCreditsLeft, r.DeskCreditsLeft, workflow.Now(ctx)
	}
}
