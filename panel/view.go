package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/zoho/crm"
)

// View is the panel's answer for one Desk record as one profile may see it. A section the
// profile may not see is absent (nil), not empty.
type View struct {
	Integration string `json:"integration"`
	// Module is the Desk module: contacts or accounts.
	Module string `json:"module"`
	DeskID string `json:"deskId"`
	CRMID  string `json:"crmId"`
	// CRMModule is Contacts or Accounts.
	CRMModule string `json:"crmModule"`
	// Profile is the agent's Desk profile (as Desk names it), AgentID the agent.
	Profile string `json:"profile"`
	AgentID string `json:"agentId"`
	// Info holds the CRM record's fields (system "$" keys and empty values left out).
	Info map[string]any `json:"info,omitzero"`
	// Deals have Deal_Name, Stage, Amount and Closing_Date.
	Deals []Item `json:"deals,omitzero"`
	// Notes have Note_Title, Note_Content, Created_Time and Modified_Time.
	Notes []Item `json:"notes,omitzero"`
	// Activities holds the calls, events and tasks the profile may see; nil when none.
	Activities *Activities `json:"activities,omitzero"`
	// More names the sections that have more records than the panel shows.
	More []Section `json:"more,omitzero"`
	// FetchedAt is when the oldest section shown was read from CRM (answers are cached).
	FetchedAt time.Time `json:"fetchedAt,omitzero"` // none when no section was read
}

// Activities are a record's open and past activities by kind.
type Activities struct {
	Calls  []Item `json:"calls,omitzero"`
	Events []Item `json:"events,omitzero"`
	Tasks  []Item `json:"tasks,omitzero"`
}

// Item is one related record: "id" and the fields the panel reads.
type Item map[string]any

// maxItems is how many related records of each kind the panel shows.
const maxItems = 50

// relatedSpec says how a section is read from CRM.
type relatedSpec struct {
	list   string
	fields []string
}

var relatedSpecs = map[Section]relatedSpec{
	SectionDeals:  {crm.RelatedDeals, []string{"Deal_Name", "Stage", "Amount", "Closing_Date"}},
	SectionNotes:  {crm.RelatedNotes, []string{"Note_Title", "Note_Content", "Created_Time", "Modified_Time"}},
	SectionCalls:  {crm.RelatedCalls, []string{"Subject", "Call_Type", "Call_Start_Time", "Call_Duration", "Call_Result"}},
	SectionEvents: {crm.RelatedEvents, []string{"Event_Title", "Start_DateTime", "End_DateTime", "Venue"}},
	SectionTasks:  {crm.RelatedTasks, []string{"Subject", "Due_Date", "Status", "Priority"}},
}

// crmModule maps a Desk module of the panel's URL to the CRM module.
func crmModule(deskModule string) (string, bool) {
	switch deskModule {
	case "contacts":
		return "Contacts", true
	case "accounts":
		return "Accounts", true
	}
	return "", false
}

// sectionData is one section as read from CRM (and cached).
type sectionData struct {
	info    map[string]any
	items   []Item
	more    bool
	fetched time.Time
}

