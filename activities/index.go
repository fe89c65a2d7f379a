package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// indexDeskPage converts a page of Desk records and writes it to the index. Values that do
// not fit their mapped type stay with the record and are logged when it is synced.
func (a *Activities) indexDeskPage(ctx context.Context, sc store.Scope, m mapping.Mapping, recs []desk.Record) error {
	rs, err := a.deskRecords(ctx, sc.IntegrationID, m, recs)
	if err != nil {
		return err
	}
	rows := make([]store.IndexRow, len(rs))
	for i, r := range rs {
		rows[i] = indexRow(r)
	}
	return a.Store.UpsertIndex(ctx, sc, rows)
}

// indexCRMPage converts a page of CRM records and writes it to the index.
func (a *Activities) indexCRMPage(ctx context.Context, sc store.Scope, m mapping.Mapping, recs []crm.Record) error {
	rows := make([]store.IndexRow, len(recs))
	for i, r := range recs {
		rows[i] = indexRow(crmRecord(m, r))
	}
	return a.Store.UpsertIndex(ctx, sc, rows)
}

// deskWindow is one slice of the creation-time range, scanned on its own.
type deskWindow struct {
	From time.Time `json:"from"` // how far the scan of this window has reached
	To   time.Time `json:"to"`
	Done bool      `json:"done,omitempty"`
}

// deskScanProgress is heartbeated by IndexDesk: how far each window has reached.
type deskScanProgress struct {
	Windows []deskWindow `json:"windows"`
	// Since is when the scan began, on Postgres's clock (see endScan).
	Since time.Time `json:"since,omitempty"`
}

// splitWindows cuts [from, to] into n windows of equal length.
func splitWindows(from, to time.Time, n int) []deskWindow {
	n = max(1, n)
	step := to.Sub(from) / time.Duration(n)
	out := make([]deskWindow, n)
	for i := range out {
		out[i] = deskWindow{From: from.Add(time.Duration(i) * step), To: from.Add(time.Duration(i+1) * step)}
	}
	out[n-1].To = to
	return out
}

// IndexDesk reads every Desk record of the module created within the lookback into the
// index, 100 per call. A search reads one page after another, so the range is cut into as many
// time windows as Desk allows calls in flight and the windows are scanned side by side, which
// keeps the concurrency pipe full. Each window's position is heartbeated; a retried attempt
// resumes every window where it stopped.
func (a *Activities) IndexDesk(ctx context.Context, in StepInput) (StepResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return StepResult{}, err
	}
	sc := store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: "desk"}
	ctx, meter := withMeter(ctx)
	var prog deskScanProgress
	if !lastHeartbeat(ctx, &prog) || len(prog.Windows) == 0 {
		reused, since, err := a.beginScan(ctx, sc, in)
		if err != nil {
			return StepResult{}, err
		}
		if reused {
			return a.indexResult(ctx, sc, meter)
		}
		prog = deskScanProgress{Windows: splitWindows(in.Now.Add(-in.Lookback), in.Now, a.Desk.Limiter().Max()), Since: since}
		heartbeat(ctx, prog)
	}
	var mu sync.Mutex
	// One scan per window, all at once: as many windows as the pipe is wide.
	g, gctx := newPipe(ctx, len(prog.Windows))
	for i := range prog.Windows {
		if prog.Windows[i].Done {
			continue
		}
		g.Go(func() error {
			for {
				mu.Lock()
				q := desk.ScanQuery{Field: desk.CreatedTime, From: prog.Windows[i].From, To: prog.Windows[i].To}
				mu.Unlock()
				err := a.Desk.Scan(gctx, in.Module, q, func(p desk.Page) error {
					if err := a.indexDeskPage(gctx, sc, m, p.Records); err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					if n := len(p.Records); n > 0 {
						prog.Windows[i].From = p.Records[n-1].CreatedTime
					}
					heartbeat(gctx, prog)
					return nil
				})
				if err != nil && waitForRateLimit(gctx, err, nil) {
					continue
				}
				if err == nil {
					mu.Lock()
					prog.Windows[i].Done = true
					heartbeat(gctx, prog)
					mu.Unlock()
				}
				return err
			}
		})
	}
	if err := g.Wait(); err != nil {
		return StepResult{}, apiError("index Desk "+in.Module, err)
	}
	if err := a.endScan(ctx, sc, in, prog.Since); err != nil {
		return StepResult{}, err
	}
	return a.indexResult(ctx, sc, meter)
}

