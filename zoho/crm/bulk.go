package crm

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"deskcrm/zoho"
)

// Bulk Read job states.
const (
	BulkAdded      = "ADDED"
	BulkQueued     = "QUEUED"
	BulkInProgress = "IN PROGRESS"
	BulkCompleted  = "COMPLETED"
	BulkFailure    = "FAILURE"
)

// BulkRecordsPerPage is how many records one Bulk Read job (page) exports.
const BulkRecordsPerPage = 200000

// BulkCriterion is a Bulk Read filter: either a group (GroupOperator and
// Group) or one condition (Field, Comparator, Value).
type BulkCriterion struct {
	GroupOperator string          `json:"group_operator,omitempty"` // and, or
	Group         []BulkCriterion `json:"group,omitempty"`
	Field         *BulkField      `json:"field,omitempty"`
	// Comparator: equal, not_equal, contains, not_contains, starts_with,
	// ends_with, greater_than, less_than, between, in, ...
	Comparator string `json:"comparator,omitempty"`
	Value      any    `json:"value,omitempty"`
}

// BulkField names a field in a bulk criterion.
type BulkField struct {
	APIName string `json:"api_name"`
}

// BulkReadQuery is what a Bulk Read job exports.
type BulkReadQuery struct {
	Module   string
	Fields   []string
	Criteria *BulkCriterion
	// Page is the 200,000-record page to export (default 1).
	Page int
	CVID string
}

// BulkJob is the state of a Bulk Read job.
type BulkJob struct {
	ID    string
	State string
	// Result fields, set when State is COMPLETED.
	Page        int
	Count       int
	MoreRecords bool
	DownloadURL string
}

type bulkDetails struct {
	ID     json.Number `json:"id"`
	State  string      `json:"state"`
	Result *struct {
		Page        int    `json:"page"`
		Count       int    `json:"count"`
		PerPage     int    `json:"per_page"`
		MoreRecords bool   `json:"more_records"`
		DownloadURL string `json:"download_url"`
	} `json:"result"`
}

func (d bulkDetails) job() BulkJob {
	j := BulkJob{ID: d.ID.String(), State: d.State}
	if d.Result != nil {
		j.Page, j.Count, j.MoreRecords, j.DownloadURL = d.Result.Page, d.Result.Count, d.Result.MoreRecords, d.Result.DownloadURL
	}
	return j
}

// CreateBulkRead starts a Bulk Read job (50 credits). callbackURL may be empty
// to poll instead.
func (c *Client) CreateBulkRead(ctx context.Context, q BulkReadQuery, callbackURL string) (BulkJob, error) {
	op := "bulk read " + q.Module
	// The spec requires module.id (nullable); Zoho identifies the module by api_name.
	query := map[string]any{"module": map[string]any{"api_name": q.Module, "id": nil}}
	if len(q.Fields) > 0 {
		query["fields"] = q.Fields
	}
	if q.Criteria != nil {
		query["criteria"] = q.Criteria
	}
	// cvid and page are required (nullable) by the spec; send them always.
	query["page"] = max(q.Page, 1)
	query["cvid"] = nil
	if q.CVID != "" {
		query["cvid"] = q.CVID
	}
	body := map[string]any{"query": query, "file_type": "csv"}
	if callbackURL != "" {
		body["callback"] = map[string]string{"url": callbackURL, "method": "post"}
	}
	req, err := c.jsonRequest(op, http.MethodPost, c.bulk+"/read", body)
	if err != nil {
		return BulkJob{}, err
	}
	req.Cost = 50
	var out struct {
		Data []struct {
			Status  string      `json:"status"`
			Code    string      `json:"code"`
			Details bulkDetails `json:"details"`
		} `json:"data"`
	}
	if _, err := c.call(ctx, req, &out); err != nil {
		return BulkJob{}, err
	}
	if len(out.Data) == 0 || out.Data[0].Details.ID == "" {
		return BulkJob{}, fmt.Errorf("%s: no job in the response", op)
	}
	return out.Data[0].Details.job(), nil
}

