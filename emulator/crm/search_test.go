package crm

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "ABC (West), Inc."})[0]
	idList := e.insert("Contacts",
		map[string]any{"Last_Name": "Smith", "First_Name": "Ann", "Email": "ann@abc.com", "Desk_ID": "123", "Seats": 5, "Phone": "+1 555 0100", "Account_Name": map[string]any{"id": acc}},
		map[string]any{"Last_Name": "Smithers", "Email": "bob@abc.com", "Desk_ID": "1234", "Seats": 10, "VIP": true, "Secondary_Email": "b2@other.com"},
		map[string]any{"Last_Name": "Jones", "Email": "carl@xyz.com", "Seats": 20, "Renewal_Date": "2025-06-01", "Description": "loves (parentheses), commas"},
	)
	ann, bob, carl := idList[0], idList[1], idList[2]
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"Desk_ID equals is exact", q("criteria", "(Desk_ID:equals:123)", "per_page", "200"), []string{ann}},
		{"equals is case-insensitive", q("criteria", "(Email:equals:ANN@abc.com)", "per_page", "200"), []string{ann}},
		{"starts_with", q("criteria", "(Last_Name:starts_with:Smith)", "per_page", "200"), []string{ann, bob}},
		{"in", q("criteria", "(Desk_ID:in:123,999,1234)", "per_page", "200"), []string{ann, bob}},
		{"not_equal", q("criteria", "(Last_Name:not_equal:Jones)", "per_page", "200"), []string{ann, bob}},
		{"greater_than", q("criteria", "(Seats:greater_than:5)", "per_page", "200"), []string{bob, carl}},
		{"between", q("criteria", "(Seats:between:5,10)", "per_page", "200"), []string{ann, bob}},
		{"date less_equal", q("criteria", "(Renewal_Date:less_equal:2025-06-01)", "per_page", "200"), []string{carl}},
		{"boolean", q("criteria", "(VIP:equals:true)", "per_page", "200"), []string{bob}},
		{"lookup id", q("criteria", "(Account_Name:equals:"+acc+")", "per_page", "200"), []string{ann}},
		{"and", q("criteria", "((Last_Name:starts_with:Smith)and(Seats:greater_equal:10))", "per_page", "200"), []string{bob}},
		{"or", q("criteria", "((Desk_ID:equals:123)or(Email:equals:carl@xyz.com))", "per_page", "200"), []string{ann, carl}},
		{"nested", q("criteria", "(((Seats:less_than:6)or(Seats:greater_than:15))and(Email:starts_with:a))", "per_page", "200"), []string{ann}},
		{"escaped value", q("criteria", `(Description:starts_with:loves \(parentheses\)\, commas)`, "per_page", "200"), []string{carl}},
		{"email param searches every email field", q("email", "B2@other.com", "per_page", "200"), []string{bob}},
		{"phone param", q("phone", "555", "per_page", "200"), []string{ann}},
		{"word param", q("word", "smith", "per_page", "200"), []string{ann, bob}},
		{"criteria wins over email", q("criteria", "(Desk_ID:equals:1234)", "email", "ann@abc.com", "per_page", "200"), []string{bob}},
		{"id criteria", q("criteria", "(id:equals:"+carl+")", "per_page", "200"), []string{carl}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("GET", "/crm/v8/Contacts/search"+tt.query, nil)
			wantStatus(t, r, 200)
			got := ids(r.data())
			sort.Strings(got)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got %v, want %v", got, want)
			}
			if r.info()["count"] != float64(len(got)) {
				t.Errorf("info = %v", r.info())
			}
		})
	}
	wantStatus(t, e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Desk_ID:equals:12)", "per_page", "200"), nil), http.StatusNoContent)
	r := e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Desk_ID:equals:123)", "fields", "Email", "per_page", "200"), nil)
	if d := r.data()[0]; len(d) != 2 || d["Email"] != "ann@abc.com" {
		t.Errorf("fields= on search = %v", d)
	}
}

