package desk

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"slices"
)

// The Desk emulator is a snapshot.Part: (*Server).SaveSnapshot streams each module's fields
// (custom fields included), every record — live and in the recycle bin — with its id, times,
// sequence numbers and packed values, the tickets, the id and sequence counters and the
// webhooks; LoadSnapshot puts them back and starts the webhooks' delivery workers. Not kept:
// events still queued for delivery, delivery counters, the call log, and settings given by
// Config (the org id, the webhook signing key — pass the same Config.SigningKey to keep it).

// snapshotVersion is the version of the Desk section of a snapshot.
const snapshotVersion = 1

// snapState opens the Desk section; one snapModule per module, the tickets and the webhooks
// follow.
type snapState struct {
	Modules     []string
	NextID, Seq uint64
}

// snapModule opens a module; Records snapRecord values follow, in id order.
type snapModule struct {
	Name    string
	Fields  []Field
	Records int
}

// snapRecord is one record on the wire; Data is its packed value blob, whose field numbers
// index the module's Fields.
type snapRecord struct {
	ID                uint64
	Created, Modified int64
	Seq, CSeq         uint64
	TrashedAt         int64
	Data              string
}

// snapTickets holds the tickets in creation order.
type snapTickets struct {
	Number  int
	Tickets []Ticket
}

// snapWebhooks holds the webhooks in creation order, each in its API JSON form (which keeps
// null and empty apart).
type snapWebhooks struct{ Hooks [][]byte }

// SnapshotName names the Desk section of a snapshot.
func (s *Server) SnapshotName() string { return "desk" }

// SnapshotVersion is the version of the Desk section.
func (s *Server) SnapshotVersion() int { return snapshotVersion }

// moduleOrder is the order modules are saved in.
var moduleOrder = []string{ModuleContacts, ModuleAccounts}

// SaveSnapshot streams the emulator's state into enc, one record at a time. Writes wait while
// it runs.
func (s *Server) SaveSnapshot(enc *gob.Encoder) error {
	if err := s.saveData(enc); err != nil {
		return err
	}
	return s.hooks.saveSnapshot(enc)
}

func (s *Server) saveData(enc *gob.Encoder) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := enc.Encode(snapState{Modules: moduleOrder, NextID: s.nextID, Seq: s.seq}); err != nil {
		return err
	}
	for _, name := range moduleOrder {
		ms := s.mods[name]
		if err := enc.Encode(snapModule{Name: name, Fields: ms.sch.fields, Records: ms.count()}); err != nil {
			return err
		}
		// Id order makes the value indexes come back in a stable order; the id list is the only
		// extra memory (8 bytes a record).
		ids := make([]uint64, 0, ms.count())
		for id := range ms.recs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			r := ms.rec(id)
			if err := enc.Encode(snapRecord{ID: r.id, Created: r.created, Modified: r.modified, Seq: r.seq, CSeq: r.cseq,
				TrashedAt: r.trashedAt, Data: string(ms.data(r))}); err != nil {
				return err
			}
		}
	}
	st := snapTickets{Number: s.tickets.number}
	for _, id := range s.tickets.order {
		t := s.tickets.byID[id]
		st.Tickets = append(st.Tickets, *t)
	}
	return enc.Encode(st)
}

// LoadSnapshot replaces every module, record, ticket, counter and webhook with the
// snapshot's. It builds the new store beside the old one and swaps it in only when the whole
// section has been read. Call it before the server handles requests.
func (s *Server) LoadSnapshot(dec *gob.Decoder) error {
	var st snapState
	if err := dec.Decode(&st); err != nil {
		return err
	}
	if !slices.Equal(st.Modules, moduleOrder) {
		return fmt.Errorf("saved with modules %v, this emulator has %v", st.Modules, moduleOrder)
	}
	mods := map[string]*moduleStore{}
	for _, name := range moduleOrder {
		ms, err := loadModule(dec, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		mods[name] = ms
	}
	var stk snapTickets
	if err := dec.Decode(&stk); err != nil {
		return err
	}
	tickets := newTicketStore()
	tickets.number = stk.Number
	for _, t := range stk.Tickets {
		id, ok := parseID(t.ID)
		if !ok || tickets.byID[id] != nil {
			return fmt.Errorf("ticket id %q is invalid or repeated", t.ID)
		}
		tickets.byID[id] = &t
		tickets.order = append(tickets.order, id)
	}
	hooks, err := loadWebhooks(dec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.mods, s.nextID, s.seq, s.tickets = mods, st.NextID, st.Seq, tickets
	s.mu.Unlock()
	s.hooks.restore(hooks)
	return nil
}

func loadModule(dec *gob.Decoder, name string) (*moduleStore, error) {
	var sm snapModule
	if err := dec.Decode(&sm); err != nil {
		return nil, err
	}
	if sm.Name != name || sm.Records < 0 {
		return nil, fmt.Errorf("module header %q does not fit", sm.Name)
	}
	sch := &schema{module: name, fields: sm.Fields, byName: make(map[string]int, len(sm.Fields))}
	for i, f := range sm.Fields {
		if _, dup := sch.byName[f.APIName]; dup {
			return nil, fmt.Errorf("field %s twice", f.APIName)
		}
		sch.byName[f.APIName] = i
	}
	ms := newModuleStore(sch)
	for range sm.Records {
		var sr snapRecord
		if err := dec.Decode(&sr); err != nil {
			return nil, err
		}
		if ms.has(sr.ID) || sr.ID == 0 {
			return nil, fmt.Errorf("record id %d is zero or repeated", sr.ID)
		}
		r := record{id: sr.ID, storedRec: storedRec{created: sr.Created, modified: sr.Modified, seq: sr.Seq, cseq: sr.CSeq,
			trashedAt: sr.TrashedAt}}
		bad := false
		blob(sr.Data).each(func(f uint16, _ value) bool {
			bad = int(f) >= len(sch.fields)
			return !bad
		})
		if bad {
			return nil, fmt.Errorf("record %d has a value of an unknown field", sr.ID)
		}
		ms.scratch = append(ms.scratch[:0], sr.Data...)
		if r.trashed() {
			// Trashed records stay in the value indexes (lookups see them) but not in the time
			// indexes, as setTrashed leaves them.
			ms.add(r, ms.scratch)
		} else {
			ms.insert(r, ms.scratch)
		}
	}
	return ms, nil
}

// saveSnapshot writes the webhooks in creation order.
func (m *hookManager) saveSnapshot(enc *gob.Encoder) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sw snapWebhooks
	for _, id := range m.order {
		b, err := json.Marshal(m.hooks[id].Webhook)
		if err != nil {
			return err
		}
		sw.Hooks = append(sw.Hooks, b)
	}
	return enc.Encode(sw)
}

func loadWebhooks(dec *gob.Decoder) ([]Webhook, error) {
	var sw snapWebhooks
	if err := dec.Decode(&sw); err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(sw.Hooks))
	for _, b := range sw.Hooks {
		var wh Webhook
		if err := json.Unmarshal(b, &wh); err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		out = append(out, wh)
	}
	return out, nil
}

// restore replaces the webhooks with hooks and starts a delivery worker for each.
func (m *hookManager) restore(hooks []Webhook) {
	m.reset()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, wh := range hooks {
		ctx, cancel := context.WithCancel(context.Background())
		h := &hook{Webhook: wh, wake: make(chan struct{}, 1), cancel: cancel, stats: WebhookStats{ID: wh.ID}}
		m.hooks[wh.ID] = h
		m.order = append(m.order, wh.ID)
		m.wg.Add(1)
		go m.run(ctx, h)
	}
}
