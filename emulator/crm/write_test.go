package crm

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestInsertSuccess(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.call("POST", "/crm/v8/Contacts", map[string]any{
		"data": []any{
			map[string]any{"Last_Name": "One", "Email": "one@x.com", "Seats": 5, "VIP": true, "Renewal_Date": "2025-12-31",
				"Health_Score": 0.75, "Last_Login": "2025-01-02T03:04:05+02:00", "Customer_Tier": "Gold", "Desk_ID": "1892000000042032"},
			map[string]any{"Last_Name": "Two"},
		},
		"trigger": []any{},
	})
	wantStatus(t, r, http.StatusCreated)
	var got []string
	for i, d := range r.data() {
		det := d["details"].(map[string]any)
		if d["code"] != "SUCCESS" || d["message"] != "record added" || d["status"] != "success" {
			t.Errorf("item %d = %v", i, d)
		}
		if !idRE.MatchString(det["id"].(string)) || !timeRE.MatchString(det["Created_Time"].(string)) ||
			det["Created_Time"] != det["Modified_Time"] {
			t.Errorf("item %d details = %v", i, det)
		}
		got = append(got, det["id"].(string))
	}
	rec, ok := e.s.Record("Contacts", got[0])
	if !ok {
		t.Fatal("inserted record not found")
	}
	want := map[string]any{"Last_Name": "One", "Seats": int64(5), "VIP": true, "Renewal_Date": "2025-12-31",
		"Health_Score": 0.75, "Last_Login": "2025-01-02T01:04:05+00:00", "Customer_Tier": "Gold", "Desk_ID": "1892000000042032"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %#v, want %#v", k, rec[k], v)
		}
	}
	if e.s.Count("Contacts") != 2 {
		t.Errorf("Count = %d", e.s.Count("Contacts"))
	}
}