// buildView resolves the link, checks the profile's permissions and reads the sections it
// may see. Every refusal is a *problem with the status to answer. module and deskID were
// checked by the route (record).
func (h *handler) buildView(ctx context.Context, integration, module, deskID string, agent Agent) (*View, *problem) {
	cm, _ := crmModule(module)
	if _, p := h.liveIntegration(ctx, integration); p != nil {
		return nil, p
	}
	perm, err := h.cfg.Store.Permissions(ctx, integration, agent.Profile)
	if err != nil {
		return nil, h.storeProblem(err, "read permissions")
	}
	if ok, why := Allowed(perm, module); !ok {
		return nil, &problem{status: http.StatusForbidden, code: "not_permitted", msg: string(why)}
	}
	link, err := h.cfg.Store.LinkByDesk(ctx, integration, module, deskID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, h.storeProblem(err, "read link")
	}
	noun := strings.TrimSuffix(module, "s")
	if err != nil || link.CRMID == "" || link.State != "linked" {
		return nil, h.notLinked(ctx, integration, module, deskID)
	}
	if link.CRMDeleted != "" {
		// The sync read the deletion: CRM would answer INVALID_DATA for the id.
		return nil, &problem{status: http.StatusNotFound, code: "crm_deleted", msg: fmt.Sprintf(
			"the CRM %s %s linked to Desk %s %s was deleted in CRM (or merged into another); when this Desk %s changes the sync adds it back there, unless a linked CRM %s has its %s (the merge's master): then the failure log says to merge this one too",
			noun, link.CRMID, noun, deskID, noun, noun, keyWord(module))}
	}
	v := &View{Integration: integration, Module: module, DeskID: deskID, CRMID: link.CRMID, CRMModule: cm,
		Profile: agent.Profile, AgentID: agent.ID}
	sections := Sections(perm)
	data := make([]sectionData, len(sections))
	errs := make([]error, len(sections))
	var wg sync.WaitGroup
	for i, s := range sections {
		wg.Go(func() { data[i], errs[i] = h.section(ctx, integration, cm, link.CRMID, s) })
	}
	wg.Wait()
	for i, s := range sections {
		if errs[i] != nil {
			if gone(errs[i]) {
				// Deleted in CRM since the sync's last pass: not an outage.
				return nil, &problem{status: http.StatusNotFound, code: "crm_deleted", msg: fmt.Sprintf(
					"the CRM %s %s linked to Desk %s %s no longer exists in CRM (deleted, or merged into another); the sync notices at its next pass, and adds it back when this Desk %s changes unless a linked CRM %s has its %s (the merge's master)",
					noun, link.CRMID, noun, deskID, noun, noun, keyWord(module))}
			}
			return nil, h.crmProblem(errs[i], s)
		}
		d := data[i]
		if v.FetchedAt.IsZero() || d.fetched.Before(v.FetchedAt) {
			v.FetchedAt = d.fetched
		}
		if d.more {
			v.More = append(v.More, s)
		}
		items := d.items
		if items == nil {
			items = []Item{}
		}
		switch s {
		case SectionInfo:
			v.Info = d.info
		case SectionDeals:
			v.Deals = items
		case SectionNotes:
			v.Notes = items
		case SectionCalls, SectionEvents, SectionTasks:
			if v.Activities == nil {
				v.Activities = &Activities{}
			}
			switch s {
			case SectionCalls:
				v.Activities.Calls = items
			case SectionEvents:
				v.Activities.Events = items
			default:
				v.Activities.Tasks = items
			}
		}
	}
	return v, nil
}

// section reads one section of a CRM record, from the cache when fresh.
func (h *handler) section(ctx context.Context, integration, module, id string, s Section) (sectionData, error) {
	key := strings.Join([]string{integration, module, id, string(s)}, "|")
	if v, ok := h.cache.get(key); ok {
		return v.(sectionData), nil
	}
	var d sectionData
	if s == SectionInfo {
		rec, err := h.cfg.CRM.Get(ctx, module, id, nil)
		if err != nil {
			return d, err
		}
		d.info = infoOf(rec)
	} else {
		spec := relatedSpecs[s]
		err := h.cfg.CRM.Related(ctx, module, id, spec.list, crm.ListOptions{Fields: spec.fields, PerPage: maxItems}, func(p crm.Page) error {
			for _, rec := range p.Records {
				d.items = append(d.items, itemOf(rec, spec.fields))
			}
			d.more = p.More
			return crm.ErrStop
		})
		if err != nil {
			return d, err
		}
	}
	d.fetched = time.Now().UTC()
	h.cache.put(key, d)
	return d, nil
}

// infoOf keeps a record's fields without CRM's "$" meta keys and empty values.
func infoOf(rec crm.Record) map[string]any {
	out := map[string]any{"id": rec.ID}
	for k, v := range rec.Fields {
		if strings.HasPrefix(k, "$") || v == nil || v == "" {
			continue
		}
		out[k] = v
	}
	if !rec.CreatedTime.IsZero() {
		out["Created_Time"] = crm.FormatTime(rec.CreatedTime)
	}
	if !rec.ModifiedTime.IsZero() {
		out["Modified_Time"] = crm.FormatTime(rec.ModifiedTime)
	}
	return out
}

// itemOf keeps the asked-for fields of a related record.
func itemOf(rec crm.Record, fields []string) Item {
	it := Item{"id": rec.ID}
	for _, f := range fields {
		switch f {
		case "Created_Time":
			if !rec.CreatedTime.IsZero() {
				it[f] = crm.FormatTime(rec.CreatedTime)
			}
		case "Modified_Time":
			if !rec.ModifiedTime.IsZero() {
				it[f] = crm.FormatTime(rec.ModifiedTime)
			}
		default:
			if v, ok := rec.Fields[f]; ok && v != nil {
				it[f] = v
			}
		}
	}
	return it
}

