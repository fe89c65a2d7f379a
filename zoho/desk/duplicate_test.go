package desk_test

import (
	"context"
	"fmt"
	"testing"

	"deskcrm/zoho"
	"deskcrm/zoho/desk"
)

// TestDuplicateAccountName: Desk refuses an account whose name a live
// account has (422 INVALID_DATA, errorType duplicate on /accountName), on
// create and on rename; zoho.DuplicateOf names the field, and no existing id
// because Desk's answer carries none — the account is found by searching
// the name.
func TestDuplicateAccountName(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	acme, err := e.client.Create(ctx, desk.Accounts, desk.Record{Fields: map[string]any{"accountName": "Acme Corp"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.client.Create(ctx, desk.Accounts, desk.Record{Fields: map[string]any{"accountName": "Globex"}})
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]func() error{
		"create": func() error {
			_, err := e.client.Create(ctx, desk.Accounts, desk.Record{Fields: map[string]any{"accountName": "ACME CORP"}})
			return err
		},
		"rename": func() error {
			_, err := e.client.Update(ctx, desk.Accounts, other.ID, desk.Record{Fields: map[string]any{"accountName": "acme corp"}})
			return err
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			err := write()
			if err == nil {
				t.Fatal("duplicate account name accepted")
			}
			for _, e := range []error{err, fmt.Errorf("create account: %w", err)} {
				field, id, ok := zoho.DuplicateOf(e)
				if !ok || field != "accountName" || id != "" {
					t.Errorf("DuplicateOf = %q, %q, %v; want accountName, \"\", true", field, id, ok)
				}
			}
			if got := zoho.FailureCode(err); got != zoho.CodeDuplicateData {
				t.Errorf("FailureCode = %s", got)
			}
		})
	}
	// The existing account is found by its name.
	var found []string
	err = e.client.Search(ctx, desk.Accounts, desk.SearchQuery{Params: map[string][]string{"accountName": {"Acme Corp"}}}, func(p desk.Page) error {
		for _, r := range p.Records {
			found = append(found, r.ID)
		}
		return nil
	})
	if err != nil || len(found) != 1 || found[0] != acme.ID {
		t.Errorf("search by name = %v, %v; want [%s]", found, err, acme.ID)
	}
	// A missing lastName is not a duplicate.
	_, err = e.client.Create(ctx, desk.Contacts, desk.Record{Fields: map[string]any{"firstName": "No last name"}})
	if _, _, ok := zoho.DuplicateOf(err); err == nil || ok {
		t.Errorf("missing lastName: err %v, duplicate %v", err, ok)
	}
}
