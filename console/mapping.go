package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/mapping"
)

// directions and policies offered per field, in the order the page lists them.
var (
	directions = []mapping.Direction{mapping.Both, mapping.CRMToDesk, mapping.DeskToCRM}
	policies   = []mapping.Policy{mapping.Newest, mapping.CRMWins, mapping.DeskWins}
)

// crmOption is a CRM field offered for a Desk field: Dirs are the directions in which values
// of the pair can flow (the preflight finds nothing wrong with the pair alone).
type crmOption struct {
	Name  string `json:"n"`
	Label string `json:"l"`
	Dirs  string `json:"d"`
}

// requiredMark follows the label of a CRM field CRM requires on create.
const requiredMark = " — required by CRM"

// mappingRow is one Desk field on the mapping page.
type mappingRow struct {
	Desk mapping.FieldMeta
	// Known is false for a stored Desk field that Desk's metadata lacks.
	Known, Mandatory bool
	CRM              string
	Direction        mapping.Direction
	Policy           mapping.Policy
	// Offered are the CRM fields that can be chosen in the row's direction; AllOptions (JSON)
	// every CRM field that can be chosen in some direction, for the script to offer the
	// right ones when the direction changes.
	Offered    []crmOption
	AllOptions string
	Problems   []string
}

// mappingData is the mapping page's data.
type mappingData struct {
	Module       string
	Modules      []string
	Mode         string
	Rows         []mappingRow
	CRMFields    map[string]mapping.FieldMeta
	CRMMandatory []string
	Problems     []problemView
	// Checked: Problems are the preflight of what the page shows.
	Checked    bool
	Directions []mapping.Direction
	Policies   []mapping.Policy
}

// problemView is one preflight problem as the page and the check answer show it.
type problemView struct {
	Code    string `json:"code"`
	Desk    string `json:"desk,omitempty"`
	CRM     string `json:"crm,omitempty"`
	Message string `json:"message"`
}

// mappingModule reads ?module= (or the form's), contacts by default.
func mappingModule(r *http.Request) (string, error) {
	m := r.FormValue("module")
	switch m {
	case "":
		return activities.Contacts, nil
	case activities.Contacts, activities.Accounts:
		return m, nil
	}
	return "", fmt.Errorf("module %q: the mapping is per module, contacts or accounts", m)
}

// mappingMode is the mode the mapping is checked for: the integration's.
func (h *handler) mappingMode(ctx context.Context, id string) (mapping.Mode, string, error) {
	in, err := h.cfg.Store.Integration(ctx, id)
	if err != nil {
		return "", "", err
	}
	if in.State == "deleted" {
		return "", "", fmt.Errorf("integration %q was deleted", id)
	}
	if in.Mode == activities.ModeTwoWay {
		return mapping.TwoWay, in.Mode, nil
	}
	return mapping.OneWay, in.Mode, nil
}

func (h *handler) mappingPage(w http.ResponseWriter, r *http.Request) {
	h.showMapping(w, r, http.StatusOK, nil, false, "")
}

// showMapping renders the mapping page: the stored mapping, or (edited) the one the admin
// posted with its preflight problems.
func (h *handler) showMapping(w http.ResponseWriter, r *http.Request, status int, edited *mapping.Mapping, checked bool, problem string) {
	v := view{Title: "Field mapping", Active: "mapping", Problem: problem}
	id, err := integrationOf(r)
	if err == nil {
		v.Integration = id
	}
	module, merr := mappingModule(r)
	if err = errors.Join(err, merr); err != nil {
		v.Problem, v.Data = err.Error(), mappingData{}
		h.render(w, r, http.StatusBadRequest, "mapping", v)
		return
	}
	ctx, cancel := timeout(r, 30*time.Second)
	defer cancel()
	d, err := h.mappingData(ctx, id, module, edited, checked)
	if err != nil {
		v.Problem = joinProblems(problem, h.fail("read the "+module+" mapping", err, zap.String("integration", id)))
		status = http.StatusBadGateway
	}
	v.Data = d
	h.render(w, r, status, "mapping", v)
}

