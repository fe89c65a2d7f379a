package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/zoho/crm"
)

// DefaultCRMBulkReadThreshold is how many CRM records of a module in the look-back make
// IndexCRM read them with Bulk Read rather than page by page: above it, Bulk Read's 200,000
// records per job (50 credits each) cost far fewer credits than list calls, whose offsets
// past 2,000 records cost more ("API Limits", CRM API v8).
const DefaultCRMBulkReadThreshold = 50000

// bulkLoadBatch is how many rows of a Bulk Read CSV go to Postgres in one COPY.
const bulkLoadBatch = 5000

// bulkPoll is the longest wait between two polls of a Bulk Read job.
const bulkPoll = 5 * time.Second

// crmBulkReadThreshold returns the configured threshold (DefaultCRMBulkReadThreshold when
// unset; negative: never).
func (a *Activities) crmBulkReadThreshold() int {
	if a.CRMBulkReadThreshold == 0 {
		return DefaultCRMBulkReadThreshold
	}
	return a.CRMBulkReadThreshold
}

// lookbackCriteria selects the CRM records created in [from, to].
func lookbackCriteria(from, to time.Time) string {
	return crm.Cond("Created_Time", "between", crm.FormatTime(from), crm.FormatTime(to))
}

// countCRM counts the module's records created in [from, to] (one call, 1 credit).
func (a *Activities) countCRM(ctx context.Context, module string, from, to time.Time, prog any) (int, error) {
	return retryAfter429(ctx, prog, func() (int, error) {
		return a.CRM.Count(ctx, crmModule(module), lookbackCriteria(from, to))
	})
}

// indexCRMByBulkRead reads the module's records created in [from, to] with Bulk Read: one job
// per 200,000 records, each job's zipped CSV streamed from a spool file into Postgres with
// COPY, bulkLoadBatch rows at a time, so no page is held in memory. prog.BulkPage is the last
// page fully loaded; a retried attempt starts at the next one (while a job runs nothing
// progresses, and KeepAlive heartbeats). A page is one job's export
// at the time it runs: a record deleted while later pages wait moves one record across the
// boundary, which the existence lookups before any create find again.
func (a *Activities) indexCRMByBulkRead(ctx context.Context, sc store.Scope, m mapping.Mapping, from, to time.Time, prog *crmScanProgress) error {
	crit := &crm.BulkCriterion{Field: &crm.BulkField{APIName: "Created_Time"}, Comparator: "between",
		Value: []string{crm.FormatTime(from), crm.FormatTime(to)}}
	q := crm.BulkReadQuery{Module: crmModule(sc.Module), Fields: crmFieldsFor(m), Criteria: crit}
	for page := prog.BulkPage + 1; ; page++ {
		q.Page = page
		job, err := retryAfter429(ctx, *prog, func() (crm.BulkJob, error) { return a.CRM.CreateBulkRead(ctx, q, "") })
		if err != nil {
			return err
		}
		job, err = retryAfter429(ctx, *prog, func() (crm.BulkJob, error) { return a.CRM.WaitBulkRead(ctx, job.ID, bulkPoll) })
		if err != nil {
			return err
		}
		if job.Count > 0 {
			if err := a.loadBulkRead(ctx, sc, m, job.ID); err != nil {
				return err
			}
		}
		prog.BulkPage, prog.Indexed = page, prog.Indexed+job.Count
		heartbeat(ctx, *prog)
		if !job.MoreRecords {
			return nil
		}
	}
}

// loadBulkRead streams one completed job's CSV into the index.
func (a *Activities) loadBulkRead(ctx context.Context, sc store.Scope, m mapping.Mapping, jobID string) error {
	batch := make([]store.IndexRow, 0, bulkLoadBatch)
	var cols bulkColumns
	err := a.CRM.DownloadBulkRead(ctx, jobID, func(header, row []string) error {
		if cols.header == nil {
			var err error
			if cols, err = bulkColumnsOf(header); err != nil {
				return err
			}
		}
		r, err := cols.record(row)
		if err != nil {
			return err
		}
		batch = append(batch, indexRow(crmRecord(m, r)))
		if len(batch) == bulkLoadBatch {
			err = a.Store.CopyIndex(ctx, sc, batch)
			batch = batch[:0]
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bulk read job %s: %w", jobID, err)
	}
	return a.Store.CopyIndex(ctx, sc, batch)
}

// bulkColumns places the record id and the two timestamps in a Bulk Read CSV header.
type bulkColumns struct {
	header                []string
	id, created, modified int
}

func bulkColumnsOf(header []string) (bulkColumns, error) {
	c := bulkColumns{header: header, id: -1, created: -1, modified: -1}
	for i, h := range header {
		switch {
		case strings.EqualFold(h, "id"):
			c.id = i
		case h == "Created_Time":
			c.created = i
		case h == "Modified_Time":
			c.modified = i
		}
	}
	if c.id < 0 || c.created < 0 || c.modified < 0 {
		return c, fmt.Errorf("the CSV header %q lacks Id, Created_Time or Modified_Time", strings.Join(header, ","))
	}
	return c, nil
}

// record reads one CSV row the way the REST API would have returned it: every column a
// string (lookups as their ids, multi-selects joined by ";", empty for null), which the
// mapping's conversions accept for every type.
func (c bulkColumns) record(row []string) (crm.Record, error) {
	if len(row) != len(c.header) {
		return crm.Record{}, fmt.Errorf("a CSV row has %d columns, the header %d", len(row), len(c.header))
	}
	r := crm.Record{ID: row[c.id], Fields: make(map[string]any, len(row))}
	var err error
	if r.CreatedTime, err = crm.ParseTime(row[c.created]); err != nil {
		return r, fmt.Errorf("record %s: %w", r.ID, err)
	}
	if r.ModifiedTime, err = crm.ParseTime(row[c.modified]); err != nil {
		return r, fmt.Errorf("record %s: %w", r.ID, err)
	}
	for i, h := range c.header {
		if i != c.id {
			r.Fields[h] = row[i]
		}
	}
	return r, nil
}
