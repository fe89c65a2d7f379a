package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"deskcrm/workflows"
)

func TestStatusShowsTheRunningStepsAndTheEstimate(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	st := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseInitial, Mode: "two-way", Step: 3,
		Steps:        make([]string, 12),
		RunningSteps: []string{"create-in-crm-accounts", "create-in-desk-accounts", "index-desk-contacts"},
		CurrentStep:  "create-in-crm-accounts",
		Estimate: &workflows.Estimate{AsOf: now, Finish: now.Add(26 * time.Hour), CreditResets: 1,
			CRM:   &workflows.EstimateCredits{Needed: 55, PerDay: 40, Today: 20, Resets: 1},
			Desk:  &workflows.EstimateCredits{Needed: 130},
			Basis: "records from the indexes and the matches"},
	}
	var out bytes.Buffer
	printStatus(&out, st, now)
	s := out.String()
	assert.Contains(t, s, "create-in-crm-accounts, create-in-desk-accounts, index-desk-contacts (3 of 12 done)")
	assert.Contains(t, s, "(in 26h0m0s), after 1 daily credit reset(s)")
	assert.Contains(t, s, "CRM 55 (40 a day, 20 today), Desk 130 (no daily limit known)")
	assert.Regexp(t, `estimate based on +records from the indexes and the matches`, s)
	assert.Equal(t, "create-in-crm-accounts +2", runningShort(st))

	st.Paused, st.Estimate = true, &workflows.Estimate{AsOf: now, Basis: "known once both sides of every module are indexed"}
	out.Reset()
	printStatus(&out, st, now)
	assert.Contains(t, out.String(), "steps on resume")
	assert.Regexp(t, `first sync ends +not known yet`, out.String())
}
