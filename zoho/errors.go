package zoho

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/oauth2"
)

// Failure codes: the product's reasons for a failed record or call, shown in the
// failure log (DESIGN.md §1.10). FailureCode maps any client error onto one.
const (
	CodeTypeMismatch       = "TYPE_MISMATCH"           // value of the wrong type for the field
	CodeMandatoryMissing   = "MANDATORY_FIELD_MISSING" // a required field is missing or empty
	CodeDuplicateData      = "DUPLICATE_DATA"          // a unique field already holds this value
	CodeInvalidParameter   = "INVALID_PARAMETER"       // a parameter or value was rejected
	CodeMissingParameter   = "MISSING_PARAMETER"       // a required API parameter was not sent
	CodeValueTooLong       = "VALUE_TOO_LONG"          // text longer than the field allows
	CodeInvalidValue       = "INVALID_VALUE"           // value outside a picklist's allowed values
	CodeRecordNotFound     = "RECORD_NOT_FOUND"        // the id does not exist (or was deleted)
	CodeRecordLocked       = "RECORD_LOCKED"           // locked by approval/blueprint/review
	CodeRecordModified     = "RECORD_MODIFIED"         // If-Unmodified-Since precondition failed
	CodeDependentMissing   = "DEPENDENT_FIELD_MISSING" // a dependent field is missing or mismatched
	CodeAuthRevoked        = "AUTH_REVOKED"            // token refresh refused or token rejected
	CodePermissionDenied   = "PERMISSION_DENIED"       // scope, profile or licence forbids the call
	CodeRateLimited        = "RATE_LIMITED"            // concurrency limit hit; retry shortly
	CodeCreditsExhausted   = "CREDITS_EXHAUSTED"       // daily API credits used up; wait for reset
	CodeLimitExceeded      = "LIMIT_EXCEEDED"          // a paging or size limit of the API was hit
	CodeServerError        = "SERVER_ERROR"            // 5xx from Zoho
	CodeNetworkError       = "NETWORK_ERROR"           // connection failed, timed out or was cut
	CodeUnknown            = "UNKNOWN"                 // anything not classified above
	CodeNotAllowed         = "NOT_ALLOWED"             // the operation is not allowed on this record
	CodeBatchTooLarge      = "BATCH_TOO_LARGE"         // a client call with too many records
	CodeAmbiguousCriteria  = "INVALID_CRITERIA"        // search/bulk criteria rejected
	CodeLicenseLimit       = "LICENSE_LIMIT"           // edition/licence limit reached
	CodeRecordUnapproved   = "NOT_APPROVED"            // record awaiting approval
	CodeDuplicateLinking   = "DUPLICATE_LINKING_DATA"  // relation already exists
	CodeServiceUnavailable = "DEPENDENT_SERVICE_ERROR" // a Zoho dependency failed
)

// DefaultCreditsWait is what RetryAfter answers for exhausted daily credits when
// the server says nothing about the reset time: CRM counts credits over a rolling
// 24 hours and Desk resets once a day, so checking back hourly is a fair default.
const DefaultCreditsWait = time.Hour

// Class tells the sync how to treat an error.
type Class struct {
	// Transient errors may succeed if retried unchanged.
	Transient bool
	// FailureCode is the product's failure reason (one of the Code* constants).
	FailureCode string
	// RetryAfter, when HasRetryAfter, is how long to wait before retrying.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Classifier is implemented by the API error types (crm.Error, desk.Error) so
// that the helpers in this package can classify them without importing them.
type Classifier interface {
	error
	Classify() Class
}

// TransportError is a request that got no HTTP response: the connection failed,
// was cut, or timed out. It is transient. For a write (any method but GET/HEAD)
// Zoho may or may not have applied the request — a lost response — so the caller
// must make the retry idempotent: look the record up by its counterpart id (CRM
// unique field or Desk cf_crm_id) before creating it again.
type TransportError struct {
	Method string
	Path   string // URL path only: query strings can carry customer data
	Err    error
}

// Error implements error.
func (e *TransportError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
	if e.MayHaveApplied() {
		s += " (the write may have been applied)"
	}
	return s
}

// Unwrap returns the underlying network error.
func (e *TransportError) Unwrap() error { return e.Err }

// MayHaveApplied reports whether the server may have carried out the request
// even though no response arrived (true for writes).
func (e *TransportError) MayHaveApplied() bool {
	return e.Method != "GET" && e.Method != "HEAD"
}

// Classify implements Classifier.
func (e *TransportError) Classify() Class {
	return Class{Transient: true, FailureCode: CodeNetworkError}
}

// ErrBatchTooLarge is wrapped by errors from write calls given more records than
// the API accepts in one call; callers must split their batches.
var ErrBatchTooLarge = errors.New("batch too large")

// IsAmbiguousWrite reports whether err is a write whose outcome is unknown
// because the response was lost; see TransportError.
func IsAmbiguousWrite(err error) bool {
	var te *TransportError
	return errors.As(err, &te) && te.MayHaveApplied()
}

// classify finds the Class of any error the clients return.
func classify(err error) (Class, bool) {
	if err == nil {
		return Class{}, false
	}
	var c Classifier
	if errors.As(err, &c) {
		return c.Classify(), true
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == 429) {
			return Class{Transient: true, FailureCode: CodeServerError}, true
		}
		return Class{FailureCode: CodeAuthRevoked}, true
	}
	if errors.Is(err, ErrBatchTooLarge) {
		return Class{FailureCode: CodeBatchTooLarge}, true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Class{Transient: true, FailureCode: CodeNetworkError}, true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Class{Transient: true, FailureCode: CodeNetworkError}, true
	}
	return Class{}, false
}

// IsTransient reports whether err may go away if the same call is retried:
// network errors, timeouts, 5xx, 429, and token-server outages.
func IsTransient(err error) bool {
	c, ok := classify(err)
	return ok && c.Transient
}

// IsPermanent reports whether retrying the same call cannot help: validation
// errors, missing permissions, revoked tokens, bad parameters. A cancelled
// context is neither transient nor permanent.
func IsPermanent(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	return !IsTransient(err)
}

// RetryAfter tells how long to wait before retrying err. A 429 caused by the
// concurrency limit waits briefly (seconds); a 429 for exhausted daily credits
// waits until the reset (the Retry-After header when the server sends one, else
// DefaultCreditsWait). The API error types tell the two apart — see crm.Error
// and desk.Error. ok is false when err carries no advice.
func RetryAfter(err error) (time.Duration, bool) {
	c, ok := classify(err)
	if !ok || !c.HasRetryAfter {
		return 0, false
	}
	return c.RetryAfter, true
}

// FailureCode maps err onto the product's failure codes (Code* constants);
// "" for a nil error and CodeUnknown when nothing more specific applies.
func FailureCode(err error) string {
	if err == nil {
		return ""
	}
	c, ok := classify(err)
	if !ok || c.FailureCode == "" {
		return CodeUnknown
	}
	return c.FailureCode
}
