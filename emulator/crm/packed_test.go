package crm

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// A record's packed values behave as a map from field index to value: random sets and
// deletes of every value type, read back, give what was written, in field order.
func TestPackedValuesActAsAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	value := func() any {
		switch rng.IntN(8) {
		case 0:
			return strings.Repeat("é", rng.IntN(300)) // lengths over one varint byte too
		case 1:
			return int64(rng.Uint64())
		case 2:
			return rng.NormFloat64() * 1e9
		case 3:
			return rng.IntN(2) == 1
		case 4:
			return dateTime(rng.Int64N(4e9) - 2e9)
		case 5:
			return lookupRef{id: rng.Uint64(), mod: uint8(rng.IntN(len(moduleNames)))}
		case 6:
			out := make([]string, rng.IntN(4))
			for i := range out {
				out[i] = strings.Repeat("x", rng.IntN(200))
			}
			return out
		default:
			return uint16(rng.IntN(1 << 16))
		}
	}
	for trial := range 200 {
		r := &rec{}
		want := map[int]any{}
		for range 40 {
			k := rng.IntN(20)
			if rng.IntN(5) == 0 { // several fields at once, a field twice among them
				var fvs []fieldValue
				for range rng.IntN(6) {
					fv := fieldValue{k: rng.IntN(20)}
					if rng.IntN(3) > 0 {
						fv.v = value()
					}
					fvs = append(fvs, fv)
				}
				for _, fv := range fvs {
					if fv.v == nil {
						delete(want, fv.k)
					} else {
						want[fv.k] = fv.v
					}
				}
				r.setAll(fvs)
				continue
			}
			if rng.IntN(4) == 0 {
				r.set(k, nil)
				delete(want, k)
				continue
			}
			v := value()
			r.set(k, v)
			want[k] = v
		}
		for k := range 20 {
			got, ok := r.get(k)
			w, has := want[k]
			if ok != has || has && !reflect.DeepEqual(got, w) && !(isEmptyList(got) && isEmptyList(w)) {
				t.Fatalf("trial %d field %d: got %#v (%v), want %#v (%v)", trial, k, got, ok, w, has)
			}
		}
		last := -1
		r.vals.each(func(k uint16, _ string) bool {
			if int(k) <= last {
				t.Fatalf("trial %d: field %d after %d", trial, k, last)
			}
			last = int(k)
			return true
		})
		c := r.clone()
		c.set(0, "changed")
		if got, _ := r.get(0); got == "changed" {
			t.Fatal("a clone's change reached the original")
		}
	}
}

func isEmptyList(v any) bool { l, ok := v.([]string); return ok && len(l) == 0 }
