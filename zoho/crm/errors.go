package crm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"deskcrm/zoho"
)

// Error is an error answered by the Zoho CRM API, either for a whole call or
// for one record of a batch write. It implements zoho.Classifier.
type Error struct {
	// HTTPStatus is the response status (for a per-record error, the status of
	// the whole response, e.g. 207 or 400).
	HTTPStatus int
	// Code is Zoho's code, e.g. INVALID_DATA, MANDATORY_NOT_FOUND, DUPLICATE_DATA.
	Code    string
	Message string
	// APIName is details.api_name: the field (or parameter) the error is about.
	APIName string
	// JSONPath is details.json_path, e.g. "$.data[0].Last_Name".
	JSONPath string
	// ExpectedType is details.expected_data_type for type mismatches.
	ExpectedType string
	// Details is the raw details object.
	Details map[string]any
	// Index is the record's position in its batch, or -1 for a call error.
	Index int
	// retryAfter is the Retry-After header, if any.
	retryAfter    time.Duration
	hasRetryAfter bool
	// creditsLeftZero is set when the answer said no credits remain.
	creditsLeftZero bool
}

// Error implements error. It never includes field values (they can be customer data).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("zoho crm: ")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "record %d: ", e.Index)
	}
	fmt.Fprintf(&b, "%s", e.Code)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.APIName != "" {
		fmt.Fprintf(&b, " (field %s", e.APIName)
		if e.ExpectedType != "" {
			fmt.Fprintf(&b, ", expected %s", e.ExpectedType)
		}
		b.WriteString(")")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " [HTTP %d]", e.HTTPStatus)
	}
	return b.String()
}

var _ zoho.DuplicateReporter = (*Error)(nil)

// Duplicate implements zoho.DuplicateReporter: for DUPLICATE_DATA it names
// the field (details.api_name) and the record that already holds the value
// (details.id, else details.duplicate_record.id), its module
// (duplicate_record.module.api_name) and more_records (record.json
// API_Exception; zoho-api.md A5).
func (e *Error) Duplicate() (zoho.Duplicate, bool) {
	if e == nil || e.Code != "DUPLICATE_DATA" {
		return zoho.Duplicate{}, false
	}
	d := zoho.Duplicate{Field: e.APIName, ExistingID: jsonString(e.Details["id"])}
	if dr, ok := e.Details["duplicate_record"].(map[string]any); ok {
		if d.ExistingID == "" {
			d.ExistingID = jsonString(dr["id"])
		}
		if m, ok := dr["module"].(map[string]any); ok {
			d.ExistingModule, _ = m["api_name"].(string)
		}
	}
	d.MoreRecords, _ = e.Details["more_records"].(bool)
	return d, true
}

// MaxLength returns details.maximum_length of an INVALID_DATA error for a
// value longer than its field allows (the field is APIName). Zoho's spec
// types it as a string and its createRecords example shows a number; both
// are read. ok is false when the error carries none.
func (e *Error) MaxLength() (n int, ok bool) {
	if e == nil {
		return 0, false
	}
	switch v := e.Details["maximum_length"].(type) {
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	case json.Number:
		n, err := strconv.Atoi(v.String())
		return n, err == nil
	case float64:
		return int(v), true
	}
	return 0, false
}

// IsRateLimit reports whether the error is a 429 (concurrency or credits).
func (e *Error) IsRateLimit() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || e.Code == "TOO_MANY_REQUESTS" || e.Code == "RATE_LIMIT_EXCEEDED"
}

