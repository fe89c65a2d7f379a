package reconcile

import (
	"crypto/sha256"
	"encoding/hex"

	"deskcrm/mapping"
)

// Base is the merge base of a linked pair: per side, the canonical mapped
// values that side held when the pair was last synced, keyed by
// FieldMap.Key(). Where the sync carried a value across, both sides hold it.
// Where it could not (an account reference with no counterpart, a value too
// long for the target, a picklist value the target lacks, a field that flows
// one way only), each side keeps what it actually holds, so the difference is
// never taken for a change, and never clears the side that has the value.
//
// A key absent from a side's map is unknown on that side; a key present with
// a nil value means that side held nothing.
type Base struct {
	Desk mapping.Values `json:"desk,omitempty"`
	CRM  mapping.Values `json:"crm,omitempty"`
}

// SharedBase returns the base of a pair whose two sides both hold v.
func SharedBase(v mapping.Values) Base {
	if v == nil {
		return Base{}
	}
	return Base{Desk: v.Clone(), CRM: v.Clone()}
}

// JoinBase rebuilds a Base from its stored form (see Split): the values both
// sides share, and per side the values that differ from them.
func JoinBase(shared, desk, crm mapping.Values) Base {
	if shared == nil && desk == nil && crm == nil {
		return Base{}
	}
	b := Base{Desk: shared.Clone(), CRM: shared.Clone()}
	if b.Desk == nil {
		b.Desk, b.CRM = mapping.Values{}, mapping.Values{}
	}
	for k, v := range desk {
		b.Desk[k] = v
	}
	for k, v := range crm {
		b.CRM[k] = v
	}
	return b
}

// Split returns the stored form of b: the keys both sides hold with equal
// values, and per side the keys where that side differs or alone is known
// (nil maps when none, which is the usual case).
func (b Base) Split() (shared, desk, crm mapping.Values) {
	if b.IsZero() {
		return nil, nil, nil
	}
	shared = mapping.Values{}
	for k, d := range b.Desk {
		if c, ok := b.CRM[k]; ok && mapping.ValueEqual(d, c) {
			shared[k] = c
			continue
		}
		if desk == nil {
			desk = mapping.Values{}
		}
		desk[k] = d
	}
	for k, c := range b.CRM {
		if _, ok := shared[k]; ok {
			continue
		}
		if crm == nil {
			crm = mapping.Values{}
		}
		crm[k] = c
	}
	return shared, desk, crm
}

// IsZero reports whether b holds nothing at all (a pair never reconciled).
func (b Base) IsZero() bool { return b.Desk == nil && b.CRM == nil }

// Of returns the values side s held.
func (b Base) Of(s mapping.Side) mapping.Values {
	if s == mapping.Desk {
		return b.Desk
	}
	return b.CRM
}

// Clone returns a deep copy of b.
func (b Base) Clone() Base { return Base{Desk: b.Desk.Clone(), CRM: b.CRM.Clone()} }

// Hash returns a stable SHA-256 (hex) of b; equal bases hash alike.
func (b Base) Hash() string {
	h := sha256.New()
	h.Write([]byte(mapping.Hash(b.Desk)))
	h.Write([]byte{'|'})
	h.Write([]byte(mapping.Hash(b.CRM)))
	return hex.EncodeToString(h.Sum(nil))
}

// set records that side s holds v for key k.
func (b *Base) set(s mapping.Side, k string, v any) {
	if s == mapping.Desk {
		if b.Desk == nil {
			b.Desk = mapping.Values{}
		}
		b.Desk[k] = v
		return
	}
	if b.CRM == nil {
		b.CRM = mapping.Values{}
	}
	b.CRM[k] = v
}

// setBoth records that both sides hold v for key k.
func (b *Base) setBoth(k string, v any) {
	b.set(mapping.Desk, k, v)
	b.set(mapping.CRM, k, v)
}