// gone reports whether CRM refused a read because the record is not there: a record id CRM
// does not know answers INVALID_DATA "the id given seems to be invalid" (400), or 404.
func gone(err error) bool {
	var ce *crm.Error
	return errors.As(err, &ce) && (ce.HTTPStatus == http.StatusNotFound ||
		(ce.Code == "INVALID_DATA" && ce.HTTPStatus == http.StatusBadRequest && strings.Contains(ce.Message, "id given")))
}

// notLinked says why a Desk record has no CRM counterpart to show: its open failure when the
// sync could not link or create it (the failure log's code and reason), else that it has not
// been synced yet or is no Desk record the sync has read.
func (h *handler) notLinked(ctx context.Context, integration, module, deskID string) *problem {
	noun := strings.TrimSuffix(module, "s")
	p := &problem{status: http.StatusNotFound, code: "not_linked", msg: fmt.Sprintf(
		"Desk %s %s is not linked to a CRM record: the sync has not brought it to CRM yet (or no such Desk %s exists)", noun, deskID, noun)}
	fs, err := h.cfg.Store.OpenFailuresOf(ctx, integration, module, deskID)
	if err != nil {
		h.log.Warn("failure log not read for the not-linked message", zap.Error(err))
		return p
	}
	if len(fs) > 0 {
		// The code and the entry only: failure messages can hold customer values that this
		// agent's profile may not see; an admin reads the reason in the failure log.
		f := fs[0]
		p.msg = fmt.Sprintf("Desk %s %s is not linked to a CRM record: the sync could not bring it to CRM (%s); an admin finds why, "+
			"and what to change, under failure %d in the integration's failure log", noun, deskID, f.Code, f.ID)
	}
	return p
}

// crmProblem turns a CRM failure into a 502 that names Zoho's code and message.
func (h *handler) crmProblem(err error, s Section) *problem {
	var ce *crm.Error
	if errors.As(err, &ce) {
		h.log.Warn("crm read failed", zap.String("section", string(s)), zap.String("code", ce.Code), zap.Int("status", ce.HTTPStatus))
		return &problem{status: http.StatusBadGateway, code: "crm_error", msg: ce.Error(), zoho: &apiError{
			Error: "crm_error", Message: fmt.Sprintf("Zoho CRM answered %s: %s", ce.Code, ce.Message),
			Code: ce.Code, HTTPStatus: ce.HTTPStatus, Section: string(s)}}
	}
	if errors.Is(err, context.Canceled) {
		return &problem{status: 499, code: "canceled", msg: "request canceled"}
	}
	h.log.Warn("crm unreachable", zap.String("section", string(s)), zap.Error(err))
	return &problem{status: http.StatusBadGateway, code: "crm_unreachable", msg: "Zoho CRM could not be reached: " + err.Error(),
		zoho: &apiError{Error: "crm_unreachable", Message: "Zoho CRM could not be reached: " + err.Error(), Section: string(s)}}
}

func (h *handler) panelJSON(w http.ResponseWriter, r *http.Request, agent Agent) {
	integration, err := integrationParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	v, p := h.buildView(r.Context(), integration, r.PathValue("module"), r.PathValue("id"), agent)
	if p != nil {
		writeJSON(w, p.status, p.body())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// PanelLink is the answer of POST /api/v1/panel/{module}/{id}/link.
type PanelLink struct {
	// URL is the page's path and query, to open on the worker's host (e.g. in the extension's
	// iframe); it works until ExpiresAt, for this agent and record only.
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
	Profile   string    `json:"profile"`
}

// panelLink mints a signed page link for an agent whose profile may see the record's panel.
func (h *handler) panelLink(w http.ResponseWriter, r *http.Request, agent Agent) {
	integration, ok := h.liveIntegrationParam(w, r)
	if !ok {
		return
	}
	module := r.PathValue("module")
	perm, err := h.cfg.Store.Permissions(r.Context(), integration, agent.Profile)
	if err != nil {
		h.writeStoreProblem(w, err, "read permissions")
		return
	}
	if ok, why := Allowed(perm, module); !ok {
		writeError(w, http.StatusForbidden, "not_permitted", string(why))
		return
	}
	url, exp := h.links.mint(Link{Integration: integration, Module: module, RecordID: r.PathValue("id"),
		AgentID: agent.ID, Profile: agent.Profile})
	writeJSON(w, http.StatusOK, PanelLink{URL: url, ExpiresAt: exp.UTC(), Profile: agent.Profile})
}

// keyWord names the match key of a module's records: "email" for contacts, "name" for accounts.
func keyWord(module string) string {
	if module == "accounts" {
		return "name"
	}
	return "email"
}