func TestInsertValidation(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Zylker"})[0]
	tests := []struct {
		name    string
		module  string
		rec     any
		code    string
		details map[string]any
	}{
		{"missing Last_Name", "Contacts", map[string]any{"First_Name": "Jo"}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"}},
		{"null Last_Name", "Contacts", map[string]any{"Last_Name": nil}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Last_Name"}},
		{"missing Account_Name", "Accounts", map[string]any{"Phone": "123"}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Account_Name"}},
		{"text for an integer", "Contacts", map[string]any{"Last_Name": "X", "Seats": "ten"}, "INVALID_DATA",
			map[string]any{"api_name": "Seats", "expected_data_type": "integer", "json_path": "$.data[0].Seats"}},
		{"fraction for an integer", "Contacts", map[string]any{"Last_Name": "X", "Seats": 1.5}, "INVALID_DATA",
			map[string]any{"expected_data_type": "integer"}},
		{"string for a boolean", "Contacts", map[string]any{"Last_Name": "X", "VIP": "yes"}, "INVALID_DATA",
			map[string]any{"expected_data_type": "boolean"}},
		{"bad date", "Contacts", map[string]any{"Last_Name": "X", "Renewal_Date": "31/12/2025"}, "INVALID_DATA",
			map[string]any{"expected_data_type": "date"}},
		{"bad datetime", "Contacts", map[string]any{"Last_Name": "X", "Last_Login": "2025-01-02"}, "INVALID_DATA",
			map[string]any{"expected_data_type": "datetime"}},
		{"number for text", "Contacts", map[string]any{"Last_Name": 42}, "INVALID_DATA",
			map[string]any{"expected_data_type": "text"}},
		{"bad email", "Contacts", map[string]any{"Last_Name": "X", "Email": "not-an-email"}, "INVALID_DATA",
			map[string]any{"expected_data_type": "email"}},
		{"too long", "Contacts", map[string]any{"Last_Name": "X", "First_Name": strings.Repeat("a", 41)}, "INVALID_DATA",
			map[string]any{"api_name": "First_Name", "maximum_length": "40"}},
		{"Desk_ID too long", "Contacts", map[string]any{"Last_Name": "X", "Desk_ID": strings.Repeat("1", 31)}, "INVALID_DATA",
			map[string]any{"maximum_length": "30"}},
		{"unknown field", "Contacts", map[string]any{"Last_Name": "X", "Shoe_Size": 44}, "INVALID_DATA",
			map[string]any{"api_name": "Shoe_Size", "json_path": "$.data[0].Shoe_Size"}},
		{"lookup to a missing record", "Contacts", map[string]any{"Last_Name": "X", "Account_Name": map[string]any{"id": "5725767000001999999"}}, "INVALID_DATA",
			map[string]any{"api_name": "Account_Name", "expected_data_type": "lookup"}},
		{"lookup that is not an object", "Contacts", map[string]any{"Last_Name": "X", "Account_Name": true}, "INVALID_DATA",
			map[string]any{"api_name": "Account_Name"}},
		{"unknown owner", "Contacts", map[string]any{"Last_Name": "X", "Owner": map[string]any{"id": "1"}}, "INVALID_DATA",
			map[string]any{"api_name": "Owner"}},
		{"duplicate account name", "Accounts", map[string]any{"Account_Name": "zylker"}, "DUPLICATE_DATA",
			map[string]any{"api_name": "Account_Name", "id": acc}},
		{"record is not an object", "Contacts", "just text", "INVALID_DATA",
			map[string]any{"expected_data_type": "jsonobject"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []reqOpt{}
			if _, isObj := tt.rec.(map[string]any); !isObj {
				opts = append(opts, badReq)
			}
			r := e.call("POST", "/crm/v8/"+tt.module, map[string]any{"data": []any{tt.rec}}, opts...)
			wantStatus(t, r, http.StatusBadRequest)
			item := r.data()[0]
			if item["code"] != tt.code || item["status"] != "error" {
				t.Fatalf("item = %v, want code %s", item, tt.code)
			}
			det := item["details"].(map[string]any)
			for k, v := range tt.details {
				if det[k] != v {
					t.Errorf("details[%s] = %v, want %v (details %v)", k, det[k], v, det)
				}
			}
		})
	}
	r := e.call("POST", "/crm/v8/Accounts", map[string]any{"data": []any{map[string]any{"Account_Name": "Zylker"}}})
	dup := r.data()[0]["details"].(map[string]any)["duplicate_record"].(map[string]any)
	if dup["id"] != acc || dup["module"].(map[string]any)["api_name"] != "Accounts" {
		t.Errorf("duplicate_record = %v", dup)
	}
	if e.s.Count("Contacts") != 0 || e.s.Count("Accounts") != 1 {
		t.Errorf("failed inserts stored records: %d contacts, %d accounts", e.s.Count("Contacts"), e.s.Count("Accounts"))
	}
}

func TestInsertMixedAndOrder(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.call("POST", "/crm/v8/Accounts", map[string]any{"data": []any{
		map[string]any{"Account_Name": "A"},
		map[string]any{"Phone": "1"},
		map[string]any{"Account_Name": "B"},
		map[string]any{"Account_Name": "a"}, // duplicate of the first, within one call
	}})
	wantStatus(t, r, http.StatusMultiStatus)
	var codes []string
	for _, d := range r.data() {
		codes = append(codes, d["code"].(string))
	}
	if got := strings.Join(codes, ","); got != "SUCCESS,MANDATORY_NOT_FOUND,SUCCESS,DUPLICATE_DATA" {
		t.Errorf("codes = %s", got)
	}
	if r.data()[1]["details"].(map[string]any)["json_path"] != "$.data[1].Account_Name" {
		t.Errorf("json_path of the second record = %v", r.data()[1]["details"])
	}
}

func TestUniqueIsConfigurable(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.s.AddField("Contacts", Field{APIName: "Badge_Number", DataType: "text", Unique: true}); err != nil {
		t.Fatal(err)
	}
	e.insert("Contacts", map[string]any{"Last_Name": "A", "Badge_Number": "B-1"})
	r := e.call("POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "B", "Badge_Number": "b-1"}}})
	wantStatus(t, r, http.StatusBadRequest)
	if r.data()[0]["code"] != "DUPLICATE_DATA" {
		t.Errorf("item = %v", r.data()[0])
	}
	// Emails are not unique by default.
	e.insert("Contacts", map[string]any{"Last_Name": "C", "Email": "same@x.com"}, map[string]any{"Last_Name": "D", "Email": "same@x.com"})
	if err := e.s.AddField("Contacts", Field{APIName: "Bad Name", DataType: "text"}); err == nil {
		t.Error("AddField accepted an invalid api name")
	}
	if err := e.s.AddField("Contacts", Field{APIName: "Weird", DataType: "blob"}); err == nil {
		t.Error("AddField accepted an unknown data type")
	}
	if err := e.s.AddField("Nope", Field{APIName: "X", DataType: "text"}); err == nil {
		t.Error("AddField accepted an unknown module")
	}
}

func TestBadWriteBodies(t *testing.T) {
	e := newEnv(t, Config{})
	hundredOne := make([]any, 101)
	for i := range hundredOne {
		hundredOne[i] = map[string]any{"Last_Name": fmt.Sprint(i)}
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		code   string
	}{
		{"malformed JSON", "POST", "/crm/v8/Contacts", `{"data":[{"Last_Name":"x"`, "INVALID_DATA"},
		{"not JSON at all", "POST", "/crm/v8/Contacts", `hello`, "INVALID_DATA"},
		{"top-level array", "POST", "/crm/v8/Contacts", `[{"Last_Name":"x"}]`, "INVALID_DATA"},
		{"empty body", "PUT", "/crm/v8/Contacts", ``, "INVALID_DATA"},
		{"two JSON values", "POST", "/crm/v8/Contacts", `{"data":[]} {}`, "INVALID_DATA"},
		{"data missing", "POST", "/crm/v8/Contacts", map[string]any{"trigger": []any{}}, "REQUIRED_PARAM_MISSING"},
		{"data empty", "POST", "/crm/v8/Contacts", map[string]any{"data": []any{}}, "REQUIRED_PARAM_MISSING"},
		{"data not an array", "POST", "/crm/v8/Contacts", map[string]any{"data": map[string]any{"Last_Name": "x"}}, "INVALID_DATA"},
		{"101 records", "POST", "/crm/v8/Contacts", map[string]any{"data": hundredOne}, "LIMIT_EXCEEDED"},
		{"101 records upsert", "POST", "/crm/v8/Contacts/upsert", map[string]any{"data": hundredOne}, "LIMIT_EXCEEDED"},
		{"trigger not an array", "POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "x"}}, "trigger": "workflow"}, "INVALID_DATA"},
		{"unknown trigger", "POST", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": "x"}}, "trigger": []any{"magic"}}, "INVALID_DATA"},
		{"duplicate_check_fields unknown", "POST", "/crm/v8/Contacts/upsert", map[string]any{"data": []any{map[string]any{"Last_Name": "x"}}, "duplicate_check_fields": []any{"Nope"}}, "INVALID_DATA"},
		{"bulk delete without ids", "DELETE", "/crm/v8/Contacts", nil, "REQUIRED_PARAM_MISSING"},
		{"delete 101 ids", "DELETE", "/crm/v8/Contacts?ids=" + strings.Repeat("1,", 100) + "1", nil, "LIMIT_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(tt.method, tt.path, tt.body, badReq)
			wantCode(t, r, http.StatusBadRequest, tt.code)
		})
	}
	if e.s.Count("Contacts") != 0 {
		t.Errorf("bad bodies stored %d records", e.s.Count("Contacts"))
	}
}

func TestUpdate(t *testing.T) {
	c := newClock()
	e := newEnv(t, Config{Now: c.Now})
	idList := e.insert("Contacts", map[string]any{"Last_Name": "A", "Email": "a@x.com"}, map[string]any{"Last_Name": "B"})
	before, _ := e.s.Record("Contacts", idList[0])
	c.Add(90 * 1e9)

	// Bulk update with ids, one unknown, one missing id.
	r := e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": []any{
		map[string]any{"id": idList[0], "Email": "new@x.com", "Seats": 3},
		map[string]any{"id": "5725767000001999999", "Last_Name": "Ghost"},
		map[string]any{"Last_Name": "No id"},
		map[string]any{"id": idList[1], "Last_Name": nil},
	}})
	wantStatus(t, r, http.StatusMultiStatus)
	d := r.data()
	if d[0]["code"] != "SUCCESS" || d[0]["message"] != "record updated" {
		t.Errorf("item 0 = %v", d[0])
	}
	if d[1]["code"] != "INVALID_DATA" || d[1]["message"] != "the id given seems to be invalid" {
		t.Errorf("item 1 = %v", d[1])
	}
	if d[2]["code"] != "MANDATORY_NOT_FOUND" || d[2]["details"].(map[string]any)["api_name"] != "id" {
		t.Errorf("item 2 = %v", d[2])
	}
	if d[3]["code"] != "MANDATORY_NOT_FOUND" || d[3]["details"].(map[string]any)["api_name"] != "Last_Name" {
		t.Errorf("item 3 = %v", d[3])
	}
	after, _ := e.s.Record("Contacts", idList[0])
	if after["Email"] != "new@x.com" || after["Last_Name"] != "A" || after["Seats"] != int64(3) {
		t.Errorf("after update = %v", after)
	}
	if after["Created_Time"] != before["Created_Time"] || after["Modified_Time"] == before["Modified_Time"] {
		t.Errorf("times: created %v -> %v, modified %v -> %v", before["Created_Time"], after["Created_Time"], before["Modified_Time"], after["Modified_Time"])
	}

	// Update by path id; the body's id is ignored; null clears a field.
	r = e.call("PUT", "/crm/v8/Contacts/"+idList[0], map[string]any{"data": []any{map[string]any{"id": idList[1], "Email": nil}}})
	wantStatus(t, r, 200)
	if got, _ := e.s.Record("Contacts", idList[0]); got["Email"] != nil {
		t.Errorf("Email after clearing = %v", got["Email"])
	}
	if got, _ := e.s.Record("Contacts", idList[1]); got["Email"] != nil || got["Last_Name"] != "B" {
		t.Errorf("other record changed: %v", got)
	}
	wantStatus(t, e.call("PUT", "/crm/v8/Contacts/5725767000001999999", map[string]any{"data": []any{map[string]any{"Title": "x"}}}), 400)
	// All failed -> 400.
	r = e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"id": "1", "Title": "x"}}})
	wantStatus(t, r, http.StatusBadRequest)
}

