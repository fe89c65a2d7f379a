package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"deskcrm/store"
)

// Match links the indexed records whose match key (email for contacts, account name for
// accounts) names exactly one record on each side, and logs AMBIGUOUS_MATCH for records whose
// key several candidates share and CRM_ID_ALREADY_MAPPED for duplicates of a linked record.
func (a *Activities) Match(ctx context.Context, in StepInput) (StepResult, error) {
	linked, ambiguous, err := a.Store.MatchIndexed(ctx, in.IntegrationID, in.Module)
	if err != nil {
		return StepResult{}, err
	}
	o := &outcome{res: StepResult{Linked: linked}}
	what := "email"
	if in.Module == Accounts {
		what = "account name"
	}
	for _, x := range ambiguous {
		f := store.Failure{Module: in.Module, Direction: DeskToCRM, Code: "AMBIGUOUS_MATCH"}
		if x.Side == "crm" {
			f.Direction, f.CRMID = CRMToDesk, x.RecordID
		} else {
			f.DeskID = x.RecordID
		}
		if x.AlreadyMapped {
			f.Code = "CRM_ID_ALREADY_MAPPED"
			f.Message = fmt.Sprintf("another %s record with the same %s is already linked to its counterpart; this one is a duplicate and was not synced", x.Side, what)
		} else {
			f.Message = fmt.Sprintf("%d record(s) on the other side and %d on this side share this %s; not matched to avoid a guess — make the %s unique, then retry", x.Candidates, x.Peers, what, what)
		}
		o.fail(f)
	}
	o.res.FailedToCRM, o.res.FailedToDesk = 0, 0
	for _, f := range o.failures {
		if f.Direction == DeskToCRM {
			o.res.FailedToCRM++
		} else {
			o.res.FailedToDesk++
		}
	}
	return a.flush(ctx, in.IntegrationID, o)
}

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
	return FailureSummary{Open: total, Recent: fs}, err
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
