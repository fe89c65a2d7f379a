package mapping

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// Values holds one record's mapped field values in canonical form, keyed by
// FieldMap.Key(). See the package documentation for each type's form. An
// absent key means "not known"; a nil value means "empty".
type Values map[string]any

// UnmarshalJSON decodes Values stored as JSON (for example a link's base in
// Postgres) back into canonical form: numbers become canonical decimal
// strings and arrays become []string.
func (v *Values) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("decode values: %w", err)
	}
	if raw == nil {
		*v = nil
		return nil
	}
	out := make(Values, len(raw))
	for k, x := range raw {
		out[k] = canon(x)
	}
	*v = out
	return nil
}

// Clone returns a copy of v (nil for nil).
func (v Values) Clone() Values {
	if v == nil {
		return nil
	}
	out := make(Values, len(v))
	for k, x := range v {
		if l, ok := x.([]string); ok {
			x = append([]string(nil), l...)
		}
		out[k] = x
	}
	return out
}

// Refs translates account references between the sides. The canonical form
// of an account reference is the CRM account id; activities implement Refs
// over the accounts' links (MapRefs is a ready in-memory implementation).
type Refs interface {
	// DeskAccountToCRM returns the CRM account linked to a Desk account.
	DeskAccountToCRM(deskID string) (crmID string, ok bool)
	// CRMAccountToDesk returns the Desk account linked to a CRM account.
	CRMAccountToDesk(crmID string) (deskID string, ok bool)
}

// MapRefs is an in-memory Refs built from account links.
type MapRefs struct {
	toCRM  map[string]string
	toDesk map[string]string
}

// NewMapRefs builds a MapRefs from a map of Desk account id → CRM account id.
func NewMapRefs(deskToCRM map[string]string) *MapRefs {
	r := &MapRefs{toCRM: map[string]string{}, toDesk: map[string]string{}}
	for d, c := range deskToCRM {
		r.Add(d, c)
	}
	return r
}

// Add records that a Desk account and a CRM account are linked.
func (r *MapRefs) Add(deskID, crmID string) {
	r.toCRM[deskID] = crmID
	r.toDesk[crmID] = deskID
}

// DeskAccountToCRM implements Refs.
func (r *MapRefs) DeskAccountToCRM(deskID string) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := r.toCRM[deskID]
	return id, ok
}

// CRMAccountToDesk implements Refs.
func (r *MapRefs) CRMAccountToDesk(crmID string) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := r.toDesk[crmID]
	return id, ok
}

// FromDesk converts a Desk record into canonical Values. fields holds the
// standard fields and cf the custom ones (when cf is nil, fields["cf"] is
// used). Only mapped fields present in the record are converted, whatever
// their direction; a value that does not fit its field's type is left out
// and reported as TYPE_MISMATCH, and an account reference with no linked
// CRM account is left out and reported as UNRESOLVED_REFERENCE.
func FromDesk(m Mapping, fields, cf map[string]any, refs Refs) (Values, []Problem) {
	if cf == nil {
		cf, _ = fields["cf"].(map[string]any)
	}
	out := Values{}
	var probs []Problem
	for _, f := range m.Fields {
		src := fields
		if f.isCustomDesk() {
			src = cf
		}
		raw, ok := src[f.Desk]
		if !ok {
			continue
		}
		val, err := toCanonical(f.Type, raw)
		if err != nil {
			probs = append(probs, valueProblem(m.Module, f, Desk, f.Desk, err))
			continue
		}
		if f.Type == TypeLookup && val != nil {
			crmID, ok := lookupRef(refs, Desk, val.(string))
			if !ok {
				probs = append(probs, Problem{Code: CodeUnresolvedReference, Module: m.Module, Desk: f.Desk, CRM: f.CRM,
					Message: fmt.Sprintf("Desk account %s is not linked to a CRM account yet", val)})
				continue
			}
			val = crmID
		}
		out[f.Key()] = val
	}
	return out, probs
}

