package crm

import (
	"encoding/json"
	"net/http"
)

// Zoho CRM error envelopes: {"code","details","message","status":"error"}
// (zoho-api.md A3, A14).

// apiError is a top-level Zoho error.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorBody(code, message string, details map[string]any) map[string]any {
	if details == nil {
		details = map[string]any{}
	}
	return map[string]any{"code": code, "details": details, "message": message, "status": "error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody("INTERNAL_ERROR", "Internal server error occurred.", nil))
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody(e.code, e.message, e.details))
}

func writeTooMany(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusTooManyRequests, errorBody("TOO_MANY_REQUESTS",
		"The number of concurrent requests has exceeded the limit of the user for the app.", nil))
}

func writeCreditsExhausted(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusTooManyRequests, errorBody("TOO_MANY_REQUESTS",
		"The number of API requests for the 24 hour period is exceeded.", nil))
}

func writeServerError(w http.ResponseWriter, _ *http.Request, status int) {
	writeJSON(w, status, errorBody("INTERNAL_ERROR", "Internal server error occurred.", nil))
}

var (
	errInvalidURL = &apiError{status: http.StatusNotFound, code: "INVALID_URL_PATTERN",
		message: "Please check if the URL trying to access is a correct one"}
	errMethod = &apiError{status: http.StatusBadRequest, code: "INVALID_REQUEST_METHOD",
		message: "The http request method type is not a valid one"}
)

func errInvalidModule(index int) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_MODULE",
		message: "The module name given seems to be invalid", details: map[string]any{"resource_path_index": index}}
}

func errParamMissing(param string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "REQUIRED_PARAM_MISSING",
		message: "One of the expected parameter is missing", details: map[string]any{"param_name": param, "param": param}}
}

func errInvalidParam(param string, extra map[string]any) *apiError {
	d := map[string]any{"param_name": param, "param": param}
	for k, v := range extra {
		d[k] = v
	}
	return &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data", details: d}
}

// errBody is the answer to a body that is not the expected JSON.
var errBody = &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "body",
	details: map[string]any{"expected_data_type": "jsonobject"}}
