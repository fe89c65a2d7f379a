package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"deskcrm/zoho"
)

// Result is the outcome of one record of a batch write, in input order.
type Result struct {
	// Index is the record's position in the input.
	Index int
	// ID is the record id (the new id for inserts). On a DUPLICATE_DATA
	// error it is details.id, the record that already holds the value (see
	// zoho.DuplicateOf).
	ID     string
	Code   string // SUCCESS or an error code
	Status string // success or error
	// Message is Zoho's message, e.g. "record added".
	Message string
	// Action is "insert" or "update" for upserts.
	Action string
	// DuplicateField names the field an upsert matched on (empty for inserts).
	DuplicateField string
	// CreatedTime and ModifiedTime are set on success when CRM returns them.
	CreatedTime, ModifiedTime time.Time
	// Details is the raw details object.
	Details map[string]any
	// Err is the record's error; nil on success.
	Err *Error
}

// OK reports whether the record was written.
func (r Result) OK() bool { return r.Err == nil }

type writeItem struct {
	Code           string         `json:"code"`
	Status         string         `json:"status"`
	Message        string         `json:"message"`
	Details        map[string]any `json:"details"`
	Action         string         `json:"action"`
	DuplicateField *string        `json:"duplicate_field"`
}

type writeBody struct {
	Data                 []Record  `json:"data"`
	Trigger              *[]string `json:"trigger,omitempty"`
	DuplicateCheckFields []string  `json:"duplicate_check_fields,omitempty"`
}

// Insert creates records (at most 100). Each result says whether its record
// was created; the error is for the call as a whole (transport, auth, limits,
// a malformed request). A lost response is a zoho.TransportError for which
// MayHaveApplied is true: find the records by a unique field before retrying.
func (c *Client) Insert(ctx context.Context, module string, records []Record) ([]Result, error) {
	return c.write(ctx, "insert "+module, http.MethodPost, c.base+"/"+pathEscape(module), records, nil)
}

// Update changes records by id (every record must have ID; at most 100).
func (c *Client) Update(ctx context.Context, module string, records []Record) ([]Result, error) {
	for i, r := range records {
		if r.ID == "" {
			return nil, fmt.Errorf("update %s: record %d has no id", module, i)
		}
	}
	return c.write(ctx, "update "+module, http.MethodPut, c.base+"/"+pathEscape(module), records, nil)
}

// Upsert inserts records or updates the ones that match on duplicateCheck
// fields (e.g. ["Email"]); empty means CRM's system duplicate-check fields.
// Results carry Action "insert" or "update".
func (c *Client) Upsert(ctx context.Context, module string, records []Record, duplicateCheck []string) ([]Result, error) {
	return c.write(ctx, "upsert "+module, http.MethodPost, c.base+"/"+pathEscape(module)+"/upsert", records, duplicateCheck)
}

// checkBatch refuses empty and oversized batches.
func checkBatch(n int) error {
	if n == 0 {
		return errors.New("no records")
	}
	if n > MaxWriteBatch {
		return fmt.Errorf("%d records, CRM accepts at most %d per call; split the batch: %w", n, MaxWriteBatch, zoho.ErrBatchTooLarge)
	}
	return nil
}

// writeCost is 1 credit per 10 records, at most 10.
func writeCost(n int) int { return min((n+9)/10, 10) }

func (c *Client) write(ctx context.Context, op, method, u string, records []Record, dup []string) ([]Result, error) {
	if err := checkBatch(len(records)); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	body := writeBody{Data: records, DuplicateCheckFields: dup}
	if c.trigger != nil {
		t := c.trigger
		body.Trigger = &t
	}
	req, err := c.jsonRequest(op, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Cost = writeCost(len(records))
	req.Complex = len(records) > ComplexThreshold
	// An update by ids sets the same fields to the same values when sent again.
	req.Idempotent = method == http.MethodPut
	return c.sendWrite(ctx, req, len(records))
}

// sendWrite sends a batch write and parses the per-record results. A 4xx whose
// body lists per-record results is not a call error: the results say why.
func (c *Client) sendWrite(ctx context.Context, req zoho.Request, n int) ([]Result, error) {
	resp, err := c.caller.Do(ctx, req)
	if resp == nil {
		return nil, fmt.Errorf("%s: %w", req.Op, err)
	}
	defer resp.Body.Close()
	var wr struct {
		Data []writeItem `json:"data"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	derr := dec.Decode(&wr)
	if err != nil {
		if derr == nil && len(wr.Data) == n && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusUnauthorized {
			return toResults(wr.Data, resp.StatusCode), nil
		}
		return nil, fmt.Errorf("%s: %w", req.Op, err)
	}
	if derr != nil {
		return nil, fmt.Errorf("%s: decode response: %w", req.Op, derr)
	}
	if len(wr.Data) != n {
		return nil, fmt.Errorf("%s: %d results for %d records", req.Op, len(wr.Data), n)
	}
	return toResults(wr.Data, resp.StatusCode), nil
}

func toResults(items []writeItem, status int) []Result {
	out := make([]Result, len(items))
	for i, it := range items {
		r := Result{Index: i, Code: it.Code, Status: it.Status, Message: it.Message, Details: it.Details, Action: it.Action}
		if it.DuplicateField != nil {
			r.DuplicateField = *it.DuplicateField
		}
		switch id := it.Details["id"].(type) {
		case string:
			r.ID = id
		case json.Number:
			r.ID = id.String()
		}
		if s, ok := it.Details["Created_Time"].(string); ok {
			r.CreatedTime, _ = ParseTime(s)
		}
		if s, ok := it.Details["Modified_Time"].(string); ok {
			r.ModifiedTime, _ = ParseTime(s)
		}
		if !strings.EqualFold(it.Status, "success") {
			r.Err = apiError{Code: it.Code, Status: it.Status, Message: it.Message, Details: it.Details}.toError(status, i)
		}
		out[i] = r
	}
	return out
}

// Delete moves records to the recycle bin (at most 100 ids per call).
func (c *Client) Delete(ctx context.Context, module string, ids []string) ([]Result, error) {
	op := "delete " + module
	if err := checkBatch(len(ids)); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	q := url.Values{"ids": {strings.Join(ids, ",")}}
	if c.trigger != nil && len(c.trigger) == 0 {
		q.Set("wf_trigger", "false")
	}
	req := zoho.Request{Op: op, Method: http.MethodDelete, URL: c.base + "/" + pathEscape(module) + "?" + q.Encode(),
		Cost: 1, Complex: len(ids) > ComplexThreshold}
	return c.sendWrite(ctx, req, len(ids))
}