// FromCRM converts a CRM record (API name → JSON value) into canonical
// Values, like FromDesk. Lookups are already CRM ids, so refs is not
// consulted and may be nil.
func FromCRM(m Mapping, record map[string]any, refs Refs) (Values, []Problem) {
	_ = refs
	out := Values{}
	var probs []Problem
	for _, f := range m.Fields {
		raw, ok := record[f.CRM]
		if !ok {
			continue
		}
		val, err := toCanonical(f.Type, raw)
		if err != nil {
			probs = append(probs, valueProblem(m.Module, f, CRM, f.CRM, err))
			continue
		}
		out[f.Key()] = val
	}
	return out, probs
}

func lookupRef(refs Refs, from Side, id string) (string, bool) {
	if refs == nil {
		return "", false
	}
	if from == Desk {
		return refs.DeskAccountToCRM(id)
	}
	return refs.CRMAccountToDesk(id)
}

// ToDesk converts the values in v that flow into Desk (per each field's
// Direction) into a Desk write: standard fields and custom ("cf_") fields.
// Keys absent from v are not written; nil values are written as null to
// clear the field. Custom field values are written as strings, the way Desk
// returns them; account references are translated through refs and left out
// when the CRM account has no Desk counterpart (see Carry).
func ToDesk(m Mapping, v Values, refs Refs) (fields, cf map[string]any) {
	fields, cf = map[string]any{}, map[string]any{}
	for _, f := range m.Fields {
		if !f.ToDesk() {
			continue
		}
		val, ok := v[f.Key()]
		if !ok {
			continue
		}
		val = canon(val)
		if f.Type == TypeLookup && val != nil {
			id, ok := lookupRef(refs, CRM, fmt.Sprint(val))
			if !ok {
				continue
			}
			val = id
		}
		if f.isCustomDesk() {
			cf[f.Desk] = deskCustomWire(f.Type, val)
		} else {
			fields[f.Desk] = deskStandardWire(f.Type, val)
		}
	}
	return fields, cf
}

// ToCRM converts the values in v that flow into CRM into a CRM record body
// (API name → JSON value). Keys absent from v are not written; nil values
// clear the field. Numbers are json.Number, booleans bool, multi-select
// picklists []string, datetimes "2006-01-02T15:04:05+00:00", account
// references {"id": "<CRM id>"}.
func ToCRM(m Mapping, v Values, refs Refs) map[string]any {
	_ = refs
	out := map[string]any{}
	for _, f := range m.Fields {
		if !f.ToCRM() {
			continue
		}
		val, ok := v[f.Key()]
		if !ok {
			continue
		}
		out[f.CRM] = crmWire(f.Type, canon(val))
	}
	return out
}

// FlowingTo returns the subset of v whose fields flow into side s.
func FlowingTo(m Mapping, v Values, s Side) Values {
	out := Values{}
	for _, f := range m.Fields {
		if !f.FlowsTo(s) {
			continue
		}
		if val, ok := v[f.Key()]; ok {
			out[f.Key()] = val
		}
	}
	return out
}

// Hash returns a stable, order-independent SHA-256 (hex) of v. Nil values
// hash like absent keys, and values are canonicalised first, so Values that
// are Equal over all their keys have the same hash.
func Hash(v Values) string {
	keys := make([]string, 0, len(v))
	for k, x := range v {
		if canon(x) != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(canon(v[k]))
		h.Write(kb)
		h.Write([]byte{':'})
		h.Write(vb)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Equal reports whether a and b hold the same canonical value for every key
// in keys (every key of either when keys is nil). An absent key equals nil.
func Equal(a, b Values, keys []string) bool {
	if keys == nil {
		for k := range a {
			if !ValueEqual(a[k], b[k]) {
				return false
			}
		}
		for k := range b {
			if !ValueEqual(a[k], b[k]) {
				return false
			}
		}
		return true
	}
	for _, k := range keys {
		if !ValueEqual(a[k], b[k]) {
			return false
		}
	}
	return true
}
