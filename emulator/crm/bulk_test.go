package crm

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"testing"
	"time"
)

// waitJob polls a bulk read job until it completes (or fails the test
// after 10 s).
func (e *env) waitJob(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	seen := map[string]bool{}
	for {
		r := e.call("GET", "/crm/bulk/v8/read/"+id, nil)
		wantStatus(t, r, 200)
		job := r.data()[0]
		seen[job["state"].(string)] = true
		if job["state"] == stateCompleted {
			if !seen[stateCompleted] {
				t.Errorf("states seen %v", seen)
			}
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %v", id, job["state"])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func unzipCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("result is not a zip: %v", err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("zip has %d files", len(zr.File))
	}
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := io.ReadAll(f)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("bad csv: %v", err)
	}
	return rows
}

func TestBulkRead(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 30, func(i int, r map[string]any) {
		if i%3 == 0 {
			r["Email"] = nil
		}
		r["Seats"] = i
	})
	r := e.call("POST", "/crm/bulk/v8/read", map[string]any{
		"query": map[string]any{
			"module": map[string]any{"api_name": "Contacts"},
			"fields": []any{"Last_Name", "Email", "Seats"},
			"criteria": map[string]any{"group_operator": "and", "group": []any{
				map[string]any{"field": map[string]any{"api_name": "Email"}, "comparator": "contains", "value": "@example.com"},
				map[string]any{"field": map[string]any{"api_name": "Seats"}, "comparator": "greater_equal", "value": 10},
			}},
		},
	})
	wantStatus(t, r, http.StatusCreated)
	d := r.data()[0]
	det := d["details"].(map[string]any)
	if d["code"] != "ADDED_SUCCESSFULLY" || det["state"] != stateAdded || det["operation"] != "read" {
		t.Fatalf("create = %v", d)
	}
	job := e.waitJob(t, det["id"].(string))
	res := job["result"].(map[string]any)
	// Seats 10..29 with an email: 20 minus the 6 multiples of 3 in range.
	if res["count"] != float64(14) || res["more_records"] != false || res["per_page"] != float64(200000) || res["page"] != float64(1) {
		t.Errorf("result = %v", res)
	}
	r = e.call("GET", res["download_url"].(string), nil)
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/x-download" {
		t.Errorf("Content-Type = %q", ct)
	}
	rows := unzipCSV(t, r.raw)
	if len(rows) != 15 || rows[0][0] != "Id" || rows[0][1] != "Last_Name" || rows[0][3] != "Seats" {
		t.Errorf("csv header %v, %d rows", rows[0], len(rows))
	}
	for _, row := range rows[1:] {
		if !idRE.MatchString(row[0]) || row[2] == "" {
			t.Errorf("row = %v", row)
		}
	}

	// Page 2 of a small module is empty; no fields means all fields.
	r = e.call("POST", "/crm/bulk/v8/read", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"}, "page": 2}})
	job = e.waitJob(t, r.data()[0]["details"].(map[string]any)["id"].(string))
	if res := job["result"].(map[string]any); res["count"] != float64(0) || res["page"] != float64(2) {
		t.Errorf("page 2 result = %v", res)
	}
	r = e.call("POST", "/crm/bulk/v8/read", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"}}})
	job = e.waitJob(t, r.data()[0]["details"].(map[string]any)["id"].(string))
	r = e.call("GET", job["result"].(map[string]any)["download_url"].(string), nil)
	if rows := unzipCSV(t, r.raw); len(rows) != 31 || len(rows[0]) < 40 {
		t.Errorf("all-fields export: %d rows, %d columns", len(rows), len(rows[0]))
	}
	if c := e.s.Realism().Calls().Endpoints["POST /crm/bulk/v8/read"]; c.Credits != 150 {
		t.Errorf("bulk read credits = %d, want 150", c.Credits)
	}
}

func TestBulkReadCallback(t *testing.T) {
	e := newEnv(t, Config{})
	loadContacts(t, e.s, 3, nil)
	hook := newHookSink(t)
	r := e.call("POST", "/crm/bulk/v8/read", map[string]any{
		"callback": map[string]any{"url": hook.srv.URL + "/bulk", "method": "post"},
		"query":    map[string]any{"module": map[string]any{"api_name": "Contacts"}, "fields": []any{"Email"}},
	})
	wantStatus(t, r, http.StatusCreated)
	id := r.data()[0]["details"].(map[string]any)["id"].(string)
	got := hook.waitFor(t, 1)[0]
	if got["job_id"] != id || got["state"] != stateCompleted || got["result"].(map[string]any)["count"] != float64(3) {
		t.Errorf("callback = %v", got)
	}
}

func TestBulkReadErrors(t *testing.T) {
	e := newEnv(t, Config{})
	wantCode(t, e.call("GET", "/crm/bulk/v8/read/5725767000002999999", nil), http.StatusNotFound, "RESOURCE_NOT_FOUND")
	wantCode(t, e.call("GET", "/crm/bulk/v8/read/5725767000002999999/result", nil), http.StatusBadRequest, "RESOURCE_NOT_FOUND")
	tests := []struct {
		name string
		body any
		code string
	}{
		{"malformed", `{"query":`, "INVALID_DATA"},
		{"no query", map[string]any{}, "REQUIRED_PARAM_MISSING"},
		{"unknown module", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Widgets"}}}, "INVALID_DATA"},
		{"unknown field", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"}, "fields": []any{"Nope"}}}, "INVALID_DATA"},
		{"bad page", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"}, "page": 0}}, "INVALID_DATA"},
		{"bad comparator", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"},
			"criteria": map[string]any{"field": map[string]any{"api_name": "Email"}, "comparator": "like", "value": "x"}}}, "INVALID_CRITERIA"},
		// A value the field cannot hold is refused, not compared as zero (which matched every record).
		{"time that is not one", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"},
			"criteria": map[string]any{"field": map[string]any{"api_name": "Created_Time"}, "comparator": "greater_than", "value": "yesterday"}}},
			"FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"},
		{"comparator the field's type does not take", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Contacts"},
			"criteria": map[string]any{"field": map[string]any{"api_name": "Created_Time"}, "comparator": "contains", "value": "2026"}}},
			"FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE"},
		{"number that is not one", map[string]any{"query": map[string]any{"module": map[string]any{"api_name": "Accounts"},
			"criteria": map[string]any{"field": map[string]any{"api_name": "Employees"}, "comparator": "between", "value": []any{"1", "many"}}}},
			"FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE"},
		{"bad callback method", map[string]any{"callback": map[string]any{"url": "https://example.com/cb", "method": "get"},
			"query": map[string]any{"module": map[string]any{"api_name": "Contacts"}}}, "INVALID_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.call("POST", "/crm/bulk/v8/read", tt.body, badReq), http.StatusBadRequest, tt.code)
		})
	}
}
