package panel

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"deskcrm/mapping"
	"deskcrm/store"
)

// Section is one part of the panel that a profile may or may not see.
type Section string

// The panel's sections, in the order the page shows them.
const (
	SectionInfo   Section = "info"
	SectionDeals  Section = "deals"
	SectionNotes  Section = "notes"
	SectionCalls  Section = "calls"
	SectionEvents Section = "events"
	SectionTasks  Section = "tasks"
)

// AllSections lists every section in page order.
var AllSections = []Section{SectionInfo, SectionDeals, SectionNotes, SectionCalls, SectionEvents, SectionTasks}

// Denial says why a profile cannot open the panel of a record at all.
type Denial string

// Allowed reports whether a profile may see the panel for a Desk module ("contacts" or
// "accounts"); the Denial explains a refusal in words an agent understands.
func Allowed(p store.Permissions, module string) (bool, Denial) {
	if !p.PanelVisible {
		return false, Denial(fmt.Sprintf("the CRM panel is not visible to profile %q", p.Profile))
	}
	if p.Modules != store.PanelBoth && p.Modules != module {
		return false, Denial(fmt.Sprintf("profile %q sees the CRM panel for %s only", p.Profile, p.Modules))
	}
	return true, ""
}

// HandshakeAllowed reports whether a profile may see handshake mode's ranked tickets: they
// show each customer's CRM type, so the profile needs the CRM panel with full info.
func HandshakeAllowed(p store.Permissions) (bool, Denial) {
	if !p.PanelVisible {
		return false, Denial(fmt.Sprintf("the CRM panel is not visible to profile %q", p.Profile))
	}
	if p.Info != store.AccessFull {
		return false, Denial(fmt.Sprintf("profile %q may not see CRM customer info, which ranks the tickets", p.Profile))
	}
	return true, ""
}

// Sections returns the sections a profile may see, in page order.
func Sections(p store.Permissions) []Section {
	var out []Section
	if p.Info == store.AccessFull {
		out = append(out, SectionInfo)
	}
	if p.Deals == store.AccessFull {
		out = append(out, SectionDeals)
	}
	if p.Notes == store.AccessFull {
		out = append(out, SectionNotes)
	}
	if p.Calls {
		out = append(out, SectionCalls)
	}
	if p.Events {
		out = append(out, SectionEvents)
	}
	if p.Tasks {
		out = append(out, SectionTasks)
	}
	return out
}

// PermissionsPatch is the body of PUT /api/v1/permissions/{profile}: every field is optional
// and a missing one keeps its current value. Activities may be given as one object.
type PermissionsPatch struct {
	PanelVisible *bool   `json:"panelVisible"`
	Modules      *string `json:"modules"`
	Info         *string `json:"info"`
	Deals        *string `json:"deals"`
	Notes        *string `json:"notes"`
	Calls        *bool   `json:"calls"`
	Events       *bool   `json:"events"`
	Tasks        *bool   `json:"tasks"`
	Activities   *struct {
		Calls  *bool `json:"calls"`
		Events *bool `json:"events"`
		Tasks  *bool `json:"tasks"`
	} `json:"activities"`
}

// Apply returns cur changed by the fields the patch sets.
func (pp PermissionsPatch) Apply(cur store.Permissions) store.Permissions {
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setS := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.ToLower(strings.TrimSpace(*v))
		}
	}
	setB(&cur.PanelVisible, pp.PanelVisible)
	setS(&cur.Modules, pp.Modules)
	setS(&cur.Info, pp.Info)
	setS(&cur.Deals, pp.Deals)
	setS(&cur.Notes, pp.Notes)
	if a := pp.Activities; a != nil {
		setB(&cur.Calls, a.Calls)
		setB(&cur.Events, a.Events)
		setB(&cur.Tasks, a.Tasks)
	}
	setB(&cur.Calls, pp.Calls)
	setB(&cur.Events, pp.Events)
	setB(&cur.Tasks, pp.Tasks)
	return cur
}

// decodeStrict decodes JSON refusing unknown fields, so that a typo is an error, not a no-op.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// In words an admin can act on: a field's name and the kind of value it takes, not
		// Go's type of the whole settings (a trial).
		return mapping.DescribeJSONError(data, err)
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	return nil
}

// RankedTicket is an open ticket with the customer type handshake mode ranks it by.
type RankedTicket struct {
	ID           string    `json:"id"`
	TicketNumber string    `json:"ticketNumber"`
	Subject      string    `json:"subject"`
	Status       string    `json:"status"`
	Priority     string    `json:"priority"`
	ContactID    string    `json:"contactId,omitempty"`
	AccountID    string    `json:"accountId,omitempty"`
	CreatedTime  time.Time `json:"createdTime"`
	// CustomerType is the CRM Account_Type of the customer's account; "" when unknown.
	CustomerType string `json:"customerType"`
	// Rank is the position of CustomerType in the order (0 first); types not in the order
	// come after the listed ones, unknown types last.
	Rank int `json:"rank"`
}

// RankOf returns a customer type's rank in order, compared case-insensitively: its index when
// listed, len(order) for a type not listed, len(order)+1 when the type is unknown.
func RankOf(customerType string, order []string) int {
	t := strings.TrimSpace(customerType)
	if t == "" {
		return len(order) + 1
	}
	for i, o := range order {
		if store.SameCustomerType(o, t) {
			return i
		}
	}
	return len(order)
}

// SortHandshake ranks the tickets by customer type in order, oldest ticket first within a
// rank (ties by ticket id keep the order stable).
func SortHandshake(ts []RankedTicket, order []string) {
	for i := range ts {
		ts[i].Rank = RankOf(ts[i].CustomerType, order)
	}
	slices.SortStableFunc(ts, func(a, b RankedTicket) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), a.CreatedTime.Compare(b.CreatedTime), cmp.Compare(a.ID, b.ID))
	})
}
