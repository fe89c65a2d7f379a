package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"deskcrm/emulator/valueindex"
)

// moduleStore holds the records of one module with their indexes. It is
// guarded by Server.mu.
type moduleStore struct {
	name    string
	sch     *schema
	recs    map[uint64]*record
	byMod   timeIndex
	byCrt   timeIndex
	indexed map[uint16]*valueindex.Index // normalised value -> ids (live and trashed)
	live    int
	// sortCache keeps the order of live records for a list sortBy field,
	// valid while version is unchanged.
	version   uint64
	sortCache map[string][]uint64
	sortVer   uint64
}

// indexedFields are the fields with a value index: the match keys of the
// sync (email, accountName) and the counterpart id (cf_crm_id).
var indexedFields = map[string][]string{
	ModuleContacts: {"email", "cf_crm_id"},
	ModuleAccounts: {"accountName", "cf_crm_id"},
}

func newModuleStore(sch *schema) *moduleStore {
	ms := &moduleStore{name: sch.module, sch: sch, recs: map[uint64]*record{}, indexed: map[uint16]*valueindex.Index{}}
	for _, name := range indexedFields[sch.module] {
		if i, ok := sch.byName[name]; ok {
			ms.indexed[uint16(i)] = valueindex.New()
		}
	}
	return ms
}

// normKey is the index key of a value: trimmed and lower-cased.
func normKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (ms *moduleStore) modValid(k timeKey) bool {
	r := ms.recs[k.id]
	return r != nil && !r.trashed() && r.seq == k.seq
}

func (ms *moduleStore) crtValid(k timeKey) bool {
	r := ms.recs[k.id]
	return r != nil && !r.trashed() && r.cseq == k.seq
}

// indexesClean reports whether both time indexes can be read as they are.
func (ms *moduleStore) indexesClean() bool { return ms.byMod.clean() && ms.byCrt.clean() }

func (ms *moduleStore) ensureIndexes() {
	ms.byMod.ensure(ms.modValid)
	ms.byCrt.ensure(ms.crtValid)
}

// insert adds a new live record.
func (ms *moduleStore) insert(r *record) {
	ms.recs[r.id] = r
	ms.byMod.add(timeKey{r.modified, r.seq, r.id})
	ms.byCrt.add(timeKey{r.created, r.cseq, r.id})
	ms.indexAdd(r)
	ms.live++
	ms.version++
}

func (ms *moduleStore) indexAdd(r *record) {
	for f, idx := range ms.indexed {
		if v, ok := r.data.get(f); ok {
			idx.Add(normKey(v.s), r.id)
		}
	}
}

func (ms *moduleStore) indexRemove(r *record) {
	for f, idx := range ms.indexed {
		if v, ok := r.data.get(f); ok {
			idx.Remove(normKey(v.s), r.id)
		}
	}
}

// replace swaps old for nr (same id) after an update.
func (ms *moduleStore) replace(old, nr *record) {
	ms.indexRemove(old)
	ms.recs[nr.id] = nr
	ms.indexAdd(nr)
	if !old.trashed() {
		ms.byMod.stale++
	}
	if !nr.trashed() {
		ms.byMod.add(timeKey{nr.modified, nr.seq, nr.id})
	}
	ms.version++
}

// setTrashed marks r trashed (at > 0) or live (at == 0); cseq and seq are
// the new sequence numbers used when the record comes back to life.
func (ms *moduleStore) setTrashed(r *record, at int64, seq uint64) *record {
	nr := *r
	nr.trashedAt = at
	if at != 0 {
		ms.byMod.stale++
		ms.byCrt.stale++
		ms.live--
	} else {
		nr.seq, nr.cseq = seq, seq
		ms.byMod.add(timeKey{nr.modified, nr.seq, nr.id})
		ms.byCrt.add(timeKey{nr.created, nr.cseq, nr.id})
		ms.live++
	}
	ms.recs[nr.id] = &nr
	ms.version++
	return &nr
}

// purge removes r permanently.
func (ms *moduleStore) purge(r *record) {
	ms.indexRemove(r)
	delete(ms.recs, r.id)
	if !r.trashed() {
		ms.byMod.stale++
		ms.byCrt.stale++
		ms.live--
	}
	ms.version++
}

// lookup returns the ids of records whose indexed field equals key
// (normalised), or ok=false when the field has no index.
func (ms *moduleStore) lookup(field, key string) ([]uint64, bool) {
	i, ok := ms.sch.byName[field]
	if !ok {
		return nil, false
	}
	idx, ok := ms.indexed[uint16(i)]
	if !ok {
		return nil, false
	}
	key = normKey(key)
	ids := idx.Lookup(nil, key)
	// The index answers by hash: keep the records that hold the value.
	out := ids[:0]
	for _, id := range ids {
		if r := ms.recs[id]; r != nil {
			if v, _ := r.data.get(uint16(i)); normKey(v.s) == key {
				out = append(out, id)
			}
		}
	}
	return out, true
}

// str returns the string value of a field of r ("" when unset).
func (ms *moduleStore) str(r *record, field string) string {
	i, ok := ms.sch.byName[field]
	if !ok {
		return ""
	}
	v, _ := r.data.get(uint16(i))
	return v.s
}

