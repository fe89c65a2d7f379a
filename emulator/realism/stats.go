package realism

import "strconv"

// outcomeDropped is the status recorded when the connection was dropped.
const outcomeDropped = -1

// StatusDropped is the key under which Stats count calls whose connection was
// dropped (reset, timeout and lost faults, clients that gave up).
const StatusDropped = "dropped"

// Stats is a snapshot of the call log.
type Stats struct {
	// Total is the number of calls seen (admitted or rejected).
	Total int `json:"total"`
	// Credits is the number of credits charged.
	Credits int64 `json:"credits"`
	// MaxInFlight is the largest number of calls in flight at once.
	MaxInFlight int `json:"max_in_flight"`
	// Endpoints is keyed by Call.Endpoint, e.g. "POST /crm/v8/Contacts".
	Endpoints map[string]EndpointStats `json:"endpoints"`
}

// EndpointStats counts the calls of one endpoint.
type EndpointStats struct {
	// Calls is the number of calls.
	Calls int `json:"calls"`
	// Credits is the number of credits charged.
	Credits int64 `json:"credits"`
	// Statuses counts the HTTP statuses answered ("200", "429", ...) and
	// StatusDropped.
	Statuses map[string]int `json:"statuses"`
}

type statsState struct {
	total       int
	credits     int64
	maxInFlight int
	endpoints   map[string]*EndpointStats
}

func (s *statsState) reset() {
	*s = statsState{endpoints: map[string]*EndpointStats{}}
}

func statusKey(status int) string {
	if status == outcomeDropped {
		return StatusDropped
	}
	return strconv.Itoa(status)
}

func (e *Engine) record(c Call, status int, credits int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.stats
	s.total++
	s.credits += int64(credits)
	ep := s.endpoints[c.Endpoint]
	if ep == nil {
		ep = &EndpointStats{Statuses: map[string]int{}}
		s.endpoints[c.Endpoint] = ep
	}
	ep.Calls++
	ep.Credits += int64(credits)
	ep.Statuses[statusKey(status)]++
}

// Calls returns a snapshot of the call log.
func (e *Engine) Calls() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := Stats{
		Total:       e.stats.total,
		Credits:     e.stats.credits,
		MaxInFlight: e.stats.maxInFlight,
		Endpoints:   make(map[string]EndpointStats, len(e.stats.endpoints)),
	}
	for k, v := range e.stats.endpoints {
		st := make(map[string]int, len(v.Statuses))
		for sk, sv := range v.Statuses {
			st[sk] = sv
		}
		out.Endpoints[k] = EndpointStats{Calls: v.Calls, Credits: v.Credits, Statuses: st}
	}
	return out
}

// Count returns the number of calls logged for one endpoint.
func (e *Engine) Count(endpoint string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ep := e.stats.endpoints[endpoint]; ep != nil {
		return ep.Calls
	}
	return 0
}

// ResetCalls clears the call log. MaxInFlight restarts from the calls in
// flight now.
func (e *Engine) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.reset()
	e.stats.maxInFlight = e.inFlight
}
