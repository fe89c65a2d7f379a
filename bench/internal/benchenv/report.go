package benchenv

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"deskcrm/emulator/realism"
	"deskcrm/workflows"
)

// Calls counts the Zoho API calls and credits in a call log, leaving out OAuth and the
// emulators' admin paths.
type Calls struct {
	Total   int
	Credits int64
	// Detail lists the calls per endpoint ("GET /crm/v8/Contacts ×12, ...").
	Detail string
}

// APICalls counts the API calls of a call log.
func APICalls(s realism.Stats) Calls {
	var c Calls
	var parts []string
	for ep, st := range s.Endpoints {
		if strings.Contains(ep, "/oauth/") || strings.Contains(ep, "/_emulator/") {
			continue
		}
		c.Total += st.Calls
		c.Credits += st.Credits
		parts = append(parts, fmt.Sprintf("%s ×%d", ep, st.Calls))
	}
	sort.Strings(parts)
	c.Detail = strings.Join(parts, ", ")
	return c
}

// MinimumCalls is the fewest calls the page, batch and lookup limits allow for what a first
// sync did, per module:
//
//   - CRM: the field metadata, one count, pages of 200 (or, past the Bulk Read threshold,
//     one job, one poll and one download per 200,000 records), creates of 100, existence
//     lookups of 100 values for the records it created in Desk, and one write of 100 per
//     linked CRM record that existed (its Desk_ID, with any values, in one update);
//   - Desk: the field metadata, pages of 100, lookups of 100 values for the records created
//     in CRM, and one call per linked Desk record (created, or updated with its cf_crm_id and
//     any values at once).
func MinimumCalls(st workflows.Status, bulkThreshold int) (crmMin, deskMin int) {
	ceil := func(n, d int) int { return (n + d - 1) / d }
	for _, m := range []string{"accounts", "contacts"} {
		p := st.Progress[m]
		index := max(1, ceil(p.CRM.Indexed, 200))
		if bulkThreshold >= 0 && p.CRM.Indexed > bulkThreshold {
			index = 3 * ceil(p.CRM.Indexed, 200000)
		}
		crmMin += 1 + 1 + index + ceil(p.CRM.Added, 100) + ceil(p.Desk.Added, 100) + ceil(p.Linked-p.CRM.Added, 100)
		deskMin += 1 + max(1, ceil(p.Desk.Indexed, 100)) + ceil(p.CRM.Added, 100) + p.Linked
	}
	return crmMin, deskMin
}

// Ratio is a/b (0 when b is 0).
func Ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// StepTimes sums, per activity type, the time from scheduling to completion over every run of
// the workflow: where the wall time went. With BENCH_TIMELINE set it prints each event.
func StepTimes(ctx context.Context, tc client.Client, id string) (string, error) {
	total := map[string]time.Duration{}
	err := eachRun(ctx, tc, id, func(runID string) error {
		scheduled := map[int64]time.Time{}
		types := map[int64]string{}
		it := tc.GetWorkflowHistory(ctx, id, runID, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			if os.Getenv("BENCH_TIMELINE") != "" {
				fmt.Println(ev.GetEventTime().AsTime().Format("15:04:05.000"), ev.GetEventType(), ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[ev.GetEventId()] = ev.GetEventTime().AsTime()
				types[ev.GetEventId()] = a.GetActivityType().GetName()
			}
			var sched int64
			if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
				sched = a.GetScheduledEventId()
			}
			if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
				sched = a.GetScheduledEventId()
			}
			if sched != 0 {
				total[types[sched]] += ev.GetEventTime().AsTime().Sub(scheduled[sched])
			}
		}
		return nil
	})
	var parts []string
	for t, d := range total {
		parts = append(parts, fmt.Sprintf("%s %s", t, d.Round(time.Millisecond)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", "), err
}

// LargestHistory returns the events of the workflow's largest run and how many runs its
// continue-as-new chain holds.
func LargestHistory(ctx context.Context, tc client.Client, id string) (maxEvents, runs int, err error) {
	err = eachRun(ctx, tc, id, func(runID string) error {
		runs++
		n := 0
		it := tc.GetWorkflowHistory(ctx, id, runID, false, 0)
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				return err
			}
			n++
		}
		maxEvents = max(maxEvents, n)
		return nil
	})
	return maxEvents, runs, err
}