func TestSearchErrors(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 3, nil)
	var conds []string
	for i := range 16 {
		conds = append(conds, fmt.Sprintf("(Seats:equals:%d)", i))
	}
	inValues := make([]string, 101)
	for i := range inValues {
		inValues[i] = fmt.Sprint(i)
	}
	tests := []struct {
		name  string
		query string
		code  string
	}{
		{"no search parameter", q("per_page", "200"), "EXPECTED_PARAM_MISSING"},
		{"unknown field", q("criteria", "(Shoe:equals:1)", "per_page", "200"), "INVALID_QUERY"},
		{"operator not for text", q("criteria", "(Last_Name:greater_than:a)", "per_page", "200"), "INVALID_QUERY"},
		{"unknown operator", q("criteria", "(Last_Name:like:a)", "per_page", "200"), "INVALID_QUERY"},
		{"value of the wrong type", q("criteria", "(Seats:equals:many)", "per_page", "200"), "INVALID_QUERY"},
		{"unbalanced", q("criteria", "(Last_Name:equals:a", "per_page", "200"), "INVALID_QUERY"},
		{"no parentheses", q("criteria", "Last_Name:equals:a", "per_page", "200"), "INVALID_QUERY"},
		{"16 conditions", q("criteria", "("+strings.Join(conds, "or")+")", "per_page", "200"), "CRITERIA_LIMIT_EXCEEDED"},
		{"101 in values", q("criteria", "(Seats:in:"+strings.Join(inValues, ",")+")", "per_page", "200"), "INVALID_QUERY"},
		{"beyond 2000 results", q("email", "a@b.c", "page", "11", "per_page", "200"), "LIMIT_REACHED"},
		{"short phone", q("phone", "55", "per_page", "200"), "INVALID_QUERY"},
		{"short word", q("word", "a", "per_page", "200"), "INVALID_QUERY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.call("GET", "/crm/v8/Contacts/search"+tt.query, nil, badReq), 400, tt.code)
		})
	}
	r := e.call("GET", "/crm/v8/Contacts/search"+q("email", "a@b.c", "page", "11", "per_page", "200"), nil, badReq)
	if d := r.body["details"].(map[string]any); d["limit"] != "2000" {
		t.Errorf("LIMIT_REACHED details = %v", d)
	}
	wantCode(t, e.call("GET", "/crm/v8/Widgets/search"+q("email", "a@b.c", "per_page", "200"), nil, badReq), 400, "INVALID_MODULE")
}

func TestSearchPagingAndCap(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 2050, func(i int, r map[string]any) { r["Customer_Tier"] = "Gold" })
	seen := map[string]bool{}
	for page := 1; page <= 10; page++ {
		r := e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Customer_Tier:equals:Gold)", "page", fmt.Sprint(page), "per_page", "200"), nil)
		wantStatus(t, r, 200)
		for _, id := range ids(r.data()) {
			seen[id] = true
		}
		if more := r.info()["more_records"]; more != true {
			t.Errorf("page %d more_records = %v", page, more)
		}
	}
	if len(seen) != 2000 {
		t.Errorf("10 pages returned %d distinct records", len(seen))
	}
}

func TestCount(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 30, func(i int, r map[string]any) {
		if i%3 == 0 {
			r["Customer_Tier"] = "Gold"
		}
	})
	tests := []struct {
		query string
		want  string
	}{
		{"", "30"},
		{q("criteria", "(Customer_Tier:equals:Gold)"), "10"},
		{q("email", "p00003@example.com"), "1"},
		{q("word", "Person0001"), "10"},
	}
	for _, tt := range tests {
		r := e.call("GET", "/crm/v8/Contacts/actions/count"+tt.query, nil)
		wantStatus(t, r, 200)
		if r.body["count"] != tt.want {
			t.Errorf("count%s = %v, want %v", tt.query, r.body["count"], tt.want)
		}
	}
	wantCode(t, e.call("GET", "/crm/v8/Contacts/actions/count"+q("criteria", "(Nope:equals:1)"), nil, badReq), 400, "INVALID_QUERY")
}

