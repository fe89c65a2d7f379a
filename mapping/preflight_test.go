package mapping

import (
	"strings"
	"testing"
)

// deskMeta is Desk contact field metadata shaped like the emulator's
// organizationFields, reduced with DeskType.
func deskMeta() []FieldMeta {
	f := func(name, typ string) FieldMeta { return FieldMeta{Name: name, Type: DeskType(typ)} }
	last := f("lastName", "Text")
	last.Mandatory = true
	created := f("createdTime", "DateTime")
	created.ReadOnly = true
	tier := f("cf_customer_tier", "Picklist")
	tier.Custom, tier.Picklist = true, []string{"Bronze", "Silver", "Gold", "Platinum"}
	level := f("cf_level", "Picklist")
	level.Custom, level.Picklist = true, []string{"Low", "High"}
	return []FieldMeta{
		f("firstName", "Text"), last, f("email", "Email"), f("secondaryEmail", "Email"),
		f("phone", "Phone"), f("mobile", "Phone"), f("accountId", "LookUp"), f("ownerId", "LookUp"),
		f("title", "Text"), f("street", "Textarea"), f("city", "Text"), f("state", "Text"),
		f("zip", "Text"), f("country", "Text"), f("description", "Textarea"), created,
		f("cf_crm_id", "Text"), tier, f("cf_seats", "Number"), f("cf_renewal_date", "Date"),
		f("cf_vip", "Boolean"), f("cf_notes", "Text"), level, f("cf_score", "Decimal"),
	}
}

// crmMeta is CRM Contacts field metadata reduced with CRMType.
func crmMeta() []FieldMeta {
	f := func(name, dt string) FieldMeta { return FieldMeta{Name: name, Type: CRMType(dt)} }
	last := f("Last_Name", "text")
	last.Mandatory = true
	acct := f("Account_Name", "lookup")
	acct.LookupModule = "Accounts"
	rep := f("Reports_To", "lookup")
	rep.LookupModule = "Contacts"
	tier := f("Customer_Tier", "picklist")
	tier.Picklist = []string{"-None-", "Bronze", "Silver", "Gold", "Platinum"}
	modified := f("Modified_Time", "datetime")
	modified.ReadOnly = true
	return []FieldMeta{
		f("First_Name", "text"), last, f("Email", "email"), f("Secondary_Email", "email"),
		f("Phone", "phone"), f("Mobile", "phone"), f("Title", "text"), f("Description", "textarea"),
		acct, rep, FieldMeta{Name: "Owner", Type: TypeUserLookup, Mandatory: true}, f("Mailing_Street", "textarea"), f("Mailing_City", "text"),
		f("Mailing_State", "text"), f("Mailing_Zip", "text"), f("Mailing_Country", "text"),
		f("Desk_ID", "text"), tier, f("Seats", "integer"), f("Renewal_Date", "date"), f("VIP", "boolean"),
		f("Notes_Text", "text"), f("Big", "bigint"), f("Score", "double"), f("Open_Level", "picklist"),
		f("Contact_No", "autonumber"), f("Calc", "formula"), modified, f("Tags", "multiselectpicklist"),
		f("Photo", "imageupload"),
	}
}

// withFields returns the demo contacts mapping plus extra field pairs.
func withFields(extra ...FieldMap) Mapping {
	m := DemoMapping(Contacts)
	m.Fields = append(m.Fields, extra...)
	return m
}

func TestPreflightDemoMappingIsClean(t *testing.T) {
	for _, mode := range []Mode{TwoWay, OneWay} {
		if probs := PreflightMode(mode, DemoMapping(Contacts), deskMeta(), crmMeta()); len(probs) != 0 {
			t.Errorf("%s: demo mapping has problems: %v", mode, probs)
		}
	}
}

