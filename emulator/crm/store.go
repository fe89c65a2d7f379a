package crm

import (
	"slices"
	"strings"

	"github.com/google/btree"

	"deskcrm/emulator/records"
	"deskcrm/emulator/valueindex"
)

// rec is one record as the emulator reads it: its id, what its module stores for it, and
// its set fields' values, packed (a string into the module's arena, or of its own for a
// record not stored yet). A rec is a copy: changing it changes nothing stored, and its vals
// stay valid after the store changes (arena bytes are never overwritten).
type rec struct {
	id uint64
	storedRec
	vals packed // the set fields' values; when r.at is not zero, they are the arena's bytes at r.at
}

// storedRec is a record as its module stores it (in module.slab): times, sequences and users
// as integers and the place of its packed values in the module's arena instead of a string,
// so that it holds no pointer. A million records are then a few large objects the garbage
// collector never scans, where a map of *rec held a million pointers to a million structs,
// each pointing at a string: two objects per record to mark on every collection
// (BenchmarkWriteCalls/n=1M/GC, package records).
type storedRec struct {
	created  int64       // unix seconds
	modified int64       // unix seconds
	cseq     uint64      // creation sequence: orders equal Created_Time seconds
	seq      uint64      // modification sequence: orders equal Modified_Time seconds
	written  int64       // unix nanoseconds of the last API write (0 = loaded): search lag
	owner    uint16      // user index of Owner
	creator  uint16      // user index of Created_By
	modifier uint16      // user index of Modified_By
	at       records.Ref // where the values lie in the module's arena
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
	e, ok := r.vals.entry(k)
	if !ok {
		return nil, false
	}
	return decodeEntry(e), true
}

// set stores v as field k's value (nil deletes the value).
func (r *rec) set(k int, v any) { r.setAll([]fieldValue{{k, v}}) }

// fieldValue is a field index with a value to store (nil: delete the value).
type fieldValue struct {
	k int
	v any
}

// setAll stores every value of fvs (the last one of a field wins) in one rebuild of the
// packed values, in a string of their own. It sorts fvs.
func (r *rec) setAll(fvs []fieldValue) {
	if len(fvs) > 0 {
		r.vals, r.at = packed(appendVals(make([]byte, 0, len(r.vals)+64), r.vals, fvs)), records.Ref{}
	}
}

// appendVals appends to b the packed values of old with every value of fvs stored (the last
// one of a field wins; nil deletes) and returns the extended b. It sorts fvs.
func appendVals(b []byte, old packed, fvs []fieldValue) []byte {
	slices.SortStableFunc(fvs, func(a, b fieldValue) int { return a.k - b.k })
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
	old.each(func(f uint16, e string) bool {
		if !put(int(f)) {
			b = append(b, e...)
		}
		return true
	})
	put(-1)
	return b
}

func (r *rec) clone() *rec {
	c := *r
	return &c
}

