package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Field is the metadata of one Desk field (GET /organizationFields).
type Field struct {
	ID           string `json:"id"`
	APIName      string `json:"apiName"`
	DisplayLabel string `json:"displayLabel"`
	// Type is Text, Email, Phone, Picklist, Number, Date, Boolean, ...
	Type          string   `json:"type"`
	MaxLength     int      `json:"maxLength"`
	IsMandatory   bool     `json:"isMandatory"`
	IsCustomField bool     `json:"isCustomField"`
	IsReadOnly    bool     `json:"isReadOnly"`
	IsUnique      bool     `json:"isUnique"`
	AllowedValues []string `json:"allowedValues"`
	DecimalPlaces int      `json:"decimalPlaces"`
}

// Fields returns the fields of module (contacts or accounts).
func (c *Client) Fields(ctx context.Context, module string) ([]Field, error) {
	op := "fields " + module
	req, _ := c.request(op, http.MethodGet, "/organizationFields", url.Values{"module": {module}}, nil)
	var out struct {
		Data []Field `json:"data"`
	}
	if _, err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// TrashItem is one entry of the recycle bin.
type TrashItem struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Type is the module label, e.g. "Contacts", "Accounts".
	Type        string    `json:"type"`
	DeletedTime time.Time `json:"deletedTime"`
	DeletedByID string    `json:"deletedById"`
}

// RecycleBinOptions select recycle-bin entries.
type RecycleBinOptions struct {
	// Module filters by module (contacts, accounts, ...); empty = all.
	Module string
	// SortBy, e.g. "-deletedTime"; empty = Desk's default.
	SortBy string
	Limit  int
}

// RecycleBin streams the recycle bin page by page (zero-based from).
func (c *Client) RecycleBin(ctx context.Context, opts RecycleBinOptions, fn func([]TrashItem) error) error {
	op := "recycle bin"
	limit := clampLimit(opts.Limit)
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if opts.Module != "" {
		q.Set("module", opts.Module)
	}
	if opts.SortBy != "" {
		q.Set("sortBy", opts.SortBy)
	}
	for from := 0; ; from += limit {
		q.Set("from", strconv.Itoa(from))
		req, _ := c.request(op, http.MethodGet, "/recycleBin", q, nil)
		req.Cost = 3
		var out struct {
			Data []TrashItem `json:"data"`
		}
		status, err := c.call(ctx, req, &out)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || len(out.Data) == 0 {
			return nil
		}
		if err := fn(out.Data); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if len(out.Data) < limit {
			return nil
		}
	}
}

// RestoreResult is the outcome of restoring one id.
type RestoreResult struct {
	ID      string       `json:"id"`
	Success bool         `json:"success"`
	Errors  []FieldError `json:"errors"`
}

// Restore brings records back from the recycle bin (their parents too).
func (c *Client) Restore(ctx context.Context, ids []string) ([]RestoreResult, error) {
	op := "restore"
	if len(ids) == 0 {
		return nil, nil
	}
	req, err := c.request(op, http.MethodPost, "/recycleBin/restore", nil, map[string][]string{"ids": ids})
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []RestoreResult `json:"results"`
		Data    []RestoreResult `json:"data"`
	}
	if _, err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.Results != nil {
		return out.Results, nil
	}
	return out.Data, nil
}