func TestPreflight(t *testing.T) {
	tests := []struct {
		name string
		mode Mode
		m    Mapping
		want []string // problem strings (substring match), in order; nil = clean
	}{
		{
			name: "text into integer is a mismatch per direction",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Seats"}),
			want: []string{
				"DUPLICATE_FIELD contacts Desk cf_notes ↔ CRM Seats: fields[18]: CRM field Seats is already mapped in fields[15]",
				"TYPE_MISMATCH contacts Desk cf_notes ↔ CRM Seats: Text value given for an integer field: Desk cf_notes (text) → CRM Seats (integer)",
			},
		},
		{
			name: "integer to text one way is fine",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Big", Direction: CRMToDesk}),
		},
		{
			name: "integer and text both ways fails only towards the integer",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Big"}),
			want: []string{"TYPE_MISMATCH contacts Desk cf_notes ↔ CRM Big: Text value given for an integer field: Desk cf_notes (text) → CRM Big (integer)"},
		},
		{
			name: "picklist to text is fine, text to picklist is not",
			m:    withFields(FieldMap{Desk: "cf_level", CRM: "Notes_Text"}),
			want: []string{"Text value given for a picklist field: CRM Notes_Text (text) → Desk cf_level (picklist)"},
		},
		{
			name: "text into an open picklist is accepted",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Open_Level", Direction: DeskToCRM}),
		},
		{
			name: "picklist into an open picklist is not value-checked",
			m: func() Mapping {
				m := withFields()
				for i := range m.Fields {
					if m.Fields[i].CRM == "Customer_Tier" {
						m.Fields[i].CRM = "Open_Level" // open: no values known, so not checked
					}
				}
				return m
			}(),
		},
		{
			name: "integer into decimal flows, decimal into integer does not",
			m:    withFields(FieldMap{Desk: "cf_score", CRM: "Big"}),
			want: []string{"Decimal value given for an integer field: Desk cf_score (decimal) → CRM Big (integer)"},
		},
		{
			name: "read-only targets",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Contact_No"}, FieldMap{Desk: "createdTime", CRM: "Modified_Time"}),
			want: []string{
				"READ_ONLY_FIELD contacts Desk cf_notes ↔ CRM Contact_No: CRM Contact_No is read-only and cannot receive values: Desk cf_notes (text) → CRM Contact_No (autonumber); map it crm-to-desk only",
				"READ_ONLY_FIELD contacts Desk createdTime ↔ CRM Modified_Time: CRM Modified_Time is read-only",
				"READ_ONLY_FIELD contacts Desk createdTime ↔ CRM Modified_Time: Desk createdTime is read-only",
			},
		},
		{
			name: "autonumber read one way into text is fine",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Contact_No", Direction: CRMToDesk}),
		},
		{
			name: "unknown fields on both sides, all named",
			m:    withFields(FieldMap{Desk: "cf_nope", CRM: "Seats2"}, FieldMap{Desk: "cf_notes", CRM: "Nope"}),
			want: []string{
				"UNKNOWN_FIELD contacts Desk cf_nope ↔ CRM Seats2: Desk contacts has no field cf_nope",
				"UNKNOWN_FIELD contacts Desk cf_nope ↔ CRM Seats2: CRM Contacts has no field Seats2",
				"UNKNOWN_FIELD contacts Desk cf_notes ↔ CRM Nope: CRM Contacts has no field Nope",
			},
		},
		{
			name: "unsupported types",
			m: withFields(FieldMap{Desk: "ownerId", CRM: "Owner"}, FieldMap{Desk: "cf_notes", CRM: "Photo", Direction: CRMToDesk},
				FieldMap{Desk: "cf_renewal_date", CRM: "Reports_To"}),
			want: []string{
				// cf_renewal_date is also mapped to Renewal_Date; structural problems come first
				"DUPLICATE_FIELD",
				"UNSUPPORTED_TYPE contacts Desk ownerId ↔ CRM Owner: CRM Owner is a userlookup field, which cannot be synchronised",
				"UNSUPPORTED_TYPE contacts Desk cf_notes ↔ CRM Photo: CRM Photo is an unsupported field",
				"UNSUPPORTED_TYPE contacts Desk cf_renewal_date ↔ CRM Reports_To: only account references",
			},
		},
		{
			name: "mandatory field mapped the wrong way",
			m:    Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "email", CRM: "Email"}, {Desk: "lastName", CRM: "Last_Name", Direction: CRMToDesk}}},
			want: []string{
				"MANDATORY_FIELD_MISSING contacts CRM Last_Name: Mandatory field missing: CRM Last_Name is required to create a record and no mapped field flows into it; map it with direction both or desk-to-crm",
			},
		},
		{
			name: "mandatory fields missing on both sides",
			m:    Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "email", CRM: "Email"}}},
			want: []string{
				"MANDATORY_FIELD_MISSING contacts Desk lastName: Mandatory field missing: Desk lastName is required",
				"MANDATORY_FIELD_MISSING contacts CRM Last_Name",
			},
		},
		{
			name: "one-way mode does not need CRM's mandatory fields nor checks flows into CRM",
			mode: OneWay,
			m:    Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "lastName", CRM: "Last_Name", Direction: CRMToDesk}, {Desk: "cf_notes", CRM: "Seats"}}},
		},
		{
			name: "one-way mode still needs Desk's",
			mode: OneWay,
			m:    Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "email", CRM: "Email"}}},
			want: []string{"MANDATORY_FIELD_MISSING contacts Desk lastName"},
		},
		{
			name: "declared type that does not fit",
			m:    withFields(FieldMap{Desk: "cf_notes", CRM: "Notes_Text", Type: TypeInteger}),
			want: []string{"TYPE_MISMATCH contacts Desk cf_notes ↔ CRM Notes_Text: the mapping declares type integer but Desk cf_notes (text) ↔ CRM Notes_Text (text) carries text values"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			if mode == "" {
				mode = TwoWay
			}
			probs := PreflightMode(mode, tt.m, deskMeta(), crmMeta())
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(probs), len(tt.want), render(probs))
			}
			for i, w := range tt.want {
				if !strings.Contains(probs[i].String(), w) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, probs[i].String(), w)
				}
			}
		})
	}
}

