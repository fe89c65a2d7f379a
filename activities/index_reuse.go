package activities

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// indexReuseWindow is how old a complete scan may be for a new scan to reuse it.
const indexReuseWindow = 24 * time.Hour

// beginScan starts a scan of sc for in. When an earlier complete scan of the same look-back,
// mapping and mode (a dry-run plan's, typically) is at most indexReuseWindow old and nothing
// was created, changed or deleted on that side since — one or two calls say so — the index
// stands for the new scan: the rows that fell out of the look-back meanwhile are dropped and
// reused is true. Otherwise since is the scan's start on Postgres's clock, for endScan.
func (a *Activities) beginScan(ctx context.Context, sc store.Scope, in StepInput) (reused bool, since time.Time, err error) {
	version, err := a.Store.MappingVersion(ctx, sc.IntegrationID)
	if err != nil {
		return false, since, err
	}
	last, ok, err := a.Store.LastIndexScan(ctx, sc)
	if err != nil {
		return false, since, err
	}
	if ok && last.Lookback == in.Lookback && last.MappingVersion == version && last.Mode == in.Mode &&
		!last.ScannedAt.After(in.Now) && in.Now.Sub(last.ScannedAt) <= indexReuseWindow {
		changed, err := a.changedSince(ctx, sc, last.ScannedAt.Add(-CursorOverlap), in.Now)
		if err != nil {
			return false, since, err
		}
		if !changed {
			a.Logger.Info("index reused: nothing changed since the last scan", zap.String("integration", sc.IntegrationID),
				zap.String("module", sc.Module), zap.String("side", sc.Side), zap.Time("scannedAt", last.ScannedAt))
			return true, since, a.Store.DropIndexCreatedBefore(ctx, sc, in.Now.Add(-in.Lookback))
		}
	}
	if err := a.Store.ForgetIndexScan(ctx, sc); err != nil {
		return false, since, err
	}
	since, err = a.Store.Now(ctx)
	return false, since, err
}

// endScan completes a scan that began at since: the rows it did not write (records deleted,
// or out of the look-back, since an earlier scan) leave the index, and the scan is recorded.
// A zero since (an attempt that began before scans were recorded) prunes nothing.
func (a *Activities) endScan(ctx context.Context, sc store.Scope, in StepInput, since time.Time) error {
	if since.IsZero() {
		return nil
	}
	if _, err := a.Store.PruneIndex(ctx, sc, since); err != nil {
		return err
	}
	version, err := a.Store.MappingVersion(ctx, sc.IntegrationID)
	if err != nil {
		return err
	}
	return a.Store.SaveIndexScan(ctx, sc, store.IndexScan{ScannedAt: in.Now, Lookback: in.Lookback, MappingVersion: version, Mode: in.Mode})
}

// changedSince reports whether any record of sc's side was created, changed or deleted in
// [since, until]: the first page of a changes listing and of the deletions, stopped at once.
func (a *Activities) changedSince(ctx context.Context, sc store.Scope, since, until time.Time) (bool, error) {
	changed := false
	stop := func() error { changed = true; return errStopScan }
	var err error
	if sc.Side == "crm" {
		module := crmModule(sc.Module)
		err = a.CRM.List(ctx, module, crm.ListOptions{Fields: []string{"Modified_Time"}, ModifiedSince: since, PerPage: 1},
			func(p crm.Page) error {
				if len(p.Records) > 0 && !p.Records[0].ModifiedTime.After(until) {
					return stop()
				}
				return crm.ErrStop
			})
		if err == nil || errors.Is(err, crm.ErrStop) {
			err = a.CRM.Deleted(ctx, module, crm.DeletedOptions{ModifiedSince: since, PerPage: 1}, func(recs []crm.DeletedRecord) error {
				if len(recs) > 0 {
					return stop()
				}
				return crm.ErrStop
			})
		}
	} else {
		err = a.Desk.Scan(ctx, sc.Module, desk.ScanQuery{Field: desk.ModifiedTime, From: since, To: until}, func(p desk.Page) error {
			if len(p.Records) > 0 {
				return stop()
			}
			return desk.ErrStop
		})
		if err == nil || errors.Is(err, desk.ErrStop) {
			err = a.Desk.RecycleBin(ctx, desk.RecycleBinOptions{Module: sc.Module, SortBy: "-deletedTime", Limit: 1}, func(items []desk.TrashItem) error {
				if len(items) > 0 && !items[0].DeletedTime.Before(since) {
					return stop()
				}
				return desk.ErrStop
			})
		}
	}
	if changed {
		return true, nil
	}
	if err != nil && !errors.Is(err, crm.ErrStop) && !errors.Is(err, desk.ErrStop) {
		return false, apiError("check "+sc.Side+" "+sc.Module+" for changes since the last scan", err)
	}
	return false, nil
}

// errStopScan ends a listing once it has said what was asked.
var errStopScan = errors.New("seen enough")