// indexResult reports an index step: the records indexed and the credits spent.
func (a *Activities) indexResult(ctx context.Context, sc store.Scope, meter creditMeter) (StepResult, error) {
	n, err := a.Store.IndexCount(ctx, sc)
	crmCredits, deskCredits := meter.used()
	res := StepResult{Indexed: n, CRMCredits: crmCredits, DeskCredits: deskCredits}
	a.creditsLeft(&res)
	return res, err
}

// crmScanProgress is heartbeated by IndexCRM.
type crmScanProgress struct {
	Cursor  crm.Cursor `json:"cursor"`
	Indexed int        `json:"indexed"`
	// Oldest is the creation time of the oldest record the listing reached. Past the 100,000
	// records page tokens reach, the rest (created in [cutoff, SearchTo]) is read by search.
	Oldest   time.Time `json:"oldest,omitempty"`
	Searched bool      `json:"searched,omitempty"`
	SearchTo time.Time `json:"searchTo,omitempty"`
	// Counted: the look-back's records were counted; Bulk: they are more than the Bulk Read
	// threshold, and BulkPage is the last Bulk Read page loaded.
	Counted  bool `json:"counted,omitempty"`
	Bulk     bool `json:"bulk,omitempty"`
	BulkPage int  `json:"bulkPage,omitempty"`
	// Since is when the scan began, on Postgres's clock (see endScan).
	Since time.Time `json:"since,omitempty"`
}

// IndexCRM reads every CRM record of the module created within the lookback into the index.
// It first counts them (actions/count): above the Bulk Read threshold they are exported with
// Bulk Read (see indexCRMByBulkRead). Below it they are listed 200 per call, newest first,
// stopping at the first record older than the lookback; CRM's page tokens reach 100,000
// records, and past them the older records are read by searches on Created_Time windows
// small enough to stay under search's 2,000-result cap.
func (a *Activities) IndexCRM(ctx context.Context, in StepInput) (StepResult, error) {
	m, _, err := a.resolve(ctx, in.IntegrationID, in.Module, in.Mode)
	if err != nil {
		return StepResult{}, err
	}
	sc := store.Scope{IntegrationID: in.IntegrationID, Module: in.Module, Side: "crm"}
	cutoff := in.Now.Add(-in.Lookback)
	ctx, meter := withMeter(ctx)
	var prog crmScanProgress
	if !lastHeartbeat(ctx, &prog) {
		reused, since, err := a.beginScan(ctx, sc, in)
		if err != nil {
			return StepResult{}, err
		}
		if reused {
			return a.indexResult(ctx, sc, meter)
		}
		prog.Since = since
		heartbeat(ctx, prog)
	}
	if threshold := a.crmBulkReadThreshold(); !prog.Counted && threshold >= 0 {
		n, err := a.countCRM(ctx, in.Module, cutoff, in.Now, prog)
		if err != nil {
			return StepResult{}, apiError("count CRM "+in.Module, err)
		}
		prog.Counted, prog.Bulk = true, n > threshold
		heartbeat(ctx, prog)
	}
	if prog.Bulk {
		if err := a.indexCRMByBulkRead(ctx, sc, m, cutoff, in.Now, &prog); err != nil {
			return StepResult{}, apiError("index CRM "+in.Module+" by Bulk Read", err)
		}
		prog.Searched = true // nothing left to list
	}
	for !prog.Searched {
		opts := crm.ListOptions{Fields: crmFieldsFor(m), SortBy: "Created_Time", SortOrder: "desc", PerPage: crm.MaxPerPage, Start: prog.Cursor}
		err = a.CRM.List(ctx, crmModule(in.Module), opts, func(p crm.Page) error {
			recs := p.Records
			done := false
			for i, r := range recs {
				if r.CreatedTime.Before(cutoff) {
					recs, done = recs[:i], true
					break
				}
			}
			// Records created after the sync began are left to the incremental sync.
			keep := recs[:0]
			for _, r := range recs {
				if !r.CreatedTime.After(in.Now) {
					keep = append(keep, r)
				}
			}
			if err := a.indexCRMPage(ctx, sc, m, keep); err != nil {
				return err
			}
			prog.Indexed += len(keep)
			prog.Cursor = p.Next
			if n := len(p.Records); n > 0 {
				prog.Oldest = p.Records[n-1].CreatedTime
			}
			heartbeat(ctx, prog)
			if done || !p.More {
				return crm.ErrStop
			}
			return nil
		})
		if err != nil && waitForRateLimit(ctx, err, prog) {
			continue
		}
		if pageTokensExhausted(err) && !prog.Oldest.IsZero() {
			prog.Searched, prog.SearchTo = true, prog.Oldest
			heartbeat(ctx, prog)
			err = nil
			break
		}
		break
	}
	if err != nil && !errors.Is(err, crm.ErrStop) {
		return StepResult{}, apiError("index CRM "+in.Module, err)
	}
	if prog.Searched && !prog.Bulk {
		if err := a.indexCRMBySearch(ctx, sc, m, cutoff, &prog); err != nil {
			return StepResult{}, apiError("index CRM "+in.Module+" past the page-token limit", err)
		}
	}
	if err := a.endScan(ctx, sc, in, prog.Since); err != nil {
		return StepResult{}, err
	}
	return a.indexResult(ctx, sc, meter)
}

