package crm

import (
	"slices"
	"strings"

	"github.com/google/btree"
)

// rec is one stored record in a compact form: ids and times as integers
// and only the set fields, as (field index, value) pairs sorted by index.
// A million Contacts with a dozen fields each fit in a few hundred MiB.
type rec struct {
	id       uint64
	created  int64  // unix seconds
	modified int64  // unix seconds
	cseq     uint64 // creation sequence: orders equal Created_Time seconds
	seq      uint64 // modification sequence: orders equal Modified_Time seconds
	owner    uint16 // user index of Owner
	creator  uint16 // user index of Created_By
	modifier uint16 // user index of Modified_By
	written  int64  // unix nanoseconds of the last API write (0 = loaded): search lag
	vals     []fv
}

// fv is one field value. v is a string, int64, float64, bool, dateTime,
// lookupRef or []string, by the field's data type.
type fv struct {
	k uint16
	v any
}

// dateTime is a datetime field value in unix seconds.
type dateTime int64

// lookupRef points at another record; mod is the target module's index in
// moduleNames.
type lookupRef struct {
	id  uint64
	mod uint8
}

func (r *rec) get(k int) (any, bool) {
	i, ok := slices.BinarySearchFunc(r.vals, uint16(k), func(a fv, k uint16) int { return int(a.k) - int(k) })
	if !ok {
		return nil, false
	}
	return r.vals[i].v, true
}

// set stores v (nil deletes the value).
func (r *rec) set(k int, v any) {
	i, ok := slices.BinarySearchFunc(r.vals, uint16(k), func(a fv, k uint16) int { return int(a.k) - int(k) })
	switch {
	case v == nil && ok:
		r.vals = slices.Delete(r.vals, i, i+1)
	case v == nil:
	case ok:
		r.vals[i].v = v
	default:
		r.vals = slices.Insert(r.vals, i, fv{k: uint16(k), v: v})
	}
}

func (r *rec) clone() *rec {
	c := *r
	c.vals = slices.Clone(r.vals)
	return &c
}

// deletedRec is a recycle-bin or permanently deleted entry.
type deletedRec struct {
	id          uint64
	displayName string
	deletedAt   int64
	deletedBy   uint16
	creator     uint16
	permanent   bool
	seq         uint64
	rec         *rec // the record as it was (nil once permanent)
}

// sort orders of the list API.
const (
	sortID = iota
	sortCreated
	sortModified
)

var sortNames = []string{"id", "Created_Time", "Modified_Time"}

func lessID(a, b *rec) bool { return a.id < b.id }
func lessCreated(a, b *rec) bool {
	if a.created != b.created {
		return a.created < b.created
	}
	if a.cseq != b.cseq {
		return a.cseq < b.cseq
	}
	return a.id < b.id
}
func lessModified(a, b *rec) bool {
	if a.modified != b.modified {
		return a.modified < b.modified
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.id < b.id
}

// index is a case-insensitive value index of one field: value -> ids.
type index map[string][]uint64

func indexKey(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(s)), true
}

func (ix index) add(v any, id uint64) {
	if k, ok := indexKey(v); ok {
		ix[k] = append(ix[k], id)
	}
}

func (ix index) remove(v any, id uint64) {
	k, ok := indexKey(v)
	if !ok {
		return
	}
	ids := ix[k]
	if i := slices.Index(ids, id); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(ix, k)
	} else {
		ix[k] = ids
	}
}

// module holds one module's records and indexes. Callers hold Server.mu.
type module struct {
	name   string
	idx    uint8
	fields *fieldSet

	recs       map[uint64]*rec
	byID       *btree.BTreeG[*rec]
	byCreated  *btree.BTreeG[*rec]
	byModified *btree.BTreeG[*rec]
	indexes    map[int]index // field index -> value index

	deleted     map[uint64]*deletedRec
	deletedList []*deletedRec // in deletion order

	lastChange int64 // unix seconds of the latest create/update/delete
}

const btreeDegree = 32

func newModule(name string, idx uint8, fs *fieldSet) *module {
	m := &module{
		name:       name,
		idx:        idx,
		fields:     fs,
		recs:       map[uint64]*rec{},
		byID:       btree.NewG(btreeDegree, lessID),
		byCreated:  btree.NewG(btreeDegree, lessCreated),
		byModified: btree.NewG(btreeDegree, lessModified),
		indexes:    map[int]index{},
		deleted:    map[uint64]*deletedRec{},
	}
	m.reindexFields()
	return m
}

// indexedField reports whether a field gets a value index: unique and
// duplicate-check fields, emails, and Desk_ID (looked up by the sync).
func (m *module) indexedField(f *Field) bool {
	return f.Unique || f.DataType == "email" || f.APIName == "Desk_ID" || duplicateCheckField[m.name] == f.APIName
}

// reindexFields creates indexes for fields that need one (after AddField).
func (m *module) reindexFields() {
	for i, f := range m.fields.list {
		if _, ok := m.indexes[i]; ok || !m.indexedField(f) {
			continue
		}
		ix := index{}
		for _, r := range m.recs {
			if v, ok := r.get(i); ok {
				ix.add(v, r.id)
			}
		}
		m.indexes[i] = ix
	}
}

// insert adds a new record to the maps, trees and indexes.
func (m *module) insert(r *rec) {
	m.recs[r.id] = r
	m.byID.ReplaceOrInsert(r)
	m.byCreated.ReplaceOrInsert(r)
	m.byModified.ReplaceOrInsert(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.add(v, r.id)
		}
	}
	m.lastChange = max(m.lastChange, r.modified)
}

// replace swaps the stored version old of a record for nw (same id).
func (m *module) replace(old, nw *rec) {
	m.byModified.Delete(old)
	m.byCreated.Delete(old)
	m.byID.Delete(old)
	for k, ix := range m.indexes {
		if v, ok := old.get(k); ok {
			ix.remove(v, old.id)
		}
	}
	m.insert(nw)
}

// remove takes a record out of the live set.
func (m *module) remove(r *rec) {
	delete(m.recs, r.id)
	m.byID.Delete(r)
	m.byCreated.Delete(r)
	m.byModified.Delete(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.remove(v, r.id)
		}
	}
}

// tree returns the ordered tree for a sort order.
func (m *module) tree(sortBy int) *btree.BTreeG[*rec] {
	switch sortBy {
	case sortCreated:
		return m.byCreated
	case sortModified:
		return m.byModified
	}
	return m.byID
}

// lookupIDs returns the ids whose field k equals v (case-insensitive).
func (m *module) lookupIDs(k int, v string) ([]uint64, bool) {
	ix, ok := m.indexes[k]
	if !ok {
		return nil, false
	}
	key, _ := indexKey(v)
	return ix[key], true
}
