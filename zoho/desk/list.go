package desk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Page is one page of records handed to a paging callback.
type Page struct {
	Records []Record
}

// ErrStop may be returned by a paging callback to end the scan early; the
// paging call then returns nil.
var ErrStop = errors.New("stop paging")

// ListOptions order and select the records of List.
type ListOptions struct {
	// SortBy is createdTime, modifiedTime, ... ("-" prefix for descending).
	SortBy string
	// Fields restricts the returned fields (at most 30); empty = all.
	Fields []string
	// Limit per page, 1–100 (default 100).
	Limit int
	// From is the 1-based index to start at (resume); default 1.
	From int
}

type listResponse struct {
	Data []map[string]any `json:"data"`
}

func decodePage(op string, lr listResponse) (Page, error) {
	p := Page{Records: make([]Record, 0, len(lr.Data))}
	for _, m := range lr.Data {
		r, err := fromMap(m)
		if err != nil {
			return p, fmt.Errorf("%s: %w", op, err)
		}
		p.Records = append(p.Records, r)
	}
	return p, nil
}

// List streams a module's records page by page with the plain list endpoint
// (from is 1-based and uncapped, but Desk charges more credits for deep
// offsets: prefer Scan for full or incremental reads).
func (c *Client) List(ctx context.Context, module string, opts ListOptions, fn func(Page) error) error {
	op := "list " + module
	if err := checkModule(module); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	limit := clampLimit(opts.Limit)
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if opts.SortBy != "" {
		q.Set("sortBy", opts.SortBy)
	}
	if len(opts.Fields) > 0 {
		q.Set("fields", strings.Join(opts.Fields, ","))
	}
	for from := max(opts.From, 1); ; from += limit {
		q.Set("from", strconv.Itoa(from))
		req, _ := c.request(op, http.MethodGet, "/"+module, q, nil)
		req.Cost = 3
		var lr listResponse
		status, err := c.call(ctx, req, &lr)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || len(lr.Data) == 0 {
			return nil
		}
		p, err := decodePage(op, lr)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if len(lr.Data) < limit {
			return nil
		}
	}
}

func clampLimit(n int) int {
	if n <= 0 || n > MaxLimit {
		return MaxLimit
	}
	return n
}

// SearchQuery is a search of contacts or accounts. Params holds the filters by
// their Desk names (email, lastName, accountName, _all, customField1 =
// "cf_x:value", createdTimeRange, modifiedTimeRange, ...); several
// comma-separated values are OR-ed.
type SearchQuery struct {
	Params url.Values
	// SortBy is relevance, modifiedTime or createdTime ("-" = descending).
	SortBy string
	// Limit per page, 1–100 (default 100).
	Limit int
}

// ErrSearchLimit is returned (wrapped) when a search has more matches than
// Desk lets one search reach (from ≤ 999); the reachable pages were delivered.
// Scan avoids it by windowing the time range.
var ErrSearchLimit = errors.New("search matches more records than from ≤ 999 reaches")

// Search streams the records matching q page by page (zero-based from, up to
// Desk's cap).
func (c *Client) Search(ctx context.Context, module string, q SearchQuery, fn func(Page) error) error {
	op := "search " + module
	if err := checkModule(module); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	limit := clampLimit(q.Limit)
	v := url.Values{}
	for k, vals := range q.Params {
		v[k] = vals
	}
	v.Set("limit", strconv.Itoa(limit))
	if q.SortBy != "" {
		v.Set("sortBy", q.SortBy)
	}
	for from := 0; ; from += limit {
		v.Set("from", strconv.Itoa(from))
		lr, status, err := c.searchPage(ctx, op, module, v)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || len(lr.Data) == 0 {
			return nil
		}
		p, err := decodePage(op, lr)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if len(lr.Data) < limit {
			return nil
		}
		if from+limit > MaxSearchFrom {
			return fmt.Errorf("%s: %w", op, ErrSearchLimit)
		}
	}
}

func (c *Client) searchPage(ctx context.Context, op, module string, v url.Values) (listResponse, int, error) {
	req, _ := c.request(op, http.MethodGet, "/"+module+"/search", v, nil)
	req.Cost = 3
	var lr listResponse
	status, err := c.call(ctx, req, &lr)
	return lr, status, err
}

