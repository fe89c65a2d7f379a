package activities

import (
	"time"

	"deskcrm/store"
)

// Modes of an integration.
const (
	ModeTwoWay       = "two-way"
	ModeOneWayToDesk = "one-way-crm-to-desk"
)

// Modules synced, in the order the initial sync takes them (contacts point at accounts).
const (
	Accounts = "accounts"
	Contacts = "contacts"
)

// Directions of a run or failure.
const (
	DeskToCRM = "desk-to-crm"
	CRMToDesk = "crm-to-desk"
)

// MaxReportedFailures bounds the failures one activity returns to the workflow; the rest are
// in Postgres. Keeps workflow histories small.
const MaxReportedFailures = 20

// StepInput names what one initial-sync step works on.
type StepInput struct {
	IntegrationID string        `json:"integrationId"`
	Module        string        `json:"module"`
	Mode          string        `json:"mode"`
	Lookback      time.Duration `json:"lookback"`
	// Now is the workflow's time when the initial sync began: the lookback counts back from it.
	Now time.Time `json:"now"`
}

// StepResult reports what a step did. Counts are for this step only.
type StepResult struct {
	Indexed       int `json:"indexed,omitempty"`
	Linked        int `json:"linked,omitempty"`
	CreatedInCRM  int `json:"createdInCrm,omitempty"`
	CreatedInDesk int `json:"createdInDesk,omitempty"`
	UpdatedInCRM  int `json:"updatedInCrm,omitempty"`
	UpdatedInDesk int `json:"updatedInDesk,omitempty"`
	FailedToCRM   int `json:"failedToCrm,omitempty"`
	FailedToDesk  int `json:"failedToDesk,omitempty"`
	// FailuresResolved counts the open failures this attempt closed because their records
	// synced (the workflow then refreshes its view of the failure log).
	FailuresResolved int             `json:"failuresResolved,omitempty"`
	Failures         []store.Failure `json:"failures,omitempty"` // at most MaxReportedFailures
	CRMCredits       int             `json:"crmCredits,omitempty"`
	DeskCredits      int             `json:"deskCredits,omitempty"`
	// CRMCreditsLeft and DeskCreditsLeft are the day's credits the servers last said are left
	// (0: not said); CRMDailyCredits and DeskDailyCredits the configured allowances (0: unknown).
	CRMCreditsLeft   int64 `json:"crmCreditsLeft,omitempty"`
	DeskCreditsLeft  int64 `json:"deskCreditsLeft,omitempty"`
	CRMDailyCredits  int64 `json:"crmDailyCredits,omitempty"`
	DeskDailyCredits int64 `json:"deskDailyCredits,omitempty"`
	// CRMCreditReserve and DeskCreditReserve are the credits of each day the sync leaves to
	// the org's other integrations (DESKCRM_CREDIT_RESERVE percent of the allowance; 0 with
	// no allowance known or a reserve of 0%). CreditReserveReported says they were filled in,
	// so that a configured reserve of 0 is told from a worker that did not say.
	CRMCreditReserve      int64 `json:"crmCreditReserve,omitempty"`
	DeskCreditReserve     int64 `json:"deskCreditReserve,omitempty"`
	CreditReserveReported bool  `json:"creditReserveReported,omitempty"`
}

// PreflightInput names the integration whose mapping is checked.
type PreflightInput struct {
	IntegrationID string `json:"integrationId"`
	Mode          string `json:"mode,omitempty"`
	LookbackDays  int    `json:"lookbackDays,omitempty"`
}

// PreflightProblem is one reason the mapping cannot be used.
type PreflightProblem struct {
	Code    string `json:"code"`
	Module  string `json:"module"`
	Desk    string `json:"desk,omitempty"`
	CRM     string `json:"crm,omitempty"`
	Message string `json:"message"`
}

// PreflightResult lists every problem found; none means the sync may start.
type PreflightResult struct {
	Problems []PreflightProblem `json:"problems,omitempty"`
}

// RunsInput records finished runs in the history table.
type RunsInput struct {
	IntegrationID string      `json:"integrationId"`
	Runs          []store.Run `json:"runs"`
}

// RetryInput asks for failures to be tried again; no ids means all open failures.
type RetryInput struct {
	IntegrationID string  `json:"integrationId"`
	IDs           []int64 `json:"ids,omitempty"`
}