// BulkReadJob returns the state of a job.
func (c *Client) BulkReadJob(ctx context.Context, id string) (BulkJob, error) {
	op := "bulk read status"
	req := zoho.Request{Op: op, Method: http.MethodGet, URL: c.bulk + "/read/" + pathEscape(id), Cost: 1}
	var out struct {
		Data []bulkDetails `json:"data"`
	}
	if _, err := c.call(ctx, req, &out); err != nil {
		return BulkJob{}, err
	}
	if len(out.Data) == 0 {
		return BulkJob{}, fmt.Errorf("%s: empty response", op)
	}
	return out.Data[0].job(), nil
}

// ErrBulkFailed is wrapped when a Bulk Read job ends in FAILURE.
var ErrBulkFailed = errors.New("bulk read job failed")

// WaitBulkRead polls a job until it completes, backing off from 1 s (doubling,
// capped at maxPoll, default 30 s) between polls.
func (c *Client) WaitBulkRead(ctx context.Context, id string, maxPoll time.Duration) (BulkJob, error) {
	if maxPoll <= 0 {
		maxPoll = 30 * time.Second
	}
	wait := min(time.Second, maxPoll)
	for {
		j, err := c.BulkReadJob(ctx, id)
		if err != nil {
			return j, err
		}
		switch j.State {
		case BulkCompleted:
			return j, nil
		case BulkFailure:
			return j, fmt.Errorf("bulk read %s: %w", id, ErrBulkFailed)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, fmt.Errorf("wait for bulk read %s: %w", id, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, maxPoll)
	}
}

// DownloadBulkRead downloads a completed job's zipped CSV and streams it: fn
// gets the header row and then each record row. row is reused between calls;
// copy it to keep it. The zip is spooled to a temporary file (zip needs random
// access), never held in memory.
func (c *Client) DownloadBulkRead(ctx context.Context, id string, fn func(header, row []string) error) error {
	op := "bulk read download"
	req := zoho.Request{Op: op, Method: http.MethodGet, URL: c.bulk + "/read/" + pathEscape(id) + "/result", Cost: 1}
	resp, err := c.caller.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	f, err := os.CreateTemp("", "crm-bulk-*.zip")
	if err != nil {
		return fmt.Errorf("%s: spool: %w", op, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read zip: %w", op, &zoho.TransportError{Method: http.MethodGet, Path: req.URL, Err: err})
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("%s: open zip: %w", op, err)
	}
	for _, zf := range zr.File {
		if !strings.HasSuffix(strings.ToLower(zf.Name), ".csv") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("%s: open %s: %w", op, zf.Name, err)
		}
		err = streamCSV(rc, fn)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	}
	return fmt.Errorf("%s: no CSV file in the zip", op)
}

func streamCSV(r io.Reader, fn func(header, row []string) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	first, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read csv header: %w", err)
	}
	header := append([]string(nil), first...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read csv: %w", err)
		}
		if err := fn(header, row); err != nil {
			return err
		}
	}
}

// BulkRead runs a whole export: it creates a job per 200,000-record page,
// waits for it, streams its rows to fn, and continues while CRM reports more.
func (c *Client) BulkRead(ctx context.Context, q BulkReadQuery, maxPoll time.Duration, fn func(header, row []string) error) error {
	page := max(q.Page, 1)
	for {
		q.Page = page
		job, err := c.CreateBulkRead(ctx, q, "")
		if err != nil {
			return err
		}
		if job, err = c.WaitBulkRead(ctx, job.ID, maxPoll); err != nil {
			return err
		}
		if job.Count > 0 {
			if err := c.DownloadBulkRead(ctx, job.ID, fn); err != nil {
				return err
			}
		}
		if !job.MoreRecords {
			return nil
		}
		page++
	}
}