func TestPreflightMetadataMandatory(t *testing.T) {
	crm := append(crmMeta(), FieldMeta{Name: "Region", Type: TypePicklist, Mandatory: true, Custom: true},
		FieldMeta{Name: "Legacy_No", Type: TypeAutoNumber, Mandatory: true})
	desk := append(deskMeta(), FieldMeta{Name: "cf_region", Type: TypePicklist, Mandatory: true, Custom: true})
	probs := Preflight(DemoMapping(Contacts), desk, crm)
	want := []string{
		"MANDATORY_FIELD_MISSING contacts Desk cf_region: Mandatory field missing: Desk cf_region is required to create a record",
		"MANDATORY_FIELD_MISSING contacts CRM Region: Mandatory field missing: CRM Region is required to create a record",
	}
	if len(probs) != len(want) {
		t.Fatalf("got %s", render(probs))
	}
	for i, w := range want {
		if !strings.Contains(probs[i].String(), w) {
			t.Errorf("problem %d = %q, want %q", i, probs[i], w)
		}
	}
	m := withFields(FieldMap{Desk: "cf_region", CRM: "Region"})
	if probs := Preflight(m, desk, crm); len(probs) != 0 {
		t.Fatalf("mapped mandatory fields still reported: %s", render(probs))
	}
}

func TestPreflightPicklistValues(t *testing.T) {
	crm := crmMeta()
	for i := range crm {
		if crm[i].Name == "Customer_Tier" {
			crm[i].Picklist = []string{"Bronze", "Silver", "Gold"}
		}
	}
	probs := Preflight(DemoMapping(Contacts), deskMeta(), crm)
	if len(probs) != 1 || probs[0].Code != CodeTypeMismatch ||
		!strings.Contains(probs[0].Message, `picklist values "Platinum" of Desk cf_customer_tier are not values of CRM Customer_Tier`) {
		t.Fatalf("got %s", render(probs))
	}
}

