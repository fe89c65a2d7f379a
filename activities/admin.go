package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"deskcrm/store"
)

// ReportFailure fails on purpose with a record's failure code and message, so that each
// failed record appears as a failed activity in the workflow history.
func (a *Activities) ReportFailure(ctx context.Context, f store.Failure) error {
	ids := f.DeskID
	if f.CRMID != "" {
		if ids != "" {
			ids += " / "
		}
		ids += "CRM " + f.CRMID
	} else {
		ids = "Desk " + ids
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s %s (%s, failure #%d): %s: %s",
		f.Module, ids, f.Direction, f.ID, f.Code, f.Message), ErrRecordFailed, nil, f)
}

// FailureSummary returns the number of open failures and the newest ones.
func (a *Activities) FailureSummary(ctx context.Context, integrationID string) (FailureSummary, error) {
	fs, total, err := a.Store.OpenFailures(ctx, integrationID, 100)
	if err != nil {
		return FailureSummary{}, err
	}
	sum := FailureSummary{Open: total, Recent: fs, Links: map[string]int{}}
	if sum.ByDirection, err = a.Store.OpenFailuresByDirection(ctx, integrationID); err != nil {
		return FailureSummary{}, err
	}
	for _, m := range []string{Accounts, Contacts} {
		if sum.Links[m], err = a.Store.LinkCount(ctx, integrationID, m); err != nil {
			return FailureSummary{}, err
		}
	}
	return sum, nil
}

// MarkRetry lets the next pass try the records of the given failures again.
func (a *Activities) MarkRetry(ctx context.Context, in RetryInput) (RetryResult, error) {
	n, err := a.Store.MarkRetrying(ctx, in.IntegrationID, in.IDs)
	return RetryResult{Marked: n}, err
}

// RecordRuns appends finished runs to the history table.
func (a *Activities) RecordRuns(ctx context.Context, in RunsInput) error {
	for _, r := range in.Runs {
		if _, err := a.Store.RecordRun(ctx, in.IntegrationID, r); err != nil {
			return err
		}
	}
	return nil
}

// Subscriber keeps an integration's CRM notification channel and Desk webhooks in place.
type Subscriber interface {
	Subscribe(ctx context.Context, integrationID string) error
}

// EnsureWebhooks subscribes the integration to CRM notifications and Desk webhooks pointed at
// this worker's receiver (idempotent). Without a subscriber configured it does nothing.
func (a *Activities) EnsureWebhooks(ctx context.Context, integrationID string) error {
	if a.Webhooks == nil {
		return nil
	}
	return a.Webhooks.Subscribe(ctx, integrationID)
}

// SetMode stores the integration's sync mode in Postgres, keeping its look-back. Runs started
// before the workflow recorded its mode with RecordMode still call it.
func (a *Activities) SetMode(ctx context.Context, in ModeInput) error {
	_, err := a.Store.RecordMode(ctx, in.IntegrationID, in.Mode, 0)
	return err
}
