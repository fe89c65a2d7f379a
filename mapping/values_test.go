package mapping

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0", "0", true},
		{"-0.0", "0", true},
		{"+12", "12", true},
		{" 0012 ", "12", true},
		{"1.50", "1.5", true},
		{"1500.00", "1500", true},
		{".5", "0.5", true},
		{"5.", "5", true},
		{"-0.25", "-0.25", true},
		{"1e3", "1000", true},
		{"1.25E-2", "0.0125", true},
		{"12345678901234567890123", "12345678901234567890123", true},
		{"100e-2", "1", true},
		{"", "", false},
		{".", "", false},
		{"-", "", false},
		{"1,000", "", false},
		{"abc", "", false},
		{"NaN", "", false},
		{"Inf", "", false},
		{"0x10", "", false},
		{"1e", "", false},
		{"1e99999", "", false},
		{"1e-500", "", false},
		{"1 2", "", false},
		{"--1", "", false},
	}
	for _, tt := range tests {
		got, err := CanonicalDecimal(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("CanonicalDecimal(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// conv is a mapping with one field of every convertible kind.
func conv() Mapping {
	f := func(desk, crm string, t Type) FieldMap { return FieldMap{Desk: desk, CRM: crm, Type: t} }
	return Mapping{Module: Contacts, Fields: []FieldMap{
		f("lastName", "Last_Name", TypeText),
		f("cf_tier", "Tier", TypePicklist),
		f("cf_tags", "Tags", TypeMultiPicklist),
		f("cf_seats", "Seats", TypeInteger),
		f("cf_score", "Score", TypeDecimal),
		f("cf_vip", "VIP", TypeBoolean),
		f("cf_renewal", "Renewal", TypeDate),
		f("cf_seen", "Seen", TypeDateTime),
		f("accountId", "Account_Name", TypeLookup),
		f("annualrevenue", "Revenue", TypeCurrency),
		f("cf_untyped", "Untyped", ""),
	}}
}

func TestFromDeskAndFromCRM(t *testing.T) {
	refs := NewMapRefs(map[string]string{"D1": "C1"})
	tests := []struct {
		name   string
		side   Side
		field  string // Desk or CRM field name, per side
		raw    any
		want   any    // canonical value; ignored when wantProblem is set
		absent bool   // the key must be absent from Values
		prob   string // substring of the expected problem
	}{
		{"text trimmed", Desk, "lastName", "  Doe \n", "Doe", false, ""},
		{"blank text is nil", CRM, "Last_Name", "   ", nil, false, ""},
		{"null is nil", CRM, "Last_Name", nil, nil, false, ""},
		{"number into text", CRM, "Last_Name", json.Number("12.50"), "12.5", false, ""},
		{"picklist", Desk, "cf_tier", " Gold", "Gold", false, ""},
		{"multi from desk string", Desk, "cf_tags", "b; a;;b ", []string{"a", "b"}, false, ""},
		{"multi from crm array", CRM, "Tags", []any{"z", "a"}, []string{"a", "z"}, false, ""},
		{"crm -None- picklist is empty", CRM, "Tier", "-None-", nil, false, ""},
		{"crm -None- in a multi-select is dropped", CRM, "Tags", []any{"-None-", "a"}, []string{"a"}, false, ""},
		{"only -None- is empty", CRM, "Tags", []any{"-None-"}, nil, false, ""},
		{"-None- in a text field is text", CRM, "Last_Name", "-None-", "-None-", false, ""},
		{"multi empty array", CRM, "Tags", []any{}, nil, false, ""},
		{"multi with a number", CRM, "Tags", []any{"a", json.Number("1")}, nil, true, "List value given for a multipicklist field CRM Tags"},
		{"integer from desk string", Desk, "cf_seats", "0042", "42", false, ""},
		{"integer from crm number", CRM, "Seats", json.Number("7"), "7", false, ""},
		{"integer 12.0 is fine", CRM, "Seats", json.Number("12.0"), "12", false, ""},
		{"integer from float", CRM, "Seats", float64(3), "3", false, ""},
		{"text into integer", CRM, "Seats", "abc", nil, true, "Text value (3 characters) given for an integer field CRM Seats"},
		{"decimal into integer", Desk, "cf_seats", "12.5", nil, true, "Decimal value given for an integer field Desk cf_seats"},
		{"blank integer is nil", Desk, "cf_seats", "", nil, false, ""},
		{"decimal canonical", Desk, "cf_score", "1500.00", "1500", false, ""},
		{"decimal from number", CRM, "Score", json.Number("2.50"), "2.5", false, ""},
		{"currency standard field", Desk, "annualrevenue", json.Number("1e6"), "1000000", false, ""},
		{"bool native", CRM, "VIP", true, true, false, ""},
		{"bool from desk string", Desk, "cf_vip", "false", false, false, ""},
		{"bool from TRUE", Desk, "cf_vip", " TRUE ", true, false, ""},
		{"bool from yes", Desk, "cf_vip", "yes", nil, true, "Text value (3 characters) given for a boolean field Desk cf_vip"},
		{"bool from number", CRM, "VIP", json.Number("1"), nil, true, "Number value given for a boolean field CRM VIP"},
		{"date", Desk, "cf_renewal", "2025-02-28", "2025-02-28", false, ""},
		{"impossible date", Desk, "cf_renewal", "2025-02-30", nil, true, "Text value (10 characters) given for a date field"},
		{"datetime into date", CRM, "Renewal", "2025-02-28T10:00:00+05:30", nil, true, "Date-time value given for a date field"},
		{"desk datetime", Desk, "cf_seen", "2024-03-01T10:11:12.345Z", "2024-03-01T10:11:12Z", false, ""},
		{"crm datetime with offset", CRM, "Seen", "2024-03-01T15:41:12+05:30", "2024-03-01T10:11:12Z", false, ""},
		{"epoch millis datetime", Desk, "cf_seen", json.Number("1709287872345"), "2024-03-01T10:11:12Z", false, ""},
		{"bad datetime", CRM, "Seen", "yesterday", nil, true, "Text value (9 characters) given for a datetime field CRM Seen"},
		{"crm lookup object", CRM, "Account_Name", map[string]any{"id": "C9", "name": "Acme"}, "C9", false, ""},
		{"crm lookup null", CRM, "Account_Name", nil, nil, false, ""},
		{"desk account translated", Desk, "accountId", "D1", "C1", false, ""},
		{"desk account unlinked", Desk, "accountId", "D2", nil, true, "UNRESOLVED_REFERENCE contacts Desk accountId ↔ CRM Account_Name: Desk account D2 is not linked"},
		{"desk no account", Desk, "accountId", "", nil, false, ""},
		{"object into text", CRM, "Last_Name", map[string]any{"x": 1}, nil, true, "Object value given for a text field CRM Last_Name"},
		{"untyped is text", CRM, "Untyped", json.Number("5"), "5", false, ""},
		{"a value is never quoted", CRM, "Seats", strings.Repeat("x", 100), nil, true, "Text value (100 characters) given for an integer field"},
	}
	m := conv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f FieldMap
			var ok bool
			var v Values
			var probs []Problem
			if tt.side == Desk {
				f, ok = fieldBy(m, Desk, tt.field)
				rec := map[string]any{tt.field: tt.raw}
				if strings.HasPrefix(tt.field, "cf_") {
					v, probs = FromDesk(m, map[string]any{"cf": rec}, nil, refs)
				} else {
					v, probs = FromDesk(m, rec, nil, refs)
				}
			} else {
				f, ok = fieldBy(m, CRM, tt.field)
				v, probs = FromCRM(m, map[string]any{tt.field: tt.raw}, nil)
			}
			if !ok {
				t.Fatalf("no field %s", tt.field)
			}
			got, present := v[f.Key()]
			if tt.prob != "" {
				if len(probs) != 1 || !strings.Contains(probs[0].String(), tt.prob) {
					t.Fatalf("problems %v, want one containing %q", probs, tt.prob)
				}
			} else if len(probs) != 0 {
				t.Fatalf("unexpected problems %v", probs)
			}
			if tt.absent {
				if present {
					t.Fatalf("value %#v present, want absent", got)
				}
				return
			}
			if !present {
				t.Fatalf("value absent, want %#v", tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("value %#v (%T), want %#v (%T)", got, got, tt.want, tt.want)
			}
			if len(v) != 1 {
				t.Fatalf("values %v, want exactly one key (absent fields stay absent)", v)
			}
		})
	}
}

func TestProblemCodesForConversion(t *testing.T) {
	_, probs := FromCRM(conv(), map[string]any{"Seats": "abc", "VIP": "maybe", "Last_Name": "ok"}, nil)
	if len(probs) != 2 {
		t.Fatalf("got %v, want 2 problems (every bad field named)", probs)
	}
	for _, p := range probs {
		if p.Code != CodeTypeMismatch {
			t.Errorf("code %s, want TYPE_MISMATCH", p.Code)
		}
	}
}

func TestToCRM(t *testing.T) {
	m := conv()
	v := Values{
		"lastName=Last_Name":       "Doe",
		"cf_tier=Tier":             "Gold",
		"cf_tags=Tags":             []string{"a", "b"},
		"cf_seats=Seats":           "42",
		"cf_score=Score":           "1.5",
		"cf_vip=VIP":               false,
		"cf_renewal=Renewal":       "2025-02-28",
		"cf_seen=Seen":             "2024-03-01T10:11:12Z",
		"accountId=Account_Name":   "C1",
		"annualrevenue=Revenue":    nil,
		"not=Mapped":               "ignored",
		"cf_untyped=Untyped":       "x",
		"cf_missing=AlsoNotMapped": "y",
	}
	got := ToCRM(m, v, nil)
	want := map[string]any{
		"Last_Name":    "Doe",
		"Tier":         "Gold",
		"Tags":         []string{"a", "b"},
		"Seats":        json.Number("42"),
		"Score":        json.Number("1.5"),
		"VIP":          false,
		"Renewal":      "2025-02-28",
		"Seen":         "2024-03-01T10:11:12+00:00",
		"Account_Name": map[string]any{"id": "C1"},
		"Revenue":      nil,
		"Untyped":      "x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ToCRM =\n%#v\nwant\n%#v", got, want)
	}
}