// detached returns a copy of r whose values are a string of their own, not a part of an arena
// chunk it would keep alive (for the recycle bin, which outlives compactions).
func (r *rec) detached() *rec {
	c := *r
	c.vals, c.at = packed(strings.Clone(string(r.vals))), records.Ref{}
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
	rec         *rec // the record as it was, detached (nil once permanent)
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

// keyOf is a record's key in a sort order.
func keyOf(sortBy int, r *rec) treeKey {
	switch sortBy {
	case sortCreated:
		return treeKey{r.created, r.cseq, r.id}
	case sortModified:
		return treeKey{r.modified, r.seq, r.id}
	}
	return treeKey{id: r.id}
}

// recTree orders a module's live records by one sort key. Its B-tree holds keys, not record
// pointers, so that the garbage collector has nothing to trace in it (three orders of a
// million-record module were three million pointers for every cycle to follow); a visit
// reads the record from the module's slab. Visits get records by value: a pointer passed to a
// callback would make every record visited a heap allocation.
type recTree struct {
	t      *btree.BTreeG[treeKey]
	sortBy int
	m      *module
}

func newRecTree(sortBy int, m *module) *recTree {
	return &recTree{t: btree.NewG(btreeDegree, lessKey), sortBy: sortBy, m: m}
}

func (x *recTree) insert(r *rec) { x.t.ReplaceOrInsert(keyOf(x.sortBy, r)) }
func (x *recTree) delete(r *rec) { x.t.Delete(keyOf(x.sortBy, r)) }

func (x *recTree) visit(fn func(rec) bool) func(treeKey) bool {
	return func(k treeKey) bool { return fn(x.m.view(k.id, x.m.slab.Ptr(k.id))) }
}

// Ascend visits the records in order until fn returns false.
func (x *recTree) Ascend(fn func(rec) bool) { x.t.Ascend(x.visit(fn)) }

// Descend visits the records in reverse order until fn returns false.
func (x *recTree) Descend(fn func(rec) bool) { x.t.Descend(x.visit(fn)) }

// AscendGreaterOrEqual visits, in order, the records from pivot on.
func (x *recTree) AscendGreaterOrEqual(pivot treeKey, fn func(rec) bool) {
	x.t.AscendGreaterOrEqual(pivot, x.visit(fn))
}

// DescendLessOrEqual visits, in reverse order, the records from pivot down.
func (x *recTree) DescendLessOrEqual(pivot treeKey, fn func(rec) bool) {
	x.t.DescendLessOrEqual(pivot, x.visit(fn))
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

	// The live records, in a slab, and their packed values, in an arena: neither holds a
	// pointer per record (see package records).
	slab records.Slab[storedRec]
	vals records.Arena

	byID       *recTree
	byCreated  *recTree
	byModified *recTree
	indexes    map[int]index // field index -> value index

	deleted     map[uint64]*deletedRec
	deletedList []*deletedRec // in deletion order

	lastChange int64 // unix seconds of the latest create/update/delete

	// Buffers of the write path, reused under Server.mu held for writing.
	scratch []byte       // setVals builds a record's values here before they go to the arena
	keys    []string     // the keys of a record written, sorted
	sets    []fieldValue // the converted values of a record written
}

const btreeDegree = 32

func newModule(name string, idx uint8, fs *fieldSet) *module {
	m := &module{
		name:    name,
		idx:     idx,
		fields:  fs,
		vals:    records.NewArena(),
		indexes: map[int]index{},
		deleted: map[uint64]*deletedRec{},
	}
	m.byID, m.byCreated, m.byModified = newRecTree(sortID, m), newRecTree(sortCreated, m), newRecTree(sortModified, m)
	m.reindexFields()
	return m
}

// view is record id, stored at st.
func (m *module) view(id uint64, st *storedRec) rec {
	return rec{id: id, storedRec: *st, vals: packed(m.vals.Get(st.at))}
}

// get returns the live record id.
func (m *module) get(id uint64) (rec, bool) {
	st := m.slab.Ptr(id)
	if st == nil {
		return rec{}, false
	}
	return m.view(id, st), true
}

// has reports whether id is a live record.
func (m *module) has(id uint64) bool { return m.slab.Has(id) }

// count is the number of live records.
func (m *module) count() int { return m.slab.Len() }

// setVals stores every value of fvs in r (as rec.setAll), the new packed values put into the
// module's arena: the record is then stored without copying them again, and nothing is
// allocated per record but the arena's chunks. The values are r's from then on: insert or
// replace stores them, or discard drops them. It sorts fvs.
func (m *module) setVals(r *rec, fvs []fieldValue) {
	if len(fvs) == 0 {
		return
	}
	m.scratch = appendVals(m.scratch[:0], r.vals, fvs)
	r.at = m.vals.Put(r.id, m.scratch)
	r.vals = packed(m.vals.Get(r.at))
}

// discard drops the values setVals put for nr, a version of old (the zero rec for a new
// record) that is not stored after all.
func (m *module) discard(nr, old *rec) {
	if nr.at != old.at {
		m.vals.Release(nr.at)
		m.tidy()
	}
}

// indexedField reports whether a field gets a value index: unique and
// duplicate-check fields, emails, and Desk_ID (looked up by the sync).
func (m *module) indexedField(f *Field) bool {
	return f.Unique || f.DataType == "email" || f.APIName == "Desk_ID" || duplicateCheckField[m.name] == f.APIName
}

// reindexFields creates indexes for fields that need one (after AddField).
func (m *module) reindexFields() {
	for i, f := range m.fields.list {
		if _, ok := m.indexes[i]; !ok && m.indexedField(f) {
			m.indexField(i)
		}
	}
}

// indexField creates the value index of field k from the live records.
func (m *module) indexField(k int) {
	ix := newIndex()
	for id, st := range m.slab.All {
		r := m.view(id, st)
		if v, ok := r.get(k); ok {
			ix.add(v, id)
		}
	}
	m.indexes[k] = ix
}

// insert adds a new record (or the new version of one unlinked) to the slab, trees and
// indexes. Its values are copied into the module's arena unless r.at already says where they
// lie there (setVals put them); r is updated to the stored version.
func (m *module) insert(r *rec) {
	if r.at == (records.Ref{}) {
		r.at = m.vals.PutString(r.id, string(r.vals))
		r.vals = packed(m.vals.Get(r.at))
	}
	m.slab.Put(r.id, r.storedRec)
	m.byID.insert(r)
	m.byCreated.insert(r)
	m.byModified.insert(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.add(v, r.id)
		}
	}
	m.lastChange = max(m.lastChange, r.modified)
	m.tidy()
}

// replace swaps the stored version old of a record for nw (same id), whose values are old's
// when it changed none.
func (m *module) replace(old, nw *rec) {
	m.unlink(old)
	if at := m.slab.Ptr(old.id).at; nw.at != at {
		m.vals.Release(at)
	}
	m.insert(nw)
}

// remove takes a record out of the live set.
func (m *module) remove(r *rec) {
	m.unlink(r)
	m.vals.Release(m.slab.Ptr(r.id).at)
	m.slab.Delete(r.id)
	m.tidy()
}

// unlink takes the stored version r of a record out of the trees and indexes; the caller
// releases its values and frees or overwrites its slot.
func (m *module) unlink(r *rec) {
	m.byID.delete(r)
	m.byCreated.delete(r)
	m.byModified.delete(r)
	for k, ix := range m.indexes {
		if v, ok := r.get(k); ok {
			ix.remove(v, r.id)
		}
	}
}

// tidy compacts the arena's chunks that fell under half live during the last change. The
// methods that put or release values call it last, once every record points at its values.
// Records read before keep their strings into the old chunks.
func (m *module) tidy() { m.vals.Tidy(m.valsRef) }

// valsRef returns where the live record id keeps the place of its values, or nil.
func (m *module) valsRef(id uint64) *records.Ref {
	if st := m.slab.Ptr(id); st != nil {
		return &st.at
	}
	return nil
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
		if r, ok := m.get(id); ok {
			if rv, ok := r.get(k); ok {
				if rk, _ := indexKey(rv); rk == key {
					out = append(out, id)
				}
			}
		}
	}
	return out, true
}
