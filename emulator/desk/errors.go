package desk

import (
	"encoding/json"
	"net/http"
)

// Desk error codes used by the emulator (zoho-api.md B6; the errorJson enum
// of the official Desk OAS).
const (
	CodeBadRequest          = "BAD_REQUEST"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeInvalidOAuth        = "INVALID_OAUTH"
	CodeOrgMismatch         = "OAUTH_ORG_MISMATCH"
	CodeForbidden           = "FORBIDDEN"
	CodeURLNotFound         = "URL_NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	CodeSizeExceeded        = "RESOURCE_SIZE_EXCEEDED"
	CodeUnsupportedMedia    = "UNSUPPORTED_MEDIA_TYPE"
	CodeInvalidData         = "INVALID_DATA"
	CodeEmptyPayload        = "EMPTY_PAYLOAD"
	CodeUnprocessable       = "UNPROCESSABLE_ENTITY"
	CodeThresholdExceeded   = "THRESHOLD_EXCEEDED"
	CodeTooManyRequests     = "TOO_MANY_REQUESTS"
	CodeInternalServerError = "INTERNAL_SERVER_ERROR"
)

// Error types carried in FieldError.ErrorType.
const (
	ErrMissing   = "missing"
	ErrInvalid   = "invalid"
	ErrDuplicate = "duplicate"
)

// messageInvalidData is Desk's message for field validation failures.
const messageInvalidData = "The data does not comply to the validation restrictions defined."

// FieldError is one entry of a Desk error body's "errors" array. FieldName
// is a JSON Pointer into the request body ("/lastName", "/cf/cf_seats") or,
// for query parameters, the parameter name.
type FieldError struct {
	FieldName    string `json:"fieldName"`
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// apiError is a Desk error answer: HTTP status plus the JSON body
// {"errorCode","message","errors"?}.
type apiError struct {
	Status    int          `json:"-"`
	ErrorCode string       `json:"errorCode"`
	Message   string       `json:"message"`
	Errors    []FieldError `json:"errors,omitempty"`
}

func (e *apiError) Error() string { return e.ErrorCode + ": " + e.Message }

func errInvalidData(errs ...FieldError) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, ErrorCode: CodeInvalidData, Message: messageInvalidData, Errors: errs}
}

func errParam(name, msg string) *apiError {
	return errInvalidData(FieldError{FieldName: name, ErrorType: ErrInvalid, ErrorMessage: msg})
}

func errNotFound() *apiError {
	return &apiError{Status: http.StatusNotFound, ErrorCode: CodeURLNotFound, Message: "The URL you requested could not be found. Please check the URL"}
}

func errUnprocessable(msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, ErrorCode: CodeUnprocessable, Message: msg}
}

func errBadRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, ErrorCode: CodeBadRequest, Message: msg}
}

func errMethod() *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, ErrorCode: CodeMethodNotAllowed, Message: "The HTTP method is not allowed for the requested URL"}
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errorCode":"INTERNAL_SERVER_ERROR","message":"encode response"}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
