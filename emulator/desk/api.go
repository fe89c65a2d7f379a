package desk

import (
	"net/http"
	"strconv"
	"strings"

	"deskcrm/emulator/realism"
)

// route is a parsed API path: /api/v1/<resource>[/<sub>[/<rest>]].
type route struct {
	resource string
	sub      string
	rest     string
}

func parseRoute(path string) route {
	p := strings.Trim(strings.TrimPrefix(path, "/api/v1/"), "/")
	var rt route
	rt.resource, p, _ = strings.Cut(p, "/")
	rt.sub, rt.rest, _ = strings.Cut(p, "/")
	return rt
}

// classify names the endpoint of a call for the call log and prices it in
// credits (zoho-api.md B6: get by id 1; list and search 3 for offsets up to
// 2,000, then 5, 10, 50 and 100 for deeper offsets; writes 1).
func (s *Server) classify(r *http.Request) realism.Call {
	rt := parseRoute(r.URL.Path)
	// The endpoint is "<method> /api/v1/<resource>" and then sub and rest: one
	// concatenation, one string a call.
	var sub, slash, rest string
	cost := 1
	switch {
	case rt.sub == "":
		if r.Method == http.MethodGet && (rt.resource == ModuleContacts || rt.resource == ModuleAccounts || rt.resource == "tickets" || rt.resource == "recycleBin") {
			cost = offsetCost(r.URL.Query().Get("from"))
		}
	case rt.sub == "search":
		sub = "/search"
		cost = offsetCost(r.URL.Query().Get("from"))
	case rt.sub == "moveToTrash" || rt.sub == "count" || rt.resource == "recycleBin":
		slash, rest = "/", rt.sub
	default:
		sub = "/{id}"
		if rt.rest != "" {
			slash, rest = "/", rt.rest
		}
		if rt.rest == "tickets" && r.Method == http.MethodGet {
			cost = offsetCost(r.URL.Query().Get("from")) // a list
		}
	}
	return realism.Call{Endpoint: r.Method + " /api/v1/" + rt.resource + sub + slash + rest, Cost: cost}
}

func offsetCost(from string) int {
	n, _ := strconv.Atoi(from)
	switch {
	case n <= 2000:
		return 3
	case n <= 5000:
		return 5
	case n <= 10000:
		return 10
	case n <= 50000:
		return 50
	}
	return 100
}

// serveAPI serves /api/v1/ after the realism layer.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt := parseRoute(r.URL.Path)
	if rt.resource == "myinfo" {
		// The agent's own token, not the integration's: checked by serveMyInfo.
		if e := s.serveMyInfo(w, r, rt); e != nil {
			writeError(w, e)
		}
		return
	}
	if e := s.authorize(r); e != nil {
		writeError(w, e)
		return
	}
	var e *apiError
	switch rt.resource {
	case ModuleContacts, ModuleAccounts:
		e = s.serveRecords(w, r, rt)
	case "organizationFields":
		e = s.serveFields(w, r, rt)
	case "recycleBin":
		e = s.serveRecycleBin(w, r, rt)
	case "tickets":
		e = s.serveTickets(w, r, rt)
	case "profiles":
		e = s.serveProfiles(w, r, rt)
	case "webhooks":
		e = s.hooks.serve(w, r, rt)
	default:
		e = errNotFound()
	}
	if e != nil {
		writeError(w, e)
	}
}

func (s *Server) serveRecords(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	m := rt.resource
	switch {
	case rt.sub == "":
		switch r.Method {
		case http.MethodGet:
			return s.handleList(w, r, m)
		case http.MethodPost:
			return s.handleCreate(w, r, m)
		}
		return errMethod()
	case rt.sub == "search" && rt.rest == "":
		if r.Method != http.MethodGet {
			return errMethod()
		}
		return s.handleSearch(w, r, m)
	case rt.sub == "count" && rt.rest == "":
		if r.Method != http.MethodGet {
			return errMethod()
		}
		s.mu.RLock()
		n := s.mods[m].live
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, map[string]string{"count": strconv.Itoa(n)})
		return nil
	case rt.sub == "moveToTrash" && rt.rest == "":
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.handleTrash(w, r, m)
	case rt.rest == "tickets":
		return s.serveRecordTickets(w, r, m, rt.sub)
	case rt.rest == "merge":
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.handleMerge(w, r, m, rt.sub)
	case rt.rest == "":
		switch r.Method {
		case http.MethodGet:
			return s.handleGet(w, r, m, rt.sub)
		case http.MethodPatch:
			return s.handleUpdate(w, r, m, rt.sub)
		}
		return errMethod()
	}
	return errNotFound()
}

// idParamName is the JSON Pointer Desk uses for a module's id parameter.
func idParamName(m string) string {
	if m == ModuleAccounts {
		return "/accountId"
	}
	return "/contactId"
}