// RetryResult tells which modules have records to try again.
type RetryResult struct {
	Marked  int      `json:"marked"`
	Modules []string `json:"modules,omitempty"`
}

// FailureSummary is the bounded view of the failure log the workflow keeps.
type FailureSummary struct {
	Open   int             `json:"open"`
	Recent []store.Failure `json:"recent,omitempty"`
	// Links counts the linked pairs of each module.
	Links map[string]int `json:"links,omitempty"`
	// ByDirection counts the open failures per module and direction, keyed
	// "module/direction" ("contacts/desk-to-crm"): the records failing to reach each side.
	ByDirection map[string]int `json:"byDirection,omitempty"`
}

// Sides, as the store and the hints name them.
const (
	SideCRM  = "crm"
	SideDesk = "desk"
)

// Cursor is a side's position in the incremental sync: the newest modified time and the
// newest deletion time processed, UTC.
type Cursor struct {
	Position time.Time `json:"position"`
	Deleted  time.Time `json:"deleted,omitzero"`
}

// IncrementalInput names one module's incremental pass.
type IncrementalInput struct {
	IntegrationID string `json:"integrationId"`
	Module        string `json:"module"`
	// Mode is ModeTwoWay or ModeOneWayToDesk: one-way passes do not read Desk changes.
	Mode string `json:"mode"`
	// Since is where a side's cursor starts when Postgres holds none: the first sync's start.
	Since time.Time `json:"since"`
	// DeskFrom, when set and older than Desk's cursor, rewinds it: after a switch to two-way
	// sync, the Desk changes one-way mode did not send are read again.
	DeskFrom time.Time `json:"deskFrom,omitzero"`
	// Hints are ids that webhooks reported changed, per side (SideCRM, SideDesk). Ids that the
	// read of changes does not return (a lagging search index) are read one by one.
	Hints map[string][]string `json:"hints,omitempty"`
	// Sides are the sides whose webhooks started the pass (SideCRM, SideDesk); empty means a
	// full pass. Their changes are read in full (up to MaxChangesPerPass); the other side's
	// too, but only up to OtherSideChanges: enough for a field edited on both sides since the
	// last pass to be planned with both edits (planned with one, it took the side whose
	// webhook came first, over the other's newer edit), while a bulk of the other side's
	// changes (the echoes of the writes of the pass before) waits for that side's own pass
	// instead of delaying this one.
	Sides []string `json:"sides,omitempty"`
}

// IncrementalResult reports what one module's pass did. The embedded counts are for this
// pass only; CRMCursor and DeskCursor are the cursors committed at its end.
type IncrementalResult struct {
	StepResult
	CRMCursor  Cursor `json:"crmCursor"`
	DeskCursor Cursor `json:"deskCursor"`
	// More is set when a side had more changes than MaxChangesPerPass: run another pass.
	More bool `json:"more,omitempty"`
	// Read counts the changed records read (both sides), Echoes those skipped by the echo
	// guard, Deleted the deletions recorded on links, Restored and Recreated the
	// counterparts brought back by update-after-delete, Matched the new records linked by key.
	// Echoes also counts Desk changes skipped in one-way mode.
	Read      int `json:"read,omitempty"`
	Echoes    int `json:"echoes,omitempty"`
	Deleted   int `json:"deleted,omitempty"`
	Restored  int `json:"restored,omitempty"`
	Recreated int `json:"recreated,omitempty"`
	Matched   int `json:"matched,omitempty"`
	// Skipped counts changes of records whose same version already failed.
	Skipped int `json:"skipped,omitempty"`
	// Conflicts counts the pairs with a field changed on both sides since the last sync, which
	// a rule decided (the newer edit, or the field's policy); each is logged.
	Conflicts int `json:"conflicts,omitempty"`
}

// Did reports whether the pass wrote or failed anything worth a history line.
func (r IncrementalResult) Did() bool {
	s := r.StepResult
	return s.CreatedInCRM+s.CreatedInDesk+s.UpdatedInCRM+s.UpdatedInDesk+s.FailedToCRM+s.FailedToDesk > 0
}

// ModeInput records an integration's sync mode.
type ModeInput struct {
	IntegrationID string `json:"integrationId"`
	Mode          string `json:"mode"`
}
