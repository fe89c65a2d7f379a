package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// maxMergeRecords is how many records one merge joins, the master included: Desk's help
// ("Deduplicate Contacts and Accounts") says "You can merge a maximum of 3 records at a time".
const maxMergeRecords = 3

// handleMerge serves POST /api/v1/contacts/{contactId}/merge and
// /api/v1/accounts/{accountId}/merge (zoho-api.md B2/B3; Desk API "Merge Contacts" /
// "Merge Accounts", scope Desk.contacts.UPDATE):
//
//	{"ids":["<id>",...],"source":{"<fieldName>":"<id of the record whose value is kept>",...}}
//	→ 200 with the master record, rendered as GET renders it
//
// ids names the records merged into the master of the path ("Array containing the IDs of the
// contacts to merge"); it may name the master too, which is then not merged into itself. The
// master and the others are 2 to maxMergeRecords records, all live. source maps a writable
// field (API name; custom fields by their cf_ name) to the id of the master or of one of ids:
// the master takes that record's value (or none, when that record has none). Fields source
// does not name keep the master's value.
//
// After the merge, in one step under the write lock:
//   - the master holds the chosen values and a new modifiedTime;
//   - tickets of a merged-away contact (contactId) or account (accountId) belong to the master;
//     for accounts, contacts whose accountId named a merged-away account name the master (and
//     get a new modifiedTime);
//   - the merged-away records are deleted for good: they are not in the recycle bin and GET by
//     id answers 404. Desk's API and help do not say where merged records go; the emulator
//     follows Zoho's help for the same Find & Merge feature in Zoho CRM, "The record(s) merged
//     to the master record will be deleted permanently";
//   - webhooks fire Contact_Update (Account_Update) for the master, with prevState, then
//     Contact_Update for every contact moved to a merged account, then Contact_Delete
//     (Account_Delete) with {"id"} for each merged-away record, as an edit and a delete
//     through the API would; a request sourceId equal to a webhook's ignoreSourceId skips it.
//
// Errors, as the other writes shape them: a non-numeric path id 422 INVALID_DATA on
// /contactId (/accountId); an unknown path id 404 URL_NOT_FOUND; a master in the recycle bin
// 422 UNPROCESSABLE_ENTITY; an empty body 400 EMPTY_PAYLOAD, malformed JSON 400 BAD_REQUEST;
// 422 INVALID_DATA on /ids (missing, not an array of ids, no record besides the master, more
// than maxMergeRecords records), /ids/{i} (not a live record of the module, or given twice),
// /source/{field} (unknown or read-only field, or an id that is not among the merged records)
// and /{key} for an extra parameter.
func (s *Server) handleMerge(w http.ResponseWriter, r *http.Request, m, idStr string) *apiError {
	master, ok := parseID(idStr)
	if !ok {
		return errInvalidData(FieldError{FieldName: idParamName(m), ErrorType: ErrInvalid, ErrorMessage: "the id is not a valid record id"})
	}
	body, e := readBody(r)
	if e != nil {
		return e
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{Status: http.StatusBadRequest, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; a JSON object is expected"}
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil || req == nil {
		return errBadRequest("The request body is not a valid JSON object")
	}
	var errs []FieldError
	fail := func(name, typ, msg string) {
		errs = append(errs, FieldError{FieldName: name, ErrorType: typ, ErrorMessage: msg})
	}
	for k := range req {
		if k != "ids" && k != "source" {
			fail("/"+k, ErrInvalid, fmt.Sprintf("An extra parameter '%s' is found", k))
		}
	}
	var ids []string
	if raw, ok := req["ids"]; !ok {
		fail("/ids", ErrMissing, "ids is required")
	} else if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
		fail("/ids", ErrInvalid, "ids must be an array of record ids")
	}
	var source map[string]string
	if raw, ok := req["source"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &source); err != nil {
			fail("/source", ErrInvalid, "source must map field names to record ids")
		}
	}
	if len(errs) > 0 {
		return errInvalidData(errs...)
	}

	outBuf, prevBuf := getBuf(), getBuf()
	defer putBuf(outBuf)
	defer putBuf(prevBuf)
	s.mu.Lock()
	events, e := s.mergeLocked(m, master, ids, source, outBuf, prevBuf)
	s.mu.Unlock()
	if e != nil {
		return e
	}
	s.hooks.emit(r.Header.Get(SourceIDHeader), events)
	writeRaw(w, http.StatusOK, events[0].payload)
	return nil
}