// eachRun calls fn for each run of the workflow's continue-as-new chain, latest first.
func eachRun(ctx context.Context, tc client.Client, id string, fn func(runID string) error) error {
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for runID := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId(); runID != "" && !seen[runID]; {
		seen[runID] = true
		if err := fn(runID); err != nil {
			return err
		}
		it := tc.GetWorkflowHistory(ctx, id, runID, false, 0)
		if !it.HasNext() {
			return nil
		}
		ev, err := it.Next()
		if err != nil {
			return err
		}
		runID = ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	return nil
}

// Edition is a Zoho edition's daily credit allowance for a number of users (CRM) or agents
// (Desk): base + per-user × users (zoho-api.md A10 and the Desk table after it).
type Edition struct {
	Name              string
	CRMBase, CRMPer   int64
	DeskBase, DeskPer int64
}

// Editions are the paid editions both products share.
var Editions = []Edition{
	{Name: "Standard", CRMBase: 50000, CRMPer: 250, DeskBase: 50000, DeskPer: 250},
	{Name: "Professional", CRMBase: 50000, CRMPer: 500, DeskBase: 75000, DeskPer: 500},
	{Name: "Enterprise", CRMBase: 50000, CRMPer: 1000, DeskBase: 100000, DeskPer: 1000},
}

// CreditDays returns, per edition, the days a sync that spends crm and desk credits takes at
// the daily allowance of users users and agents, with reserve percent of each day's credits
// left untouched: "Standard 3.2 days (Desk), ...".
func CreditDays(crm, desk int64, users int, reserve int) string {
	var parts []string
	for _, e := range Editions {
		usable := func(base, per int64) float64 { return float64(base+per*int64(users)) * float64(100-reserve) / 100 }
		c, d := float64(crm)/usable(e.CRMBase, e.CRMPer), float64(desk)/usable(e.DeskBase, e.DeskPer)
		bound := "CRM"
		if d > c {
			bound = "Desk"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f days (%s)", e.Name, max(c, d), bound))
	}
	return strings.Join(parts, ", ")
}

// Timeline lists the activities the workflow's latest run scheduled after since: each one's
// type, when it was scheduled, started and closed (seconds after since).
func Timeline(ctx context.Context, tc client.Client, id string, since time.Time) (string, error) {
	type row struct {
		name                       string
		scheduled, started, closed float64
	}
	rows := map[int64]*row{}
	var order []int64
	off := func(t time.Time) float64 { return t.Sub(since).Seconds() }
	it := tc.GetWorkflowHistory(ctx, id, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", err
		}
		at := ev.GetEventTime().AsTime()
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && at.After(since) {
			rows[ev.GetEventId()] = &row{name: a.GetActivityType().GetName(), scheduled: off(at)}
			order = append(order, ev.GetEventId())
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && rows[a.GetScheduledEventId()] != nil {
			rows[a.GetScheduledEventId()].started = off(at)
		}
		var sched int64
		switch {
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			sched = ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
		case ev.GetActivityTaskFailedEventAttributes() != nil:
			sched = ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
		case ev.GetActivityTaskCanceledEventAttributes() != nil:
			sched = ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()
		case ev.GetActivityTaskTimedOutEventAttributes() != nil:
			sched = ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
		}
		if r := rows[sched]; r != nil {
			r.closed = off(at)
		}
	}
	var b strings.Builder
	for _, id := range order {
		r := rows[id]
		fmt.Fprintf(&b, "    %-18s scheduled %7.3fs  started %7.3fs  closed %7.3fs\n", r.name, r.scheduled, r.started, r.closed)
	}
	return b.String(), nil
}
