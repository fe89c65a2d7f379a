package desk

import (
	"slices"
	"sort"
)

// timeKey orders records by a timestamp, then by a write sequence that
// breaks ties between equal milliseconds, then by id.
type timeKey struct {
	t   int64
	seq uint64
	id  uint64
}

func (a timeKey) less(b timeKey) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.id < b.id
}

// timeIndex is an append-mostly sorted list of keys of live records. Keys of
// records that were updated, trashed or deleted stay until the next compact
// (they are recognised as stale by the valid callback); appends that break
// the order mark the index unsorted. Both are repaired lazily by ensure, so
// bulk loads stay O(n log n) overall and API writes O(1) amortised.
type timeIndex struct {
	keys   []timeKey
	sorted bool
	stale  int
}

func (x *timeIndex) add(k timeKey) {
	if n := len(x.keys); n > 0 && k.less(x.keys[n-1]) {
		x.sorted = false
	}
	if len(x.keys) == 0 {
		x.sorted = true
	}
	x.keys = append(x.keys, k)
}

// clean reports whether the index can be read without ensure.
func (x *timeIndex) clean() bool { return x.sorted && x.stale == 0 }

// ensure sorts the index and drops stale keys; afterwards every key belongs
// to a live record and positions are exact.
func (x *timeIndex) ensure(valid func(timeKey) bool) {
	if !x.sorted {
		slices.SortFunc(x.keys, func(a, b timeKey) int {
			if a.less(b) {
				return -1
			}
			if b.less(a) {
				return 1
			}
			return 0
		})
		x.sorted = true
	}
	if x.stale > 0 {
		out := x.keys[:0]
		for _, k := range x.keys {
			if valid(k) {
				out = append(out, k)
			}
		}
		clear(x.keys[len(out):])
		x.keys = out
		x.stale = 0
	}
}

// rangeOf returns the positions [lo, hi) of keys with from <= t <= to.
func (x *timeIndex) rangeOf(from, to int64) (int, int) {
	lo := sort.Search(len(x.keys), func(i int) bool { return x.keys[i].t >= from })
	hi := sort.Search(len(x.keys), func(i int) bool { return x.keys[i].t > to })
	if hi < lo {
		hi = lo
	}
	return lo, hi
}
