package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"deskcrm/emulator/records"
	"deskcrm/emulator/valueindex"
)

// moduleStore holds the records of one module with their indexes. It is
// guarded by Server.mu.
type moduleStore struct {
	name string
	sch  *schema
	// The records are held by value in a slab and their values in an arena: neither holds a
	// pointer per record (see package records).
	slab    records.Slab[storedRec]
	arena   records.Arena
	byMod   timeIndex
	byCrt   timeIndex
	indexed map[uint16]*valueindex.Index // normalised value -> ids (live and trashed)
	live    int
	// sortCache keeps the order of live records for a list sortBy field,
	// valid while version is unchanged.
	version   uint64
	sortCache map[string][]uint64
	sortVer   uint64
	// scratch is where writes pack a blob before it is copied into the arena (under the
	// write lock).
	scratch []byte
}

// indexedFields are the fields with a value index: the match keys of the
// sync (email, accountName) and the counterpart id (cf_crm_id).
var indexedFields = map[string][]string{
	ModuleContacts: {"email", "cf_crm_id"},
	ModuleAccounts: {"accountName", "cf_crm_id"},
}

func newModuleStore(sch *schema) *moduleStore {
	ms := &moduleStore{name: sch.module, sch: sch, arena: records.NewArena(), indexed: map[uint16]*valueindex.Index{}}
	for _, name := range indexedFields[sch.module] {
		if i, ok := sch.byName[name]; ok {
			ms.indexed[uint16(i)] = valueindex.New()
		}
	}
	return ms
}

// normKey is the index key of a value: trimmed and lower-cased.
func normKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// data returns the values of r, a record of ms read since the store last changed. The blob
// stays valid after that (see package records).
func (ms *moduleStore) data(r record) blob { return blob(ms.arena.Get(r.data)) }

// get returns the record (live or trashed) with id.
func (ms *moduleStore) get(id uint64) (record, bool) {
	st, ok := ms.slab.Get(id)
	return record{id: id, storedRec: st}, ok
}

// rec returns the record with id, which the caller knows is there (a zero record if not).
func (ms *moduleStore) rec(id uint64) record {
	r, _ := ms.get(id)
	return r
}

// has reports whether a record (live or trashed) has id.
func (ms *moduleStore) has(id uint64) bool {
	return ms.slab.Has(id)
}

// count is the number of records, live and trashed.
func (ms *moduleStore) count() int { return ms.slab.Len() }

// recs yields every record (live and trashed), in no particular order. The store must not
// change during the loop.
func (ms *moduleStore) recs(yield func(uint64, record) bool) {
	for id, st := range ms.slab.All {
		if !yield(id, record{id: id, storedRec: *st}) {
			return
		}
	}
}

// set stores r in the slot of its id, taking a slot for a new id.
func (ms *moduleStore) set(r record) { ms.slab.Put(r.id, r.storedRec) }

// remove frees the slot of the record with id.
func (ms *moduleStore) remove(id uint64) { ms.slab.Delete(id) }

// tidy compacts the arena's chunks that fell under half live during the last change of the
// store. The methods that put or release blobs call it last, once every record points at its
// blob.
func (ms *moduleStore) tidy() { ms.arena.Tidy(ms.dataRef) }

// dataRef returns where the record with id keeps the place of its blob, or nil.
func (ms *moduleStore) dataRef(id uint64) *records.Ref {
	if st := ms.slab.Ptr(id); st != nil {
		return &st.data
	}
	return nil
}

func (ms *moduleStore) modValid(k timeKey) bool {
	r, ok := ms.get(k.id)
	return ok && !r.trashed() && r.seq == k.seq
}

func (ms *moduleStore) crtValid(k timeKey) bool {
	r, ok := ms.get(k.id)
	return ok && !r.trashed() && r.cseq == k.seq
}

// indexesClean reports whether both time indexes can be read as they are.
func (ms *moduleStore) indexesClean() bool { return ms.byMod.clean() && ms.byCrt.clean() }

func (ms *moduleStore) ensureIndexes() {
	ms.byMod.ensure(ms.modValid)
	ms.byCrt.ensure(ms.crtValid)
}

// add stores r (a new id) with the packed values data and adds it to the value indexes; it
// returns r as stored.
func (ms *moduleStore) add(r record, data []byte) record {
	r.data = ms.arena.Put(r.id, data)
	ms.set(r)
	ms.indexAdd(r)
	ms.version++
	return r
}