func TestPreflightAccountsDefault(t *testing.T) {
	f := func(name, typ string) FieldMeta { return FieldMeta{Name: name, Type: DeskType(typ)} }
	c := func(name, dt string) FieldMeta { return FieldMeta{Name: name, Type: CRMType(dt)} }
	desk := []FieldMeta{{Name: "accountName", Type: TypeText, Mandatory: true, Unique: true}, f("website", "URL"), f("phone", "Phone"),
		f("fax", "Phone"), f("industry", "Text"), f("annualrevenue", "Currency"), f("street", "Textarea"), f("city", "Text"),
		f("state", "Text"), f("code", "Text"), f("country", "Text"), f("description", "Textarea")}
	industry := c("Industry", "picklist")
	industry.Picklist = []string{"ASP", "Government/Military"}
	crm := []FieldMeta{{Name: "Account_Name", Type: TypeText, Mandatory: true}, c("Website", "website"), c("Phone", "phone"),
		c("Fax", "phone"), industry, c("Annual_Revenue", "currency"), c("Billing_Street", "textarea"), c("Billing_City", "text"),
		c("Billing_State", "text"), c("Billing_Code", "text"), c("Billing_Country", "text"), c("Description", "textarea")}
	if probs := Preflight(Default(Accounts), desk, crm); len(probs) != 0 {
		t.Fatalf("default accounts mapping: %s", render(probs))
	}
	m := Default(Accounts)
	for i := range m.Fields {
		if m.Fields[i].Desk == "industry" {
			m.Fields[i].Direction = Both
		}
	}
	probs := Preflight(m, desk, crm)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "Text value given for a picklist field: Desk industry (text) → CRM Industry (picklist)") {
		t.Fatalf("industry both ways: %s", render(probs))
	}
}

func TestResolveFillsTypes(t *testing.T) {
	m := Mapping{Module: Contacts, Fields: []FieldMap{
		{Desk: "lastName", CRM: "Last_Name"},
		{Desk: "cf_seats", CRM: "Seats"},
		{Desk: "cf_notes", CRM: "Big", Direction: CRMToDesk},
		{Desk: "cf_level", CRM: "Tags", Direction: DeskToCRM},
		{Desk: "accountId", CRM: "Account_Name"},
		{Desk: "cf_vip", CRM: "VIP", Type: TypeBoolean},
	}}
	got, probs := Resolve(TwoWay, m, deskMeta(), crmMeta())
	if len(probs) != 0 {
		t.Fatalf("problems: %s", render(probs))
	}
	want := []Type{TypeText, TypeInteger, TypeText, TypeMultiPicklist, TypeLookup, TypeBoolean}
	for i, w := range want {
		if got.Fields[i].Type != w {
			t.Errorf("%s: type %q, want %q", got.Fields[i].Key(), got.Fields[i].Type, w)
		}
	}
	if m.Fields[0].Type != "" {
		t.Errorf("Resolve modified its input")
	}
}

