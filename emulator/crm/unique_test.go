package crm

import (
	"net/http"
	"testing"
)

// dupDetails returns the details of the only record of a write answered
// with DUPLICATE_DATA.
func dupDetails(t *testing.T, r resp) map[string]any {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest)
	item := r.data()[0]
	if item["code"] != "DUPLICATE_DATA" || item["message"] != "duplicate data" || item["status"] != "error" {
		t.Fatalf("item = %v, want DUPLICATE_DATA", item)
	}
	return item["details"].(map[string]any)
}

func TestDuplicateDataNamesTheExistingRecord(t *testing.T) {
	e := newEnv(t, Config{UniqueFields: map[string][]string{"Contacts": {"Email"}}})
	first := e.insert("Contacts", map[string]any{"Last_Name": "First", "Email": "ann@example.com",
		"Owner": map[string]any{"id": users[1].id}})[0]
	second := e.insert("Contacts", map[string]any{"Last_Name": "Second", "Email": "bob@example.com"})[0]

	check := func(t *testing.T, d map[string]any, path string, more bool) {
		t.Helper()
		want := map[string]any{"api_name": "Email", "json_path": path, "id": first, "more_records": more}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("details[%s] = %v, want %v (details %v)", k, d[k], v, d)
			}
		}
		dr := d["duplicate_record"].(map[string]any)
		owner := dr["Owner"].(map[string]any)
		mod := dr["module"].(map[string]any)
		if dr["id"] != first || owner["id"] != users[1].id || owner["name"] != users[1].name || owner["zuid"] == nil ||
			mod["api_name"] != "Contacts" || mod["id"] != moduleIDs["Contacts"] {
			t.Errorf("duplicate_record = %v", dr)
		}
	}
	t.Run("insert, other case", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{
			map[string]any{"Last_Name": "Copy", "Email": "ANN@Example.com"}}})
		check(t, dupDetails(t, r), "$.data[0].Email", false)
	})
	t.Run("update another record", func(t *testing.T) {
		r := e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": []any{
			map[string]any{"id": second, "Email": "ann@example.com"}}})
		check(t, dupDetails(t, r), "$.data[0].Email", false)
	})
	t.Run("update the record itself", func(t *testing.T) {
		r := e.call("PUT", "/crm/v8/Contacts/"+first, map[string]any{"data": []any{
			map[string]any{"Email": "Ann@example.com"}}})
		wantStatus(t, r, http.StatusOK)
	})
	t.Run("upsert matched on another field", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Contacts/upsert", map[string]any{"duplicate_check_fields": []any{"Desk_ID"},
			"data": []any{map[string]any{"Last_Name": "New", "Desk_ID": "9", "Email": "ann@example.com"}}})
		check(t, dupDetails(t, r), "$.data[0].Email", false)
	})
	t.Run("second in a batch", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{
			map[string]any{"Last_Name": "C1", "Email": "carl@example.com"},
			map[string]any{"Last_Name": "C2", "Email": "carl@example.com"}}})
		wantStatus(t, r, http.StatusMultiStatus)
		if d := r.data()[1]; d["code"] != "DUPLICATE_DATA" || d["details"].(map[string]any)["json_path"] != "$.data[1].Email" {
			t.Errorf("second = %v", d)
		}
	})
	t.Run("more_records", func(t *testing.T) {
		// Records loaded before the field became unique may share a value.
		if _, err := e.s.Load("Contacts", []map[string]any{{"Last_Name": "Twin", "Email": "ann@example.com"}}); err != nil {
			t.Fatal(err)
		}
		r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{
			map[string]any{"Last_Name": "Third", "Email": "ann@example.com"}}})
		check(t, dupDetails(t, r), "$.data[0].Email", true)
	})
	if r := e.call("GET", "/crm/v8/settings/fields"+q("module", "Contacts"), nil); r.status == 200 {
		for _, f := range r.body["fields"].([]any) {
			fm := f.(map[string]any)
			if fm["api_name"] == "Email" && fm["unique"].(map[string]any)["casesensitive"] != "false" {
				t.Errorf("Email metadata unique = %v", fm["unique"])
			}
		}
	}
}

func TestSetUnique(t *testing.T) {
	e := newEnv(t, Config{})
	e.insert("Contacts", map[string]any{"Last_Name": "A", "Desk_ID": "D-1"})
	e.insert("Contacts", map[string]any{"Last_Name": "B", "Desk_ID": "D-1"}) // not unique yet
	r := e.call("POST", "/_emulator/unique", map[string]any{"module": "Contacts", "field": "Desk_ID", "unique": true})
	wantStatus(t, r, 200)
	r = e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "C", "Desk_ID": "d-1"}}})
	if d := dupDetails(t, r); d["api_name"] != "Desk_ID" || d["more_records"] != true {
		t.Errorf("details = %v", d)
	}
	if err := e.s.SetUnique("Contacts", "Desk_ID", false); err != nil {
		t.Fatal(err)
	}
	e.insert("Contacts", map[string]any{"Last_Name": "C", "Desk_ID": "d-1"})
	for _, bad := range []struct{ module, field string }{
		{"Nope", "Email"}, {"Contacts", "Nope"}, {"Contacts", "Account_Name"}, {"Contacts", "Created_Time"}, {"Contacts", "VIP"},
	} {
		if err := e.s.SetUnique(bad.module, bad.field, true); err == nil {
			t.Errorf("SetUnique(%s, %s) accepted", bad.module, bad.field)
		}
	}
	if r := e.call("POST", "/_emulator/unique", map[string]any{"module": "Contacts", "field": "Nope", "unique": true}); r.status != 400 {
		t.Errorf("admin unique on an unknown field: %d", r.status)
	}
}

