package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/store"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// A link can outlive one of its records: deleted for good on one side (emptied from the
// recycle bin, an org restored from a backup) without the sync reading the deletion. The
// writes then meet it: Desk refuses a contact whose accountId names an account that is gone,
// and an update of a record that is gone. The writer checks the record, marks the link's side
// as deleted for good, and goes on by the seed's rule: a contact is written without the
// account (one failure for the account, not one per contact), and the surviving side's
// change re-creates the record that is gone.

// goneAccounts are the Desk accounts found deleted for good during one write.
type goneAccounts struct {
	mu       sync.Mutex
	ids      map[string]bool // Desk account ids
	reported map[string]bool
}

// liveRefs translates account references like refs, except to Desk accounts that are gone.
type liveRefs struct {
	refs mapping.Refs
	gone *goneAccounts
}

// DeskAccountToCRM implements mapping.Refs.
func (r liveRefs) DeskAccountToCRM(deskID string) (string, bool) {
	if r.gone.has(deskID) {
		return "", false
	}
	return r.refs.DeskAccountToCRM(deskID)
}

// CRMAccountToDesk implements mapping.Refs.
func (r liveRefs) CRMAccountToDesk(crmID string) (string, bool) {
	id, ok := r.refs.CRMAccountToDesk(crmID)
	if !ok || r.gone.has(id) {
		return "", false
	}
	return id, true
}

func (g *goneAccounts) has(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ids[id]
}

// accountRefRefused reports whether Desk refused a contact write because its accountId names
// no account.
func accountRefRefused(err error) bool {
	var de *desk.Error
	if !errors.As(err, &de) {
		return false
	}
	for _, fe := range de.Errors {
		if fe.FieldName == "/accountId" && fe.ErrorType != "missing" {
			return true
		}
	}
	return false
}

// crmRecordGone reports whether CRM refused an update because the record's id names no
// record (per-record INVALID_DATA on the id).
func crmRecordGone(err error) bool {
	var ce *crm.Error
	return errors.As(err, &ce) && ce.Code == "INVALID_DATA" && ce.APIName == "id"
}

// deskAccountOf returns the Desk account a patch's account reference is written as.
func (w *writer) deskAccountOf(patch mapping.Values) (string, bool) {
	for _, f := range w.m.Fields {
		if f.Type != mapping.TypeLookup {
			continue
		}
		if id, ok := patch[f.Key()].(string); ok && id != "" {
			return w.refs.CRMAccountToDesk(id)
		}
	}
	return "", false
}

// checkAccountGone checks, after Desk refused a contact's account, whether that Desk account
// is gone. If it is, its link is marked deleted for good (the CRM account's next change
// creates it again), it is no longer written, and one failure says so. It reports whether the
// write should be tried again without it.
func (w *writer) checkAccountGone(ctx context.Context, patch mapping.Values) (bool, error) {
	id, ok := w.deskAccountOf(patch)
	if !ok {
		return false, nil
	}
	if w.gone.has(id) {
		return true, nil
	}
	_, err := retryAfter429(ctx, id, func() (desk.Record, error) { return w.a.Desk.Get(ctx, Accounts, id) })
	if err == nil || !recordGone(err) {
		return false, err
	}
	if _, err := w.a.Store.MarkDeleted(ctx, storeScope(w.integrationID, mapping.Accounts, mapping.Desk),
		[]store.Deletion{{ID: id, Kind: reconcile.DeletedPermanent}}); err != nil {
		return false, err
	}
	w.gone.mu.Lock()
	defer w.gone.mu.Unlock()
	w.gone.ids[id] = true
	if !w.gone.reported[id] {
		w.gone.reported[id] = true
		crmID, _ := w.refs.DeskAccountToCRM(id)
		w.o.fail(store.Failure{Module: Accounts, Direction: CRMToDesk, DeskID: id, CRMID: crmID, Code: "COUNTERPART_DELETED",
			Message: fmt.Sprintf("Desk account %s, linked to CRM account %s, was deleted for good: its contacts are synced without an account, and the account is created again in Desk when CRM account %s changes", id, crmID, crmID)})
	}
	return true, nil
}

// withoutAccount returns a create whose account reference is left out because its Desk
// account is gone (the base records that Desk holds none).
func (w *writer) withoutAccount(c reconcile.Create) reconcile.Create {
	cp := reconcile.CreatePatch(w.m, c.Source.Values, c.Target, liveRefs{w.refs, &w.gone})
	c.Patch, c.Base = cp.Patch, cp.Base
	return c
}

// dropAccount takes the account reference out of an update's Desk patch.
func (w *writer) dropAccount(u reconcile.Update) reconcile.Update {
	u.DeskPatch = u.DeskPatch.Clone()
	u.Base = u.Base.Clone()
	for _, f := range w.m.Fields {
		if f.Type == mapping.TypeLookup {
			if _, ok := u.DeskPatch[f.Key()]; ok {
				delete(u.DeskPatch, f.Key())
				if !u.Base.IsZero() {
					u.Base.Desk[f.Key()] = nil
				}
			}
		}
	}
	return u
}

// recordGoneOnWrite handles an update of side s refused because the record is gone: the link
// is marked deleted for good there, and the update's change re-creates it when it carries
// one (the seed's update-after-delete rule).
func (w *writer) recordGoneOnWrite(ctx context.Context, s mapping.Side, u reconcile.Update) error {
	if _, err := w.a.Store.MarkDeleted(ctx, w.scope(s), []store.Deletion{{ID: u.IDOf(s), Kind: reconcile.DeletedPermanent}}); err != nil {
		return err
	}
	if u.Recreate != nil && u.Recreate.Target == s {
		w.later.add(*u.Recreate)
	}
	return nil
}

// laterCreates are re-creates found necessary while writing, made once the writes are done.
type laterCreates struct {
	mu   sync.Mutex
	list []reconcile.Create
}

func (l *laterCreates) add(c reconcile.Create) {
	l.mu.Lock()
	l.list = append(l.list, c)
	l.mu.Unlock()
}

// recreateGone re-creates the records found gone while writing.
func (w *writer) recreateGone(ctx context.Context) error {
	w.later.mu.Lock()
	creates := w.later.list
	w.later.list = nil
	w.later.mu.Unlock()
	creates, err := w.holdDuplicateRecreates(ctx, creates)
	if err != nil || len(creates) == 0 {
		return err
	}
	if err := w.prepareRecreates(ctx, creates); err != nil {
		return err
	}
	return sideBySide(ctx, func(ctx context.Context) error { return w.createIn(ctx, mapping.CRM, creates) },
		func(ctx context.Context) error { return w.createIn(ctx, mapping.Desk, creates) })
}
