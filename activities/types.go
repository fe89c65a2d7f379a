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
	Indexed       int             `json:"indexed,omitempty"`
	Linked        int             `json:"linked,omitempty"`
	CreatedInCRM  int             `json:"createdInCrm,omitempty"`
	CreatedInDesk int             `json:"createdInDesk,omitempty"`
	UpdatedInCRM  int             `json:"updatedInCrm,omitempty"`
	UpdatedInDesk int             `json:"updatedInDesk,omitempty"`
	FailedToCRM   int             `json:"failedToCrm,omitempty"`
	FailedToDesk  int             `json:"failedToDesk,omitempty"`
	Failures      []store.Failure `json:"failures,omitempty"` // at most MaxReportedFailures
	CRMCredits    int             `json:"crmCredits,omitempty"`
	DeskCredits   int             `json:"deskCredits,omitempty"`
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
}