func TestUpsert(t *testing.T) {
	e := newEnv(t, Config{})
	existing := e.insert("Contacts", map[string]any{"Last_Name": "Old", "Email": "Jane@X.com", "Desk_ID": "77"})[0]
	r := e.call("POST", "/crm/v8/Contacts/upsert", map[string]any{"data": []any{
		map[string]any{"Last_Name": "Jane", "Email": "jane@x.com"},
		map[string]any{"Last_Name": "New", "Email": "new@x.com"},
	}})
	wantStatus(t, r, 200)
	d := r.data()
	if d[0]["action"] != "update" || d[0]["duplicate_field"] != "Email" || d[0]["details"].(map[string]any)["id"] != existing {
		t.Errorf("item 0 = %v", d[0])
	}
	if d[1]["action"] != "insert" || d[1]["message"] != "record added" {
		t.Errorf("item 1 = %v", d[1])
	}
	if _, has := d[1]["duplicate_field"]; has {
		t.Errorf("insert result carries duplicate_field (the spec types it as a non-null string)")
	}
	// Custom duplicate check field.
	r = e.call("POST", "/crm/v8/Contacts/upsert", map[string]any{"duplicate_check_fields": []any{"Desk_ID"},
		"data": []any{map[string]any{"Last_Name": "By Desk", "Desk_ID": "77", "Email": "other@x.com"}}})
	wantStatus(t, r, 200)
	if r.data()[0]["duplicate_field"] != "Desk_ID" || r.data()[0]["details"].(map[string]any)["id"] != existing {
		t.Errorf("upsert by Desk_ID = %v", r.data()[0])
	}
	got, _ := e.s.Record("Contacts", existing)
	if got["Last_Name"] != "By Desk" || got["Email"] != "other@x.com" {
		t.Errorf("upserted record = %v", got)
	}
	// Accounts upsert by Account_Name by default.
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Zylker"})[0]
	r = e.call("POST", "/crm/v8/Accounts/upsert", map[string]any{"data": []any{map[string]any{"Account_Name": "ZYLKER", "Phone": "1"}}})
	if r.data()[0]["action"] != "update" || r.data()[0]["details"].(map[string]any)["id"] != acc {
		t.Errorf("accounts upsert = %v", r.data()[0])
	}
	if e.s.Count("Contacts") != 2 || e.s.Count("Accounts") != 1 {
		t.Errorf("counts %d/%d", e.s.Count("Contacts"), e.s.Count("Accounts"))
	}
}