// Webhook is a Desk webhook subscription.
type Webhook struct {
	ID          string `json:"id,omitempty"`
	URL         string `json:"url"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Subscriptions maps event types (Contact_Add, Contact_Update,
	// Contact_Delete, Account_Add, ...) to their config (nil for contacts and
	// accounts).
	Subscriptions map[string]any `json:"subscriptions"`
	// IgnoreSourceID suppresses events caused by calls with this sourceId.
	IgnoreSourceID string `json:"ignoreSourceId,omitempty"`
	IsEnabled      *bool  `json:"isEnabled,omitempty"`
	CreatedTime    string `json:"createdTime,omitempty"`
}

// CreateWebhook registers a webhook. Desk first checks the URL with a GET
// (then a POST) that must answer 200.
func (c *Client) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	op := "create webhook"
	w.ID, w.CreatedTime = "", ""
	req, err := c.request(op, http.MethodPost, "/webhooks", nil, w)
	if err != nil {
		return Webhook{}, err
	}
	var out Webhook
	if _, err := c.call(ctx, req, &out); err != nil {
		return Webhook{}, err
	}
	return out, nil
}

// Webhooks lists the org's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	req, _ := c.request("list webhooks", http.MethodGet, "/webhooks", nil, nil)
	var out struct {
		Data []Webhook `json:"data"`
	}
	if _, err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// DeleteWebhook removes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	req, _ := c.request("delete webhook", http.MethodDelete, "/webhooks/"+url.PathEscape(id), nil, nil)
	_, err := c.call(ctx, req, nil)
	return err
}

// Ticket is the summary of a Desk ticket.
type Ticket struct {
	ID           string `json:"id"`
	TicketNumber string `json:"ticketNumber"`
	Subject      string `json:"subject"`
	Status       string `json:"status"`
	Priority     string `json:"priority"`
	ContactID    string `json:"contactId"`
	AccountID    string `json:"accountId"`
	CreatedTime  string `json:"createdTime"`
	// Fields holds the whole ticket as returned.
	Fields map[string]any `json:"-"`
}

// TicketOptions select tickets.
type TicketOptions struct {
	// Status filters (e.g. "Open"); SortBy e.g. "-createdTime".
	Status, SortBy string
	Limit          int
	// Params are extra query parameters (include, departmentId, ...).
	Params url.Values
}

// Tickets streams tickets page by page (1-based from).
func (c *Client) Tickets(ctx context.Context, opts TicketOptions, fn func([]Ticket) error) error {
	op := "list tickets"
	limit := clampLimit(opts.Limit)
	q := url.Values{}
	for k, v := range opts.Params {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(limit))
	if opts.Status != "" {
		q.Set("status", opts.Status)
	}
	if opts.SortBy != "" {
		q.Set("sortBy", opts.SortBy)
	}
	for from := 1; ; from += limit {
		q.Set("from", strconv.Itoa(from))
		req, _ := c.request(op, http.MethodGet, "/tickets", q, nil)
		req.Cost = 3
		var out struct {
			Data []json.RawMessage `json:"data"`
		}
		status, err := c.call(ctx, req, &out)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent || len(out.Data) == 0 {
			return nil
		}
		ts := make([]Ticket, len(out.Data))
		for i, raw := range out.Data {
			if err := json.Unmarshal(raw, &ts[i]); err != nil {
				return fmt.Errorf("%s: decode ticket: %w", op, err)
			}
			if err := json.Unmarshal(raw, &ts[i].Fields); err != nil {
				return fmt.Errorf("%s: decode ticket: %w", op, err)
			}
		}
		if err := fn(ts); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if len(out.Data) < limit {
			return nil
		}
	}
}

// Profile is a Desk agent profile (used for the CRM panel permissions).
type Profile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	IsDefault   bool   `json:"isDefault"`
	IsVisible   bool   `json:"isVisible"`
}

// Profiles lists the agent profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	var all []Profile
	const limit = MaxLimit
	for from := 0; ; from += limit {
		q := url.Values{"from": {strconv.Itoa(from)}, "limit": {strconv.Itoa(limit)}}
		req, _ := c.request("list profiles", http.MethodGet, "/profiles", q, nil)
		var out struct {
			Data []Profile `json:"data"`
		}
		status, err := c.call(ctx, req, &out)
		if err != nil {
			return nil, err
		}
		if status == http.StatusNoContent || len(out.Data) == 0 {
			return all, nil
		}
		all = append(all, out.Data...)
		if len(out.Data) < limit {
			return all, nil
		}
	}
}