// mappingData builds the page: every Desk field of the module beside the CRM fields it can be
// mapped to, from both sides' live metadata.
func (h *handler) mappingData(ctx context.Context, id, module string, edited *mapping.Mapping, checked bool) (mappingData, error) {
	d := mappingData{Module: module, Modules: []string{activities.Contacts, activities.Accounts}, Directions: directions, Policies: policies,
		CRMFields: map[string]mapping.FieldMeta{}}
	mode, modeName, err := h.mappingMode(ctx, id)
	if err != nil {
		return d, err
	}
	d.Mode = modeLabels[modeName]
	current := edited
	if current == nil {
		m, err := activities.CurrentMapping(ctx, h.cfg.Activities, id, module)
		if err != nil {
			return d, err
		}
		current = &m
	}
	deskMeta, crmMeta, err := h.meta.Fields(ctx, module)
	if err != nil {
		return d, err
	}
	for _, c := range crmMeta {
		d.CRMFields[c.Name] = c
	}
	deskMandatory, crmMandatory := mandatoryFields(mode, mapping.Module(module), deskMeta, crmMeta)
	d.CRMMandatory = crmMandatory
	byDesk := map[string]mapping.FieldMap{}
	for _, f := range current.Fields {
		if _, dup := byDesk[f.Desk]; !dup {
			byDesk[f.Desk] = f
		}
	}
	seen := map[string]bool{}
	for _, dm := range deskMeta {
		if dm.Name == mapping.DeskCRMIDField {
			continue
		}
		seen[dm.Name] = true
		d.Rows = append(d.Rows, newRow(mode, mapping.Module(module), dm, true, slices.Contains(deskMandatory, dm.Name), byDesk[dm.Name], crmMeta, crmMandatory))
	}
	for _, f := range current.Fields {
		if !seen[f.Desk] {
			seen[f.Desk] = true
			d.Rows = append(d.Rows, newRow(mode, mapping.Module(module), mapping.FieldMeta{Name: f.Desk, Label: f.Desk}, false, false, f, crmMeta, crmMandatory))
		}
	}
	if edited != nil || checked {
		d.Checked = true
		d.Problems = problemViews(mapping.PreflightMode(mode, *current, deskMeta, crmMeta))
		for i := range d.Rows {
			for _, p := range d.Problems {
				if p.Desk == d.Rows[i].Desk.Name {
					d.Rows[i].Problems = append(d.Rows[i].Problems, p.Code+": "+p.Message)
				}
			}
		}
	}
	return d, nil
}

// newRow is a Desk field's row: its mapping (f, zero when unmapped) and the CRM fields it can
// be mapped to in each direction.
func newRow(mode mapping.Mode, module mapping.Module, dm mapping.FieldMeta, known, mandatory bool, f mapping.FieldMap,
	crmMeta []mapping.FieldMeta, crmMandatory []string) mappingRow {
	row := mappingRow{Desk: dm, Known: known, Mandatory: mandatory, CRM: f.CRM, Direction: orDirection(f.Direction), Policy: orPolicy(f.Policy)}
	var all []crmOption
	for _, cm := range crmMeta {
		if cm.Name == mapping.CRMDeskIDField {
			continue
		}
		var dirs []string
		if known {
			for _, dir := range directions {
				if pairWorks(mode, module, dm, cm, dir) {
					dirs = append(dirs, string(dir))
				}
			}
		}
		selected := cm.Name == f.CRM
		if len(dirs) == 0 && !selected {
			continue
		}
		o := crmOption{Name: cm.Name, Label: fmt.Sprintf("%s · %s (%s)", cm.Label, cm.Name, cm.Type), Dirs: strings.Join(dirs, " ")}
		if slices.Contains(crmMandatory, cm.Name) {
			o.Label += requiredMark
		}
		all = append(all, o)
		// The chosen field stays on the page even when it does not fit: the preflight names it.
		if selected || slices.Contains(dirs, string(row.Direction)) {
			row.Offered = append(row.Offered, o)
		}
	}
	b, _ := json.Marshal(all)
	row.AllOptions = string(b)
	return row
}

// pairWorks reports whether a Desk field and a CRM field can be mapped in a direction: the
// preflight of that pair alone finds nothing but the module's mandatory fields missing. It is
// the sync's own rule (mapping.Compatible, read-only fields, account lookups, picklist values).
func pairWorks(mode mapping.Mode, module mapping.Module, dm, cm mapping.FieldMeta, dir mapping.Direction) bool {
	m := mapping.Mapping{Module: module, Fields: []mapping.FieldMap{{Desk: dm.Name, CRM: cm.Name, Direction: dir}}}
	for _, p := range mapping.PreflightMode(mode, m, []mapping.FieldMeta{dm}, []mapping.FieldMeta{cm}) {
		if p.Code != mapping.CodeMandatoryMissing {
			return false
		}
	}
	return true
}

// mandatoryFields lists the fields each side requires on create, as the preflight of an empty
// mapping names them (in one-way mode CRM is never written, so it requires none).
func mandatoryFields(mode mapping.Mode, module mapping.Module, deskMeta, crmMeta []mapping.FieldMeta) (desk, crm []string) {
	for _, p := range mapping.PreflightMode(mode, mapping.Mapping{Module: module}, deskMeta, crmMeta) {
		if p.Code != mapping.CodeMandatoryMissing {
			continue
		}
		if p.Desk != "" {
			desk = append(desk, p.Desk)
		}
		if p.CRM != "" {
			crm = append(crm, p.CRM)
		}
	}
	return desk, crm
}

func orDirection(d mapping.Direction) mapping.Direction {
	if d == "" {
		return mapping.Both
	}
	return d
}

