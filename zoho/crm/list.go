package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Info is the "info" object of a page.
type Info struct {
	PerPage           int    `json:"per_page"`
	Count             int    `json:"count"`
	Page              int    `json:"page"`
	MoreRecords       bool   `json:"more_records"`
	SortBy            string `json:"sort_by"`
	SortOrder         string `json:"sort_order"`
	NextPageToken     string `json:"next_page_token"`
	PreviousPageToken string `json:"previous_page_token"`
	PageTokenExpiry   string `json:"page_token_expiry"`
}

// Cursor is a position in a paged listing. The zero Cursor is the first page.
// Activities heartbeat it to resume a long scan where it stopped.
type Cursor struct {
	// Page is the 1-based page number, used for the first 2,000 records.
	Page int `json:"page,omitempty"`
	// PageToken continues past 2,000 records (it expires after about a day).
	PageToken string `json:"pageToken,omitempty"`
}

// Page is one page of records handed to a paging callback.
type Page struct {
	Records []Record
	Info    Info
	// Next is where the following page starts; meaningful when More.
	Next Cursor
	More bool
}

// ListOptions select and order the records of List and Related.
type ListOptions struct {
	// Fields are the field API names to return (required by CRM, at most 50).
	Fields []string
	// ModifiedSince sends If-Modified-Since: only records modified after it.
	ModifiedSince time.Time
	// SortBy is id, Created_Time or Modified_Time (default Modified_Time);
	// SortOrder asc or desc (default asc), so a scan reads oldest changes first.
	SortBy    string
	SortOrder string
	// PerPage is the page size, 1–200 (default 200).
	PerPage int
	// IDs restricts the listing to these record ids.
	IDs []string
	// CVID lists a custom view (cannot be combined with sorting; costs 3 credits).
	CVID string
	// Start resumes from a cursor of an earlier Page.Next.
	Start Cursor
}

// ErrStop may be returned by a paging callback to end the scan early; the
// paging call then returns nil.
var ErrStop = errors.New("stop paging")

// List streams the records of module page by page to fn, in Modified_Time
// order by default. It uses page numbers for the first 2,000 records and
// page_token after that. A 204 or a 304 (nothing modified since) ends the scan
// without calling fn. fn must not keep page.Records' slice after returning if
// it wants to avoid holding memory; the records themselves are not reused.
func (c *Client) List(ctx context.Context, module string, opts ListOptions, fn func(Page) error) error {
	return c.pages(ctx, "list "+module, "/"+pathEscape(module), opts, fn)
}

// Records is List as an iterator of single records. Breaking out of the loop
// stops the scan; a failure is yielded as the last (zero Record, err) pair.
func (c *Client) Records(ctx context.Context, module string, opts ListOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		err := c.List(ctx, module, opts, func(p Page) error {
			for _, r := range p.Records {
				if !yield(r, nil) {
					return ErrStop
				}
			}
			return nil
		})
		if err != nil {
			yield(Record{}, err)
		}
	}
}

// Related lists the records of a related list of one record, e.g. the Deals,
// Notes, Tasks, Events or Calls of a contact or account. Use RelatedLists to
// discover the related-list API names an org has.
func (c *Client) Related(ctx context.Context, module, id, relatedList string, opts ListOptions, fn func(Page) error) error {
	p := "/" + pathEscape(module) + "/" + pathEscape(id) + "/" + pathEscape(relatedList)
	// The v8 spec of related records takes page, per_page, fields and
	// If-Modified-Since only: no sorting.
	opts.SortBy, opts.SortOrder = "-", "-"
	return c.pages(ctx, "related "+relatedList, p, opts, fn)
}

// Related-list API names for the agent panel (standard orgs).
const (
	RelatedDeals  = "Deals"
	RelatedNotes  = "Notes"
	RelatedTasks  = "Tasks"
	RelatedEvents = "Events"
	RelatedCalls  = "Calls"
)

type listResponse struct {
	Data []map[string]any `json:"data"`
	Info Info             `json:"info"`
}

// listQuery builds the query of one list page.
func listQuery(opts ListOptions, cur Cursor, perPage int) (url.Values, error) {
	if len(opts.Fields) == 0 {
		return nil, errors.New("fields are required (CRM v3+ refuses a list without them)")
	}
	if len(opts.Fields) > MaxFields {
		return nil, fmt.Errorf("%d fields requested, CRM allows at most %d per call", len(opts.Fields), MaxFields)
	}
	q := url.Values{}
	q.Set("fields", strings.Join(opts.Fields, ","))
	q.Set("per_page", strconv.Itoa(perPage))
	if cur.PageToken != "" {
		q.Set("page_token", cur.PageToken)
	} else {
		q.Set("page", strconv.Itoa(max(cur.Page, 1)))
	}
	if opts.CVID != "" {
		q.Set("cvid", opts.CVID)
	} else if opts.SortBy != "-" {
		sb, so := opts.SortBy, opts.SortOrder
		if sb == "" {
			sb = "Modified_Time"
		}
		if so == "" {
			so = "asc"
		}
		q.Set("sort_by", sb)
		q.Set("sort_order", so)
	}
	if len(opts.IDs) > 0 {
		q.Set("ids", strings.Join(opts.IDs, ","))
	}
	return q, nil
}

