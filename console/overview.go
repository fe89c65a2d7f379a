package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/internal/tclient"
	"deskcrm/store"
	"deskcrm/workflows"
)

// sideProgress is one side of one module on the overview.
type sideProgress struct {
	Side                    string
	Key                     string // "desk" or "crm", for the cells' ids
	Indexed, Added, Updated int
	// Failing counts the records failing to reach this side now (open failures; a record
	// retried and failing again counts once, one that synced on retry not at all).
	Failing int
	// StepsDone of StepsTotal are the first sync's steps of this module that touch the side.
	StepsDone, StepsTotal int
}

// moduleProgress is one module on the overview.
type moduleProgress struct {
	Module string
	Linked int
	Sides  []sideProgress
}

// overviewData is the overview page's data.
type overviewData struct {
	Known, Deleted, Running bool
	Integration             store.Integration
	// Closed says how the workflow ended when it is not running ("" when it never ran).
	Closed string
	Status workflows.Status
	// State and Why are the state in words (initial sync, idle, paused, blocked, ...).
	State, StateClass, Why string
	Mode, ModeLabel        string
	Legacy                 bool
	StepsDone, StepsTotal  int
	Modules                []moduleProgress
	OpenFailures           int
	// ID is the integration's id, as asked for.
	ID                      string
	WorkflowID, WorkflowURL string
	// Retrying are the sync's steps that failed and that Temporal retries (tclient.RetryingIn).
	Retrying []tclient.Retrying
}

// modeLabels name the sync types as the help article does.
var modeLabels = map[string]string{
	activities.ModeTwoWay:       "Two-way",
	activities.ModeOneWayToDesk: "One-way, CRM → Desk",
	workflows.ModeLegacyImport:  "Legacy one-way scheduled import (CRM → Desk)",
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	h.renderOverview(w, r, http.StatusOK, "")
}

// renderOverview shows the overview, with a problem (an action refused) when not "".
func (h *handler) renderOverview(w http.ResponseWriter, r *http.Request, status int, problem string) {
	id, err := integrationOf(r)
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "overview", view{Title: "Overview", Active: "overview", Problem: err.Error(), Data: overviewData{}})
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	d := overviewData{ID: id, WorkflowID: workflows.WorkflowID(id)}
	if h.cfg.TemporalUI != "" {
		d.WorkflowURL = workflowURL(h.cfg.TemporalUI, h.cfg.Namespace, d.WorkflowID)
	}
	in, err := h.cfg.Store.Integration(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		problem = joinProblems(problem, h.fail("read the integration", err, zap.String("integration", id)))
	default:
		d.Known, d.Integration, d.Deleted = true, in, in.State == "deleted"
	}
	desc, err := h.describeSync(ctx, id)
	if err != nil {
		problem = joinProblems(problem, h.fail("ask Temporal about the sync", err, zap.String("integration", id)))
	}
	if desc != nil {
		d.Running = desc.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if !d.Running {
			d.Closed = statusWord(desc.Status)
		}
	}
	if d.Running {
		if d.Status, err = h.status(ctx, id); err != nil {
			problem = joinProblems(problem, h.fail("query the sync's status", err, zap.String("integration", id)))
		}
		d.Retrying = tclient.RetryingIn(desc, h.cfg.FailureConverter)
	}
	if n, err := h.cfg.Store.OpenFailureCount(ctx, id); err == nil {
		d.OpenFailures = n
	}
	d.describe()
	h.render(w, r, status, "overview", view{Title: "Overview", Active: "overview", Integration: id, Problem: problem, Data: d})
}