// insert adds a new live record with the packed values data and returns it as stored.
func (ms *moduleStore) insert(r record, data []byte) record {
	r = ms.add(r, data)
	ms.byMod.add(timeKey{r.modified, r.seq, r.id})
	ms.byCrt.add(timeKey{r.created, r.cseq, r.id})
	ms.live++
	ms.tidy()
	return ms.rec(r.id)
}

func (ms *moduleStore) indexAdd(r record) {
	for f, idx := range ms.indexed {
		if v, ok := ms.data(r).get(f); ok {
			idx.Add(normKey(v.s), r.id)
		}
	}
}

func (ms *moduleStore) indexRemove(r record) {
	for f, idx := range ms.indexed {
		if v, ok := ms.data(r).get(f); ok {
			idx.Remove(normKey(v.s), r.id)
		}
	}
}

// replace stores nr, with the packed values data, in place of the record with its id after
// an update, and returns it as stored.
func (ms *moduleStore) replace(nr record, data []byte) record {
	old := ms.rec(nr.id)
	ms.indexRemove(old)
	nr.data = ms.arena.Put(nr.id, data)
	ms.set(nr)
	ms.indexAdd(nr)
	ms.arena.Release(old.data)
	if !old.trashed() {
		ms.byMod.stale++
	}
	if !nr.trashed() {
		ms.byMod.add(timeKey{nr.modified, nr.seq, nr.id})
	}
	ms.version++
	ms.prune()
	ms.tidy()
	return ms.rec(nr.id)
}

// setTrashed marks the record with r's id trashed (at > 0) or live (at == 0); seq is the
// new sequence number (seq and cseq) used when the record comes back to life. Its values do
// not move.
func (ms *moduleStore) setTrashed(r record, at int64, seq uint64) record {
	nr := ms.rec(r.id)
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
	ms.set(nr)
	ms.version++
	ms.prune()
	return nr
}

// purge removes the record with r's id permanently.
func (ms *moduleStore) purge(r record) {
	r = ms.rec(r.id)
	ms.indexRemove(r)
	ms.remove(r.id)
	ms.arena.Release(r.data)
	if !r.trashed() {
		ms.byMod.stale++
		ms.byCrt.stale++
		ms.live--
	}
	ms.version++
	ms.prune()
	ms.tidy()
}

// prune drops the stale keys of a time index once they are a quarter of its keys (as a
// search that reads it would), so that an index no search reads does not grow with every
// update; the index keeps its array, which later appends reuse. Dropping them is O(n) for n/4
// updates. Caller has stored the change.
func (ms *moduleStore) prune() {
	if ms.byMod.stale > len(ms.byMod.keys)/4 {
		ms.byMod.ensure(ms.modValid)
	}
	if ms.byCrt.stale > len(ms.byCrt.keys)/4 {
		ms.byCrt.ensure(ms.crtValid)
	}
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
		if r, ok := ms.get(id); ok {
			if v, _ := ms.data(r).get(uint16(i)); normKey(v.s) == key {
				out = append(out, id)
			}
		}
	}
	return out, true
}

// str returns the string value of a field of r ("" when unset).
func (ms *moduleStore) str(r record, field string) string {
	i, ok := ms.sch.byName[field]
	if !ok {
		return ""
	}
	v, _ := ms.data(r).get(uint16(i))
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
// (lookups, uniqueness) are checked by the caller under the lock. The values set are
// appended to set[:0], the caller's room for them (an array on its stack will do).
func decodeWrite(sch *schema, body []byte, create bool, set []entry) (writeInput, *apiError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return writeInput{}, &apiError{Status: 400, ErrorCode: CodeEmptyPayload, Message: "The request body is empty; a JSON object is expected"}
	}
	var buf [16]member
	top, ok := appendMembers(buf[:0], body)
	if !ok {
		// encoding/json's stream decoder decides, as it always has (it accepts, say, a "]"
		// after the object).
		var m map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
			return writeInput{}, errBadRequest("The request body is not a valid JSON object")
		}
		for k, v := range m {
			top = append(top, member{key: []byte(k), raw: v})
		}
	}
	return validateWrite(sch, top, nil, false, create, set)
}

