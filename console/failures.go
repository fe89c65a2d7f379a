package console

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/store"
	"deskcrm/workflows"
)

// failureRow is one entry of the failure log as the page shows it.
type failureRow struct {
	store.FailureEntry
	// Reason is the entry's reason in the help article's words.
	Reason          string
	DeskURL, CRMURL string
}

// codeCount is a failure code and its open entries, for the filter.
type codeCount struct {
	Code string
	N    int
}

// failuresData is the failure log page's data.
type failuresData struct {
	Open, Closed []failureRow
	Codes        []codeCount
	Modules      []string
	Module, Code string
	OpenTotal    int
}

// seedReasons are the failure log's reasons as the help article words them, by code, and
// those of the codes deskcrm adds.
var seedReasons = map[string]string{
	"CRM_ID_ALREADY_MAPPED":   "CRM ID is already mapped with another support entity",
	"MANDATORY_FIELD_MISSING": "Mandatory field missing",
	"MISSING_PARAMETER":       "Missing parameter",
	"INVALID_PARAMETER":       "Incorrect API parameter or parameter value",
	"AMBIGUOUS_MATCH":         "Several records share this email or account name",
	"DUPLICATE_DATA":          "A unique field of the other app already holds this value",
	"VALUE_TOO_LONG":          "A value is longer than the other app's field allows",
	"INVALID_PICKLIST_VALUE":  "A value is not one of the other app's picklist values",
	"UNRESOLVED_REFERENCE":    "The record's account is not synced yet",
}

// reason is an entry's reason in the seed's words: the fixed phrase of its code, or for a
// type mismatch the message's "X value given for a Y field", or the message's first clause.
func reason(code, message string) string {
	if r, ok := seedReasons[code]; ok {
		return r
	}
	first, _, _ := strings.Cut(message, ": ")
	if code == "TYPE_MISMATCH" && !strings.Contains(first, "value given for") {
		return "A value's type does not fit the other app's field"
	}
	return first
}

// closedShown is how long closed failures stay on the page.
const closedShown = 7 * 24 * time.Hour

func (h *handler) failuresPage(w http.ResponseWriter, r *http.Request) {
	h.renderFailures(w, r, http.StatusOK, "")
}

// renderFailures shows the failure log, filtered by ?module= and ?code=.
func (h *handler) renderFailures(w http.ResponseWriter, r *http.Request, status int, problem string) {
	v := view{Title: "Failure log", Active: "failures", Problem: problem}
	d := failuresData{Modules: []string{activities.Accounts, activities.Contacts}}
	id, err := integrationOf(r)
	if err != nil {
		v.Problem, v.Data = err.Error(), d
		h.render(w, r, http.StatusBadRequest, "failures", v)
		return
	}
	d.Module, d.Code = r.FormValue("module"), r.FormValue("code")
	if d.Module != "" && !slices.Contains(d.Modules, d.Module) {
		d.Module = ""
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	codes, total, err := h.cfg.Store.FailureCodes(ctx, id)
	if err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("read the failure codes", err, zap.String("integration", id)))
	}
	for c, n := range codes {
		d.Codes = append(d.Codes, codeCount{Code: c, N: n})
	}
	d.OpenTotal = total
	slices.SortFunc(d.Codes, func(a, b codeCount) int { return strings.Compare(a.Code, b.Code) })
	entries, err := h.cfg.Store.FailureLog(ctx, id, store.FailureFilter{Module: d.Module, Code: d.Code,
		ClosedSince: h.cfg.Now().Add(-closedShown)})
	if err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("read the failure log", err, zap.String("integration", id)))
	}
	for _, e := range entries {
		row := failureRow{FailureEntry: e, Reason: reason(e.Code, e.Message)}
		if h.cfg.RecordURL != nil {
			if e.DeskID != "" {
				row.DeskURL = h.cfg.RecordURL("desk", e.Module, e.DeskID)
			}
			if e.CRMID != "" {
				row.CRMURL = h.cfg.RecordURL("crm", e.Module, e.CRMID)
			}
		}
		if e.ResolvedAt == nil {
			d.Open = append(d.Open, row)
		} else {
			d.Closed = append(d.Closed, row)
		}
	}
	v.Integration, v.Data = id, d
	h.render(w, r, status, "failures", v)
}

// retry sends the sync workflow's retry signal: for one failure ("id") or, without one, for
// every open failure.
func (h *handler) retry(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderFailures(w, r, http.StatusBadRequest, err.Error())
		return
	}
	var sig workflows.RetrySignal
	done := "retry-all"
	if v := r.PostForm.Get("id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			h.renderFailures(w, r, http.StatusBadRequest, "the failure id must be a positive number")
			return
		}
		sig.IDs, done = []int64{n}, "retry"
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	if len(sig.IDs) > 0 {
		// The workflow marks open failures only and cannot answer a signal: a closed or
		// unknown id (a stale page, a typed URL) would be "asked for" and do nothing.
		open, err := h.cfg.Store.OpenFailureIDs(ctx, id, sig.IDs)
		if err != nil {
			h.renderFailures(w, r, http.StatusInternalServerError, h.fail("read the failure", err, zap.String("integration", id)))
			return
		}
		if len(open) == 0 {
			h.renderFailures(w, r, http.StatusConflict, fmt.Sprintf("Not retried: failure %d is not an open failure of integration %q "+
				"(closed once its record synced, or never logged); the open ones are listed below", sig.IDs[0], id))
			return
		}
	}
	if err := h.cfg.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalRetry, sig); err != nil {
		h.renderFailures(w, r, http.StatusConflict, h.fail("send retry to the sync", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: retry sent", zap.String("integration", id), zap.Int64s("failures", sig.IDs))
	h.redirect(w, r, Prefix+"failures", done, "module", r.PostForm.Get("module"), "code", r.PostForm.Get("code"))
}
