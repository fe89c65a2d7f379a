package activities

import (
	"context"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"

	"deskcrm/mapping"
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

// MarkRetry lets the next pass try the records of the given failures again. The failures of
// records no longer in their app close first (closeFailuresOfGone): nothing is left to retry.
func (a *Activities) MarkRetry(ctx context.Context, in RetryInput) (RetryResult, error) {
	if err := a.closeFailuresOfGone(ctx, in); err != nil {
		return RetryResult{}, err
	}
	n, err := a.Store.MarkRetrying(ctx, in.IntegrationID, in.IDs)
	return RetryResult{Marked: n}, err
}

// maxGoneChecks is the most records of one module and side closeFailuresOfGone reads per retry
// (Desk reads one record per call): the check stays within MarkRetry's 30 seconds at Zoho's
// latencies, and a retry of more checks the rest at the next one.
const maxGoneChecks = 200

// closeFailuresOfGone reads by id the records the open failures to retry name (in.IDs; all when
// empty) and, for those their app no longer has — merged away (Zoho's merges delete the merged
// records for good, and Desk lists no deletion of them the sync could read), deleted for good —
// closes their failures and takes them out of the index: a retry cannot sync them, and the
// create and match steps a retry runs again decided the ghosts again (a trial: every retry
// logged new duplicate failures for Desk contacts merged away long before, and the failure
// of the merged record itself never closed).
func (a *Activities) closeFailuresOfGone(ctx context.Context, in RetryInput) error {
	// The newest failures to retry: enough to fill every module's and side's checks.
	fs, err := a.Store.OpenFailuresWithIDs(ctx, in.IntegrationID, in.IDs, 4*maxGoneChecks)
	if err != nil {
		return err
	}
	type scope struct {
		module string
		side   mapping.Side
	}
	named := map[scope][]string{}
	for _, f := range fs {
		if f.DeskID != "" {
			named[scope{f.Module, mapping.Desk}] = append(named[scope{f.Module, mapping.Desk}], f.DeskID)
		}
		if f.CRMID != "" {
			named[scope{f.Module, mapping.CRM}] = append(named[scope{f.Module, mapping.CRM}], f.CRMID)
		}
	}
	for sc, ids := range named {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		ids = ids[:min(len(ids), maxGoneChecks)]
		recs, err := a.recordsByID(ctx, in.IntegrationID, mapping.Mapping{Module: mapping.Module(sc.module)}, sc.side, ids)
		if err != nil {
			return apiError("read the "+sc.side.Label()+" records of the failures to retry", err)
		}
		found := make(map[string]bool, len(recs))
		for _, r := range recs {
			found[r.ID] = true
		}
		var gone []string
		for _, id := range ids {
			if !found[id] {
				gone = append(gone, id)
			}
		}
		if len(gone) == 0 {
			continue
		}
		if _, err := a.Store.ResolveFailuresOfDeleted(ctx, in.IntegrationID, sc.module, string(sc.side), gone); err != nil {
			return err
		}
		if err := a.Store.DeleteIndexRows(ctx, storeScope(in.IntegrationID, mapping.Module(sc.module), sc.side), gone); err != nil {
			return err
		}
	}
	return nil
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