func TestTypeTables(t *testing.T) {
	crm := map[string]Type{
		"text": TypeText, "textarea": TypeTextarea, "email": TypeEmail, "phone": TypePhone, "website": TypeURL,
		"picklist": TypePicklist, "multiselectpicklist": TypeMultiPicklist, "date": TypeDate, "datetime": TypeDateTime,
		"boolean": TypeBoolean, "integer": TypeInteger, "bigint": TypeInteger, "double": TypeDecimal, "currency": TypeCurrency,
		"decimal": TypeDecimal, "percent": TypePercent, "autonumber": TypeAutoNumber, "formula": TypeFormula,
		"lookup": TypeLookup, "ownerlookup": TypeUserLookup, "owner_lookup": TypeUserLookup, "userlookup": TypeUserLookup,
		"subform": TypeUnsupported, "fileupload": TypeUnsupported, "multiselectlookup": TypeUnsupported, " Text ": TypeText,
	}
	for in, want := range crm {
		if got := CRMType(in); got != want {
			t.Errorf("CRMType(%q) = %q, want %q", in, got, want)
		}
	}
	desk := map[string]Type{
		"Text": TypeText, "Textarea": TypeTextarea, "Email": TypeEmail, "Phone": TypePhone, "URL": TypeURL,
		"Number": TypeInteger, "Decimal": TypeDecimal, "Currency": TypeCurrency, "Percent": TypePercent,
		"Boolean": TypeBoolean, "Date": TypeDate, "DateTime": TypeDateTime, "Picklist": TypePicklist,
		"Multiselect": TypeMultiPicklist, "LookUp": TypeLookup, "Weird": TypeUnsupported,
	}
	for in, want := range desk {
		if got := DeskType(in); got != want {
			t.Errorf("DeskType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompatible(t *testing.T) {
	tests := []struct {
		from, to Type
		want     bool
	}{
		{TypeText, TypeText, true},
		{TypeEmail, TypeText, true},
		{TypeText, TypeEmail, true},
		{TypeInteger, TypeText, true},
		{TypeText, TypeInteger, false},
		{TypePicklist, TypeText, true},
		{TypeText, TypePicklist, false},
		{TypePicklist, TypeMultiPicklist, true},
		{TypeMultiPicklist, TypePicklist, false},
		{TypeMultiPicklist, TypeTextarea, true},
		{TypeInteger, TypeCurrency, true},
		{TypeDecimal, TypeInteger, false},
		{TypePercent, TypeDecimal, true},
		{TypeBoolean, TypeText, true},
		{TypeText, TypeBoolean, false},
		{TypeDate, TypeDateTime, false},
		{TypeDateTime, TypeDate, false},
		{TypeDate, TypeText, true},
		{TypeLookup, TypeLookup, true},
		{TypeLookup, TypeText, false},
		{TypeAutoNumber, TypeText, true},
		{TypeText, TypeAutoNumber, false},
		{TypeText, TypeFormula, false},
		{TypeUserLookup, TypeText, false},
		{TypeUnsupported, TypeUnsupported, false},
	}
	for _, tt := range tests {
		if got := Compatible(tt.from, tt.to); got != tt.want {
			t.Errorf("Compatible(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func render(probs []Problem) string {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// A mapping file with problems of every kind is refused once with all of them: DecodeList
// leaves the structural checks to PreflightMode, which reports them beside the problems
// found against the apps' fields (ParseList stops at the structural ones).
func TestDecodeListLetsPreflightNameEveryProblem(t *testing.T) {
	data := []byte(`{"module": "contacts", "fields": [
		{"desk": "firstName", "crm": "First_Name"},
		{"desk": "firstName", "crm": "Title"},
		{"desk": "email", "crm": "Email", "direction": "sideways"},
		{"desk": "cf_nope", "crm": "Phone"}
	]}`)
	if _, err := ParseList(data); err == nil || strings.Contains(err.Error(), "cf_nope") {
		t.Fatalf("ParseList: err = %v, want the structural problems only", err)
	}
	maps, err := DecodeList(data)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[Code]bool{}
	for _, p := range PreflightMode(TwoWay, maps[0], deskMeta(), crmMeta()) {
		codes[p.Code] = true
	}
	for _, want := range []Code{CodeDuplicateField, CodeInvalidMapping, CodeUnknownField, CodeMandatoryMissing} {
		if !codes[want] {
			t.Errorf("problems %v lack %s", codes, want)
		}
	}
	if _, err := DecodeList([]byte(`{"module": "contacts", "fields": [{"desk": 1}]}`)); err == nil {
		t.Error("DecodeList accepted JSON that does not decode")
	}
}