// nextCursor decides where the page after cur starts: page numbers while the
// next page stays within the first 2,000 records, the server's page token after.
func nextCursor(cur Cursor, info Info, perPage int) (Cursor, error) {
	if cur.PageToken != "" {
		if info.NextPageToken == "" {
			return Cursor{}, errors.New("more records but no next_page_token")
		}
		return Cursor{PageToken: info.NextPageToken}, nil
	}
	page := max(cur.Page, 1)
	if (page+1)*perPage <= DiscretePageCap {
		return Cursor{Page: page + 1}, nil
	}
	if info.NextPageToken == "" {
		return Cursor{}, fmt.Errorf("more than %d records but no next_page_token on page %d", DiscretePageCap, page)
	}
	return Cursor{PageToken: info.NextPageToken}, nil
}

func (c *Client) pages(ctx context.Context, op, path string, opts ListOptions, fn func(Page) error) error {
	perPage := opts.PerPage
	if perPage <= 0 || perPage > MaxPerPage {
		perPage = MaxPerPage
	}
	cur := opts.Start
	for {
		q, err := listQuery(opts, cur, perPage)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		req := c.get(op, path, q)
		if opts.CVID != "" {
			req.Cost, req.Complex = 3, true
		}
		if !opts.ModifiedSince.IsZero() {
			req.Header = http.Header{"If-Modified-Since": {FormatTime(opts.ModifiedSince)}}
		}
		var lr listResponse
		status, err := c.call(ctx, req, &lr)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || status == http.StatusNotModified || len(lr.Data) == 0 {
			return nil
		}
		p := Page{Info: lr.Info, More: lr.Info.MoreRecords, Records: make([]Record, 0, len(lr.Data))}
		for _, m := range lr.Data {
			r, err := fromMap(m)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			p.Records = append(p.Records, r)
		}
		if p.More {
			if p.Next, err = nextCursor(cur, lr.Info, perPage); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		if err := fn(p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if !p.More {
			return nil
		}
		cur = p.Next
	}
}

// Get returns one record; fields may be empty for all fields. A missing record
// is an *Error with failure code RECORD_NOT_FOUND.
func (c *Client) Get(ctx context.Context, module, id string, fields []string) (Record, error) {
	q := url.Values{}
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	op := "get " + module
	var lr listResponse
	status, err := c.call(ctx, c.get(op, "/"+pathEscape(module)+"/"+pathEscape(id), q), &lr)
	if err != nil {
		return Record{}, err
	}
	if status == http.StatusNoContent || len(lr.Data) == 0 {
		return Record{}, fmt.Errorf("%s: %w", op, &Error{HTTPStatus: status, Code: "INVALID_DATA", Message: "the id given seems to be invalid", Details: map[string]any{"id": id}, Index: -1})
	}
	r, err := fromMap(lr.Data[0])
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

// SearchQuery selects records for Search. Exactly one of Criteria, Email,
// Phone and Word should be set (CRM uses them in that order of priority).
type SearchQuery struct {
	// Criteria is a criteria expression; build it with Cond, And and Or so that
	// values are escaped.
	Criteria string
	// Email searches all email fields; Phone all phone fields (≥3 chars);
	// Word is a global text search (≥2 chars).
	Email, Phone, Word string
	Fields             []string
	// PerPage 1–200, default 200 (always sent: the spec marks it required).
	PerPage int
	// Converted and Approved filter Leads ("true", "false", "both").
	Converted, Approved string
}

// ErrSearchLimit is returned (wrapped) when a search matches more than the
// 2,000 records CRM lets a search reach; the pages before it were delivered.
// Narrow the criteria (e.g. by Modified_Time) to see the rest.
var ErrSearchLimit = errors.New("search matches more than 2000 records")

// Search streams the records matching q page by page. Searching is a complex
// call for the concurrency sub-limit. Matches past 2,000 are unreachable: the
// scan then ends with ErrSearchLimit.
func (c *Client) Search(ctx context.Context, module string, q SearchQuery, fn func(Page) error) error {
	op := "search " + module
	v := url.Values{}
	switch {
	case q.Criteria != "":
		v.Set("criteria", q.Criteria)
	case q.Email != "":
		v.Set("email", q.Email)
	case q.Phone != "":
		v.Set("phone", q.Phone)
	case q.Word != "":
		v.Set("word", q.Word)
	default:
		return fmt.Errorf("%s: one of criteria, email, phone or word is required", op)
	}
	if len(q.Fields) > 0 {
		v.Set("fields", strings.Join(q.Fields, ","))
	}
	if q.Converted != "" {
		v.Set("converted", q.Converted)
	}
	if q.Approved != "" {
		v.Set("approved", q.Approved)
	}
	perPage := q.PerPage
	if perPage <= 0 || perPage > MaxPerPage {
		perPage = MaxPerPage
	}
	v.Set("per_page", strconv.Itoa(perPage))
	for page := 1; ; page++ {
		v.Set("page", strconv.Itoa(page))
		req := c.get(op, "/"+pathEscape(module)+"/search", v)
		req.Complex = true
		var lr listResponse
		status, err := c.call(ctx, req, &lr)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || len(lr.Data) == 0 {
			return nil
		}
		p := Page{Info: lr.Info, More: lr.Info.MoreRecords, Records: make([]Record, 0, len(lr.Data))}
		for _, m := range lr.Data {
			r, err := fromMap(m)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			p.Records = append(p.Records, r)
		}
		reachable := (page+1)*perPage <= DiscretePageCap
		if p.More && reachable {
			p.Next = Cursor{Page: page + 1}
		}
		if err := fn(p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if !p.More {
			return nil
		}
		if !reachable {
			return fmt.Errorf("%s: %w", op, ErrSearchLimit)
		}
	}
}

// Criteria operators of the search API.
const (
	OpEquals       = "equals"
	OpNotEqual     = "not_equal"
	OpStartsWith   = "starts_with"
	OpIn           = "in"
	OpGreaterThan  = "greater_than"
	OpGreaterEqual = "greater_equal"
	OpLessThan     = "less_than"
	OpLessEqual    = "less_equal"
	OpBetween      = "between"
)

// EscapeCriteriaValue escapes a value for a criteria expression: "(", ")", ","
// and every backslash get a backslash. (Escaping only a trailing backslash, as
// Zoho's page words it, would let a value "x\\)" end the condition early: the
// backslash would escape the escape.)
func EscapeCriteriaValue(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 4)
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch == '(' || ch == ')' || ch == ',' || ch == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// Cond builds one condition "(field:op:value)". Several values (for "in" and
// "between") are escaped one by one and joined with commas.
func Cond(field, op string, values ...string) string {
	esc := make([]string, len(values))
	for i, v := range values {
		esc[i] = EscapeCriteriaValue(v)
	}
	return "(" + field + ":" + op + ":" + strings.Join(esc, ",") + ")"
}

// And joins conditions with "and" (CRM allows at most 10 per criteria).
func And(conds ...string) string { return group("and", conds) }

// Or joins conditions with "or".
func Or(conds ...string) string { return group("or", conds) }

func group(op string, conds []string) string {
	if len(conds) == 1 {
		return conds[0]
	}
	return "(" + strings.Join(conds, op) + ")"
}

// DeletedRecord is an entry of the deleted-records list.
type DeletedRecord struct {
	ID          string
	DisplayName string
	// Type is "recycle" (in the recycle bin) or "permanent".
	Type        string
	DeletedTime time.Time
	// DeletedByID is empty for permanently deleted records.
	DeletedByID string
}

// DeletedOptions select deleted records.
type DeletedOptions struct {
	// Type is all (default), recycle or permanent.
	Type string
	// ModifiedSince sends If-Modified-Since: only records deleted after it.
	ModifiedSince time.Time
	PerPage       int
	// StartPage resumes at a page (1-based).
	StartPage int
}

type deletedItem struct {
	ID          json.Number `json:"id"`
	DisplayName *string     `json:"display_name"`
	Type        string      `json:"type"`
	DeletedTime string      `json:"deleted_time"`
	DeletedBy   *struct {
		ID json.Number `json:"id"`
	} `json:"deleted_by"`
}

// Deleted streams the ids of deleted records of module (2 credits per page).
func (c *Client) Deleted(ctx context.Context, module string, opts DeletedOptions, fn func([]DeletedRecord) error) error {
	op := "deleted " + module
	typ := opts.Type
	if typ == "" {
		typ = "all"
	}
	perPage := opts.PerPage
	if perPage <= 0 || perPage > MaxPerPage {
		perPage = MaxPerPage
	}
	for page := max(opts.StartPage, 1); ; page++ {
		q := url.Values{"type": {typ}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
		req := c.get(op, "/"+pathEscape(module)+"/deleted", q)
		req.Cost = 2
		if !opts.ModifiedSince.IsZero() {
			req.Header = http.Header{"If-Modified-Since": {FormatTime(opts.ModifiedSince)}}
		}
		var resp struct {
			Data []deletedItem `json:"data"`
			Info Info          `json:"info"`
		}
		status, err := c.call(ctx, req, &resp)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || status == http.StatusNotModified || len(resp.Data) == 0 {
			return nil
		}
		out := make([]DeletedRecord, 0, len(resp.Data))
		for _, d := range resp.Data {
			dr := DeletedRecord{ID: d.ID.String(), Type: d.Type}
			if d.DisplayName != nil {
				dr.DisplayName = *d.DisplayName
			}
			if d.DeletedBy != nil {
				dr.DeletedByID = d.DeletedBy.ID.String()
			}
			if d.DeletedTime != "" {
				if dr.DeletedTime, err = ParseTime(d.DeletedTime); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
			}
			out = append(out, dr)
		}
		if err := fn(out); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if !resp.Info.MoreRecords {
			return nil
		}
	}
}