func TestDeleteAndDeletedList(t *testing.T) {
	c := newClock()
	e := newEnv(t, Config{Now: c.Now})
	idList := e.insert("Contacts", map[string]any{"Last_Name": "A", "First_Name": "Ann"}, map[string]any{"Last_Name": "B"}, map[string]any{"Last_Name": "C"})
	wantStatus(t, e.call("GET", "/crm/v8/Contacts/deleted", nil), http.StatusNoContent)

	r := e.call("DELETE", "/crm/v8/Contacts?ids="+idList[0]+",5725767000001999999", nil)
	wantStatus(t, r, http.StatusMultiStatus)
	if d := r.data(); d[0]["message"] != "record deleted" || d[1]["code"] != "INVALID_DATA" || d[1]["message"] != "record not deleted" {
		t.Errorf("delete results = %v", d)
	}
	c.Add(5 * 1e9)
	since := c.Now().Format("2006-01-02T15:04:05Z07:00")
	c.Add(5 * 1e9)
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts/"+idList[1], nil), 200)
	wantStatus(t, e.call("DELETE", "/crm/v8/Contacts/"+idList[1], nil), 400)
	wantCode(t, e.call("GET", "/crm/v8/Contacts/"+idList[0], nil, badReq), 400, "INVALID_DATA")
	if e.s.Count("Contacts") != 1 {
		t.Errorf("Count = %d", e.s.Count("Contacts"))
	}
	e.s.Purge("Contacts", idList[1])

	tests := []struct {
		query   string
		hdr     []reqOpt
		wantIDs []string
		types   []string
	}{
		{"", nil, []string{idList[1], idList[0]}, []string{"permanent", "recycle"}},
		{"?type=all&per_page=1", nil, []string{idList[1]}, []string{"permanent"}},
		{"?type=recycle", nil, []string{idList[0]}, []string{"recycle"}},
		{"?type=permanent", nil, []string{idList[1]}, []string{"permanent"}},
		{"", []reqOpt{header("If-Modified-Since", since)}, []string{idList[1]}, []string{"permanent"}},
	}
	for _, tt := range tests {
		r := e.call("GET", "/crm/v8/Contacts/deleted"+tt.query, nil, tt.hdr...)
		wantStatus(t, r, 200)
		var gotIDs, gotTypes []string
		for _, d := range r.data() {
			gotIDs = append(gotIDs, d["id"].(string))
			gotTypes = append(gotTypes, d["type"].(string))
			if d["type"] == "recycle" && (d["display_name"] != "Ann A" || d["deleted_by"] == nil || !timeRE.MatchString(d["deleted_time"].(string))) {
				t.Errorf("recycle entry = %v", d)
			}
		}
		if strings.Join(gotIDs, ",") != strings.Join(tt.wantIDs, ",") || strings.Join(gotTypes, ",") != strings.Join(tt.types, ",") {
			t.Errorf("deleted%s = %v %v, want %v %v", tt.query, gotIDs, gotTypes, tt.wantIDs, tt.types)
		}
	}
	wantCode(t, e.call("GET", "/crm/v8/Contacts/deleted?type=bogus", nil, badReq), 400, "INVALID_DATA")
	// Deleted records can no longer be updated.
	r = e.call("PUT", "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"id": idList[0], "Title": "x"}}})
	wantStatus(t, r, 400)
}
