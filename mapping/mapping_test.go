package mapping

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Mapping
		wantErr []string // substrings that must all appear in the error
	}{
		{
			name: "defaults filled",
			in:   `{"module":"contacts","fields":[{"desk":"lastName","crm":"Last_Name"},{"desk":"cf_seats","crm":"Seats","type":"integer","direction":"crm-to-desk","policy":"crm-wins"}]}`,
			want: Mapping{Module: Contacts, Fields: []FieldMap{
				{Desk: "lastName", CRM: "Last_Name", Direction: Both, Policy: Newest},
				{Desk: "cf_seats", CRM: "Seats", Type: TypeInteger, Direction: CRMToDesk, Policy: CRMWins},
			}},
		},
		{
			name:    "syntax error has line and column",
			in:      "{\"module\":\"contacts\",\n \"fields\": [ {\"desk\": } ]}",
			wantErr: []string{"line 2 column"},
		},
		{
			name:    "unknown key in a field names the index",
			in:      `{"module":"contacts","fields":[{"desk":"a","crm":"B"},{"desk":"a2","crm":"B2","dir":"both"}]}`,
			wantErr: []string{"fields[1]", `unknown field "dir"`},
		},
		{
			name:    "wrong JSON type",
			in:      `{"module":"contacts","fields":[{"desk":5,"crm":"B"}]}`,
			wantErr: []string{"fields[0]", "desk must be a JSON string, not number"},
		},
		{
			name:    "trailing data",
			in:      `{"module":"contacts","fields":[{"desk":"a","crm":"B"}]} {}`,
			wantErr: []string{"unexpected data"},
		},
		{
			name: "every structural problem is named",
			in: `{"module":"leads","fields":[
				{"desk":"lastName","crm":"Last_Name","direction":"sideways"},
				{"desk":"lastName","crm":"Other","policy":"loudest"},
				{"desk":"x y","crm":"Desk_ID","type":"money"}]}`,
			wantErr: []string{
				`module "leads" is not one of contacts, accounts`,
				`fields[0].direction: "sideways" is not a direction`,
				`fields[1].policy: "loudest" is not a policy`,
				`Desk field lastName is already mapped in fields[0]`,
				`fields[2].desk: "x y" is not a field API name`,
				`fields[2].type: "money" is not a type`,
				`RESERVED_FIELD`,
			},
		},
		{
			name:    "no fields",
			in:      `{"module":"accounts","fields":[]}`,
			wantErr: []string{"the mapping has no fields"},
		},
		{
			name:    "CRM field mapped twice",
			in:      `{"module":"accounts","fields":[{"desk":"phone","crm":"Phone"},{"desk":"fax","crm":"Phone"}]}`,
			wantErr: []string{"DUPLICATE_FIELD", "CRM field Phone is already mapped in fields[0]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Parse succeeded, want error containing %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Module != tt.want.Module || len(got.Fields) != len(tt.want.Fields) {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
			for i := range got.Fields {
				if !reflect.DeepEqual(got.Fields[i], tt.want.Fields[i]) {
					t.Errorf("field %d = %+v, want %+v", i, got.Fields[i], tt.want.Fields[i])
				}
			}
		})
	}
}

func TestValidationErrorListsAll(t *testing.T) {
	m := Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "cf_crm_id", CRM: "X"}, {Desk: "a", CRM: "Desk_ID"}}}
	err := m.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	if len(ve.Problems) != 2 {
		t.Fatalf("got %d problems, want 2: %v", len(ve.Problems), err)
	}
	for _, p := range ve.Problems {
		if p.Code != CodeReservedField {
			t.Errorf("problem %v, want RESERVED_FIELD", p)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		modules []Module
		wantErr string
	}{
		{"single object", `{"module":"contacts","fields":[{"desk":"lastName","crm":"Last_Name"}]}`, []Module{Contacts}, ""},
		{"array", `[{"module":"contacts","fields":[{"desk":"lastName","crm":"Last_Name"}]},{"module":"accounts","fields":[{"desk":"accountName","crm":"Account_Name"}]}]`, []Module{Contacts, Accounts}, ""},
		{"module twice", `[{"module":"contacts","fields":[{"desk":"lastName","crm":"Last_Name"}]},{"module":"contacts","fields":[{"desk":"email","crm":"Email"}]}]`, nil, "already mapped by mapping [0]"},
		{"bad element", `[{"module":"contacts","fields":[{"desk":"lastName","crm":"Last_Name","direction":"up"}]}]`, nil, "mapping [0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseList error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseList: %v", err)
			}
			if len(got) != len(tt.modules) {
				t.Fatalf("got %d mappings, want %d", len(got), len(tt.modules))
			}
			for i, m := range got {
				if m.Module != tt.modules[i] {
					t.Errorf("mapping %d module %s, want %s", i, m.Module, tt.modules[i])
				}
			}
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	for _, mod := range []Module{Contacts, Accounts} {
		for name, m := range map[string]Mapping{"default": Default(mod), "demo": DemoMapping(mod)} {
			if err := m.Validate(); err != nil {
				t.Errorf("%s %s: %v", name, mod, err)
			}
			for _, f := range m.Fields {
				if f.Type == "" {
					t.Errorf("%s %s: %s has no type", name, mod, f.Key())
				}
			}
		}
	}
	if got := len(DemoCustomFields(Accounts)); got != 0 {
		t.Errorf("accounts demo custom fields = %d, want 0", got)
	}
}

func TestFieldMapFlow(t *testing.T) {
	tests := []struct {
		dir           Direction
		toDesk, toCRM bool
	}{
		{"", true, true},
		{Both, true, true},
		{CRMToDesk, true, false},
		{DeskToCRM, false, true},
	}
	for _, tt := range tests {
		f := FieldMap{Desk: "a", CRM: "B", Direction: tt.dir}
		if f.ToDesk() != tt.toDesk || f.FlowsTo(Desk) != tt.toDesk {
			t.Errorf("%q: ToDesk = %v, want %v", tt.dir, f.ToDesk(), tt.toDesk)
		}
		if f.ToCRM() != tt.toCRM || f.FlowsTo(CRM) != tt.toCRM {
			t.Errorf("%q: ToCRM = %v, want %v", tt.dir, f.ToCRM(), tt.toCRM)
		}
	}
	if k1, k2 := (FieldMap{Desk: "a", CRM: "B", Policy: CRMWins}).Key(), (FieldMap{Desk: "a", CRM: "B", Direction: DeskToCRM}).Key(); k1 != k2 {
		t.Errorf("Key depends on direction/policy: %q vs %q", k1, k2)
	}
}
