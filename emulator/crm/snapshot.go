package crm

import (
	"encoding/gob"
	"fmt"
	"slices"
	"time"
)

// The CRM emulator is a snapshot.Part: (*Server).SaveSnapshot streams every module's fields
// (custom fields and unique flags included), live records with their ids, times and sequence
// numbers, the recycle bin and permanently deleted entries, the id and sequence counters and
// the notification channels; LoadSnapshot puts them back. Not kept: bulk read jobs (Zoho
// expires them too), notifications still being coalesced, the call log, and settings given by
// Config or flags (latency, limits, faults, search lag).

// snapshotVersion is the version of the CRM section of a snapshot.
const snapshotVersion = 1

// snapState opens the CRM section.
type snapState struct {
	Modules              []string // moduleNames when saved: lookup values refer to them by index
	LastID, Seq, FieldID uint64
}

// snapModule opens one module; Records live records and then Deleted deleted entries follow.
type snapModule struct {
	Name       string
	Fields     []Field
	FieldIDs   []string
	LastChange int64
	Records    int
	Deleted    int
}

// snapRec is one record on the wire.
type snapRec struct {
	ID                       uint64
	Created, Modified        int64
	CSeq, Seq                uint64
	Owner, Creator, Modifier uint16
	Written                  int64
	Vals                     []snapVal
}

// Kinds of snapVal, one per Go type a field value can have (see fv).
const (
	kindString uint8 = iota + 1
	kindInt
	kindFloat
	kindBool
	kindDateTime
	kindLookup
	kindStrings
	kindUser
)

// snapVal is one field value: Kind says which of the other fields holds it.
type snapVal struct {
	K    uint16
	Kind uint8
	S    string
	I    int64
	U    uint64
	F    float64
	L    []string
}

// snapDeleted is one recycle-bin or permanently deleted entry. InMap is false for an entry
// only the deleted list still holds (its id was loaded again since).
type snapDeleted struct {
	ID                 uint64
	DisplayName        string
	DeletedAt          int64
	DeletedBy, Creator uint16
	Permanent          bool
	Seq                uint64
	InMap              bool
	Rec                *snapRec
}

// snapChannels opens the notification channels; Count snapChannel values follow.
type snapChannels struct{ Count int }

type snapChannel struct {
	ID, URL, Token, Base          string
	Events                        []string
	Expiry                        time.Time
	ReturnAffected, NotifyRelated bool
}

// SnapshotName names the CRM section of a snapshot.
func (s *Server) SnapshotName() string { return "crm" }

// SnapshotVersion is the version of the CRM section.
func (s *Server) SnapshotVersion() int { return snapshotVersion }

// SaveSnapshot streams the emulator's state into enc, one record at a time. Writes wait while
// it runs.
func (s *Server) SaveSnapshot(enc *gob.Encoder) error {
	if err := s.saveData(enc); err != nil {
		return err
	}
	return s.notify.saveSnapshot(enc)
}