// describe fills the state in words, the mode and the progress from the status.
func (d *overviewData) describe() {
	st := d.Status
	d.Mode = d.Integration.Mode
	if d.Running {
		d.Mode = st.Mode
	}
	d.ModeLabel, d.Legacy = modeLabels[d.Mode], d.Mode == workflows.ModeLegacyImport
	if d.ModeLabel == "" {
		d.ModeLabel = d.Mode
	}
	switch {
	case d.Deleted:
		d.State, d.StateClass, d.Why = "Deleted", "bad", "the integration was deleted; `starter start` begins a new one"
	case !d.Running:
		start := "`starter start --integration " + d.ID + "`"
		d.State, d.StateClass, d.Why = "Not running", "bad", "no sync workflow runs for this integration; "+start+
			" starts it (with --new when it never ran and another integration's sync runs)"
		if d.Closed != "" {
			d.Why = "the sync workflow ended (" + d.Closed + "); " + start + " starts it again"
		}
	case st.Phase == workflows.PhaseBlocked:
		d.State, d.StateClass, d.Why = "Blocked", "bad", st.PausedReason
	case st.Paused:
		d.State, d.StateClass, d.Why = "Paused", "warn", st.PausedReason
	case st.Phase == workflows.PhaseInitial:
		d.State, d.StateClass, d.Why = "Initial sync", "busy", "step "+orDash(st.CurrentStep)
	case st.Phase == workflows.PhasePreflight:
		d.State, d.StateClass, d.Why = "Checking the mapping", "busy", "the preflight checks the mapping against both sides' fields"
	case st.Phase == workflows.PhaseIdle:
		d.State, d.StateClass, d.Why = "Idle", "ok", "between passes"
		if st.WaitingFor != "" {
			d.Why = "waiting for " + st.WaitingFor
		}
	default:
		d.State, d.StateClass = st.Phase, "busy"
	}
	if !d.Running {
		return
	}
	for _, r := range d.Retrying {
		if !r.Running && !st.Paused && st.Phase != workflows.PhaseBlocked {
			// Whatever the phase says, the work waits for the step's next attempt: say so, and
			// why. (A step running its next attempt keeps the phase: it may well succeed.)
			d.State, d.StateClass, d.Why = "Retrying", "warn", retryingWhy(r)
			break
		}
	}
	d.StepsTotal = len(st.Steps)
	d.StepsDone = min(st.Step, d.StepsTotal)
	if st.InitialDone {
		d.StepsDone = d.StepsTotal
	}
	for _, m := range []string{activities.Accounts, activities.Contacts} {
		p := st.Progress[m]
		if p == nil {
			p = &workflows.ModuleProgress{}
		}
		mp := moduleProgress{Module: m, Linked: max(p.Linked, p.Links)}
		for _, side := range []struct {
			label, key string
			c          workflows.SideCounts
		}{{"Desk", activities.SideDesk, p.Desk}, {"CRM", activities.SideCRM, p.CRM}} {
			sp := sideProgress{Side: side.label, Key: side.key, Indexed: side.c.Indexed, Added: side.c.Added, Updated: side.c.Updated, Failing: side.c.Open}
			sp.StepsDone, sp.StepsTotal = sideSteps(st, m, side.label)
			mp.Sides = append(mp.Sides, sp)
		}
		d.Modules = append(d.Modules, mp)
	}
}

// retryingWhy says which step keeps failing and how often; the list below the state gives
// each failing step's error and next attempt.
func retryingWhy(r tclient.Retrying) string {
	return fmt.Sprintf("step %s failed %s; Temporal retries it", r.Activity, r.Failures())
}

// sideSteps counts the first sync's steps of a module that touch a side ("Desk" or "CRM"):
// its index and create steps, and the match and reconcile steps both sides share.
func sideSteps(st workflows.Status, module, side string) (done, total int) {
	other := map[string]string{"Desk": "crm", "CRM": "desk"}[side]
	for i, name := range st.Steps {
		if name == "index-"+other+"-"+module || name == "create-in-"+other+"-"+module || !strings.HasSuffix(name, "-"+module) {
			continue
		}
		total++
		if st.InitialDone || i < st.Step {
			done++
		}
	}
	return done, total
}