// pageTokensExhausted reports whether a listing stopped at CRM's page-token reach.
func pageTokensExhausted(err error) bool {
	var ce *crm.Error
	return errors.As(err, &ce) && ce.Code == "PAGINATION_LIMIT_EXCEEDED"
}

// crmSearchWindow is the span of creation time a search window starts with; a window that
// hits the 2,000-result cap is halved and read again, a sparse one doubles the next.
const crmSearchWindow = 24 * time.Hour

// indexCRMBySearch reads the records created in [cutoff, prog.SearchTo], newest window first,
// with criteria searches. Windows are inclusive at both ends; a record on a boundary is read
// twice and indexed once.
func (a *Activities) indexCRMBySearch(ctx context.Context, sc store.Scope, m mapping.Mapping, cutoff time.Time, prog *crmScanProgress) error {
	span := crmSearchWindow
	for prog.SearchTo.After(cutoff) {
		from := prog.SearchTo.Add(-span)
		if from.Before(cutoff) {
			from = cutoff
		}
		var page []crm.Record
		q := crm.SearchQuery{Criteria: crm.Cond("Created_Time", "between", crm.FormatTime(from), crm.FormatTime(prog.SearchTo)),
			Fields: crmFieldsFor(m), PerPage: crm.MaxPerPage}
		err := a.CRM.Search(ctx, crmModule(sc.Module), q, func(p crm.Page) error {
			page = append(page, p.Records...)
			return nil
		})
		if errors.Is(err, crm.ErrSearchLimit) && span > time.Second {
			span /= 2 // too many records in this window: read it in halves
			continue
		}
		if err != nil && waitForRateLimit(ctx, err, prog) {
			continue
		}
		if err != nil {
			return err
		}
		if err := a.indexCRMPage(ctx, sc, m, page); err != nil {
			return err
		}
		prog.Indexed += len(page)
		prog.SearchTo = from
		heartbeat(ctx, *prog)
		if len(page) < 500 {
			span *= 2 // sparse: widen the next window to save calls
		}
	}
	return nil
}
