package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// openStatuses are the Desk ticket statuses handshake mode lists.
const openStatuses = "Open,On Hold,Escalated"

// Handshake-list limits.
const (
	defaultTicketLimit = 100
	maxTicketLimit     = 1000
)

// HandshakeList is the answer of GET /api/v1/handshake/tickets.
type HandshakeList struct {
	Integration string         `json:"integration"`
	Order       []string       `json:"order"`
	Tickets     []RankedTicket `json:"tickets"`
	// Truncated is set when more open tickets exist than the limit read.
	Truncated bool `json:"truncated"`
}

func (h *handler) handshakeTickets(w http.ResponseWriter, r *http.Request, agent Agent) {
	list, p := h.handshake(r.Context(), r, agent)
	if p != nil {
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// handshake lists the open tickets ranked for an agent whose profile sees the CRM panel with
// the customer's info (customer types are CRM account info).
func (h *handler) handshake(ctx context.Context, r *http.Request, agent Agent) (*HandshakeList, *problem) {
	integration, err := integrationParam(r)
	if err != nil {
		return nil, &problem{status: http.StatusBadRequest, code: "invalid_parameter", msg: err.Error()}
	}
	limit := defaultTicketLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTicketLimit {
			return nil, &problem{status: http.StatusBadRequest, code: "invalid_parameter", msg: fmt.Sprintf("limit must be 1 to %d", maxTicketLimit)}
		}
		limit = n
	}
	if _, p := h.liveIntegration(ctx, integration); p != nil {
		return nil, p
	}
	perm, err := h.cfg.Store.Permissions(ctx, integration, agent.Profile)
	if err != nil {
		return nil, h.storeProblem(err, "read permissions")
	}
	if ok, why := HandshakeAllowed(perm); !ok {
		return nil, &problem{status: http.StatusForbidden, code: "not_permitted", msg: string(why)}
	}
	hs, err := h.cfg.Store.Handshake(ctx, integration)
	if err != nil {
		return nil, h.storeProblem(err, "read handshake settings")
	}
	if !hs.Enabled {
		return nil, &problem{status: http.StatusNotFound, code: "handshake_off", msg: fmt.Sprintf("handshake mode is off for integration %q; an admin turns it on (the console's Permissions page, or PUT /api/v1/handshake)", integration)}
	}
	if h.cfg.Desk == nil {
		return nil, &problem{status: http.StatusServiceUnavailable, code: "no_desk_client", msg: "the worker has no Desk client configured"}
	}
	var tickets []desk.Ticket
	truncated := false
	err = h.cfg.Desk.Tickets(ctx, desk.TicketOptions{Status: openStatuses, SortBy: "createdTime", Limit: min(limit, desk.MaxLimit)}, func(page []desk.Ticket) error {
		for _, t := range page {
			if len(tickets) == limit {
				truncated = true
				return desk.ErrStop
			}
			tickets = append(tickets, t)
		}
		return nil
	})
	if err != nil {
		return nil, h.deskProblem(err)
	}
	types, p := h.customerTypes(ctx, integration, tickets)
	if p != nil {
		return nil, p
	}
	out := &HandshakeList{Integration: integration, Order: hs.Order, Tickets: make([]RankedTicket, len(tickets)), Truncated: truncated}
	for i, t := range tickets {
		created, _ := desk.ParseTime(t.CreatedTime)
		out.Tickets[i] = RankedTicket{ID: t.ID, TicketNumber: t.TicketNumber, Subject: t.Subject, Status: t.Status,
			Priority: t.Priority, ContactID: t.ContactID, AccountID: t.AccountID, CreatedTime: created, CustomerType: types[t.ID]}
	}
	SortHandshake(out.Tickets, hs.Order)
	return out, nil
}

// customerTypes finds the CRM Account_Type of each ticket's customer: the ticket's Desk
// account when it is linked, else the CRM account of the ticket's linked contact. Tickets
// with neither are absent from the result.
func (h *handler) customerTypes(ctx context.Context, integration string, tickets []desk.Ticket) (map[string]string, *problem) {
	var deskAccounts, deskContacts []string
	for _, t := range tickets {
		if t.AccountID != "" {
			deskAccounts = append(deskAccounts, t.AccountID)
		}
		if t.ContactID != "" {
			deskContacts = append(deskContacts, t.ContactID)
		}
	}
	accLinks, err := h.cfg.Store.CounterpartIDs(ctx, store.Scope{IntegrationID: integration, Module: "accounts", Side: "desk"}, uniq(deskAccounts))
	if err != nil {
		return nil, h.storeProblem(err, "read account links")
	}
	conLinks, err := h.cfg.Store.CounterpartIDs(ctx, store.Scope{IntegrationID: integration, Module: "contacts", Side: "desk"}, uniq(deskContacts))
	if err != nil {
		return nil, h.storeProblem(err, "read contact links")
	}
	// Contacts whose ticket has no linked account: their CRM account comes from the contact.
	var crmContacts []string
	for _, t := range tickets {
		if accLinks[t.AccountID] == "" && conLinks[t.ContactID] != "" {
			crmContacts = append(crmContacts, conLinks[t.ContactID])
		}
	}
	contactAccount, err := h.lookupField(ctx, integration, "Contacts", "Account_Name", uniq(crmContacts))
	if err != nil {
		return nil, h.crmProblem(err, "handshake")
	}
	accountOf := func(t desk.Ticket) string {
		if a := accLinks[t.AccountID]; a != "" {
			return a
		}
		return contactAccount[conLinks[t.ContactID]]
	}
	var crmAccounts []string
	for _, t := range tickets {
		if a := accountOf(t); a != "" {
			crmAccounts = append(crmAccounts, a)
		}
	}
	accountType, err := h.lookupField(ctx, integration, "Accounts", "Account_Type", uniq(crmAccounts))
	if err != nil {
		return nil, h.crmProblem(err, "handshake")
	}
	out := make(map[string]string, len(tickets))
	for _, t := range tickets {
		if typ := accountType[accountOf(t)]; typ != "" {
			out[t.ID] = typ
		}
	}
	return out, nil
}

// lookupField reads one field of CRM records by id, 100 ids per call, through the cache. A
// lookup field gives the looked-up id; a missing or empty field gives "".
func (h *handler) lookupField(ctx context.Context, integration, module, field string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var missing []string
	for _, id := range ids {
		if v, ok := h.cache.get(fieldKey(integration, module, id, field)); ok {
			out[id] = v.(string)
		} else {
			missing = append(missing, id)
		}
	}
	for batch := range slices.Chunk(missing, 100) {
		seen := map[string]bool{}
		err := h.cfg.CRM.List(ctx, module, crm.ListOptions{Fields: []string{field}, IDs: batch, SortBy: "id", PerPage: crm.MaxPerPage}, func(p crm.Page) error {
			for _, rec := range p.Records {
				v := rec.String(field)
				if id, _, ok := rec.Lookup(field); ok {
					v = id
				}
				out[rec.ID] = v
				seen[rec.ID] = true
				h.cache.put(fieldKey(integration, module, rec.ID, field), v)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read %s of %d %s: %w", field, len(batch), module, err)
		}
		for _, id := range batch {
			if !seen[id] {
				h.cache.put(fieldKey(integration, module, id, field), "")
			}
		}
	}
	return out, nil
}

func fieldKey(integration, module, id, field string) string {
	return strings.Join([]string{integration, module, id, "field", field}, "|")
}

func uniq(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// deskProblem turns a Desk failure into a 502 that names Zoho's code and message.
func (h *handler) deskProblem(err error) *problem {
	var de *desk.Error
	if errors.As(err, &de) {
		h.log.Warn("desk read failed", zap.String("code", de.Code), zap.Int("status", de.HTTPStatus))
		return &problem{status: http.StatusBadGateway, code: "desk_error", msg: de.Error(), zoho: &apiError{
			Error: "desk_error", Message: fmt.Sprintf("Zoho Desk answered %s: %s", de.Code, de.Message), Code: de.Code, HTTPStatus: de.HTTPStatus}}
	}
	h.log.Warn("desk unreachable", zap.Error(err))
	msg := "Zoho Desk could not be reached: " + err.Error()
	return &problem{status: http.StatusBadGateway, code: "desk_unreachable", msg: msg, zoho: &apiError{Error: "desk_unreachable", Message: msg}}
}
