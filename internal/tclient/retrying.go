package tclient

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Retrying is one activity of a workflow that has failed at least once and that Temporal
// is retrying by its retry policy: a step of the sync that cannot finish now (Zoho down, a
// token refused, Postgres unreachable). Workflows see an activity only when it ends, so the
// sync's own status cannot tell such a step from one that works; the server's record of
// its pending activities can (DescribeWorkflowExecution's PendingActivityInfo).
type Retrying struct {
	// Activity is the activity type, such as IncrementalPass or CreateInCRM.
	Activity string `json:"activity"`
	// Attempt is the attempt running or waiting to run (2 after one failure).
	Attempt int32 `json:"attempt"`
	// LastFailure is the last attempt's error message, decoded by the failure converter
	// (the codec's when DESKCRM_PAYLOAD_KEY is set).
	LastFailure string `json:"lastFailure"`
	// LastFailedAt is when the last attempt ended; NextAttemptAt when the next one starts
	// (zero when it is running now).
	LastFailedAt  time.Time `json:"lastFailedAt,omitzero"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	// Running says a worker runs attempt Attempt now (a step that failed once, a worker
	// killed, may be well on its way); otherwise it waits for NextAttemptAt.
	Running bool `json:"running,omitempty"`
}

// Failures says how many attempts failed, in words: "1 time", "3 times".
func (r Retrying) Failures() string {
	if r.Attempt == 2 {
		return "1 time"
	}
	return fmt.Sprintf("%d times", r.Attempt-1)
}

// RetryingIn lists the activities being retried in d, a workflow's description
// (DescribeWorkflow, read by the caller to learn whether the workflow runs), longest-failing
// (most attempts) first; fc decodes their failures (nil: Temporal's default converter, which
// cannot open failures sealed by the codec). An activity in its first attempt is not listed.
func RetryingIn(d *client.WorkflowExecutionDescription, fc converter.FailureConverter) []Retrying {
	desc := d.RawResponse
	if fc == nil {
		fc = temporal.GetDefaultFailureConverter()
	}
	var out []Retrying
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetAttempt() < 2 || pa.GetLastFailure() == nil {
			continue
		}
		r := Retrying{Activity: pa.GetActivityType().GetName(), Attempt: pa.GetAttempt(),
			LastFailure: failureMessage(fc, pa.GetLastFailure())}
		if t := pa.GetLastAttemptCompleteTime(); t != nil {
			r.LastFailedAt = t.AsTime()
		}
		if t := pa.GetNextAttemptScheduleTime(); t != nil {
			r.NextAttemptAt = t.AsTime()
		}
		r.Running = pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Retrying) int { return int(b.Attempt - a.Attempt) })
	return out
}

// failureMessage is the message of an activity's last failure: the error the activity
// returned, or the timeout that ended the attempt (a worker gone: its heartbeat timed out).
func failureMessage(fc converter.FailureConverter, f *failurepb.Failure) string {
	err := fc.FailureToError(f)
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app):
		return app.Message()
	case errors.As(err, &timeout):
		return "the attempt timed out (" + timeout.TimeoutType().String() + " timeout: a worker stopped, or the step ran past its limit)"
	}
	return err.Error()
}
