package panel

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"deskcrm/zoho/crm"
)

//go:embed templates/panel.html
var templates embed.FS

var pageTemplate = template.Must(template.ParseFS(templates, "templates/panel.html"))

// page is what the HTML template renders.
type page struct {
	Title, Subtitle string
	Problem         *pageProblem
	InfoHeading     string
	InfoRows        []infoRow
	Sections        []pageSection
}

type pageProblem struct {
	Heading, Message, Code string
	Status                 int
	// Info marks a normal condition (not linked) rather than a failure.
	Info bool
}

type infoRow struct{ Label, Value string }

type pageSection struct {
	ID, Heading, Lower string
	Columns            []string
	Rows               [][]cell
	Notes              []pageNote
	More               bool
}

type cell struct {
	Text string
	Num  bool
}

type pageNote struct{ Title, Content, When string }

// columns of each table section: field API name and heading.
var pageColumns = map[Section][][2]string{
	SectionDeals:  {{"Deal_Name", "Deal"}, {"Stage", "Stage"}, {"Amount", "Amount"}, {"Closing_Date", "Closing date"}},
	SectionCalls:  {{"Subject", "Subject"}, {"Call_Type", "Type"}, {"Call_Start_Time", "Start"}, {"Call_Duration", "Duration"}, {"Call_Result", "Result"}},
	SectionEvents: {{"Event_Title", "Event"}, {"Start_DateTime", "Start"}, {"End_DateTime", "End"}, {"Venue", "Venue"}},
	SectionTasks:  {{"Subject", "Subject"}, {"Due_Date", "Due"}, {"Status", "Status"}, {"Priority", "Priority"}},
}

var sectionHeadings = map[Section]string{SectionDeals: "Deals", SectionNotes: "Notes", SectionCalls: "Calls",
	SectionEvents: "Events", SectionTasks: "Tasks"}

// infoFirst are the info fields shown first, in this order; the rest follow by name.
var infoFirst = []string{"Full_Name", "Account_Name", "Account_Type", "Title", "Email", "Phone", "Mobile", "Website",
	"Industry", "Owner", "Lead_Source", "Mailing_City", "Mailing_Country", "Billing_City", "Billing_Country"}

// infoHidden are info keys the page leaves out: ids and fields repeated elsewhere.
var infoHidden = map[string]bool{"id": true, "First_Name": true, "Last_Name": true, "Desk_ID": true,
	"Created_By": true, "Modified_By": true, "Record_Image": true}

