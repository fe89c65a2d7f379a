package desk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"deskcrm/zoho"
)

// FieldError is one entry of a Desk error's "errors" array.
type FieldError struct {
	// FieldName is a JSON Pointer into the request ("/lastName",
	// "/cf/cf_seats") or a query parameter name.
	FieldName string `json:"fieldName"`
	// ErrorType is missing, invalid or duplicate.
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// Error is an error answered by the Zoho Desk API. It implements zoho.Classifier.
type Error struct {
	HTTPStatus int
	// Code is Desk's errorCode, e.g. INVALID_DATA, INVALID_OAUTH, THRESHOLD_EXCEEDED.
	Code    string
	Message string
	// FieldName, ErrorType and ExpectedType describe the first field error.
	// Desk does not report an expected type; ExpectedType stays empty unless a
	// future answer carries one.
	FieldName    string
	ErrorType    string
	ExpectedType string
	// Errors are all field errors of the answer (the raw details).
	Errors []FieldError
	// Raw is the whole body, for logs at debug level only.
	Raw json.RawMessage

	retryAfter    time.Duration
	hasRetryAfter bool
}

// Error implements error (field names and codes only, never values).
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zoho desk: %s", e.Code)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for i, fe := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", fe.FieldName, fe.ErrorType)
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	fmt.Fprintf(&b, " [HTTP %d]", e.HTTPStatus)
	return b.String()
}

var _ zoho.DuplicateReporter = (*Error)(nil)

// Duplicate implements zoho.DuplicateReporter: a 422 whose errors include
// errorType "duplicate" (DeskAPIDocument "Errors"; desk-oas Common.json
// errorDetailArr) names the field — the JSON pointer without its slash, a
// custom field by its cf_ name ("/cf/cf_crm_id" gives "cf_crm_id"). Desk's
// answer does not name the record that holds the value, so ExistingID is
// always empty: search the value (e.g. accounts/search?accountName=).
func (e *Error) Duplicate() (zoho.Duplicate, bool) {
	if e == nil {
		return zoho.Duplicate{}, false
	}
	for _, fe := range e.Errors {
		if fe.ErrorType == "duplicate" {
			field := strings.TrimPrefix(fe.FieldName, "/")
			field = strings.TrimPrefix(field, "cf/")
			return zoho.Duplicate{Field: field}, true
		}
	}
	return zoho.Duplicate{}, false
}

// CreditsExhausted reports a 429 for the daily credit allowance: Desk answers
// THRESHOLD_EXCEEDED for it and TOO_MANY_REQUESTS for the concurrency limit.
// A TOO_MANY_REQUESTS with a Retry-After over a minute is also taken as the
// allowance.
func (e *Error) CreditsExhausted() bool {
	if e.Code == "THRESHOLD_EXCEEDED" {
		return true
	}
	return e.HTTPStatus == http.StatusTooManyRequests && e.hasRetryAfter && e.retryAfter > time.Minute
}

// Classify implements zoho.Classifier.
func (e *Error) Classify() zoho.Class {
	if e.CreditsExhausted() {
		d := zoho.DefaultCreditsWait
		if e.hasRetryAfter {
			d = e.retryAfter
		}
		return zoho.Class{Transient: true, FailureCode: zoho.CodeCreditsExhausted, RetryAfter: d, HasRetryAfter: true}
	}
	if e.HTTPStatus == http.StatusTooManyRequests || e.Code == "TOO_MANY_REQUESTS" {
		d := time.Second
		if e.hasRetryAfter {
			d = e.retryAfter
		}
		return zoho.Class{Transient: true, FailureCode: zoho.CodeRateLimited, RetryAfter: d, HasRetryAfter: true}
	}
	if e.HTTPStatus >= 500 || e.Code == "INTERNAL_SERVER_ERROR" {
		return zoho.Class{Transient: true, FailureCode: zoho.CodeServerError}
	}
	return zoho.Class{FailureCode: e.failureCode()}
}

func (e *Error) failureCode() string {
	switch e.Code {
	case "INVALID_DATA", "UNPROCESSABLE_ENTITY":
		switch e.ErrorType {
		case "missing":
			if strings.HasPrefix(e.FieldName, "/") {
				return zoho.CodeMandatoryMissing
			}
			return zoho.CodeMissingParameter
		case "duplicate":
			return zoho.CodeDuplicateData
		}
		if e.ExpectedType != "" {
			return zoho.CodeTypeMismatch
		}
		return zoho.CodeInvalidParameter
	case "EMPTY_PAYLOAD":
		return zoho.CodeMissingParameter
	case "BAD_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "METHOD_NOT_ALLOWED", "RESOURCE_SIZE_EXCEEDED":
		return zoho.CodeInvalidParameter
	case "INVALID_OAUTH", "UNAUTHORIZED":
		return zoho.CodeAuthRevoked
	case "SCOPE_MISMATCH", "OAUTH_ORG_MISMATCH", "FORBIDDEN", "INTEGRATION_ADMIN_ERROR", "ONLY_LIVECHAT_USER":
		return zoho.CodePermissionDenied
	case "LICENSE_ACCESS_LIMITED":
		return zoho.CodeLicenseLimit
	case "URL_NOT_FOUND":
		return zoho.CodeRecordNotFound
	case "DUPLICATE_CONTRACT":
		return zoho.CodeDuplicateData
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

func isTokenError(err error) bool {
	e, ok := err.(*Error)
	return ok && e.HTTPStatus == http.StatusUnauthorized && (e.Code == "INVALID_OAUTH" || e.Code == "UNAUTHORIZED")
}

func parseError(status int, h http.Header, body []byte) error {
	var w struct {
		ErrorCode    string       `json:"errorCode"`
		Message      string       `json:"message"`
		Errors       []FieldError `json:"errors"`
		ExpectedType string       `json:"expectedDataType"`
	}
	e := &Error{HTTPStatus: status}
	if len(body) > 0 {
		e.Raw = json.RawMessage(body)
	}
	if err := json.Unmarshal(body, &w); err != nil || w.ErrorCode == "" {
		e.Code = http.StatusText(status)
		if status >= 500 {
			e.Code = "INTERNAL_SERVER_ERROR"
		}
		e.Message = "unexpected response body"
	} else {
		e.Code, e.Message, e.Errors, e.ExpectedType = w.ErrorCode, w.Message, w.Errors, w.ExpectedType
	}
	if len(e.Errors) > 0 {
		e.FieldName, e.ErrorType = e.Errors[0].FieldName, e.Errors[0].ErrorType
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			e.retryAfter, e.hasRetryAfter = time.Duration(s)*time.Second, true
		} else if t, err := http.ParseTime(v); err == nil {
			e.retryAfter, e.hasRetryAfter = max(time.Until(t), 0), true
		}
	}
	return e
}
