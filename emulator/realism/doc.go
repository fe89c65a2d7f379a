// Package realism makes a local API emulator behave like a busy, remote Zoho
// service. It is shared by the CRM and Desk emulators.
//
// An [Engine] wraps an emulator's API handler and adds, per request:
//
//   - latency: a fixed delay plus uniform jitter drawn from a seeded RNG
//     ([Engine.SetLatency]);
//   - a concurrency limit on in-flight calls, with an optional sub-limit for
//     "complex" calls (CRM: writes of more than 10 records, search); calls over
//     a limit are answered with the emulator's 429 body ([Engine.SetLimits]);
//   - daily credits: each call costs what the emulator's classifier says; when
//     the window's allowance is spent the emulator's credits error is returned;
//   - fault injection by method and path pattern, by rate or count: HTTP
//     errors, 429, connection reset, timeout (hold, then drop) and "lost"
//     (the handler runs and commits, then the connection is dropped instead of
//     the response) ([Engine.AddFault]);
//   - a call log with per-endpoint counts, credits and status codes, and the
//     maximum number of in-flight calls seen ([Engine.Calls]).
//
// The emulator supplies what is API-specific through a [Classifier] (endpoint
// template, credit cost, complex or not) and [Responses] (error bodies and
// credit headers). [CRMCreditHeaders] and [DeskCreditHeaders] implement the
// headers each Zoho API sends.
//
// # Stable API used by the emulators
//
//	realism.New(realism.Config) *realism.Engine
//	(*Engine).Handler(classify Classifier, resp Responses, next http.Handler) http.Handler
//	(*Engine).AdminHandler(tokens TokenExpirer) http.Handler   // serves /_emulator/...
//	(*Engine).SetLatency(fixed, jitter time.Duration); Latency() (fixed, jitter time.Duration)
//	(*Engine).SetLimits(Limits); Limits() Limits
//	(*Engine).AddFault(Fault) string; RemoveFault(id string) bool; ClearFaults(); Faults() []Fault
//	(*Engine).Calls() Stats; Count(endpoint string) int; ResetCalls()
//	(*Engine).Credits() Credits; ResetCredits(); SetCreditsUsed(n int64)
//
// # Admin HTTP API (JSON in and out)
//
//	GET    /_emulator/calls          -> Stats
//	POST   /_emulator/calls/reset    -> 204
//	PUT    /_emulator/latency        {"fixed_ms":50,"jitter_ms":10}      -> 200 LatencyJSON
//	PUT    /_emulator/limits         {"max_in_flight":10,"max_complex_in_flight":10,
//	                                  "daily_credits":5000,"credits_used":0} (all optional) -> 200 Limits+Credits
//	GET    /_emulator/faults         -> [Fault...]
//	POST   /_emulator/faults         Fault -> 201 Fault (with id)
//	DELETE /_emulator/faults[?id=]   -> 204 (all faults, or one)
//	POST   /_emulator/tokens/expire  -> 200 {"expired":n}
//
// Emulators add their own admin paths (POST /_emulator/load, POST
// /_emulator/reset) in front of AdminHandler.
package realism