func (s *Server) saveData(enc *gob.Encoder) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := enc.Encode(snapState{Modules: moduleNames, LastID: s.lastID, Seq: s.seq, FieldID: s.fieldID}); err != nil {
		return err
	}
	var sr snapRec
	for _, name := range moduleNames {
		m := s.modules[name]
		sm := snapModule{Name: name, LastChange: m.lastChange, Records: m.count(), Deleted: len(m.deletedList),
			Fields: make([]Field, len(m.fields.list)), FieldIDs: m.fields.ids}
		for i, f := range m.fields.list {
			sm.Fields[i] = *f
		}
		if err := enc.Encode(sm); err != nil {
			return err
		}
		var err error
		m.byID.Ascend(func(r rec) bool {
			if err = toSnap(&r, &sr); err == nil {
				err = enc.Encode(&sr)
			}
			return err == nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, d := range m.deletedList {
			sd := snapDeleted{ID: d.id, DisplayName: d.displayName, DeletedAt: d.deletedAt, DeletedBy: d.deletedBy,
				Creator: d.creator, Permanent: d.permanent, Seq: d.seq, InMap: m.deleted[d.id] == d}
			if d.rec != nil {
				sd.Rec = &snapRec{}
				if err := toSnap(d.rec, sd.Rec); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			if err := enc.Encode(&sd); err != nil {
				return err
			}
		}
	}
	return nil
}

// toSnap fills out with r, reusing out's value slice.
func toSnap(r *rec, out *snapRec) error {
	*out = snapRec{ID: r.id, Created: r.created, Modified: r.modified, CSeq: r.cseq, Seq: r.seq, Owner: r.owner,
		Creator: r.creator, Modifier: r.modifier, Written: r.written, Vals: out.Vals[:0]}
	var err error
	r.vals.each(func(k uint16, e string) bool {
		sv := snapVal{K: k}
		switch x := decodeEntry(e).(type) {
		case string:
			sv.Kind, sv.S = kindString, x
		case int64:
			sv.Kind, sv.I = kindInt, x
		case float64:
			sv.Kind, sv.F = kindFloat, x
		case bool:
			sv.Kind = kindBool
			if x {
				sv.I = 1
			}
		case dateTime:
			sv.Kind, sv.I = kindDateTime, int64(x)
		case lookupRef:
			sv.Kind, sv.U, sv.I = kindLookup, x.id, int64(x.mod)
		case []string:
			sv.Kind, sv.L = kindStrings, x
		case uint16:
			sv.Kind, sv.I = kindUser, int64(x)
		default:
			err = fmt.Errorf("record %d field %d: value of type %T cannot be saved", r.id, k, x)
			return false
		}
		out.Vals = append(out.Vals, sv)
		return true
	})
	return err
}

// fromSnap rebuilds a record.
func fromSnap(sr *snapRec) (*rec, error) {
	r := &rec{id: sr.ID, storedRec: storedRec{created: sr.Created, modified: sr.Modified, cseq: sr.CSeq, seq: sr.Seq,
		owner: sr.Owner, creator: sr.Creator, modifier: sr.Modifier, written: sr.Written}}
	var b []byte
	for i, sv := range sr.Vals {
		if i > 0 && sv.K <= sr.Vals[i-1].K {
			return nil, fmt.Errorf("record %d: field values out of order", sr.ID)
		}
		var v any
		switch sv.Kind {
		case kindString:
			v = sv.S
		case kindInt:
			v = sv.I
		case kindFloat:
			v = sv.F
		case kindBool:
			v = sv.I == 1
		case kindDateTime:
			v = dateTime(sv.I)
		case kindLookup:
			if sv.I < 0 || int(sv.I) >= len(moduleNames) {
				return nil, fmt.Errorf("record %d: lookup to module index %d", sr.ID, sv.I)
			}
			v = lookupRef{id: sv.U, mod: uint8(sv.I)}
		case kindStrings:
			v = sv.L
		case kindUser:
			v = uint16(sv.I)
		default:
			return nil, fmt.Errorf("record %d field %d: unknown value kind %d", sr.ID, sv.K, sv.Kind)
		}
		b = appendEntry(b, sv.K, v)
	}
	r.vals = packed(b)
	return r, nil
}

// LoadSnapshot replaces every module, record, counter and notification channel with the
// snapshot's. It builds the new store beside the old one and swaps it in only when the whole
// section has been read. Call it before the server handles requests.
func (s *Server) LoadSnapshot(dec *gob.Decoder) error {
	var st snapState
	if err := dec.Decode(&st); err != nil {
		return err
	}
	if !slices.Equal(st.Modules, moduleNames) {
		return fmt.Errorf("saved with modules %v, this emulator has %v", st.Modules, moduleNames)
	}
	mods := make(map[string]*module, len(moduleNames))
	for i, name := range moduleNames {
		m, err := loadModule(dec, name, uint8(i))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		mods[name] = m
	}
	channels, err := loadChannels(dec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.modules, s.lastID, s.seq, s.fieldID = mods, st.LastID, st.Seq, st.FieldID
	s.mu.Unlock()
	s.notify.restore(channels)
	return nil
}

func loadModule(dec *gob.Decoder, name string, idx uint8) (*module, error) {
	var sm snapModule
	if err := dec.Decode(&sm); err != nil {
		return nil, err
	}
	if sm.Name != name || len(sm.FieldIDs) != len(sm.Fields) || sm.Records < 0 || sm.Deleted < 0 {
		return nil, fmt.Errorf("module header %q does not fit", sm.Name)
	}
	fs := newFieldSet()
	for i, f := range sm.Fields {
		if _, err := fs.add(f, sm.FieldIDs[i]); err != nil {
			return nil, err
		}
	}
	m := newModule(name, idx, fs)
	for range sm.Records {
		var sr snapRec
		if err := dec.Decode(&sr); err != nil {
			return nil, err
		}
		r, err := fromSnap(&sr)
		if err != nil {
			return nil, err
		}
		if m.has(r.id) {
			return nil, fmt.Errorf("record %d twice", r.id)
		}
		m.insert(r)
	}
	for range sm.Deleted {
		var sd snapDeleted
		if err := dec.Decode(&sd); err != nil {
			return nil, err
		}
		d := &deletedRec{id: sd.ID, displayName: sd.DisplayName, deletedAt: sd.DeletedAt, deletedBy: sd.DeletedBy,
			creator: sd.Creator, permanent: sd.Permanent, seq: sd.Seq}
		if sd.Rec != nil {
			r, err := fromSnap(sd.Rec)
			if err != nil {
				return nil, err
			}
			d.rec = r
		}
		m.deletedList = append(m.deletedList, d)
		if sd.InMap {
			m.deleted[d.id] = d
		}
	}
	m.lastChange = sm.LastChange
	return m, nil
}

// saveSnapshot writes the notification channels (not their pending notifications).
func (n *notifier) saveSnapshot(enc *gob.Encoder) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]string, 0, len(n.channels))
	for id := range n.channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if err := enc.Encode(snapChannels{Count: len(ids)}); err != nil {
		return err
	}
	for _, id := range ids {
		c := n.channels[id]
		sc := snapChannel{ID: c.id, URL: c.url, Token: c.token, Base: c.base, Events: c.events, Expiry: c.expiry,
			ReturnAffected: c.returnAffected, NotifyRelated: c.notifyRelated}
		if err := enc.Encode(&sc); err != nil {
			return err
		}
	}
	return nil
}

func loadChannels(dec *gob.Decoder) ([]*channel, error) {
	var h snapChannels
	if err := dec.Decode(&h); err != nil {
		return nil, err
	}
	if h.Count < 0 || h.Count > 1<<20 {
		return nil, fmt.Errorf("%d notification channels", h.Count)
	}
	out := make([]*channel, 0, h.Count)
	for range h.Count {
		var sc snapChannel
		if err := dec.Decode(&sc); err != nil {
			return nil, err
		}
		out = append(out, &channel{id: sc.ID, url: sc.URL, token: sc.Token, base: sc.Base, events: sc.Events,
			expiry: sc.Expiry, returnAffected: sc.ReturnAffected, notifyRelated: sc.NotifyRelated,
			pending: map[string]*batch{}})
	}
	return out, nil
}

// restore replaces the channels (stopping any pending flush of the old ones).
func (n *notifier) restore(channels []*channel) {
	n.reset()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range channels {
		n.channels[c.id] = c
	}
}
