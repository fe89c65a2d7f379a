package realism

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind says what an injected fault does to a call.
type FaultKind string

// Fault kinds.
const (
	// FaultStatus answers with Fault.Status (500, 503, 429, ...) without
	// running the handler. A 429 uses the emulator's TooManyRequests body,
	// other statuses its ServerError body.
	FaultStatus FaultKind = "status"
	// FaultReset drops the connection without running the handler.
	FaultReset FaultKind = "reset"
	// FaultTimeout holds the request for Fault.HoldMS (default 10 s, or until
	// the client gives up) and then drops the connection, without running
	// the handler.
	FaultTimeout FaultKind = "timeout"
	// FaultLost runs the handler (its effects are committed) and then drops
	// the connection instead of sending the response.
	FaultLost FaultKind = "lost"
)

// DefaultHold is how long a FaultTimeout holds a request when HoldMS is 0.
const DefaultHold = 10 * time.Second

// Fault is one fault-injection rule.
type Fault struct {
	// ID identifies the rule; assigned by AddFault.
	ID string `json:"id,omitempty"`
	// Method matches the HTTP method ("" or "*" = any).
	Method string `json:"method,omitempty"`
	// Path is a path pattern: "*" or "{name}" matches one segment, a final
	// "**" matches any remainder, "" matches every path. Example:
	// "/crm/v8/{module}/search".
	Path string `json:"path,omitempty"`
	// Kind is what the fault does.
	Kind FaultKind `json:"kind"`
	// Status is the HTTP status for FaultStatus (default 500).
	Status int `json:"status,omitempty"`
	// Rate is the probability (0..1] that a matching call is hit; 0 means
	// every matching call.
	Rate float64 `json:"rate,omitempty"`
	// Count is the maximum number of injections; 0 means unlimited.
	Count int `json:"count,omitempty"`
	// HoldMS is how long FaultTimeout holds the request, in milliseconds.
	HoldMS int64 `json:"hold_ms,omitempty"`
	// Injected counts how many times the fault fired (read-only).
	Injected int `json:"injected"`
}

type faultState struct {
	Fault
	segs []string
}

func (f *faultState) holdDuration() time.Duration {
	if f.HoldMS <= 0 {
		return DefaultHold
	}
	return time.Duration(f.HoldMS) * time.Millisecond
}

// validateFault normalises f and reports configuration errors.
func validateFault(f Fault) (Fault, error) {
	if f.Kind == "" && f.Status != 0 {
		f.Kind = FaultStatus
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 400 || f.Status > 599 {
			return f, fmt.Errorf("fault status %d: want 4xx or 5xx", f.Status)
		}
	case FaultReset, FaultTimeout, FaultLost:
	default:
		return f, fmt.Errorf("fault kind %q: want status, reset, timeout or lost", f.Kind)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return f, fmt.Errorf("fault rate %v: want 0..1", f.Rate)
	}
	if f.Count < 0 || f.HoldMS < 0 {
		return f, fmt.Errorf("fault count and hold_ms must not be negative")
	}
	f.Method = strings.ToUpper(f.Method)
	if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
		return f, fmt.Errorf("fault path %q: must start with /", f.Path)
	}
	f.Injected = 0
	return f, nil
}

// AddFault installs a fault rule and returns its id.
func (e *Engine) AddFault(f Fault) (string, error) {
	f, err := validateFault(f)
	if err != nil {
		return "", fmt.Errorf("add fault: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextFaultID++
	f.ID = strconv.Itoa(e.nextFaultID)
	e.faults = append(e.faults, &faultState{Fault: f, segs: splitPath(f.Path)})
	return f.ID, nil
}

// RemoveFault removes one rule; it reports whether the id existed.
func (e *Engine) RemoveFault(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if f.ID == id {
			e.faults = append(e.faults[:i], e.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault rule.
func (e *Engine) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Faults returns a copy of the installed rules with their injection counts.
func (e *Engine) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Fault, 0, len(e.faults))
	for _, f := range e.faults {
		out = append(out, f.Fault)
	}
	return out
}

// matchFault picks the first rule that matches r and fires; it updates the
// rule's counters. Rules whose count is used up stay listed but never fire.
func (e *Engine) matchFault(r *http.Request) *faultState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.faults) == 0 {
		return nil
	}
	segs := splitPath(r.URL.Path)
	for _, f := range e.faults {
		if f.Method != "" && f.Method != "*" && f.Method != r.Method {
			continue
		}
		if f.Path != "" && !matchSegments(f.segs, segs) {
			continue
		}
		if f.Count > 0 && f.Injected >= f.Count {
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && e.rng.Float64() >= f.Rate {
			continue
		}
		f.Injected++
		cp := *f
		return &cp
	}
	return nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchSegments matches a path against a pattern: "*" and "{x}" match one
// segment, a final "**" matches the rest.
func matchSegments(pattern, path []string) bool {
	for i, p := range pattern {
		if p == "**" && i == len(pattern)-1 {
			return true
		}
		if i >= len(path) {
			return false
		}
		if p == "*" || (strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")) {
			continue
		}
		if p != path[i] {
			return false
		}
	}
	return len(pattern) == len(path)
}