func orPolicy(p mapping.Policy) mapping.Policy {
	if p == "" {
		return mapping.Newest
	}
	return p
}

func problemViews(ps []mapping.Problem) []problemView {
	out := make([]problemView, 0, len(ps))
	for _, p := range ps {
		out = append(out, problemView{Code: string(p.Code), Desk: p.Desk, CRM: p.CRM, Message: p.Message})
	}
	return out
}

// postedMapping reads the mapping form: for each row (field "row", a Desk field) the CRM
// field chosen ("crm.<desk field>", empty: not mapped), its direction and its policy.
func postedMapping(r *http.Request, module string) (mapping.Mapping, error) {
	m := mapping.Mapping{Module: mapping.Module(module)}
	for _, desk := range r.PostForm["row"] {
		crm := strings.TrimSpace(r.PostForm.Get("crm." + desk))
		if crm == "" {
			continue
		}
		dir, pol := mapping.Direction(r.PostForm.Get("dir."+desk)), mapping.Policy(r.PostForm.Get("pol."+desk))
		if !dir.Valid() || !pol.Valid() {
			return m, fmt.Errorf("the direction %q or policy %q of Desk %s is not one the console offers", dir, pol, desk)
		}
		m.Fields = append(m.Fields, mapping.FieldMap{Desk: desk, CRM: crm, Direction: orDirection(dir), Policy: orPolicy(pol)})
	}
	return m, nil
}

// preflight checks a posted mapping against both sides' live metadata in the integration's mode.
func (h *handler) preflight(ctx context.Context, id string, m mapping.Mapping) ([]mapping.Problem, error) {
	mode, _, err := h.mappingMode(ctx, id)
	if err != nil {
		return nil, err
	}
	deskMeta, crmMeta, err := h.meta.Fields(ctx, string(m.Module))
	if err != nil {
		return nil, err
	}
	return mapping.PreflightMode(mode, m, deskMeta, crmMeta), nil
}

// postedIntegrationMapping reads the integration and the mapping of the module posted.
func postedIntegrationMapping(r *http.Request) (string, mapping.Mapping, error) {
	id, err := integrationOf(r)
	if err != nil {
		return "", mapping.Mapping{}, err
	}
	module, err := mappingModule(r)
	if err != nil {
		return "", mapping.Mapping{}, err
	}
	m, err := postedMapping(r, module)
	return id, m, err
}

// mappingCheck answers the page's script: the preflight of the mapping as edited (JSON).
func (h *handler) mappingCheck(w http.ResponseWriter, r *http.Request) {
	out := struct {
		OK       bool          `json:"ok"`
		Problems []problemView `json:"problems"`
		Error    string        `json:"error,omitempty"`
	}{Problems: []problemView{}}
	status := http.StatusOK
	id, m, err := postedIntegrationMapping(r)
	if err != nil {
		status, out.Error = http.StatusBadRequest, err.Error()
	} else {
		ctx, cancel := timeout(r, 30*time.Second)
		defer cancel()
		probs, err := h.preflight(ctx, id, m)
		if err != nil {
			status, out.Error = http.StatusBadGateway, h.fail("check the mapping", err, zap.String("integration", id))
		}
		out.Problems = append(out.Problems, problemViews(probs)...)
		out.OK = err == nil && len(probs) == 0
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// mappingSubmit checks the posted mapping (action "check") or saves it (action "save") once
// the preflight finds nothing wrong; a mapping with problems is shown with them and not saved.
func (h *handler) mappingSubmit(w http.ResponseWriter, r *http.Request) {
	id, m, err := postedIntegrationMapping(r)
	if err != nil {
		h.showMapping(w, r, http.StatusBadRequest, nil, false, err.Error())
		return
	}
	ctx, cancel := timeout(r, 30*time.Second)
	defer cancel()
	probs, err := h.preflight(ctx, id, m)
	if err != nil {
		h.showMapping(w, r, http.StatusBadGateway, &m, false, h.fail("check the mapping", err, zap.String("integration", id)))
		return
	}
	if r.PostForm.Get("action") != "save" {
		h.showMapping(w, r, http.StatusOK, &m, true, "")
		return
	}
	if len(probs) > 0 {
		h.showMapping(w, r, http.StatusUnprocessableEntity, &m, true,
			fmt.Sprintf("Not saved: the mapping has %d problem(s), listed below. Fix them and save again.", len(probs)))
		return
	}
	n, err := activities.ImportMapping(ctx, h.cfg.Store, id, m)
	if err != nil {
		h.showMapping(w, r, http.StatusInternalServerError, &m, true, h.fail("save the mapping", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: mapping saved", zap.String("integration", id), zap.String("module", string(m.Module)), zap.Int("fields", n))
	h.redirect(w, r, Prefix+"mapping", "mapping", "module", string(m.Module))
}
