package crm_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	crmemu "deskcrm/emulator/crm"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
)

// ist is the org's time zone in these tests: +05:30 all year.
var ist = time.FixedZone("IST", 5*3600+1800)

// TestEmuWireTypes pins how values travel through the client and the CRM
// emulator, as the real API carries them (zoho-api.md A3, A8): JSON
// booleans; dates as yyyy-MM-dd with no time-zone shift; datetimes with an
// offset stored as the instant and returned in the org's offset; multi-select
// picklists as arrays; currency and decimals rounded to the field's
// decimal_place; phones, emoji and combining characters unchanged.
func TestEmuWireTypes(t *testing.T) {
	e := newEnvWith(t, crmemu.Config{Location: ist}, nil)
	ctx := context.Background()
	for _, f := range []crmemu.Field{
		{APIName: "Channels", DataType: "multiselectpicklist", PickList: []string{"Email", "Phone", "Chat"}},
		{APIName: "Ratio", DataType: "decimal", DecimalPlace: 3},
	} {
		if err := e.emu.AddField("Contacts", f); err != nil {
			t.Fatal(err)
		}
	}
	const (
		phone = "+1 (555) 010-0199 ext. 12"
		first = "Zoë 😀 Zoe\u0308" // precomposed ë, an emoji, e + combining diaeresis
	)
	rec := map[string]any{
		"Last_Name": "Wire", "First_Name": first, "Phone": phone,
		"Email_Opt_Out": true, "VIP": false,
		"Date_of_Birth": "1990-02-28", "Renewal_Date": "2026-12-31",
		"Last_Login":     "2026-01-02T03:04:05+05:30",
		"Channels":       []any{"Phone", "Email"},
		"Lifetime_Value": json.Number("1234.565"), // currency, 2 places: half away from zero
		"Health_Score":   json.Number("-2.005"),   // double, 2 places
		"Ratio":          json.Number("1.23456"),  // decimal, 3 places
		"Seats":          json.Number("999999999"),
	}
	res, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: rec}})
	if err != nil || !res[0].OK() {
		t.Fatalf("insert: %v %+v", err, res)
	}
	id := res[0].ID
	got, err := e.client.Get(ctx, "Contacts", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"First_Name": first, "Phone": phone, "Email_Opt_Out": true, "VIP": false,
		"Date_of_Birth": "1990-02-28", "Renewal_Date": "2026-12-31",
		"Last_Login":     "2026-01-02T03:04:05+05:30",
		"Lifetime_Value": json.Number("1234.57"), "Health_Score": json.Number("-2.01"),
		"Ratio": json.Number("1.235"), "Seats": json.Number("999999999"),
	}
	for k, w := range want {
		if got.Fields[k] != w {
			t.Errorf("%s = %#v, want %#v", k, got.Fields[k], w)
		}
	}
	if ch, _ := got.Fields["Channels"].([]any); len(ch) != 2 || ch[0] != "Phone" || ch[1] != "Email" {
		t.Errorf("Channels = %#v, want [Phone Email] in the order given", got.Fields["Channels"])
	}
	// System datetimes are rendered in the org's offset as well.
	if _, off := got.CreatedTime.Zone(); off != 5*3600+1800 {
		t.Errorf("Created_Time offset = %d s, want +05:30", off)
	}

	// The same instant written with other offsets reads back in the org's.
	for _, in := range []string{"2026-01-01T21:34:05Z", "2026-01-01T16:34:05-05:00", "2026-01-01T21:34:05+00:00"} {
		up, err := e.client.Update(ctx, "Contacts", []crm.Record{{ID: id, Fields: map[string]any{"Last_Login": in}}})
		if err != nil || !up[0].OK() {
			t.Fatalf("update Last_Login %s: %v %+v", in, err, up)
		}
		r, err := e.client.Get(ctx, "Contacts", id, []string{"Last_Login"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Fields["Last_Login"] != "2026-01-02T03:04:05+05:30" {
			t.Errorf("Last_Login written as %s reads %v, want 2026-01-02T03:04:05+05:30", in, r.Fields["Last_Login"])
		}
	}
}

// TestEmuWireRejections: values of the wrong shape or longer than the field
// answer per-record INVALID_DATA naming the field; a too-long value carries
// maximum_length (zoho-api.md A5). Text length counts UTF-16 code units.
func TestEmuWireRejections(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		fields   map[string]any
		field    string
		code     string // zoho failure code
		maxLen   int
		expected string // expected_data_type, when a type mismatch
	}{
		{"81 characters in an 80 one", map[string]any{"Last_Name": strings.Repeat("a", 81)}, "Last_Name", zoho.CodeValueTooLong, 80, ""},
		{"21 emoji in a 40 one", map[string]any{"Last_Name": "X", "First_Name": strings.Repeat("😀", 21)}, "First_Name", zoho.CodeValueTooLong, 40, ""},
		{"10 digits in a 9 digit number", map[string]any{"Last_Name": "X", "Seats": json.Number("1000000000")}, "Seats", zoho.CodeValueTooLong, 9, ""},
		{"31 characters in a phone", map[string]any{"Last_Name": "X", "Phone": strings.Repeat("1", 31)}, "Phone", zoho.CodeValueTooLong, 30, ""},
		{"boolean as a string", map[string]any{"Last_Name": "X", "Email_Opt_Out": "true"}, "Email_Opt_Out", zoho.CodeTypeMismatch, 0, "boolean"},
		{"date with a time", map[string]any{"Last_Name": "X", "Date_of_Birth": "1990-02-28T00:00:00+00:00"}, "Date_of_Birth", zoho.CodeTypeMismatch, 0, "date"},
		{"impossible date", map[string]any{"Last_Name": "X", "Date_of_Birth": "1990-02-30"}, "Date_of_Birth", zoho.CodeTypeMismatch, 0, "date"},
		{"datetime without offset", map[string]any{"Last_Name": "X", "Last_Login": "2026-01-02T03:04:05"}, "Last_Login", zoho.CodeTypeMismatch, 0, "datetime"},
		{"number as a string", map[string]any{"Last_Name": "X", "Seats": "12"}, "Seats", zoho.CodeTypeMismatch, 0, "integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: tt.fields}})
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			if r.OK() {
				t.Fatalf("accepted: %+v", r)
			}
			if r.Err.Code != "INVALID_DATA" || r.Err.APIName != tt.field || r.Err.JSONPath != "$.data[0]."+tt.field {
				t.Errorf("error = %v (path %s), want INVALID_DATA on %s", r.Err, r.Err.JSONPath, tt.field)
			}
			if got := zoho.FailureCode(r.Err); got != tt.code {
				t.Errorf("FailureCode = %s, want %s", got, tt.code)
			}
			if n, ok := r.Err.MaxLength(); ok != (tt.maxLen > 0) || n != tt.maxLen {
				t.Errorf("MaxLength = %d, %v; want %d", n, ok, tt.maxLen)
			}
			if r.Err.ExpectedType != tt.expected {
				t.Errorf("ExpectedType = %q, want %q", r.Err.ExpectedType, tt.expected)
			}
		})
	}
	// At the limit is accepted: 40 UTF-16 units = 20 emoji, 80 ASCII.
	res, err := e.client.Insert(ctx, "Contacts", []crm.Record{{Fields: map[string]any{
		"Last_Name": strings.Repeat("a", 80), "First_Name": strings.Repeat("😀", 20), "Phone": strings.Repeat("1", 30)}}})
	if err != nil || !res[0].OK() {
		t.Errorf("values at the limit: %v %+v", err, res)
	}
}