// FindByCustomField returns the records whose custom field apiName (e.g.
// "cf_crm_id") equals value: the lookup that makes creates idempotent after a
// lost response. At most 100 matches are returned.
func (c *Client) FindByCustomField(ctx context.Context, module, apiName, value string) ([]Record, error) {
	var out []Record
	q := SearchQuery{Params: url.Values{"customField1": {apiName + ":" + value}}, Limit: MaxLimit}
	err := c.Search(ctx, module, q, func(p Page) error {
		for _, r := range p.Records {
			// Desk's search may match patterns; keep exact matches only.
			if fmt.Sprint(r.CF[apiName]) == value {
				out = append(out, r)
			}
		}
		return ErrStop
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Time fields Scan can window on.
const (
	CreatedTime  = "createdTime"
	ModifiedTime = "modifiedTime"
)

// ScanQuery is a time-window scan.
type ScanQuery struct {
	// Field is CreatedTime or ModifiedTime.
	Field string
	// From and To bound the window, both inclusive (To defaults to now).
	From, To time.Time
	// Params are extra search filters (optional).
	Params url.Values
}

// ErrDenseTimestamps is returned (wrapped) when more than 1,000 records share
// one createdTime and one modifiedTime to the millisecond, so that no window
// of either time range can reach them all. Zoho never produces that in
// practice; an emulator loading seed data at one instant might.
var ErrDenseTimestamps = errors.New("more than 1000 records share one timestamp")

// Scan streams every record whose Field lies in [From, To], oldest first, with
// the search API. Desk lets a search reach only from ≤ 999, so when a window
// holds more records Scan starts a new window at the last timestamp it saw and
// skips the ids it already delivered at that instant: no record is lost or
// delivered twice, even with equal timestamps. If over 1,000 records share
// one instant, that instant is read in windows of the other time field.
func (c *Client) Scan(ctx context.Context, module string, q ScanQuery, fn func(Page) error) error {
	op := "scan " + module
	if err := checkModule(module); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if q.Field != CreatedTime && q.Field != ModifiedTime {
		return fmt.Errorf("%s: field %q: want %q or %q", op, q.Field, CreatedTime, ModifiedTime)
	}
	if q.To.IsZero() {
		q.To = time.Now()
	}
	err := c.scan(ctx, op, module, q, fn, true)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// rangeParam names the search parameter of a time field.
func rangeParam(field string) string { return field + "Range" }

func recTime(r Record, field string) time.Time {
	if field == CreatedTime {
		return r.CreatedTime
	}
	return r.ModifiedTime
}

// windowState tracks the last instant a window delivered and the ids seen at it.
type windowState struct {
	last time.Time
	ids  map[string]struct{}
}

// advance records a delivered record.
func (w *windowState) advance(t time.Time, id string) {
	if !t.Equal(w.last) {
		w.last = t
		clear(w.ids)
	}
	w.ids[id] = struct{}{}
}

func (c *Client) scan(ctx context.Context, op, module string, q ScanQuery, fn func(Page) error, allowDense bool) error {
	const limit = MaxLimit
	lo := q.From.Truncate(time.Millisecond)
	hi := q.To
	skip := map[string]struct{}{} // ids already delivered at instant lo
	ws := windowState{ids: map[string]struct{}{}}
	v := url.Values{}
	for k, vals := range q.Params {
		v[k] = vals
	}
	v.Set("limit", strconv.Itoa(limit))
	v.Set("sortBy", q.Field)
	for {
		v.Set(rangeParam(q.Field), FormatTime(lo)+","+FormatTime(hi))
		ws.last = time.Time{}
		clear(ws.ids)
		full := false // the window had more than the search can reach
		for from := 0; ; from += limit {
			v.Set("from", strconv.Itoa(from))
			lr, status, err := c.searchPage(ctx, op, module, v)
			if err != nil {
				return err
			}
			if status == http.StatusNoContent || len(lr.Data) == 0 {
				break
			}
			p, err := decodePage(op, lr)
			if err != nil {
				return err
			}
			kept := p.Records[:0]
			for _, r := range p.Records {
				t := recTime(r, q.Field)
				ws.advance(t, r.ID)
				if _, dup := skip[r.ID]; dup && t.Equal(lo) {
					continue
				}
				kept = append(kept, r)
			}
			if len(kept) > 0 {
				if err := fn(Page{Records: kept}); err != nil {
					return err
				}
			}
			if len(lr.Data) < limit {
				break
			}
			if from+limit > MaxSearchFrom {
				full = true
				break
			}
		}
		if !full {
			return nil
		}
		if ws.last.After(lo) {
			// Continue from the last instant, skipping what it already gave.
			lo = ws.last
			skip, ws.ids = ws.ids, skip
			continue
		}
		// Every reachable record of the window sits at instant lo.
		if !allowDense {
			return fmt.Errorf("%s at %s: %w", op, FormatTime(lo), ErrDenseTimestamps)
		}
		other := CreatedTime
		if q.Field == CreatedTime {
			other = ModifiedTime
		}
		sub := ScanQuery{Field: other, From: time.UnixMilli(0), To: time.Now().Add(time.Hour), Params: url.Values{}}
		for k, vals := range q.Params {
			sub.Params[k] = vals
		}
		sub.Params.Set(rangeParam(q.Field), FormatTime(lo)+","+FormatTime(lo))
		seen := skip // delivered at lo by earlier windows and by this one
		for id := range ws.ids {
			seen[id] = struct{}{}
		}
		err := c.scan(ctx, op, module, sub, func(p Page) error {
			kept := p.Records[:0]
			for _, r := range p.Records {
				if _, dup := seen[r.ID]; !dup {
					kept = append(kept, r)
				}
			}
			if len(kept) == 0 {
				return nil
			}
			return fn(Page{Records: kept})
		}, false)
		if err != nil {
			return err
		}
		lo = lo.Add(time.Millisecond)
		if lo.After(hi) {
			return nil
		}
		skip = map[string]struct{}{}
	}
}