// CreditsExhausted tells a 429 for the daily credit allowance from a 429 for the
// concurrency limit. Zoho CRM uses TOO_MANY_REQUESTS for both; the allowance is
// recognised by a credits-remaining header of 0, a Retry-After longer than a
// minute, or a message that speaks of the 24-hour period, credits or the API
// limit. Anything else is taken as concurrency.
func (e *Error) CreditsExhausted() bool {
	if !e.IsRateLimit() {
		return false
	}
	if e.creditsLeftZero || (e.hasRetryAfter && e.retryAfter > time.Minute) {
		return true
	}
	m := strings.ToLower(e.Message)
	for _, w := range []string{"24 hour", "credit", "api limit", "daily", "per day"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// concurrencyWait is the pause advised after a concurrency 429.
const concurrencyWait = time.Second

// Classify implements zoho.Classifier.
func (e *Error) Classify() zoho.Class {
	if e.IsRateLimit() {
		if e.CreditsExhausted() {
			d := zoho.DefaultCreditsWait
			if e.hasRetryAfter {
				d = e.retryAfter
			}
			return zoho.Class{Transient: true, FailureCode: zoho.CodeCreditsExhausted, RetryAfter: d, HasRetryAfter: true}
		}
		d := concurrencyWait
		if e.hasRetryAfter {
			d = e.retryAfter
		}
		return zoho.Class{Transient: true, FailureCode: zoho.CodeRateLimited, RetryAfter: d, HasRetryAfter: true}
	}
	if e.HTTPStatus >= 500 || e.Code == "INTERNAL_ERROR" || e.Code == "DEPENDENT_SERVICE_ERROR" {
		return zoho.Class{Transient: true, FailureCode: zoho.CodeServerError}
	}
	return zoho.Class{FailureCode: e.failureCode()}
}

func (e *Error) failureCode() string {
	switch e.Code {
	case "INVALID_DATA":
		switch {
		case e.ExpectedType != "":
			return zoho.CodeTypeMismatch
		case e.Details["maximum_length"] != nil:
			return zoho.CodeValueTooLong
		case e.Details["supported_values"] != nil && e.APIName != "":
			return zoho.CodeInvalidValue
		case e.APIName == "" && e.Details["id"] != nil, e.HTTPStatus == http.StatusNotFound:
			return zoho.CodeRecordNotFound
		}
		return zoho.CodeInvalidParameter
	case "MANDATORY_NOT_FOUND":
		return zoho.CodeMandatoryMissing
	case "DUPLICATE_DATA":
		return zoho.CodeDuplicateData
	case "REQUIRED_PARAM_MISSING", "EXPECTED_PARAM_MISSING", "MISSING_REQUIRED_KEY":
		return zoho.CodeMissingParameter
	case "DEPENDENT_FIELD_MISSING", "DEPENDENT_MISMATCH":
		return zoho.CodeDependentMissing
	case "RECORD_LOCKED":
		return zoho.CodeRecordLocked
	case "NOT_APPROVED":
		return zoho.CodeRecordUnapproved
	case "ALREADY_MODIFIED":
		return zoho.CodeRecordModified
	case "NOT_ALLOWED":
		return zoho.CodeNotAllowed
	case "DUPLICATE_LINKING_DATA":
		return zoho.CodeDuplicateLinking
	case "LIMIT_EXCEEDED", "PAGINATION_LIMIT_EXCEEDED", "DISCRETE_PAGINATION_LIMIT_EXCEEDED", "LIMIT_REACHED", "CRITERIA_LIMIT_EXCEEDED":
		return zoho.CodeLimitExceeded
	case "INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTH":
		return zoho.CodeAuthRevoked
	case "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION", "AUTHORIZATION_FAILED", "FEATURE_NOT_SUPPORTED":
		return zoho.CodePermissionDenied
	case "RESOURCE_NOT_FOUND":
		return zoho.CodeRecordNotFound
	case "INVALID_QUERY", "INVALID_CRITERIA", "AMBIGUOUS_CRITERIA":
		return zoho.CodeAmbiguousCriteria
	case "MULTIPLE_OR_MULTI_ERRORS":
		return zoho.CodeInvalidParameter
	case "INVALID_MODULE", "INVALID_URL_PATTERN", "INVALID_REQUEST_METHOD", "EXPIRED_VALUE",
		"NOT_SUPPORTED", "INVALID_REQUEST", "MODULE_NOT_AVAILABLE":
		return zoho.CodeInvalidParameter
	}
	switch e.HTTPStatus {
	case http.StatusUnauthorized:
		return zoho.CodeAuthRevoked
	case http.StatusForbidden:
		return zoho.CodePermissionDenied
	case http.StatusNotFound:
		return zoho.CodeRecordNotFound
	}
	if e.HTTPStatus >= 400 && e.HTTPStatus < 500 {
		return zoho.CodeInvalidParameter
	}
	return zoho.CodeUnknown
}

// isTokenError reports whether a 401 means the access token itself was rejected.
func isTokenError(err error) bool {
	e, ok := err.(*Error)
	return ok && e.HTTPStatus == http.StatusUnauthorized &&
		(e.Code == "INVALID_TOKEN" || e.Code == "INVALID_OAUTH" || e.Code == "AUTHENTICATION_FAILURE")
}

// apiError is the wire form of a CRM error (call-level or per record).
type apiError struct {
	Code    string         `json:"code"`
	Status  string         `json:"status"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func (a apiError) toError(status, index int) *Error {
	e := &Error{HTTPStatus: status, Code: a.Code, Message: a.Message, Details: a.Details, Index: index}
	if e.Code == "MULTIPLE_OR_MULTI_ERRORS" {
		// Surface the first inner error's field; keep the outer code.
		if errs, ok := a.Details["errors"].([]any); ok && len(errs) > 0 {
			if m, ok := errs[0].(map[string]any); ok {
				if d, ok := m["details"].(map[string]any); ok {
					e.APIName, _ = d["api_name"].(string)
					e.ExpectedType, _ = d["expected_data_type"].(string)
				}
			}
		}
	}
	if e.APIName == "" {
		e.APIName, _ = a.Details["api_name"].(string)
	}
	if e.APIName == "" {
		e.APIName, _ = a.Details["param_name"].(string)
	}
	e.JSONPath, _ = a.Details["json_path"].(string)
	if e.ExpectedType == "" {
		e.ExpectedType, _ = a.Details["expected_data_type"].(string)
	}
	return e
}

// parseError turns an HTTP error answer into *Error. A body that is not the CRM
// envelope still yields an *Error carrying the status.
func parseError(status int, h http.Header, body []byte) error {
	var a apiError
	if err := json.Unmarshal(body, &a); err != nil || a.Code == "" {
		// Some errors come wrapped: {"data":[{...}]} for a single failing item.
		var w struct {
			Data []apiError `json:"data"`
		}
		if json.Unmarshal(body, &w) == nil && len(w.Data) > 0 && w.Data[0].Code != "" {
			a = w.Data[0]
		} else {
			a = apiError{Code: http.StatusText(status), Message: "unexpected response body"}
			if status >= 500 {
				a.Code = "INTERNAL_ERROR"
			}
		}
	}
	e := a.toError(status, -1)
	if v := h.Get("Retry-After"); v != "" {
		if d, ok := parseRetryAfter(v); ok {
			e.retryAfter, e.hasRetryAfter = d, true
		}
	}
	if h.Get(remainingHeader) == "0" {
		e.creditsLeftZero = true
	}
	return e
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string) (time.Duration, bool) {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