// validateWrite checks a decoded body. When cfSplit is set (the Load path), cf holds the
// members of "cf" and a "cf" member of top is ignored. The values set are appended to
// set[:0].
func validateWrite(sch *schema, top, cf []member, cfSplit, create bool, set []entry) (writeInput, *apiError) {
	// Room for every member and, on create, the default owner; a nested object's members
	// are made room for when it is read.
	in := writeInput{set: slices.Grow(set[:0], len(top)+len(cf)+1)}
	var errs []FieldError
	fail := func(name, typ, msg string) {
		errs = append(errs, FieldError{FieldName: name, ErrorType: typ, ErrorMessage: msg})
	}
	var seenBuf [64]bool
	seen := seenBuf[:0]
	if create {
		if len(sch.fields) <= len(seenBuf) {
			seen = seenBuf[:len(sch.fields)]
		} else {
			seen = make([]bool, len(sch.fields))
		}
	}
	// apply checks the value of member key of the object parent ("" = the body) for field
	// f; the error pointer is built only on error.
	apply := func(parent string, key []byte, f *Field, fi int, raw []byte) {
		if f.ReadOnly {
			fail(pointerOf(parent, key), ErrInvalid, fmt.Sprintf("%s is read-only", f.APIName))
			return
		}
		if create {
			seen[fi] = true
		}
		if string(bytes.TrimSpace(raw)) == "null" {
			if f.Mandatory {
				fail(pointerOf(parent, key), ErrMissing, fmt.Sprintf("%s is mandatory and cannot be empty", f.APIName))
				return
			}
			in.unset = append(in.unset, uint16(fi))
			return
		}
		v, fe := convert(f, raw)
		if fe != nil {
			fe.FieldName = pointerOf(parent, key)
			errs = append(errs, *fe)
			return
		}
		if f.Mandatory && strings.TrimSpace(v.s) == "" {
			fail(pointerOf(parent, key), ErrMissing, fmt.Sprintf("%s is mandatory and cannot be empty", f.APIName))
			return
		}
		if v.s == "" && !v.num {
			in.unset = append(in.unset, uint16(fi))
			return
		}
		in.set = append(in.set, entry{uint16(fi), v})
	}
	customObj := func(key string, raw []byte, byLabel bool) {
		if string(bytes.TrimSpace(raw)) == "null" {
			return
		}
		var members []member
		if key == "cf" && cfSplit {
			members = cf
		} else {
			var buf [16]member
			var err error
			if members, err = membersOf(buf[:0], raw); err != nil {
				fail("/"+key, ErrInvalid, key+" must be a JSON object")
				return
			}
		}
		in.set = slices.Grow(in.set, len(members))
		for _, m := range members {
			fi := -1
			if byLabel {
				for i, f := range sch.fields {
					if f.Custom && f.DisplayLabel == string(m.key) {
						fi = i
						break
					}
				}
			} else if i, ok := sch.byName[string(m.key)]; ok && sch.fields[i].Custom {
				fi = i
			}
			if fi < 0 {
				fail(pointerOf(key, m.key), ErrInvalid, fmt.Sprintf("An extra parameter '%s' is found", m.key))
				continue
			}
			apply(key, m.key, &sch.fields[fi], fi, m.raw)
		}
	}
	for _, m := range top {
		switch key := m.key; {
		case string(key) == "cf":
			if !cfSplit {
				customObj("cf", m.raw, false)
			}
		case string(key) == "customFields":
			customObj("customFields", m.raw, true)
		case readOnlyNames[string(key)]:
			fail(pointerOf("", key), ErrInvalid, fmt.Sprintf("%s is read-only", key))
		default:
			fi, ok := sch.byName[string(key)]
			if !ok || sch.fields[fi].Custom {
				fail(pointerOf("", key), ErrInvalid, fmt.Sprintf("An extra parameter '%s' is found", key))
				continue
			}
			apply("", key, &sch.fields[fi], fi, m.raw)
		}
	}
	if cfSplit {
		customObj("cf", nil, false)
	}
	if create {
		for i, f := range sch.fields {
			if f.Mandatory && !seen[i] {
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

// pointerOf is the JSON Pointer of member key of the object parent ("" = the body).
func pointerOf(parent string, key []byte) string {
	if parent == "" {
		return "/" + string(key)
	}
	return "/" + parent + "/" + string(key)
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