// mergeLocked validates a merge against the store and makes it (see handleMerge). It returns
// the webhook events, the master's update first (its payload is the answer), or the error
// that stopped it before anything changed. Caller holds s.mu for writing.
func (s *Server) mergeLocked(m string, master uint64, ids []string, source map[string]string, outBuf, prevBuf *[]byte) ([]event, *apiError) {
	ms := s.mods[m]
	old, found := ms.get(master)
	switch {
	case !found:
		return nil, errNotFound()
	case old.trashed():
		return nil, errUnprocessable("The record is in the recycle bin; restore it before merging into it")
	}
	var errs []FieldError
	var merged []uint64
	for i, sid := range ids {
		id, ok := parseID(sid)
		rec, found := ms.get(id)
		switch {
		case !ok || !found || rec.trashed():
			errs = append(errs, FieldError{FieldName: fmt.Sprintf("/ids/%d", i), ErrorType: ErrInvalid, ErrorMessage: "no live record exists with id " + sid})
		case id == master:
			// The master may be named among the records merged; it is not merged into itself.
		case slices.Contains(merged, id):
			errs = append(errs, FieldError{FieldName: fmt.Sprintf("/ids/%d", i), ErrorType: ErrInvalid, ErrorMessage: "the id is given more than once"})
		default:
			merged = append(merged, id)
		}
	}
	if len(errs) > 0 {
		return nil, errInvalidData(errs...)
	}
	if len(merged) == 0 || len(merged)+1 > maxMergeRecords {
		return nil, errInvalidData(FieldError{FieldName: "/ids", ErrorType: ErrInvalid,
			ErrorMessage: fmt.Sprintf("a merge joins the record and 1 to %d others", maxMergeRecords-1)})
	}

	// The values the master takes.
	var set []entry
	var unset []uint16
	names := make([]string, 0, len(source))
	for k := range source {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		sid := source[name]
		fi, ok := ms.sch.byName[name]
		if !ok || ms.sch.fields[fi].ReadOnly {
			errs = append(errs, FieldError{FieldName: "/source/" + name, ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf("An extra parameter '%s' is found", name)})
			continue
		}
		id, _ := parseID(sid)
		if id != master && !slices.Contains(merged, id) {
			errs = append(errs, FieldError{FieldName: "/source/" + name, ErrorType: ErrInvalid, ErrorMessage: "the id " + sid + " is not among the records merged"})
			continue
		}
		if id == master {
			continue
		}
		if v, has := ms.data(ms.rec(id)).get(uint16(fi)); has {
			set = append(set, entry{uint16(fi), v})
		} else {
			unset = append(unset, uint16(fi))
		}
	}
	if len(errs) > 0 {
		return nil, errInvalidData(errs...)
	}
	// No unique check: Desk keeps accountName unique among live accounts on every write (Load
	// included), so a name the master takes was held by the merged-away account alone.
	ms.scratch = ms.data(old).appendPatch(ms.scratch[:0], set, unset)

	// The master.
	prev := s.render((*prevBuf)[:0], ms, old, renderOpts{})
	*prevBuf = prev
	now := s.nowMS()
	nr := old
	nr.seq = s.nextSeq()
	nr.modified = max(now, old.modified)
	cur := ms.replace(nr, ms.scratch)
	out := s.render((*outBuf)[:0], ms, cur, renderOpts{})
	*outBuf = out
	events := []event{{kind: eventKind(m, "Update"), payload: out, prev: prev}}

	// What belonged to the merged-away records.
	for _, t := range s.tickets.byID {
		if m == ModuleContacts && idIn(t.ContactID, merged) {
			t.ContactID = idString(master)
		}
		if m == ModuleAccounts && idIn(t.AccountID, merged) {
			t.AccountID = idString(master)
		}
	}
	if m == ModuleAccounts {
		events = append(events, s.moveContactsLocked(merged, master, now)...)
	}
	for _, id := range merged {
		s.purgeLocked(ms, ms.rec(id))
		events = append(events, event{kind: eventKind(m, "Delete"), payload: deletePayload(id)})
	}
	return events, nil
}

// moveContactsLocked gives every contact (live or trashed) whose accountId names one of the
// accounts merged the master's id instead, and returns the Contact_Update events of the live
// ones. Caller holds s.mu for writing.
func (s *Server) moveContactsLocked(merged []uint64, master uint64, now int64) []event {
	contacts := s.mods[ModuleContacts]
	fi := uint16(contacts.sch.byName["accountId"])
	// The contacts are found first and changed after (see purgeLocked).
	var ids []uint64
	for id, c := range contacts.recs {
		if v, ok := contacts.data(c).get(fi); ok && idIn(v.s, merged) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var events []event
	to := idString(master)
	for _, id := range ids {
		c := contacts.rec(id)
		var prev []byte
		if !c.trashed() {
			prev = s.render(nil, contacts, c, renderOpts{})
		}
		contacts.scratch = contacts.data(c).appendPatch(contacts.scratch[:0], []entry{{fi, value{s: to}}}, nil)
		c.seq = s.nextSeq()
		c.modified = max(now, c.modified)
		c = contacts.replace(c, contacts.scratch)
		if !c.trashed() {
			events = append(events, event{kind: "Contact_Update", payload: s.render(nil, contacts, c, renderOpts{}), prev: prev})
		}
	}
	return events
}

// idIn reports whether the id text s names one of ids.
func idIn(s string, ids []uint64) bool {
	id, ok := parseID(strings.TrimSpace(s))
	return ok && slices.Contains(ids, id)
}