func TestToDesk(t *testing.T) {
	m := conv()
	refs := NewMapRefs(map[string]string{"D1": "C1"})
	v := Values{
		"lastName=Last_Name":     "Doe",
		"cf_tags=Tags":           []string{"a", "b"},
		"cf_seats=Seats":         "42",
		"cf_vip=VIP":             true,
		"cf_seen=Seen":           "2024-03-01T10:11:12Z",
		"accountId=Account_Name": "C1",
		"annualrevenue=Revenue":  "1500.5",
		"cf_score=Score":         nil,
	}
	fields, cf := ToDesk(m, v, refs)
	wantFields := map[string]any{"lastName": "Doe", "accountId": "D1", "annualrevenue": json.Number("1500.5")}
	wantCF := map[string]any{"cf_tags": "a;b", "cf_seats": "42", "cf_vip": "true", "cf_seen": "2024-03-01T10:11:12.000Z", "cf_score": nil}
	if !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("fields = %#v, want %#v", fields, wantFields)
	}
	if !reflect.DeepEqual(cf, wantCF) {
		t.Errorf("cf = %#v, want %#v", cf, wantCF)
	}

	// An account with no Desk counterpart is left out and reported.
	v2 := Values{"accountId=Account_Name": "C2", "lastName=Last_Name": "Doe"}
	fields, _ = ToDesk(m, v2, refs)
	if _, ok := fields["accountId"]; ok {
		t.Errorf("unresolved account written: %v", fields)
	}
	acct, _ := m.Field("accountId=Account_Name")
	if p := Carry(m.Module, acct, v2[acct.Key()], Desk, refs); p == nil || p.Code != CodeUnresolvedReference || p.To != Desk {
		t.Errorf("Carry of an unlinked account to Desk = %v", p)
	}
	if p := Carry(m.Module, acct, v[acct.Key()], Desk, refs); p != nil {
		t.Errorf("Carry of a linked account to Desk = %v", p)
	}
	if p := Carry(m.Module, acct, v2[acct.Key()], CRM, refs); p != nil {
		t.Errorf("Carry of an account towards CRM = %v", p)
	}
}