func TestFieldsMetadata(t *testing.T) {
	e := newEnv(t, Config{CustomFields: map[string][]Field{"Accounts": {{APIName: "Region", DataType: "picklist", PickList: []string{"EMEA", "APAC"}}}}})
	if err := e.s.AddField("Contacts", Field{APIName: "Shoe_Size", DataType: "integer"}); err != nil {
		t.Fatal(err)
	}
	byName := func(module string) map[string]map[string]any {
		r := e.call("GET", "/crm/v8/settings/fields"+q("module", module), nil)
		wantStatus(t, r, 200)
		out := map[string]map[string]any{}
		for _, f := range r.body["fields"].([]any) {
			fm := f.(map[string]any)
			out[fm["api_name"].(string)] = fm
		}
		return out
	}
	c := byName("Contacts")
	checks := []struct {
		module, field, key string
		want               any
	}{
		{"Contacts", "Last_Name", "system_mandatory", true},
		{"Contacts", "First_Name", "system_mandatory", false},
		{"Contacts", "First_Name", "length", float64(40)},
		{"Contacts", "Email", "data_type", "email"},
		{"Contacts", "Desk_ID", "custom_field", true},
		{"Contacts", "Desk_ID", "length", float64(30)},
		{"Contacts", "Desk_ID", "data_type", "text"},
		{"Contacts", "Seats", "json_type", "integer"},
		{"Contacts", "VIP", "data_type", "boolean"},
		{"Contacts", "Renewal_Date", "data_type", "date"},
		{"Contacts", "Last_Login", "data_type", "datetime"},
		{"Contacts", "Lifetime_Value", "data_type", "currency"},
		{"Contacts", "Health_Score", "json_type", "double"},
		{"Contacts", "Billing_Email", "data_type", "email"},
		{"Contacts", "Customer_Tier", "data_type", "picklist"},
		{"Contacts", "Shoe_Size", "custom_field", true},
		{"Contacts", "Account_Name", "json_type", "jsonobject"},
		{"Contacts", "Created_Time", "read_only", true},
		{"Accounts", "Account_Name", "system_mandatory", true},
		{"Accounts", "Region", "custom_field", true},
	}
	a := byName("Accounts")
	for _, ck := range checks {
		src := c
		if ck.module == "Accounts" {
			src = a
		}
		f, ok := src[ck.field]
		if !ok {
			t.Errorf("%s.%s missing", ck.module, ck.field)
			continue
		}
		if f[ck.key] != ck.want {
			t.Errorf("%s.%s %s = %v, want %v", ck.module, ck.field, ck.key, f[ck.key], ck.want)
		}
	}
	if lk := c["Account_Name"]["lookup"].(map[string]any)["module"].(map[string]any); lk["api_name"] != "Accounts" {
		t.Errorf("Account_Name lookup = %v", lk)
	}
	if u, ok := a["Account_Name"]["unique"].(map[string]any); !ok || u == nil {
		t.Errorf("Account_Name unique = %v", a["Account_Name"]["unique"])
	}
	var types []string
	for _, pv := range a["Account_Type"]["pick_list_values"].([]any) {
		types = append(types, pv.(map[string]any)["actual_value"].(string))
	}
	if got := strings.Join(types, ","); got != "-None-,Customer,Partner,Prospect,Reseller,Vendor,Other" {
		t.Errorf("Account_Type values = %s", got)
	}
	wantCode(t, e.call("GET", "/crm/v8/settings/fields", nil, badReq), 400, "REQUIRED_PARAM_MISSING")
	wantCode(t, e.call("GET", "/crm/v8/settings/fields"+q("module", "Widgets"), nil, badReq), 400, "INVALID_MODULE")
	// A custom field added at run time is writable and searchable.
	id := e.insert("Contacts", map[string]any{"Last_Name": "Big", "Shoe_Size": 46})[0]
	r := e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Shoe_Size:greater_than:45)", "per_page", "200"), nil)
	if got := ids(r.data()); len(got) != 1 || got[0] != id {
		t.Errorf("search on a new field = %v", got)
	}
	_ = http.StatusOK
}

