package crm

import (
	"net/http"
)

// relatedLists maps parent module -> related list -> (child module, lookup
// field on the child that points at the parent).
var relatedLists = map[string]map[string][2]string{
	"Contacts": {
		"Deals": {"Deals", "Contact_Name"}, "Notes": {"Notes", "Parent_Id"},
		"Tasks": {"Tasks", "Who_Id"}, "Events": {"Events", "Who_Id"}, "Calls": {"Calls", "Who_Id"},
		"Contacts": {"Contacts", "Reporting_To"},
	},
	"Accounts": {
		"Deals": {"Deals", "Account_Name"}, "Notes": {"Notes", "Parent_Id"},
		"Tasks": {"Tasks", "What_Id"}, "Events": {"Events", "What_Id"}, "Calls": {"Calls", "What_Id"},
		"Contacts": {"Contacts", "Account_Name"},
	},
	"Deals": {
		"Notes": {"Notes", "Parent_Id"}, "Tasks": {"Tasks", "What_Id"}, "Events": {"Events", "What_Id"},
		"Calls": {"Calls", "What_Id"},
	},
}

// serveRelated answers GET /crm/v8/{module}/{id}/{related_list}.
func (s *Server) serveRelated(w http.ResponseWriter, r *http.Request, mod, rawID, list string) {
	rel, ok := relatedLists[mod][list]
	if !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"api_name": list, "resource_path_index": 2}})
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	parent := s.modules[mod]
	id, ok := parseID(rawID)
	if !ok || !parent.has(id) {
		writeError(w, errInvalidID(rawID))
		return
	}
	child := s.modules[rel[0]]
	k, _, _ := child.fields.get(rel[1])
	q, aerr := s.parseListQuery(r, child, mod+"/"+rawID+"/"+list, true)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	page, more := s.collect(child, q, func(c rec) bool {
		v, ok := c.get(k)
		lr, isRef := v.(lookupRef)
		return ok && isRef && lr.id == id
	})
	s.writePage(w, child, q, page, more)
}