func TestDirectionIsRespected(t *testing.T) {
	m := Mapping{Module: Contacts, Fields: []FieldMap{
		{Desk: "lastName", CRM: "Last_Name", Type: TypeText},
		{Desk: "title", CRM: "Title", Type: TypeText, Direction: CRMToDesk},
		{Desk: "phone", CRM: "Phone", Type: TypeText, Direction: DeskToCRM},
	}}
	v := Values{"lastName=Last_Name": "Doe", "title=Title": "CEO", "phone=Phone": "123"}
	crm := ToCRM(m, v, nil)
	if _, ok := crm["Title"]; ok || crm["Phone"] != "123" || crm["Last_Name"] != "Doe" {
		t.Errorf("ToCRM = %v", crm)
	}
	fields, _ := ToDesk(m, v, nil)
	if _, ok := fields["phone"]; ok || fields["title"] != "CEO" || fields["lastName"] != "Doe" {
		t.Errorf("ToDesk = %v", fields)
	}
	if got := FlowingTo(m, v, CRM); len(got) != 2 || got["title=Title"] != nil {
		t.Errorf("FlowingTo(CRM) = %v", got)
	}
	// Reading is not limited by direction: both sides' values are needed to compare.
	got, _ := FromCRM(m, map[string]any{"Title": "CEO", "Phone": "1"}, nil)
	if len(got) != 2 {
		t.Errorf("FromCRM = %v, want both fields read", got)
	}
}

