package crm

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"deskcrm/emulator/realism"
)

// DefaultSearchLag is the search index delay of a zero Config and of the
// emulator command: a record created or edited through the API shows in
// /search this long after the write. Zoho documents the lag without a
// figure (search-records: "newly created or edited records may be missing
// from search for a while"); two seconds keeps it visible to a client
// without slowing a demo.
const DefaultSearchLag = 2 * time.Second

// NoSearchLag, as Config.SearchLag, makes every write searchable at once.
const NoSearchLag time.Duration = -1

// SetSearchLag sets the search index delay; d <= 0 turns it off. It applies
// at once to every record, written before or after.
func (s *Server) SetSearchLag(d time.Duration) { s.searchLag.Store(int64(max(d, 0))) }

// SearchLag returns the search index delay (0 = off).
func (s *Server) SearchLag() time.Duration { return time.Duration(s.searchLag.Load()) }

// searchable returns the predicate "the search index has caught up with
// this record": its last API write is at least the search lag old. Records
// loaded with Load count as indexed. Nil when the lag is off.
func (s *Server) searchable() func(rec) bool {
	lag := s.searchLag.Load()
	if lag <= 0 {
		return nil
	}
	cutoff := s.now().UnixNano() - lag
	return func(r rec) bool { return r.written <= cutoff }
}

// searchLagJSON is the admin form of the search lag.
type searchLagJSON struct {
	LagMS int64 `json:"lag_ms"`
}

// serveSearchLag answers GET and PUT /_emulator/search-lag
// ({"lag_ms": 2000}; 0 turns the lag off).
func (s *Server) serveSearchLag(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var in searchLagJSON
		if err := decodeStrict(r, &in); err != nil {
			realism.AdminError(w, http.StatusBadRequest, err)
			return
		}
		if in.LagMS < 0 {
			realism.AdminError(w, http.StatusBadRequest, errNegativeLag)
			return
		}
		s.SetSearchLag(time.Duration(in.LagMS) * time.Millisecond)
	default:
		w.Header().Set("Allow", strings.Join([]string{http.MethodGet, http.MethodPut}, ", "))
		realism.AdminError(w, http.StatusMethodNotAllowed, errAdminMethod)
		return
	}
	realism.WriteJSON(w, http.StatusOK, searchLagJSON{LagMS: s.SearchLag().Milliseconds()})
}

var (
	errNegativeLag = errors.New("lag_ms must not be negative")
	errAdminMethod = errors.New("method not allowed")
)
