package crm

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// merge posts a merge of children into master. The Merge Records API is not in the official
// OAS the env validates against, so only what the spec knows is checked (badReq).
func (e *env) merge(module, master string, body any) resp {
	e.t.Helper()
	return e.call("POST", "/crm/v8/"+module+"/"+master+"/actions/merge", body, badReq)
}

// mergeBody is {"merge":[{"data":[{"id":child,"_fields":[{"api_name":f}...]}...]}]}.
func mergeBody(children map[string][]string, order ...string) map[string]any {
	var data []any
	for _, id := range order {
		var fields []any
		for _, f := range children[id] {
			fields = append(fields, map[string]any{"api_name": f})
		}
		data = append(data, map[string]any{"id": id, "_fields": fields})
	}
	return map[string]any{"merge": []any{map[string]any{"data": data}}}
}

// pointsAt reports the fields of rec (rendered) whose lookup names id.
func pointsAt(rec map[string]any, id string) []string {
	var out []string
	for k, v := range rec {
		if m, ok := v.(map[string]any); ok && m["id"] == id {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestMergeContacts(t *testing.T) {
	clk := newClock()
	e := newEnv(t, Config{Now: clk.Now, NotifyWindow: 30 * time.Millisecond})
	hook := newHookSink(t)
	wantStatus(t, e.call("POST", "/crm/v8/actions/watch", map[string]any{"watch": []any{map[string]any{
		"channel_id": 1000000068001, "notify_url": hook.srv.URL, "return_affected_field_values": true,
		"events": []any{"Contacts.all", "Deals.all", "Notes.all", "Tasks.all", "Events.all", "Calls.all"},
	}}}), http.StatusCreated)

	acc := e.insert("Accounts", map[string]any{"Account_Name": "Blue Falcon"})[0]
	ids := e.insert("Contacts",
		map[string]any{"Last_Name": "Lawrence", "First_Name": "Jen", "Email": "jen@falcon.example", "Phone": "111", "Account_Name": acc},
		map[string]any{"Last_Name": "Lawrence", "Email": "jennifer@falcon.example", "Phone": "222", "Title": "CTO"},
		map[string]any{"Last_Name": "Lawrence", "Mobile": "333", "Department": "IT"},
	)
	master, c1, c2 := ids[0], ids[1], ids[2]
	report := e.insert("Contacts", map[string]any{"Last_Name": "Report", "Reporting_To": c1})[0]
	deal := e.insert("Deals", map[string]any{"Deal_Name": "Renewal", "Stage": "Qualification", "Contact_Name": c1})[0]
	notes, err := e.s.Load("Notes", []map[string]any{{"Note_Content": "called", "Parent_Id": map[string]any{"id": c2}, "$se_module": "Contacts"}})
	if err != nil {
		t.Fatal(err)
	}
	note := notes[0]
	task := e.insert("Tasks", map[string]any{"Subject": "follow up", "Who_Id": c2})[0]
	event := e.insert("Events", map[string]any{"Event_Title": "demo", "Start_DateTime": "2026-03-02T10:00:00Z",
		"End_DateTime": "2026-03-02T11:00:00Z", "Who_Id": c1})[0]
	call := e.insert("Calls", map[string]any{"Subject": "intro", "Call_Type": "Outbound", "Call_Start_Time": "2026-03-01T09:00:00Z", "Who_Id": c2})[0]
	before, _ := e.s.Record("Contacts", master)
	hook.waitFor(t, 1) // the creates
	time.Sleep(80 * time.Millisecond)
	hook.mu.Lock()
	hook.calls = nil
	hook.mu.Unlock()

	clk.Add(time.Minute) // within the channel's hour
	r := e.merge("Contacts", master, mergeBody(map[string][]string{c1: {"Phone", "Title"}, c2: {"Mobile", "Email"}}, c1, c2))
	wantStatus(t, r, http.StatusOK)
	res := r.body["merge"].([]any)[0].(map[string]any)
	job, _ := res["details"].(map[string]any)["job_id"].(string)
	if res["code"] != "SUCCESS" || res["status"] != "success" || job == "" {
		t.Fatalf("merge answer = %s", r.raw)
	}

	t.Run("master holds the chosen values", func(t *testing.T) {
		got, ok := e.s.Record("Contacts", master)
		if !ok {
			t.Fatal("master is gone")
		}
		want := map[string]any{"Phone": "222", "Title": "CTO", "Mobile": "333", "First_Name": "Jen", "Department": nil}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if got["Email"] != nil {
			t.Errorf("Email = %v, want unset (taken from a child without one)", got["Email"])
		}
		if pointsAt(got, acc) == nil {
			t.Errorf("master lost its account: %v", got["Account_Name"])
		}
		if got["Modified_Time"] == before["Modified_Time"] || got["Modified_Time"] != "2025-03-01T10:01:00+00:00" {
			t.Errorf("Modified_Time = %v (was %v), want the merge's time", got["Modified_Time"], before["Modified_Time"])
		}
		if got["Modified_By"] == nil {
			t.Error("Modified_By is not set")
		}
		r := e.call("GET", "/crm/v8/Contacts/search"+q("criteria", "(Mobile:equals:333)", "per_page", "200"), nil)
		if d := r.data(); len(d) != 1 || d[0]["id"] != master {
			t.Errorf("search Mobile=333 = %s, want the master only", r.raw)
		}
	})
	t.Run("children are deleted permanently", func(t *testing.T) {
		for _, id := range []string{c1, c2} {
			if _, ok := e.s.Record("Contacts", id); ok {
				t.Errorf("child %s is still live", id)
			}
			wantCode(t, e.call("GET", "/crm/v8/Contacts/"+id, nil), http.StatusBadRequest, "INVALID_DATA")
		}
		r := e.call("GET", "/crm/v8/Contacts/deleted"+q("type", "permanent"), nil)
		wantStatus(t, r, http.StatusOK)
		var got []string
		for _, d := range r.data() {
			if d["type"] != "permanent" {
				t.Errorf("deleted item %v, want type permanent", d)
			}
			got = append(got, d["id"].(string))
		}
		slices.Sort(got)
		if want := []string{c1, c2}; !slices.Equal(got, want) {
			t.Errorf("permanently deleted = %v, want %v", got, want)
		}
		if r := e.call("GET", "/crm/v8/Contacts/deleted"+q("type", "recycle"), nil); r.status != http.StatusNoContent {
			t.Errorf("recycle bin = %d %s, want empty", r.status, r.raw)
		}
	})
	t.Run("related records point at the master", func(t *testing.T) {
		for list, want := range map[string]string{"Deals": deal, "Notes": note, "Tasks": task, "Events": event, "Calls": call, "Contacts": report} {
			r := e.call("GET", "/crm/v8/Contacts/"+master+"/"+list+q("fields", "id"), nil)
			if d := r.data(); len(d) != 1 || d[0]["id"] != want {
				t.Errorf("%s of the master = %s, want %s", list, r.raw, want)
			}
		}
	})
	t.Run("nothing points at a child", func(t *testing.T) {
		for _, mod := range moduleNames {
			for _, rec := range e.s.Records(mod) {
				for _, child := range []string{c1, c2} {
					if f := pointsAt(rec, child); f != nil {
						t.Errorf("%s %v: %v still point at merged %s", mod, rec["id"], f, child)
					}
				}
			}
		}
	})
	t.Run("status", func(t *testing.T) {
		r := e.call("GET", "/crm/v8/Contacts/"+master+"/actions/merge", nil, badReq)
		wantStatus(t, r, http.StatusOK)
		if got := r.body["merge"].([]any)[0].(map[string]any); got["job_id"] != job || got["status"] != "COMPLETED" {
			t.Errorf("status = %s", r.raw)
		}
		r = e.call("GET", "/crm/v8/Contacts/"+master+"/actions/merge"+q("job_id", job), nil, badReq)
		wantStatus(t, r, http.StatusOK)
		wantCode(t, e.call("GET", "/crm/v8/Contacts/"+master+"/actions/merge"+q("job_id", "1"), nil, badReq), http.StatusBadRequest, "INVALID_DATA")
		if r := e.call("GET", "/crm/v8/Contacts/"+report+"/actions/merge", nil, badReq); r.status != http.StatusNoContent {
			t.Errorf("status of a record never merged = %d, want 204", r.status)
		}
		wantCode(t, e.call("GET", "/crm/v8/Contacts/"+c1+"/actions/merge", nil, badReq), http.StatusBadRequest, "INVALID_DATA")
	})
	t.Run("notifications", func(t *testing.T) {
		calls := hook.waitFor(t, 6)
		time.Sleep(100 * time.Millisecond)
		hook.mu.Lock()
		calls = append(calls[:0:0], hook.calls...)
		hook.mu.Unlock()
		got := map[string][]string{}
		var affected any
		for _, c := range calls {
			key := c["module"].(string) + "." + c["operation"].(string)
			got[key] = append(got[key], strs(c["ids"])...)
			if key == "Contacts.update" {
				affected = c["affected_fields"]
			}
		}
		want := map[string][]string{
			"Contacts.update": sorted(master, report), "Contacts.delete": sorted(c1, c2),
			"Deals.update": {deal}, "Notes.update": {note}, "Tasks.update": {task}, "Events.update": {event}, "Calls.update": {call},
		}
		for k, v := range want {
			slices.Sort(got[k])
			if !slices.Equal(got[k], v) {
				t.Errorf("%s ids = %v, want %v", k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("notifications = %v, want %v", got, want)
		}
		if s := fmt.Sprint(affected); s == "" || !containsAll(s, "Phone", "Title", "Mobile", "Email", "Reporting_To") {
			t.Errorf("affected_fields = %v", affected)
		}
	})
	t.Run("credits", func(t *testing.T) {
		st := e.s.Realism().Calls().Endpoints["POST /crm/v8/Contacts/{id}/actions/merge"]
		if st.Calls != 1 || st.Credits != 1 {
			t.Errorf("merge calls/credits = %d/%d, want 1/1", st.Calls, st.Credits)
		}
	})
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func TestMergeAccounts(t *testing.T) {
	e := newEnv(t, Config{})
	ids := e.insert("Accounts",
		map[string]any{"Account_Name": "Blue Falcon", "Phone": "1"},
		map[string]any{"Account_Name": "BLUE FALCON, INC", "Website": "falcon.example"},
		map[string]any{"Account_Name": "Blue Falcon Holdings", "Parent_Account": nil})
	master, child, parent := ids[0], ids[1], ids[2]
	// The master's parent is the child: after the merge it would be its own parent.
	wantStatus(t, e.call("PUT", "/crm/v8/Accounts/"+master, map[string]any{"data": []any{map[string]any{"Parent_Account": child}}}), 200)
	wantStatus(t, e.call("PUT", "/crm/v8/Accounts/"+parent, map[string]any{"data": []any{map[string]any{"Parent_Account": child}}}), 200)
	contact := e.insert("Contacts", map[string]any{"Last_Name": "Ann", "Account_Name": child})[0]
	deal := e.insert("Deals", map[string]any{"Deal_Name": "Big", "Stage": "Qualification", "Account_Name": child})[0]
	task := e.insert("Tasks", map[string]any{"Subject": "call", "What_Id": child, "$se_module": "Accounts"})[0]

	r := e.merge("Accounts", master, mergeBody(map[string][]string{child: {"Account_Name", "Website"}}, child))
	wantStatus(t, r, http.StatusOK)

	got, _ := e.s.Record("Accounts", master)
	if got["Account_Name"] != "BLUE FALCON, INC" || got["Website"] != "falcon.example" || got["Phone"] != "1" {
		t.Errorf("master = %v", got)
	}
	if got["Parent_Account"] != nil {
		t.Errorf("master's Parent_Account = %v, want cleared (it was the child)", got["Parent_Account"])
	}
	if p, _ := e.s.Record("Accounts", parent); pointsAt(p, master) == nil {
		t.Errorf("Parent_Account of %s = %v, want the master", parent, p["Parent_Account"])
	}
	if c, _ := e.s.Record("Contacts", contact); pointsAt(c, master) == nil || c["Account_Name"].(map[string]any)["name"] != "BLUE FALCON, INC" {
		t.Errorf("contact's Account_Name = %v, want the master", c["Account_Name"])
	}
	for list, want := range map[string]string{"Contacts": contact, "Deals": deal, "Tasks": task} {
		r := e.call("GET", "/crm/v8/Accounts/"+master+"/"+list+q("fields", "id"), nil)
		if d := r.data(); len(d) != 1 || d[0]["id"] != want {
			t.Errorf("%s of the master = %s", list, r.raw)
		}
	}
	// The unique name moved with the merge: the master holds it, the old one is free.
	r = e.call("POST", "/crm/v8/Accounts", map[string]any{"data": []any{map[string]any{"Account_Name": "blue falcon, inc"}}})
	if d := dupDetails(t, r); d["id"] != master || d["more_records"] != false {
		t.Errorf("duplicate of the merged name = %v, want the master alone", d)
	}
	e.insert("Accounts", map[string]any{"Account_Name": "Blue Falcon"})
	r = e.call("GET", "/crm/v8/Accounts/search"+q("criteria", "(Account_Name:equals:BLUE FALCON, INC)", "per_page", "200"), nil)
	if d := r.data(); len(d) != 1 || d[0]["id"] != master {
		t.Errorf("search of the merged name = %s", r.raw)
	}
	r = e.call("GET", "/crm/v8/Accounts/deleted", nil)
	if d := r.data(); len(d) != 1 || d[0]["id"] != child || d[0]["type"] != "permanent" {
		t.Errorf("deleted = %s, want the child, permanent", r.raw)
	}
}

func TestMergeErrors(t *testing.T) {
	e := newEnv(t, Config{})
	cs := e.insert("Contacts", map[string]any{"Last_Name": "M"}, map[string]any{"Last_Name": "C1"},
		map[string]any{"Last_Name": "C2"}, map[string]any{"Last_Name": "C3"})
	master, c1, c2, c3 := cs[0], cs[1], cs[2], cs[3]
	acc := e.insert("Accounts", map[string]any{"Account_Name": "Solo"})[0]
	twins, err := e.s.Load("Accounts", []map[string]any{{"Account_Name": "Twin"}, {"Account_Name": "Twin"}})
	if err != nil {
		t.Fatal(err)
	}
	one := func(id string, fields ...string) map[string]any {
		return mergeBody(map[string][]string{id: fields}, id)
	}
	type tc struct {
		name, module, master string
		body                 any
		status               int
		code                 string // top-level code, or the merge item's
		inItem               bool
		detail               string // a details key:value expected
	}
	for _, c := range []tc{
		{"module not mergeable", "Deals", master, one(c1), 400, "INVALID_MODULE", false, "resource_path_index:0"},
		{"unknown module", "Nope", master, one(c1), 400, "INVALID_MODULE", false, ""},
		{"unknown master", "Contacts", "5725767000009999999", one(c1), 400, "INVALID_DATA", false, "resource_path_index:1"},
		{"master of another module", "Contacts", acc, one(c1), 400, "INVALID_DATA", false, "resource_path_index:1"},
		{"no merge", "Contacts", master, map[string]any{}, 400, "MANDATORY_NOT_FOUND", false, "json_path:$.merge"},
		{"merge not an array", "Contacts", master, map[string]any{"merge": "x"}, 400, "INVALID_DATA", false, "expected_data_type:jsonarray"},
		{"two merges", "Contacts", master, map[string]any{"merge": []any{one(c1)["merge"].([]any)[0], one(c2)["merge"].([]any)[0]}},
			400, "INVALID_DATA", false, "maximum_length:1"},
		{"no data", "Contacts", master, map[string]any{"merge": []any{map[string]any{}}}, 400, "MANDATORY_NOT_FOUND", false, "json_path:$.merge[0].data"},
		{"three children", "Contacts", master, mergeBody(map[string][]string{c1: nil, c2: nil, c3: nil}, c1, c2, c3),
			400, "INVALID_DATA", false, "maximum_length:2"},
		{"child without id", "Contacts", master, map[string]any{"merge": []any{map[string]any{"data": []any{map[string]any{}}}}},
			400, "MANDATORY_NOT_FOUND", true, "json_path:$.merge[0].data[0].id"},
		{"unknown child", "Contacts", master, one("5725767000009999999"), 400, "INVALID_DATA", true, "id:5725767000009999999"},
		{"child of another module", "Contacts", master, one(acc), 400, "INVALID_DATA", true, "id:" + acc},
		{"master among the children", "Contacts", master, one(master), 400, "INVALID_DATA", true, "id:" + master},
		{"child twice", "Contacts", master, mergeBody(map[string][]string{c1: nil}, c1, c1), 400, "INVALID_DATA", true, "json_path:$.merge[0].data[1].id"},
		{"unknown field", "Contacts", master, one(c1, "Nope"), 400, "INVALID_DATA", true, "api_name:Nope"},
		{"read-only field", "Contacts", master, one(c1, "Full_Name"), 400, "INVALID_DATA", true, "api_name:Full_Name"},
		{"system field", "Contacts", master, one(c1, "Created_Time"), 400, "INVALID_DATA", true, "api_name:Created_Time"},
		{"field from two children", "Contacts", master, mergeBody(map[string][]string{c1: {"Phone"}, c2: {"Phone"}}, c1, c2),
			400, "INVALID_DATA", true, "json_path:$.merge[0].data[1]._fields[0].api_name"},
		{"unknown master_record_fields", "Contacts", master, map[string]any{"merge": []any{map[string]any{
			"data": []any{map[string]any{"id": c1}}, "master_record_fields": []any{map[string]any{"api_name": "Nope"}}}}},
			400, "INVALID_DATA", true, "json_path:$.merge[0].master_record_fields[0].api_name"},
		{"unique value another record holds", "Accounts", acc, one(twins[0], "Account_Name"), 400, "DUPLICATE_DATA", true, "id:" + twins[1]},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", "/crm/v8/"+c.module+"/"+c.master+"/actions/merge", c.body, badReq)
			wantStatus(t, r, c.status)
			got := r.body
			if c.inItem {
				items, _ := r.body["merge"].([]any)
				if len(items) != 1 {
					t.Fatalf("answer %s, want one merge item", r.raw)
				}
				got = items[0].(map[string]any)
			}
			if got["code"] != c.code || got["status"] != "error" {
				t.Fatalf("answer %s, want code %s", r.raw, c.code)
			}
			if c.detail != "" {
				d, _ := got["details"].(map[string]any)
				k, v, _ := strings.Cut(c.detail, ":")
				if fmt.Sprint(d[k]) != v {
					t.Errorf("details %v, want %s=%s", d, k, v)
				}
			}
		})
	}
	wantCode(t, e.call("PUT", "/crm/v8/Contacts/"+master+"/actions/merge", one(c1), badReq), http.StatusBadRequest, "INVALID_REQUEST_METHOD")
	if n := e.s.Count("Contacts"); n != 4 {
		t.Errorf("contacts after failed merges = %d, want 4", n)
	}
	if n := e.s.Count("Accounts"); n != 3 {
		t.Errorf("accounts after failed merges = %d, want 3", n)
	}
	if r := e.call("GET", "/crm/v8/Contacts/deleted", nil); r.status != http.StatusNoContent {
		t.Errorf("deleted after failed merges = %d %s", r.status, r.raw)
	}
}
