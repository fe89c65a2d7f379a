package crm_test

import (
	"context"
	"fmt"
	"testing"

	"deskcrm/zoho"
	"deskcrm/zoho/crm"
)

// TestEmuDuplicateOf: a write that repeats a unique value is refused per
// record with DUPLICATE_DATA, and zoho.DuplicateOf names the field and the
// record that holds the value — for inserts, updates and upserts, wrapped
// or not.
func TestEmuDuplicateOf(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.emu.SetUnique("Contacts", "Email", true); err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Insert(ctx, "Contacts", []crm.Record{
		{Fields: map[string]any{"Last_Name": "Holder", "Email": "holder@example.test"}},
		{Fields: map[string]any{"Last_Name": "Other", "Email": "other@example.test"}},
	})
	if err != nil || !res[0].OK() || !res[1].OK() {
		t.Fatalf("insert: %v %+v", err, res)
	}
	holder, other := res[0].ID, res[1].ID
	acc, err := e.client.Insert(ctx, "Accounts", []crm.Record{{Fields: map[string]any{"Account_Name": "Acme"}}})
	if err != nil || !acc[0].OK() {
		t.Fatalf("insert account: %v %+v", err, acc)
	}

	write := func(op string) (crm.Result, error) {
		var rs []crm.Result
		var err error
		switch op {
		case "insert":
			rs, err = e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "Copy", "Email": "HOLDER@example.test"}}})
		case "update":
			rs, err = e.client.Update(ctx, "Contacts", []crm.Record{{ID: other, Fields: map[string]any{"Email": "holder@example.test"}}})
		case "upsert on another field":
			rs, err = e.client.Upsert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"Last_Name": "New", "Desk_ID": "77", "Email": "holder@example.test"}}}, []string{"Desk_ID"})
		case "account name":
			rs, err = e.client.Insert(ctx, "Accounts", []crm.Record{{Fields: map[string]any{"Account_Name": "ACME"}}})
		}
		if err != nil || len(rs) != 1 {
			return crm.Result{}, fmt.Errorf("%s: %v (%d results)", op, err, len(rs))
		}
		return rs[0], nil
	}
	tests := []struct {
		op, field, existing, module string
	}{
		{"insert", "Email", holder, "Contacts"},
		{"update", "Email", holder, "Contacts"},
		{"upsert on another field", "Email", holder, "Contacts"},
		{"account name", "Account_Name", acc[0].ID, "Accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			r, err := write(tt.op)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatalf("write succeeded: %+v", r)
			}
			for _, e := range []error{r.Err, fmt.Errorf("create contact 12: %w", r.Err)} {
				field, id, ok := zoho.DuplicateOf(e)
				if !ok || field != tt.field || id != tt.existing {
					t.Errorf("DuplicateOf(%v) = %q, %q, %v; want %q, %q, true", e, field, id, ok, tt.field, tt.existing)
				}
			}
			d, _ := zoho.DuplicateDetails(r.Err)
			if d.ExistingModule != tt.module || d.MoreRecords {
				t.Errorf("details = %+v", d)
			}
			if got := zoho.FailureCode(r.Err); got != zoho.CodeDuplicateData {
				t.Errorf("FailureCode = %s", got)
			}
		})
	}

	// Other errors are not duplicates.
	res, err = e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{"First_Name": "No last name"}}})
	if err != nil || res[0].OK() {
		t.Fatalf("insert without Last_Name: %v %+v", err, res)
	}
	if _, _, ok := zoho.DuplicateOf(res[0].Err); ok {
		t.Errorf("MANDATORY_NOT_FOUND read as a duplicate: %v", res[0].Err)
	}
	if _, _, ok := zoho.DuplicateOf(nil); ok {
		t.Error("nil read as a duplicate")
	}
	var nilErr *crm.Error
	if _, _, ok := zoho.DuplicateOf(nilErr); ok {
		t.Error("a nil *crm.Error read as a duplicate")
	}
}