func TestUniqueFieldsConfigPanicsOnABadField(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted UniqueFields naming an unknown field")
		}
	}()
	New(Config{UniqueFields: map[string][]string{"Contacts": {"Nope"}}})
}

// TestUniqueChecksOnlyTheValuesAWriteSets: two accounts that share an Account_Name (loaded,
// as an import or a field made unique later leaves them) stay editable through every write
// path — single update, batch update, upsert — as long as the write leaves the name as it is
// (absent, or the value it holds in any case); giving one of them another live record's name
// is still DUPLICATE_DATA (a trial found every edit of such twins refused).
func TestUniqueChecksOnlyTheValuesAWriteSets(t *testing.T) {
	e := newEnv(t, Config{})
	twins, err := e.s.Load("Accounts", []map[string]any{
		{"Account_Name": "Acme", "Desk_ID": "D-1"}, {"Account_Name": "Acme", "Desk_ID": "D-2"}})
	if err != nil {
		t.Fatal(err)
	}
	other := e.insert("Accounts", map[string]any{"Account_Name": "Globex"})[0]
	ok := func(t *testing.T, r resp, status int) {
		t.Helper()
		wantStatus(t, r, status)
		for _, d := range r.data() {
			if d["code"] != "SUCCESS" {
				t.Fatalf("item %v, want SUCCESS", d)
			}
		}
	}
	t.Run("single update of another field", func(t *testing.T) {
		ok(t, e.call("PUT", "/crm/v8/Accounts/"+twins[1], map[string]any{"data": []any{map[string]any{"Phone": "123"}}}), 200)
	})
	t.Run("single update repeating its own name", func(t *testing.T) {
		ok(t, e.call("PUT", "/crm/v8/Accounts/"+twins[1], map[string]any{"data": []any{
			map[string]any{"Account_Name": "ACME", "Phone": "124"}}}), 200)
	})
	t.Run("batch update of both twins", func(t *testing.T) {
		ok(t, e.call("PUT", "/crm/v8/Accounts", map[string]any{"data": []any{
			map[string]any{"id": twins[0], "Phone": "1"}, map[string]any{"id": twins[1], "Phone": "2", "Account_Name": "ACME"}}}), 200)
	})
	t.Run("upsert matched on Desk_ID", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Accounts/upsert", map[string]any{"duplicate_check_fields": []any{"Desk_ID"},
			"data": []any{map[string]any{"Desk_ID": "D-2", "Account_Name": "Acme", "Website": "acme.example"}}})
		ok(t, r, 200)
		if d := r.data()[0]; d["action"] != "update" || d["details"].(map[string]any)["id"] != twins[1] {
			t.Errorf("upsert = %v, want an update of %s", d, twins[1])
		}
	})
	t.Run("upsert matched on the shared name", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Accounts/upsert", map[string]any{"data": []any{
			map[string]any{"Account_Name": "acme", "Fax": "9"}}})
		ok(t, r, 200)
	})
	t.Run("taking another record's name", func(t *testing.T) {
		r := e.call("PUT", "/crm/v8/Accounts/"+twins[0], map[string]any{"data": []any{map[string]any{"Account_Name": "globex"}}})
		if d := dupDetails(t, r); d["id"] != other {
			t.Errorf("details = %v, want the duplicate %s", d, other)
		}
		r = e.call("PUT", "/crm/v8/Accounts", map[string]any{"data": []any{
			map[string]any{"id": twins[0], "Phone": "5"}, map[string]any{"id": twins[1], "Account_Name": "Globex"}}})
		wantStatus(t, r, http.StatusMultiStatus)
		if d := r.data()[1]; d["code"] != "DUPLICATE_DATA" {
			t.Errorf("second item = %v, want DUPLICATE_DATA", d)
		}
	})
	t.Run("a new record repeating the twins' name", func(t *testing.T) {
		r := e.call("POST", "/crm/v8/Accounts", map[string]any{"data": []any{map[string]any{"Account_Name": "Acme"}}})
		if d := dupDetails(t, r); d["id"] != twins[0] || d["more_records"] != true {
			t.Errorf("details = %v", d)
		}
	})
	for _, id := range twins {
		if rec, _ := e.s.Record("Accounts", id); rec["Account_Name"] == "Globex" {
			t.Errorf("twin %s took the name Globex", id)
		}
	}
}