func joinProblems(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// describeSync describes the integration's sync workflow: its status (running, or how it
// ended) and its pending activities; nil when Temporal has never run it.
func (h *handler) describeSync(ctx context.Context, id string) (*client.WorkflowExecutionDescription, error) {
	desc, err := h.cfg.Temporal.DescribeWorkflow(ctx, workflows.WorkflowID(id), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return desc, nil
}

// statusWord names a closed workflow's status in lower case ("terminated").
func statusWord(s enumspb.WorkflowExecutionStatus) string {
	w := s.String()
	const prefix = "WORKFLOW_EXECUTION_STATUS_"
	if len(w) > len(prefix) {
		w = w[len(prefix):]
	}
	return strings.ToLower(w)
}

// status asks the sync workflow for its status query.
func (h *handler) status(ctx context.Context, id string) (workflows.Status, error) {
	var st workflows.Status
	v, err := h.cfg.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(id), "", workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// syncAction sends the sync workflow pause, resume or sync-now.
func (h *handler) syncAction(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderOverview(w, r, http.StatusBadRequest, err.Error())
		return
	}
	signal, ok := map[string]string{"pause": workflows.SignalPause, "resume": workflows.SignalResume, "sync-now": workflows.SignalSyncNow}[r.PostForm.Get("action")]
	if !ok {
		h.renderOverview(w, r, http.StatusBadRequest, "unknown action: pause, resume or sync-now")
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	// A resume of a sync that runs, or a pause of one paused already, sends nothing and says so
	// (the console said "Sync resumed" for a sync that was never paused: a trial), as the
	// starter does. A status that cannot be read leaves the signal to decide.
	if st, err := h.status(ctx, id); err == nil {
		switch {
		case signal == workflows.SignalResume && !st.Paused:
			h.redirect(w, r, Prefix, "not-paused")
			return
		case signal == workflows.SignalPause && st.Paused && st.PausedReason == workflows.PausedByRequest:
			h.redirect(w, r, Prefix, "already-paused")
			return
		}
	}
	if err := h.cfg.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", signal, nil); err != nil {
		h.renderOverview(w, r, http.StatusConflict, h.fail("send "+signal+" to the sync", err, zap.String("integration", id)))
		return
	}
	h.log.Info("console: signal sent", zap.String("integration", id), zap.String("signal", signal))
	h.redirect(w, r, Prefix, map[string]string{workflows.SignalPause: "paused", workflows.SignalResume: "resumed", workflows.SignalSyncNow: "sync-now"}[signal])
}

// setMode changes the sync type through the workflow's set-mode update, or switches a legacy
// import to sync (switch-to-sync, once, confirmed). A validator's refusal is shown as is.
func (h *handler) setMode(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderOverview(w, r, http.StatusBadRequest, err.Error())
		return
	}
	mode := r.PostForm.Get("mode")
	opts := client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(id), UpdateName: workflows.UpdateSetMode,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{workflows.SetModeRequest{Mode: mode}}}
	done := "mode"
	if mode == "sync" {
		if r.PostForm.Get("confirm") != "yes" {
			h.renderOverview(w, r, http.StatusBadRequest, "tick “I understand this cannot be reverted” to switch from the legacy import to sync")
			return
		}
		opts.UpdateName, opts.Args, done = workflows.UpdateSwitchToSync, nil, "switched"
	}
	ctx, cancel := timeout(r, 30*time.Second)
	defer cancel()
	handle, err := h.cfg.Temporal.UpdateWorkflow(ctx, opts)
	if err == nil {
		var res workflows.ModeResult
		err = handle.Get(ctx, &res)
	}
	if err != nil {
		h.log.Info("console: sync type not changed", zap.String("integration", id), zap.String("update", opts.UpdateName), zap.Error(err))
		h.renderOverview(w, r, http.StatusConflict, "Sync type not changed: "+refusal(err))
		return
	}
	h.log.Info("console: sync type changed", zap.String("integration", id), zap.String("update", opts.UpdateName))
	h.redirect(w, r, Prefix, done)
}

// refusal is the words of an update's refusal: the validator's message, without the SDK's
// decorations.
func refusal(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Message() != "" {
		return app.Message()
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "the sync is not running"
	}
	return err.Error()
}

// deleteIntegration deletes the integration through the admin API's delete endpoint (the
// path `starter delete` takes), once the admin typed the integration's id to confirm.
func (h *handler) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	id, err := integrationOf(r)
	if err != nil {
		h.renderOverview(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if r.PostForm.Get("confirm") != id {
		h.renderOverview(w, r, http.StatusBadRequest, fmt.Sprintf("not deleted: type the integration's id (%s) to confirm", id))
		return
	}
	ctx, cancel := timeout(r, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/integrations/"+url.PathEscape(id)+"/delete", nil)
	if err != nil {
		h.renderOverview(w, r, http.StatusBadRequest, err.Error())
		return
	}
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	rec := &recorder{header: http.Header{}}
	h.cfg.AdminAPI.ServeHTTP(rec, req)
	var out struct {
		Message string `json:"message"`
		Warning string `json:"warning"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &out)
	if rec.status != http.StatusOK {
		h.log.Warn("console: delete refused", zap.String("integration", id), zap.Int("status", rec.status))
		h.renderOverview(w, r, http.StatusBadGateway, "Not deleted: "+orDash(out.Message))
		return
	}
	h.log.Info("console: integration deleted", zap.String("integration", id))
	if out.Warning != "" {
		h.redirect(w, r, Prefix, "deleted-webhooks-left")
		return
	}
	h.redirect(w, r, Prefix, "deleted")
}

// recorder collects an in-process answer of the admin API.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
