package desk

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ticket is a Desk ticket, reduced to what handshake mode needs.
type Ticket struct {
	ID           string    `json:"id"`
	TicketNumber string    `json:"ticketNumber"`
	Subject      string    `json:"subject"`
	Status       string    `json:"status"`
	Priority     string    `json:"priority"`
	ContactID    string    `json:"contactId"`
	AccountID    string    `json:"accountId"`
	CreatedTime  time.Time `json:"-"`
}

// TicketStatuses and TicketPriorities are the values the emulator accepts.
var (
	TicketStatuses   = []string{"Open", "On Hold", "Escalated", "Closed"}
	TicketPriorities = []string{"High", "Medium", "Low"}
)

type ticketStore struct {
	byID   map[uint64]*Ticket
	order  []uint64 // creation order
	number int
}

func newTicketStore() *ticketStore { return &ticketStore{byID: map[uint64]*Ticket{}, number: 100} }

// LoadTickets stores tickets (for tests and seeding; no credits, no
// webhooks). Empty ids, ticket numbers, statuses and priorities are filled
// in; contactId must name a loaded contact, accountId (when given) a loaded
// account. It returns the ticket ids.
func (s *Server) LoadTickets(tickets []Ticket) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(tickets))
	for i, t := range tickets {
		if t.Subject == "" {
			return ids, fmt.Errorf("load tickets: ticket %d: subject is required", i)
		}
		cid, ok := parseID(t.ContactID)
		if !ok || !s.mods[ModuleContacts].has(cid) {
			return ids, fmt.Errorf("load tickets: ticket %d: contactId %q is not a contact", i, t.ContactID)
		}
		if t.AccountID != "" {
			aid, ok := parseID(t.AccountID)
			if !ok || !s.mods[ModuleAccounts].has(aid) {
				return ids, fmt.Errorf("load tickets: ticket %d: accountId %q is not an account", i, t.AccountID)
			}
		} else {
			// Cloned: the ticket outlives the contact's values, whose arena chunk a substring
			// would keep alive.
			t.AccountID = strings.Clone(s.mods[ModuleContacts].str(s.mods[ModuleContacts].rec(cid), "accountId"))
		}
		if t.Status == "" {
			t.Status = "Open"
		}
		if t.Priority == "" {
			t.Priority = "Medium"
		}
		if !slices.Contains(TicketStatuses, t.Status) || !slices.Contains(TicketPriorities, t.Priority) {
			return ids, fmt.Errorf("load tickets: ticket %d: status %q / priority %q not supported", i, t.Status, t.Priority)
		}
		var id uint64
		if t.ID != "" {
			if id, ok = parseID(t.ID); !ok || s.tickets.byID[id] != nil {
				return ids, fmt.Errorf("load tickets: ticket %d: id %q is invalid or taken", i, t.ID)
			}
		} else {
			id = s.newID()
		}
		t.ID = idString(id)
		if t.TicketNumber == "" {
			s.tickets.number++
			t.TicketNumber = strconv.Itoa(s.tickets.number)
		}
		if t.CreatedTime.IsZero() {
			t.CreatedTime = s.now()
		}
		tt := t
		s.tickets.byID[id] = &tt
		s.tickets.order = append(s.tickets.order, id)
		ids = append(ids, t.ID)
	}
	return ids, nil
}

// Tickets returns the stored tickets in creation order.
func (s *Server) Tickets() []Ticket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Ticket, 0, len(s.tickets.order))
	for _, id := range s.tickets.order {
		out = append(out, *s.tickets.byID[id])
	}
	return out
}

