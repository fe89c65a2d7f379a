package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/store"
	"deskcrm/workflows"
)

// planProgress is the state of the integration's plan workflow (JSON for the page's script).
type planProgress struct {
	Running bool   `json:"running"`
	Done    int    `json:"done"`
	Total   int    `json:"total"`
	Step    string `json:"step,omitempty"`
	// Failed is why the last plan failed (a closed run that did not complete), "" otherwise.
	Failed   string    `json:"failed,omitempty"`
	ClosedAt time.Time `json:"-"`
}

// moduleSample is the field-by-field sample of one module's merges.
type moduleSample struct {
	Module  string
	Samples []store.PlanSample
}

// planData is the plan page's data.
type planData struct {
	Progress planProgress
	// Report is the latest stored plan (nil: none yet), made at MadeAt.
	Report  *activities.PlanReport
	MadeAt  time.Time
	Samples []moduleSample
	// Mode and LookbackDays prefill the start form with the integration's.
	Mode         string
	LookbackDays int
	Modes        []string
	WorkflowURL  string
}

func (h *handler) planPage(w http.ResponseWriter, r *http.Request) {
	h.renderPlan(w, r, http.StatusOK, "")
}

// renderPlan shows the running plan's progress, or the latest plan with its sample.
func (h *handler) renderPlan(w http.ResponseWriter, r *http.Request, status int, problem string) {
	v := view{Title: "Dry-run plan", Active: "plan", Problem: problem}
	d := planData{Mode: activities.ModeTwoWay, LookbackDays: 365, Modes: []string{activities.ModeTwoWay, activities.ModeOneWayToDesk}}
	id, err := integrationOf(r)
	if err != nil {
		v.Problem, v.Data = err.Error(), d
		h.render(w, r, http.StatusBadRequest, "plan", v)
		return
	}
	ctx, cancel := timeout(r, 20*time.Second)
	defer cancel()
	if in, err := h.cfg.Store.Integration(ctx, id); err == nil {
		if in.Mode == activities.ModeOneWayToDesk || in.Mode == workflows.ModeLegacyImport {
			d.Mode = activities.ModeOneWayToDesk
		}
		d.LookbackDays = max(1, int(in.Lookback/(24*time.Hour)))
	}
	if h.cfg.TemporalUI != "" {
		d.WorkflowURL = workflowURL(h.cfg.TemporalUI, h.cfg.Namespace, workflows.PlanWorkflowID(id))
	}
	if d.Progress, err = h.planState(ctx, id); err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("ask Temporal about the plan", err, zap.String("integration", id)))
	}
	var rep activities.PlanReport
	d.MadeAt, err = h.cfg.Store.LatestPlan(ctx, id, &rep)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		v.Problem = joinProblems(v.Problem, h.fail("read the latest plan", err, zap.String("integration", id)))
	default:
		d.Report = &rep
		samples, err := h.cfg.Store.PlanSamples(ctx, id)
		if err != nil {
			v.Problem = joinProblems(v.Problem, h.fail("read the plan's sample", err, zap.String("integration", id)))
		}
		for _, m := range []string{activities.Accounts, activities.Contacts} {
			if len(samples[m]) > 0 {
				d.Samples = append(d.Samples, moduleSample{Module: m, Samples: samples[m]})
			}
		}
	}
	// A failure older than the stored plan is history; a newer one is the news.
	if d.Progress.Failed != "" && d.Report != nil && d.Progress.ClosedAt.Before(d.MadeAt) {
		d.Progress.Failed = ""
	}
	v.Integration, v.Data = id, d
	h.render(w, r, status, "plan", v)
}

// workflowURL is a workflow's page in the Temporal UI.
func workflowURL(ui, namespace, workflowID string) string {
	return ui + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
}

// planState reads the plan workflow's state from Temporal: running (with its progress query's
// answer), failed (and why), or neither.
func (h *handler) planState(ctx context.Context, id string) (planProgress, error) {
	var p planProgress
	wid := workflows.PlanWorkflowID(id)
	desc, err := h.cfg.Temporal.DescribeWorkflow(ctx, wid, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	runID := desc.WorkflowExecution.RunID
	switch desc.Status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return p, nil
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
	default:
		if desc.WorkflowCloseTime != nil {
			p.ClosedAt = *desc.WorkflowCloseTime
		}
		var rep activities.PlanReport
		if err := h.cfg.Temporal.GetWorkflow(ctx, wid, runID).Get(ctx, &rep); err != nil {
			p.Failed = refusal(err)
		} else {
			p.Failed = "the plan " + statusWord(desc.Status)
		}
		return p, nil
	}
	p.Running = true
	v, err := h.cfg.Temporal.QueryWorkflow(ctx, wid, runID, workflows.QueryPlanProgress)
	if err != nil {
		return p, err
	}
	var q workflows.PlanProgress
	if err := v.Get(&q); err != nil {
		return p, err
	}
	p.Done, p.Total, p.Step = q.Done, q.Total, q.Step
	return p, nil
}

// planProgressJSON answers the plan page's script while a plan runs.
func (h *handler) planProgressJSON(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	status := http.StatusOK
	var p planProgress
	if err == nil {
		ctx, cancel := timeout(r, 15*time.Second)
		defer cancel()
		p, err = h.planState(ctx, id)
		if err != nil {
			h.log.Warn("plan progress", zap.String("integration", id), zap.Error(err))
		}
	}
	if err != nil {
		status = http.StatusBadGateway
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// startPlan starts the integration's dry-run plan (PlanWorkflow), or joins the one running.
func (h *handler) startPlan(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderPlan(w, r, http.StatusBadRequest, err.Error())
		return
	}
	mode := r.PostForm.Get("mode")
	if !slices.Contains([]string{activities.ModeTwoWay, activities.ModeOneWayToDesk}, mode) {
		h.renderPlan(w, r, http.StatusBadRequest, "the plan's mode is two-way or one-way-crm-to-desk")
		return
	}
	days, err := strconv.Atoi(r.PostForm.Get("lookbackDays"))
	if err != nil || days < 1 || days > 3650 {
		h.renderPlan(w, r, http.StatusBadRequest, "the look-back is a number of days from 1 to 3650")
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	_, err = h.cfg.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.PlanWorkflowID(id), TaskQueue: h.cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		workflows.PlanWorkflowName, workflows.PlanRequest{IntegrationID: id, Mode: mode, LookbackDays: days})
	if err != nil {
		h.renderPlan(w, r, http.StatusBadGateway, h.fail("start the plan", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: plan started", zap.String("integration", id), zap.String("mode", mode), zap.Int("lookbackDays", days))
	h.redirect(w, r, Prefix+"plan", "plan")
}