// panelPage serves the HTML page of a signed link (see linker): the agent and profile are the
// link's, checked by its signature; the profile's permissions are read afresh.
func (h *handler) panelPage(w http.ResponseWriter, r *http.Request) {
	var v *View
	link, p := h.links.verify(r)
	if p == nil {
		if !integrationIDPattern.MatchString(link.Integration) || !ValidProfileName(link.Profile) {
			p = &problem{status: http.StatusBadRequest, code: "invalid_parameter", msg: "the link names an invalid integration or profile"}
		} else {
			v, p = h.buildView(r.Context(), link.Integration, link.Module, link.RecordID, Agent{ID: link.AgentID, Profile: link.Profile})
		}
	}
	pg := page{Title: "CRM " + strings.TrimSuffix(r.PathValue("module"), "s"), Subtitle: "Desk id " + r.PathValue("id")}
	status := http.StatusOK
	if p != nil {
		status = p.status
		pp := &pageProblem{Heading: "Cannot show the CRM panel", Message: p.msg}
		switch p.code {
		case "not_linked":
			pp.Heading, pp.Info = "Not in Zoho CRM", true
		case "crm_deleted":
			pp.Heading, pp.Info = "Deleted in Zoho CRM", true
		case "not_permitted":
			pp.Heading = "Not available to your profile"
		case "integration_deleted", "integration_not_found":
			pp.Heading = "No CRM integration"
		case "link_expired":
			pp.Heading = "Link expired"
		case "invalid_link":
			pp.Heading = "Invalid link"
		}
		if p.zoho != nil {
			pp.Heading, pp.Message, pp.Code, pp.Status = "Zoho CRM answered with an error", p.zoho.Message, p.zoho.Code, p.zoho.HTTPStatus
		}
		pg.Problem = pp
	} else {
		pg = buildPage(v)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		h.log.Error("render panel page: " + err.Error())
		http.Error(w, "could not render the panel page", http.StatusInternalServerError)
		return
	}
	h.pageHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageHeaders sets the page's security headers: a content security policy that loads
// nothing but the page's own styles and lets only the Desk origin frame it, no MIME
// sniffing, no referrer (the link in the URL must not leak), no caching.
func (h *handler) pageHeaders(hd http.Header) {
	ancestors := "'none'"
	if len(h.cfg.FrameAncestors) > 0 {
		ancestors = strings.Join(h.cfg.FrameAncestors, " ")
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "+
		"form-action 'none'; frame-ancestors "+ancestors)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
}

// buildPage lays out a View for the template.
func buildPage(v *View) page {
	kind := strings.TrimSuffix(v.Module, "s")
	pg := page{Title: "CRM " + kind, Subtitle: fmt.Sprintf("Zoho CRM %s %s · Desk id %s · profile %s · read %s",
		strings.TrimSuffix(v.CRMModule, "s"), v.CRMID, v.DeskID, v.Profile, v.FetchedAt.Local().Format("15:04:05"))}
	if v.Info != nil {
		pg.InfoHeading = strings.ToUpper(kind[:1]) + kind[1:] + " information"
		pg.InfoRows = infoRows(v.Info)
		if name := display(v.Info["Full_Name"]); name != "" {
			pg.Title = name
		} else if name := display(v.Info["Account_Name"]); name != "" {
			pg.Title = name
		}
	}
	add := func(s Section, items []Item) {
		if items == nil {
			return
		}
		ps := pageSection{ID: string(s), Heading: sectionHeadings[s], Lower: strings.ToLower(sectionHeadings[s]), More: slices.Contains(v.More, s)}
		if s == SectionNotes {
			for _, it := range items {
				ps.Notes = append(ps.Notes, pageNote{Title: display(it["Note_Title"]), Content: display(it["Note_Content"]), When: display(it["Created_Time"])})
			}
		} else {
			for _, c := range pageColumns[s] {
				ps.Columns = append(ps.Columns, c[1])
			}
			for _, it := range items {
				row := make([]cell, 0, len(pageColumns[s]))
				for _, c := range pageColumns[s] {
					_, num := it[c[0]].(json.Number)
					row = append(row, cell{Text: display(it[c[0]]), Num: num})
				}
				ps.Rows = append(ps.Rows, row)
			}
		}
		pg.Sections = append(pg.Sections, ps)
	}
	add(SectionDeals, v.Deals)
	add(SectionNotes, v.Notes)
	if a := v.Activities; a != nil {
		add(SectionCalls, a.Calls)
		add(SectionEvents, a.Events)
		add(SectionTasks, a.Tasks)
	}
	return pg
}

// infoRows orders the info fields: the usual ones first, the rest by name.
func infoRows(info map[string]any) []infoRow {
	var rows []infoRow
	done := map[string]bool{}
	for _, k := range infoFirst {
		if v := display(info[k]); v != "" {
			rows = append(rows, infoRow{label(k), v})
		}
		done[k] = true
	}
	var rest []string
	for k := range info {
		if !done[k] && !infoHidden[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if v := display(info[k]); v != "" {
			rows = append(rows, infoRow{label(k), v})
		}
	}
	return rows
}

// label turns a field API name into a heading: "Closing_Date" → "Closing Date".
func label(apiName string) string { return strings.ReplaceAll(apiName, "_", " ") }

// display renders a CRM value as text: lookups by name, lists joined, times shortened.
func display(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t, err := crm.ParseTime(x); err == nil && len(x) > 10 {
			return t.Format("2006-01-02 15:04")
		}
		return x
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case json.Number:
		return x.String()
	case map[string]any:
		if n, ok := x["name"].(string); ok {
			return n
		}
		return ""
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s := display(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	case time.Time:
		return x.Format("2006-01-02 15:04")
	}
	return fmt.Sprint(v)
}