// renderTicket builds the JSON object of a ticket. Caller holds s.mu.
func (s *Server) renderTicket(t *Ticket, withContact, withAccount bool) map[string]any {
	out := map[string]any{
		"id": t.ID, "ticketNumber": t.TicketNumber, "subject": t.Subject, "status": t.Status,
		"statusType": statusType(t.Status), "priority": t.Priority, "contactId": t.ContactID,
		"accountId": nilIfEmpty(t.AccountID), "createdTime": formatTime(t.CreatedTime.UnixMilli()),
		"departmentId": "1892000000006907", "channel": "Email",
	}
	if withContact {
		contacts := s.mods[ModuleContacts]
		var c any
		if id, ok := parseID(t.ContactID); ok {
			if r, ok := contacts.get(id); ok {
				c = map[string]any{"id": t.ContactID, "firstName": nilIfEmpty(contacts.str(r, "firstName")),
					"lastName": contacts.str(r, "lastName"), "email": nilIfEmpty(contacts.str(r, "email")),
					"phone": nilIfEmpty(contacts.str(r, "phone")), "account": s.ticketAccount(t.AccountID)}
			}
		}
		out["contact"] = c
	}
	if withAccount {
		out["account"] = s.ticketAccount(t.AccountID)
	}
	return out
}

func (s *Server) ticketAccount(id string) any {
	accs := s.mods[ModuleAccounts]
	aid, ok := parseID(id)
	if !ok {
		return nil
	}
	a, ok := accs.get(aid)
	if !ok {
		return nil
	}
	return map[string]any{"id": id, "accountName": accs.str(a, "accountName"), "website": nilIfEmpty(accs.str(a, "website"))}
}

