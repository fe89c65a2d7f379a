package crm

import (
	"slices"
	"strings"

	"github.com/google/btree"

	"deskcrm/emulator/valueindex"
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
	vals     packed // the set fields' values
}

// dateTime is a datetime field value in unix seconds.
type dateTime int64

// lookupRef points at another record; mod is the target module's index in
// moduleNames.
type lookupRef struct {
	id  uint64
	mod uint8
}

// get returns the value of field k: a string, int64, float64, bool, dateTime, lookupRef,
// []string or uint16, by the field's data type.
func (r *rec) get(k int) (any, bool) {
	var out any
	found := false
	r.vals.each(func(f uint16, e string) bool {
		if int(f) >= k {
			if int(f) == k {
				out, found = decodeEntry(e), true
			}
			return false
		}
		return true
	})
	return out, found
}

// set stores v as field k's value (nil deletes the value).
func (r *rec) set(k int, v any) { r.setAll([]fieldValue{{k, v}}) }

// fieldValue is a field index with a value to store (nil: delete the value).
type fieldValue struct {
	k int
	v any
}

// setAll stores every value of fvs (the last one of a field wins) in one rebuild of the
// packed values. It sorts fvs.
func (r *rec) setAll(fvs []fieldValue) {
	if len(fvs) == 0 {
		return
	}
	slices.SortStableFunc(fvs, func(a, b fieldValue) int { return a.k - b.k })
	b := make([]byte, 0, len(r.vals)+64)
	i := 0
	// put writes the new values of fields below limit (all of them for limit < 0) and
	// reports whether field limit got one.
	put := func(limit int) bool {
		got := false
		for i < len(fvs) && (limit < 0 || fvs[i].k <= limit) {
			if i+1 < len(fvs) && fvs[i+1].k == fvs[i].k {
				i++ // a later value of the same field wins
				continue
			}
			if fvs[i].v != nil {
				b = appendEntry(b, uint16(fvs[i].k), fvs[i].v)
			}
			got = got || fvs[i].k == limit
			i++
		}
		return got
	}
	r.vals.each(func(f uint16, e string) bool {
		if !put(int(f)) {
			b = append(b, e...)
		}
		return true
	})
	put(-1)
	r.vals = packed(b)
}

func (r *rec) clone() *rec {
	c := *r
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

// treeKey is a record's place in one of a module's orders: (t, seq, id) ascending, with t and
// seq zero in the id order.
type treeKey struct {
	t   int64
	seq uint64
	id  uint64
}

func lessKey(a, b treeKey) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.id < b.id
}

func idKey(r *rec) treeKey       { return treeKey{id: r.id} }
func createdKey(r *rec) treeKey  { return treeKey{r.created, r.cseq, r.id} }
func modifiedKey(r *rec) treeKey { return treeKey{r.modified, r.seq, r.id} }

// recTree orders a module's live records by one sort key. Its B-tree holds keys, not record
// pointers, so that the garbage collector has nothing to trace in it (three orders of a
// million-record module were three million pointers for every cycle to follow); a visit
// reads the record from the module's map.
type recTree struct {
	t    *btree.BTreeG[treeKey]
	key  func(*rec) treeKey
	recs map[uint64]*rec
}

func newRecTree(key func(*rec) treeKey, recs map[uint64]*rec) *recTree {
	return &recTree{t: btree.NewG(btreeDegree, lessKey), key: key, recs: recs}
}

func (x *recTree) insert(r *rec) { x.t.ReplaceOrInsert(x.key(r)) }
func (x *recTree) delete(r *rec) { x.t.Delete(x.key(r)) }

func (x *recTree) visit(fn func(*rec) bool) func(treeKey) bool {
	return func(k treeKey) bool { return fn(x.recs[k.id]) }
}

// Ascend visits the records in order until fn returns false.
func (x *recTree) Ascend(fn func(*rec) bool) { x.t.Ascend(x.visit(fn)) }

// Descend visits the records in reverse order until fn returns false.
func (x *recTree) Descend(fn func(*rec) bool) { x.t.Descend(x.visit(fn)) }

// AscendGreaterOrEqual visits, in order, the records from pivot's place on.
func (x *recTree) AscendGreaterOrEqual(pivot *rec, fn func(*rec) bool) {
	x.t.AscendGreaterOrEqual(x.key(pivot), x.visit(fn))
}

// DescendLessOrEqual visits, in reverse order, the records from pivot's place down.
func (x *recTree) DescendLessOrEqual(pivot *rec, fn func(*rec) bool) {
	x.t.DescendLessOrEqual(x.key(pivot), x.visit(fn))
}

// index is a case-insensitive value index of one field: value -> ids (pointer-free, by
// hash: lookupIDs keeps the records that hold the value).
type index struct{ ids *valueindex.Index }

func newIndex() index { return index{valueindex.New()} }

func indexKey(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(s)), true
}

func (ix index) add(v any, id uint64) {
	if k, ok := indexKey(v); ok {
		ix.ids.Add(k, id)
	}
}

func (ix index) remove(v any, id uint64) {
	if k, ok := indexKey(v); ok {
		ix.ids.Remove(k, id)
	}
}

// module holds one module's records and indexes. Callers hold Server.mu.
type module struct {
	name   string
	idx    uint8
	fields *fieldSet

	recs       map[uint64]*rec
	byID       *recTree
	byCreated  *recTree
	byModified *recTree
	indexes    map[int]index // field index -> value index

	deleted     map[uint64]*deletedRec
	deletedList []*deletedRec // in deletion order

	lastChange int64 // unix seconds of the latest create/update/delete
}

const btreeDegree = 32

func newModule(name string, idx uint8, fs *fieldSet) *module {
	recs := map[uint64]*rec{}
	m := &module{
		name:       name,
		idx:        idx,
		fields:     fs,
		recs:       recs,
		byID:       newRecTree(idKey, recs),
		byCreated:  newRecTree(createdKey, recs),
		byModified: newRecTree(modifiedKey, recs),
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
		ix := newIndex()
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
	m.byID.insert(r)
	m.byCreated.insert(r)
	m.byModified.insert(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.add(v, r.id)
		}
	}
	m.lastChange = max(m.lastChange, r.modified)
}

// replace swaps the stored version old of a record for nw (same id).
func (m *module) replace(old, nw *rec) {
	m.byModified.delete(old)
	m.byCreated.delete(old)
	m.byID.delete(old)
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
	m.byID.delete(r)
	m.byCreated.delete(r)
	m.byModified.delete(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.remove(v, r.id)
		}
	}
}

// tree returns the ordered tree for a sort order.
func (m *module) tree(sortBy int) *recTree {
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
	ids := ix.ids.Lookup(nil, key)
	out := ids[:0]
	for _, id := range ids {
		if r := m.recs[id]; r != nil {
			if rv, ok := r.get(k); ok {
				if rk, _ := indexKey(rv); rk == key {
					out = append(out, id)
				}
			}
		}
	}
	return out, true
}