func TestRoundTrips(t *testing.T) {
	m := conv()
	refs := NewMapRefs(map[string]string{"D1": "C1"})
	v := Values{
		"lastName=Last_Name":     "Doe",
		"cf_tier=Tier":           "Gold",
		"cf_tags=Tags":           []string{"a", "b"},
		"cf_seats=Seats":         "-42",
		"cf_score=Score":         "0.125",
		"cf_vip=VIP":             true,
		"cf_renewal=Renewal":     "2025-02-28",
		"cf_seen=Seen":           "2024-03-01T10:11:12Z",
		"accountId=Account_Name": "C1",
		"annualrevenue=Revenue":  "1500.5",
		"cf_untyped=Untyped":     "x",
	}
	// Through the wire as JSON, the way the clients see it.
	var crmRec map[string]any
	decodeJSON(t, ToCRM(m, v, refs), &crmRec)
	fromCRM, probs := FromCRM(m, crmRec, refs)
	if len(probs) != 0 || !Equal(v, fromCRM, nil) || Hash(v) != Hash(fromCRM) {
		t.Errorf("CRM round trip: %v %v\n got %v\nwant %v", probs, Equal(v, fromCRM, nil), fromCRM, v)
	}
	fields, cf := ToDesk(m, v, refs)
	fields["cf"] = cf
	var deskRec map[string]any
	decodeJSON(t, fields, &deskRec)
	fromDesk, probs := FromDesk(m, deskRec, nil, refs)
	if len(probs) != 0 || !Equal(v, fromDesk, nil) {
		t.Errorf("Desk round trip: %v\n got %v\nwant %v", probs, fromDesk, v)
	}
}

func decodeJSON(t *testing.T, in any, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		t.Fatal(err)
	}
}

func TestHashAndEqual(t *testing.T) {
	a := Values{"x": "1", "y": []string{"a", "b"}, "z": true, "n": nil}
	b := Values{"z": true, "y": []any{"b", "a"}, "x": "1"}
	if !Equal(a, b, nil) {
		t.Errorf("Equal(a, b) = false")
	}
	if Hash(a) != Hash(b) {
		t.Errorf("Hash differs for equal values: %s vs %s", Hash(a), Hash(b))
	}
	if len(Hash(a)) != 64 {
		t.Errorf("Hash length %d", len(Hash(a)))
	}
	tests := []struct {
		name string
		c    Values
	}{
		{"different string", Values{"x": "2", "y": []string{"a", "b"}, "z": true}},
		{"different bool", Values{"x": "1", "y": []string{"a", "b"}, "z": false}},
		{"missing list", Values{"x": "1", "z": true}},
		{"string vs bool", Values{"x": "1", "y": []string{"a", "b"}, "z": "true"}},
		{"key renamed", Values{"x2": "1", "y": []string{"a", "b"}, "z": true}},
	}
	for _, tt := range tests {
		if Equal(a, tt.c, nil) {
			t.Errorf("%s: Equal = true", tt.name)
		}
		if Hash(a) == Hash(tt.c) {
			t.Errorf("%s: same hash", tt.name)
		}
	}
	if !Equal(a, Values{"x": "1"}, []string{"x", "n"}) {
		t.Errorf("Equal restricted to keys x, n = false")
	}
	if Equal(a, Values{"x": "1"}, []string{"x", "y"}) {
		t.Errorf("Equal restricted to keys x, y = true")
	}
	if Hash(nil) != Hash(Values{"k": nil}) {
		t.Errorf("nil value hashes unlike absent key")
	}
}

func TestValuesJSONRoundTrip(t *testing.T) {
	v := Values{"s": "text", "n": "12.5", "b": false, "l": []string{"a", "b"}, "nil": nil}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Values
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back["l"], []string{"a", "b"}) || !Equal(v, back, nil) || Hash(v) != Hash(back) {
		t.Fatalf("round trip %#v → %#v", v, back)
	}
	var fromNumbers Values
	if err := json.Unmarshal([]byte(`{"n": 12.50}`), &fromNumbers); err != nil || fromNumbers["n"] != "12.5" {
		t.Fatalf("numbers: %#v, %v", fromNumbers, err)
	}
	if err := json.Unmarshal([]byte(`[1]`), &back); err == nil {
		t.Fatalf("array decoded as Values")
	}
	c := v.Clone()
	c["l"].([]string)[0] = "changed"
	if v["l"].([]string)[0] != "a" {
		t.Fatalf("Clone shares lists")
	}
}

// fieldBy returns the field pair whose field on side s is name.
func fieldBy(m Mapping, s Side, name string) (FieldMap, bool) {
	for _, f := range m.Fields {
		if (s == Desk && f.Desk == name) || (s == CRM && f.CRM == name) {
			return f, true
		}
	}
	return FieldMap{}, false
}