// writeInput is a decoded, validated create or update body.
type writeInput struct {
	set   []entry
	unset []uint16
}

// readOnlyNames are response-only fields a client may echo back; writing
// them is rejected as read-only.
var readOnlyNames = map[string]bool{
	"id": true, "createdTime": true, "modifiedTime": true, "webUrl": true, "photoURL": true,
	"isAnonymous": true, "isEndUser": true, "isSpam": true, "isDeleted": true, "isTrashed": true,
	"isFollowing": true, "accountCount": true, "customerHappiness": true, "layoutDetails": true,
	"owner": true, "account": true, "zohoCRMContact": true, "zohoCRMAccount": true,
}

// decodeWrite parses and validates a create (create=true) or PATCH body
// against the module schema. It checks types, lengths, unknown and
// read-only fields and, on create, mandatory fields. Cross-record rules
// (lookups, uniqueness) are checked by the caller under the lock.
func decodeWrite(sch *schema, body []byte, create bool) (writeInput, *apiError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return writeInput{}, &apiError{Status: 400, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; a JSON object is expected"}
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&top); err != nil || top == nil || dec.More() {
		return writeInput{}, errBadRequest("The request body is not a valid JSON object")
	}
	return validateWrite(sch, top, nil, create)
}

// validateWrite checks a decoded body. cfPre, when not nil, holds the "cf"
// members already split (the Load path), and top["cf"] is ignored.
func validateWrite(sch *schema, top map[string]json.RawMessage, cfPre map[string]json.RawMessage, create bool) (writeInput, *apiError) {
	var in writeInput
	var errs []FieldError
	fail := func(name, typ, msg string) {
		errs = append(errs, FieldError{FieldName: name, ErrorType: typ, ErrorMessage: msg})
	}
	seen := map[uint16]bool{}
	apply := func(ptr string, f *Field, fi int, raw json.RawMessage) {
		if f.ReadOnly {
			fail(ptr, ErrInvalid, fmt.Sprintf("%s is read-only", f.APIName))
			return
		}
		seen[uint16(fi)] = true
		if string(bytes.TrimSpace(raw)) == "null" {
			if f.Mandatory {
				fail(ptr, ErrMissing, fmt.Sprintf("%s is mandatory and cannot be empty", f.APIName))
				return
			}
			in.unset = append(in.unset, uint16(fi))
			return
		}
		v, fe := convert(f, raw)
		if fe != nil {
			fe.FieldName = ptr
			errs = append(errs, *fe)
			return
		}
		if f.Mandatory && strings.TrimSpace(v.s) == "" {
			fail(ptr, ErrMissing, fmt.Sprintf("%s is mandatory and cannot be empty", f.APIName))
			return
		}
		if v.s == "" && !v.num {
			in.unset = append(in.unset, uint16(fi))
			return
		}
		in.set = append(in.set, entry{uint16(fi), v})
	}
	customObj := func(key string, raw json.RawMessage, byLabel bool) {
		if string(bytes.TrimSpace(raw)) == "null" {
			return
		}
		var cf map[string]json.RawMessage
		if key == "cf" && cfPre != nil {
			cf = cfPre
		} else if err := json.Unmarshal(raw, &cf); err != nil {
			fail("/"+key, ErrInvalid, key+" must be a JSON object")
			return
		}
		for k, v := range cf {
			ptr := "/" + key + "/" + k
			fi := -1
			if byLabel {
				for i, f := range sch.fields {
					if f.Custom && f.DisplayLabel == k {
						fi = i
						break
					}
				}
			} else if i, ok := sch.byName[k]; ok && sch.fields[i].Custom {
				fi = i
			}
			if fi < 0 {
				fail(ptr, ErrInvalid, fmt.Sprintf("An extra parameter '%s' is found", k))
				continue
			}
			apply(ptr, &sch.fields[fi], fi, v)
		}
	}
	for key, raw := range top {
		switch {
		case key == "cf":
			if cfPre == nil {
				customObj(key, raw, false)
			}
		case key == "customFields":
			customObj(key, raw, true)
		case readOnlyNames[key]:
			fail("/"+key, ErrInvalid, fmt.Sprintf("%s is read-only", key))
		default:
			fi, ok := sch.byName[key]
			if !ok || sch.fields[fi].Custom {
				fail("/"+key, ErrInvalid, fmt.Sprintf("An extra parameter '%s' is found", key))
				continue
			}
			apply("/"+key, &sch.fields[fi], fi, raw)
		}
	}
	if cfPre != nil {
		customObj("cf", nil, false)
	}
	if create {
		for i, f := range sch.fields {
			if f.Mandatory && !seen[uint16(i)] {
				fail(fieldPointer(f), ErrMissing, fmt.Sprintf("%s is mandatory", f.APIName))
			}
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].FieldName < errs[j].FieldName })
		return in, errInvalidData(errs...)
	}
	return in, nil
}

func fieldPointer(f Field) string {
	if f.Custom {
		return "/cf/" + f.APIName
	}
	return "/" + f.APIName
}

// parseID parses a Desk record id.
func parseID(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}