func TestRelatedLists(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Zylker"})[0]
	other := e.insert("Accounts", map[string]any{"Account_Name": "Other"})[0]
	con := e.insert("Contacts", map[string]any{"Last_Name": "Doe", "Account_Name": map[string]any{"id": acc}})[0]
	con2 := e.insert("Contacts", map[string]any{"Last_Name": "Roe"})[0]
	s := e.s
	deals, err := s.Load("Deals", []map[string]any{
		{"Deal_Name": "Big", "Stage": "Qualification", "Account_Name": map[string]any{"id": acc}, "Contact_Name": map[string]any{"id": con}, "Amount": 1000.5},
		{"Deal_Name": "Small", "Stage": "Closed Won", "Account_Name": map[string]any{"id": other}},
	})
	if err != nil {
		t.Fatal(err)
	}
	notes, err := s.Load("Notes", []map[string]any{
		{"Note_Title": "Call back", "Note_Content": "Tuesday", "Parent_Id": map[string]any{"module": map[string]any{"api_name": "Contacts"}, "id": con}},
		{"Note_Content": "About the account", "Parent_Id": map[string]any{"module": map[string]any{"api_name": "Accounts"}, "id": acc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("Tasks", []map[string]any{{"Subject": "Follow up", "Who_Id": map[string]any{"id": con}, "What_Id": map[string]any{"id": acc}, "$se_module": "Accounts", "Status": "Not Started"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("Events", []map[string]any{{"Event_Title": "Demo", "Start_DateTime": "2025-01-01T10:00:00+00:00", "End_DateTime": "2025-01-01T11:00:00+00:00", "Who_Id": con}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("Calls", []map[string]any{{"Subject": "Intro", "Call_Type": "Outbound", "Call_Start_Time": "2025-01-01T10:00:00+00:00", "What_Id": acc}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		fields string
		want   int
		check  func(t *testing.T, d []map[string]any)
	}{
		{"/crm/v8/Contacts/" + con + "/Deals", "Deal_Name,Amount,Account_Name", 1, func(t *testing.T, d []map[string]any) {
			if d[0]["id"] != deals[0] || d[0]["Amount"] != 1000.5 || d[0]["Account_Name"].(map[string]any)["name"] != "Zylker" {
				t.Errorf("deal = %v", d[0])
			}
		}},
		{"/crm/v8/Accounts/" + acc + "/Deals", "Deal_Name", 1, nil},
		{"/crm/v8/Contacts/" + con + "/Notes", "Note_Title,Note_Content,Parent_Id", 1, func(t *testing.T, d []map[string]any) {
			p := d[0]["Parent_Id"].(map[string]any)
			if d[0]["id"] != notes[0] || p["name"] != "Doe" || p["module"].(map[string]any)["api_name"] != "Contacts" {
				t.Errorf("note = %v", d[0])
			}
		}},
		{"/crm/v8/Accounts/" + acc + "/Notes", "Note_Content", 1, nil},
		{"/crm/v8/Contacts/" + con + "/Tasks", "Subject,What_Id", 1, func(t *testing.T, d []map[string]any) {
			if d[0]["$se_module"] != "Accounts" || d[0]["What_Id"].(map[string]any)["name"] != "Zylker" {
				t.Errorf("task = %v", d[0])
			}
		}},
		{"/crm/v8/Accounts/" + acc + "/Tasks", "Subject", 1, nil},
		{"/crm/v8/Contacts/" + con + "/Events", "Event_Title", 1, nil},
		{"/crm/v8/Accounts/" + acc + "/Calls", "Subject", 1, nil},
		{"/crm/v8/Accounts/" + acc + "/Contacts", "Last_Name", 1, nil},
		{"/crm/v8/Contacts/" + con2 + "/Deals", "Deal_Name", 0, nil},
		{"/crm/v8/Contacts/" + con + "/Calls", "Subject", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.call("GET", tt.path+q("fields", tt.fields), nil)
			if tt.want == 0 {
				wantStatus(t, r, http.StatusNoContent)
				return
			}
			wantStatus(t, r, 200)
			if len(r.data()) != tt.want {
				t.Fatalf("%d records, want %d", len(r.data()), tt.want)
			}
			if tt.check != nil {
				tt.check(t, r.data())
			}
		})
	}
	wantCode(t, e.call("GET", "/crm/v8/Contacts/5725767000001999999/Deals"+q("fields", "Deal_Name"), nil, badReq), 400, "INVALID_DATA")
	wantCode(t, e.call("GET", "/crm/v8/Contacts/"+con+"/Widgets"+q("fields", "Deal_Name"), nil, badReq), 400, "INVALID_DATA")
	wantCode(t, e.call("GET", "/crm/v8/Contacts/"+con+"/Deals", nil, badReq), 400, "REQUIRED_PARAM_MISSING")
}

func TestRelatedPaging(t *testing.T) {
	e := newEnv(t, Config{})
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Big Co"})[0]
	loadContacts(t, e.s, 250, func(i int, r map[string]any) {
		if i%2 == 0 {
			r["Account_Name"] = map[string]any{"id": acc}
		}
	})
	r := e.call("GET", "/crm/v8/Accounts/"+acc+"/Contacts"+q("fields", "Last_Name", "per_page", "100"), nil)
	wantStatus(t, r, 200)
	seen := len(r.data())
	tok := r.info()["next_page_token"].(string)
	for tok != "" {
		r = e.call("GET", "/crm/v8/Accounts/"+acc+"/Contacts"+q("fields", "Last_Name", "per_page", "100", "page_token", tok), nil)
		seen += len(r.data())
		tok, _ = r.info()["next_page_token"].(string)
	}
	if seen != 125 {
		t.Errorf("related paging saw %d contacts, want 125", seen)
	}
	// A token from one list is refused by another.
	r = e.call("GET", "/crm/v8/Contacts"+q("fields", "Last_Name", "per_page", "100"), nil)
	tok = r.info()["next_page_token"].(string)
	wantCode(t, e.call("GET", "/crm/v8/Accounts/"+acc+"/Contacts"+q("fields", "Last_Name", "page_token", tok), nil, badReq), 400, "INVALID_DATA")
}