func statusType(status string) string {
	switch status {
	case "Closed":
		return "Closed"
	case "On Hold":
		return "On Hold"
	}
	return "Open"
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// serveTickets serves GET /api/v1/tickets (ticketListParams, plus a status filter) and GET
// /api/v1/tickets/{id}.
func (s *Server) serveTickets(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	if r.Method != http.MethodGet {
		return errMethod()
	}
	if rt.rest != "" {
		return errNotFound()
	}
	q := r.URL.Query()
	if rt.sub != "" {
		withContact, withAccount, e := ticketIncludes(q.Get("include"))
		if e != nil {
			return e
		}
		id, ok := parseID(rt.sub)
		if !ok {
			return errInvalidData(FieldError{FieldName: "/ticketId", ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid ticket id"})
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		t := s.tickets.byID[id]
		if t == nil {
			return errNotFound()
		}
		writeJSON(w, http.StatusOK, s.renderTicket(t, withContact, withAccount))
		return nil
	}
	p, e := parseTicketList(q)
	if e != nil {
		return e
	}
	var statuses []string
	if st := q.Get("status"); st != "" {
		for _, v := range strings.Split(st, ",") {
			v = strings.TrimSpace(v)
			if !slices.Contains(TicketStatuses, v) {
				return errParam("status", fmt.Sprintf("status %q is not one of %s", v, strings.Join(TicketStatuses, ", ")))
			}
			statuses = append(statuses, v)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.writeTickets(w, p, func(t *Ticket) bool { return len(statuses) == 0 || slices.Contains(statuses, t.Status) })
	return nil
}

// serveRecordTickets serves GET /api/v1/contacts/{contactId}/tickets and
// /api/v1/accounts/{accountId}/tickets (zoho-api.md B2/B3 "Related": Desk's "List tickets by
// contact" and "List tickets by account"): the tickets whose contactId (accountId) is the
// record, with ticketListParams. A non-numeric id is 422 INVALID_DATA on /contactId
// (/accountId); an id that is no record — never one, or merged away and deleted for good — is
// 404 URL_NOT_FOUND, as GET by id answers; a record in the recycle bin still lists its
// tickets, as GET by id still answers it. No ticket is 204.
func (s *Server) serveRecordTickets(w http.ResponseWriter, r *http.Request, m, idStr string) *apiError {
	if r.Method != http.MethodGet {
		return errMethod()
	}
	id, ok := parseID(idStr)
	if !ok {
		return errInvalidData(FieldError{FieldName: idParamName(m), ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid record id"})
	}
	p, e := parseTicketList(r.URL.Query())
	if e != nil {
		return e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, found := s.mods[m].get(id); !found {
		return errNotFound()
	}
	owner := func(t *Ticket) string { return t.ContactID }
	if m == ModuleAccounts {
		owner = func(t *Ticket) string { return t.AccountID }
	}
	s.writeTickets(w, p, func(t *Ticket) bool { return owner(t) == idStr })
	return nil
}

// ticketList holds the list parameters every ticket list takes: from (1-based; 0 reads as 1),
// limit 1-100 (default 50), sortBy createdTime or modifiedTime, "-" first for descending
// (default createdTime ascending; the emulator never edits a ticket, so its modified time is
// its created time), and include (contacts, accounts; assignee, departments, team, isRead
// and products are accepted and add nothing).
type ticketList struct {
	from, limit              int
	desc                     bool
	withContact, withAccount bool
}

func parseTicketList(q url.Values) (ticketList, *apiError) {
	var p ticketList
	var e *apiError
	if p.withContact, p.withAccount, e = ticketIncludes(q.Get("include")); e != nil {
		return p, e
	}
	if p.from, e = intParam(q, "from", 1, 0, 1<<31-1); e != nil {
		return p, e
	}
	p.from = max(p.from, 1)
	if p.limit, e = intParam(q, "limit", defaultListLimit, 1, maxLimit); e != nil {
		return p, e
	}
	switch q.Get("sortBy") {
	case "", "createdTime", "modifiedTime":
	case "-createdTime", "-modifiedTime":
		p.desc = true
	default:
		return p, errParam("sortBy", "sortBy must be createdTime or modifiedTime, with - for descending")
	}
	return p, nil
}

func ticketIncludes(inc string) (withContact, withAccount bool, e *apiError) {
	if inc == "" {
		return false, false, nil
	}
	for _, n := range strings.Split(inc, ",") {
		switch strings.TrimSpace(n) {
		case "contacts":
			withContact = true
		case "accounts":
			withAccount = true
		case "assignee", "departments", "team", "isRead", "products":
		default:
			return false, false, errParam("include", fmt.Sprintf("include %q is not supported", n))
		}
	}
	return withContact, withAccount, nil
}

// writeTickets answers one page of the tickets keep accepts, as p asks: {"data":[...]}, or
// 204 when the page is empty. Caller holds s.mu for reading.
func (s *Server) writeTickets(w http.ResponseWriter, p ticketList, keep func(*Ticket) bool) {
	var match []*Ticket
	for _, id := range s.tickets.order {
		if t := s.tickets.byID[id]; keep(t) {
			match = append(match, t)
		}
	}
	slices.SortStableFunc(match, func(a, b *Ticket) int {
		c := cmp.Compare(a.CreatedTime.UnixMilli(), b.CreatedTime.UnixMilli())
		if p.desc {
			return -c
		}
		return c
	})
	if p.from-1 >= len(match) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	page := match[p.from-1 : min(len(match), p.from-1+p.limit)]
	data := make([]map[string]any, len(page))
	for i, t := range page {
		data[i] = s.renderTicket(t, p.withContact, p.withAccount)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// Profile is a Desk agent profile.
type Profile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	IsDefault   bool   `json:"isDefault"`
	IsVisible   bool   `json:"isVisible"`
}

// Profiles are the profiles every emulated organization starts with (AddAgent adds more to
// one server).
var Profiles = []Profile{
	{ID: "1892000000005701", Name: "Administrator", Description: "Full access to every module and setting", Type: "ADMIN", IsDefault: true, IsVisible: true},
	{ID: "1892000000005702", Name: "Agent", Description: "Works on tickets, contacts and accounts", Type: "AGENT", IsDefault: true, IsVisible: true},
	{ID: "1892000000005703", Name: "Support Manager", Description: "Agents plus reports and team settings", Type: "AGENT", IsDefault: true, IsVisible: true},
	{ID: "1892000000005704", Name: "Newbie Agent", Description: "Agent with restricted write access", Type: "AGENT", IsDefault: true, IsVisible: true},
	{ID: "1892000000005705", Name: "Light Agent", Description: "Read access and comments only", Type: "LIGHT", IsDefault: true, IsVisible: true},
}

// serveProfiles serves GET /api/v1/profiles.
func (s *Server) serveProfiles(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	if r.Method != http.MethodGet {
		return errMethod()
	}
	profiles := s.profileList()
	if rt.sub != "" {
		for _, p := range profiles {
			if p.ID == rt.sub && rt.rest == "" {
				writeJSON(w, http.StatusOK, p)
				return nil
			}
		}
		return errNotFound()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": profiles})
	return nil
}
