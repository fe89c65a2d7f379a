package e2e

// A tap sits in front of an emulator and lets a test act on the sync's calls: at the nth call
// of an endpoint (kill something, drop the call), on every nth (fail it), on every one (slow it
// down), and on the OAuth token endpoint (take it down). The test's own users mark their calls
// and pass untouched.

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"deskcrm/emulator/zohoauth"
)

// userHeader marks the calls of the test's users, which the taps neither count nor refuse.
const userHeader = "X-E2e-User"

// tap sits in front of an emulator (and, for CRM, the OAuth token endpoint it serves).
type tap struct {
	next     http.Handler
	mu       sync.Mutex
	triggers []*trigger
	// accountsDown makes the token endpoint fail: 503s and cut connections by turns.
	accountsDown atomic.Bool
	refused      atomic.Int64
	// failing answers every nth sync call of an endpoint with an error (see failEvery).
	failing []*failRule
	// perPath counts the sync's calls by method and path (see callsPerPath).
	perPath map[string]int
	// passed counts those of them passed on to the emulator (not failed or dropped here).
	passed map[string]int
	// slow holds the sync's calls matching a rule back before passing them on (see slowDown).
	slow []*slowRule
}

// slowRule delays the sync's calls matching method and path by d.
type slowRule struct {
	method, path string
	d            time.Duration
}

// slowDown holds every sync call of method and path back by d before passing it on, as a slow
// endpoint of a busy API would answer.
func (tp *tap) slowDown(method, path string, d time.Duration) {
	tp.mu.Lock()
	tp.slow = append(tp.slow, &slowRule{method: method, path: path, d: d})
	tp.mu.Unlock()
}

// failRule answers every nth sync call matching method and path with status, without passing
// it on: a transient error that comes back at a fixed pace, so a test's outcome cannot hang on
// a random draw.
type failRule struct {
	method, path string
	every, seen  int
	limit, done  int // at most limit failures (0: no limit)
	status       int
}

// trigger fires once, at the nth call of the sync matching method and path (a path pattern
// as in realism.Fault: "{x}" matches one segment).
type trigger struct {
	method, path string
	n            int
	seen         int
	fire         func()
	drop         bool // the call that fires it is dropped unanswered, after fire returns
	fired        bool
}

func newTap(next http.Handler) *tap { return &tap{next: next} }

// at arms a trigger whose call goes on to the emulator; fire runs in the request's goroutine,
// so it should hand long work to world.background.
func (tp *tap) at(method, path string, n int, fire func()) {
	tp.arm(&trigger{method: method, path: path, n: n, fire: fire})
}

// dropAt arms a trigger whose call never reaches the emulator: fire runs first (it kills the
// caller), then the connection is cut. Where a kill lands is then exact: the killed worker
// got no answer to its nth call, and made no other call after it.
func (tp *tap) dropAt(method, path string, n int, fire func()) {
	tp.arm(&trigger{method: method, path: path, n: n, fire: fire, drop: true})
}

// failEvery answers every nth sync call of method and path with status, at most limit times
// (0: every nth call for ever).
func (tp *tap) failEvery(method, path string, n, limit, status int) {
	tp.mu.Lock()
	tp.failing = append(tp.failing, &failRule{method: method, path: path, every: n, limit: limit, status: status})
	tp.mu.Unlock()
}

// callsPerPath returns how many calls the sync made per "METHOD /path" (ids included).
func (tp *tap) callsPerPath() map[string]int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return maps.Clone(tp.perPath)
}

// passedPerPath counts the sync's calls passed on to the emulator, by method and path: those
// the tap neither failed nor dropped.
func (tp *tap) passedPerPath() map[string]int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return maps.Clone(tp.passed)
}

func (tp *tap) arm(tr *trigger) {
	tp.mu.Lock()
	tp.triggers = append(tp.triggers, tr)
	tp.mu.Unlock()
}

// firedAll reports whether every trigger armed has fired, naming those that have not.
func (tp *tap) firedAll() (bool, []string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var missing []string
	for _, tr := range tp.triggers {
		if !tr.fired {
			missing = append(missing, fmt.Sprintf("%s %s #%d (seen %d)", tr.method, tr.path, tr.n, tr.seen))
		}
	}
	return len(missing) == 0, missing
}

func (tp *tap) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	user := r.Header.Get(userHeader) != ""
	if strings.HasPrefix(r.URL.Path, zohoauth.TokenPath) && tp.accountsDown.Load() && !user {
		if tp.refused.Add(1)%2 == 0 {
			cutConnection(rw)
			return
		}
		http.Error(rw, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if !user {
		var fire []*trigger
		fail := 0
		tp.mu.Lock()
		if tp.perPath == nil {
			tp.perPath = map[string]int{}
		}
		tp.perPath[r.Method+" "+r.URL.Path]++
		var delay time.Duration
		for _, sr := range tp.slow {
			if sr.method == r.Method && pathMatches(sr.path, r.URL.Path) {
				delay += sr.d
			}
		}
		for _, f := range tp.failing {
			if f.method == r.Method && pathMatches(f.path, r.URL.Path) {
				if f.seen++; f.seen%f.every == 0 && (f.limit == 0 || f.done < f.limit) {
					f.done++
					fail = f.status
				}
			}
		}
		for _, tr := range tp.triggers {
			if !tr.fired && tr.method == r.Method && pathMatches(tr.path, r.URL.Path) {
				tr.seen++
				if tr.seen >= tr.n {
					tr.fired = true
					fire = append(fire, tr)
				}
			}
		}
		tp.mu.Unlock()
		time.Sleep(delay)
		if fail != 0 {
			http.Error(rw, `{"errorCode":"INTERNAL_SERVER_ERROR","message":"injected by the test"}`, fail)
			return
		}
		drop := false
		for _, tr := range fire {
			tr.fire()
			drop = drop || tr.drop
		}
		if drop {
			cutConnection(rw)
			return
		}
		tp.mu.Lock()
		if tp.passed == nil {
			tp.passed = map[string]int{}
		}
		tp.passed[r.Method+" "+r.URL.Path]++
		tp.mu.Unlock()
	}
	tp.next.ServeHTTP(rw, r)
}

// cutConnection closes the client's connection without an answer.
func cutConnection(rw http.ResponseWriter) {
	if hj, ok := rw.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// pathMatches matches a path against a pattern whose "{x}" segments match any one segment.
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if !strings.HasPrefix(p, "{") && p != xs[i] {
			return false
		}
	}
	return true
}
