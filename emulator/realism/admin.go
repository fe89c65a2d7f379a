package realism

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AdminPrefix is the path prefix of every emulator admin endpoint. It never
// overlaps a Zoho API path.
const AdminPrefix = "/_emulator/"

// LatencyJSON is the body of PUT /_emulator/latency and its answer.
type LatencyJSON struct {
	// FixedMS is the fixed delay in milliseconds.
	FixedMS int64 `json:"fixed_ms"`
	// JitterMS is the maximum jitter in milliseconds.
	JitterMS int64 `json:"jitter_ms"`
}

// LimitsJSON is the body of PUT /_emulator/limits: every field is optional
// and only the given ones change. CreditsUsed sets the credits consumed in
// the current window; ResetCredits starts a new window.
type LimitsJSON struct {
	MaxInFlight        *int   `json:"max_in_flight,omitempty"`
	MaxComplexInFlight *int   `json:"max_complex_in_flight,omitempty"`
	DailyCredits       *int64 `json:"daily_credits,omitempty"`
	CreditsUsed        *int64 `json:"credits_used,omitempty"`
	ResetCredits       bool   `json:"reset_credits,omitempty"`
}

// LimitsState is the answer of PUT /_emulator/limits.
type LimitsState struct {
	Limits
	Credits Credits `json:"credits"`
}

// AdminHandler serves the shared admin endpoints listed in the package
// documentation. tokens may be nil, in which case POST
// /_emulator/tokens/expire answers 404.
func (e *Engine) AdminHandler(tokens TokenExpirer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimSuffix(r.URL.Path, "/")
		switch {
		case path == "/_emulator/calls" && r.Method == http.MethodGet:
			WriteJSON(w, http.StatusOK, e.Calls())
		case path == "/_emulator/calls/reset" && r.Method == http.MethodPost:
			e.ResetCalls()
			w.WriteHeader(http.StatusNoContent)
		case path == "/_emulator/latency" && r.Method == http.MethodGet:
			fixed, jitter := e.Latency()
			WriteJSON(w, http.StatusOK, LatencyJSON{FixedMS: fixed.Milliseconds(), JitterMS: jitter.Milliseconds()})
		case path == "/_emulator/latency" && r.Method == http.MethodPut:
			var in LatencyJSON
			if err := decodeAdmin(r, &in); err != nil {
				AdminError(w, http.StatusBadRequest, err)
				return
			}
			if in.FixedMS < 0 || in.JitterMS < 0 {
				AdminError(w, http.StatusBadRequest, fmt.Errorf("latency must not be negative"))
				return
			}
			e.SetLatency(time.Duration(in.FixedMS)*time.Millisecond, time.Duration(in.JitterMS)*time.Millisecond)
			WriteJSON(w, http.StatusOK, in)
		case path == "/_emulator/limits" && r.Method == http.MethodGet:
			WriteJSON(w, http.StatusOK, LimitsState{Limits: e.Limits(), Credits: e.Credits()})
		case path == "/_emulator/limits" && r.Method == http.MethodPut:
			var in LimitsJSON
			if err := decodeAdmin(r, &in); err != nil {
				AdminError(w, http.StatusBadRequest, err)
				return
			}
			e.applyLimits(in)
			WriteJSON(w, http.StatusOK, LimitsState{Limits: e.Limits(), Credits: e.Credits()})
		case path == "/_emulator/faults" && r.Method == http.MethodGet:
			WriteJSON(w, http.StatusOK, e.Faults())
		case path == "/_emulator/faults" && r.Method == http.MethodPost:
			var in Fault
			if err := decodeAdmin(r, &in); err != nil {
				AdminError(w, http.StatusBadRequest, err)
				return
			}
			id, err := e.AddFault(in)
			if err != nil {
				AdminError(w, http.StatusBadRequest, err)
				return
			}
			for _, f := range e.Faults() {
				if f.ID == id {
					WriteJSON(w, http.StatusCreated, f)
					return
				}
			}
		case path == "/_emulator/faults" && r.Method == http.MethodDelete:
			if id := r.URL.Query().Get("id"); id != "" {
				if !e.RemoveFault(id) {
					AdminError(w, http.StatusNotFound, fmt.Errorf("no fault with id %q", id))
					return
				}
			} else {
				e.ClearFaults()
			}
			w.WriteHeader(http.StatusNoContent)
		case path == "/_emulator/tokens/expire" && r.Method == http.MethodPost && tokens != nil:
			WriteJSON(w, http.StatusOK, map[string]int{"expired": tokens.ExpireAll()})
		default:
			AdminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
		}
	})
}

func (e *Engine) applyLimits(in LimitsJSON) {
	l := e.Limits()
	if in.MaxInFlight != nil {
		l.MaxInFlight = max(*in.MaxInFlight, 0)
	}
	if in.MaxComplexInFlight != nil {
		l.MaxComplexInFlight = max(*in.MaxComplexInFlight, 0)
	}
	if in.DailyCredits != nil {
		l.DailyCredits = max(*in.DailyCredits, 0)
	}
	e.SetLimits(l)
	if in.ResetCredits {
		e.ResetCredits()
	}
	if in.CreditsUsed != nil {
		e.SetCreditsUsed(*in.CreditsUsed)
	}
}

// decodeAdmin decodes a JSON admin body strictly (unknown keys are errors,
// so typos do not silently do nothing).
func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode admin body: %w", err)
	}
	return nil
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// AdminError writes an admin error as {"error": "..."}.
func AdminError(w http.ResponseWriter, status int, err error) {
	WriteJSON(w, status, map[string]string{"error": err.Error()})
}
