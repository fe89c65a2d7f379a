package activities

import (
	"context"
	"time"

	"deskcrm/store"
)

// RecordModeInput is the mode and look-back the sync workflow holds for an integration.
type RecordModeInput struct {
	IntegrationID string `json:"integrationId"`
	// Mode is two-way, one-way-crm-to-desk or legacy-import.
	Mode string `json:"mode"`
	// LookbackDays is the first sync's look-back; 0 keeps the stored one.
	LookbackDays int `json:"lookbackDays,omitempty"`
}

// RecordMode copies the workflow's mode and look-back to Postgres, where the worker's HTTP
// handlers and the starter read them. The workflow is authoritative: it calls this at every
// run's start and at every mode change, and the stored values are overwritten. A missing (or
// deleted) integration is created.
func (a *Activities) RecordMode(ctx context.Context, in RecordModeInput) error {
	_, err := a.Store.RecordMode(ctx, in.IntegrationID, in.Mode, time.Duration(in.LookbackDays)*24*time.Hour)
	return err
}

// HistoryInput asks for an integration's run history since a time.
type HistoryInput struct {
	IntegrationID string    `json:"integrationId"`
	Since         time.Time `json:"since"`
	// Newest is how many of the newest runs come one line each; older runs are summed per UTC
	// day, kind, module and direction.
	Newest int `json:"newest"`
}

// HistoryResult is the bounded history view, newest first.
type HistoryResult struct {
	Lines []store.RunLine `json:"lines,omitempty"`
}

// RunHistory reads the run history from Postgres as a bounded view (see store.RunHistory):
// the workflow keeps it to answer its history query.
func (a *Activities) RunHistory(ctx context.Context, in HistoryInput) (HistoryResult, error) {
	lines, err := a.Store.RunHistory(ctx, in.IntegrationID, in.Since, in.Newest)
	return HistoryResult{Lines: lines}, err
}
