package mapping

import (
	"strings"
	"testing"
)

func TestFitRoundsToTheTargetsDecimalPlaces(t *testing.T) {
	f := FieldMap{Desk: "cf_budget", CRM: "Budget", Type: TypeCurrency, CRMLimits: Limits{Decimals: 2}}
	for in, want := range map[string]string{"12.345": "12.35", "12.344": "12.34", "-12.345": "-12.35", "7": "7", "0.005": "0.01", "1.2": "1.2"} {
		if got := Fit(f, in, CRM); got != want {
			t.Errorf("Fit(%s) to CRM = %v, want %s", in, got, want)
		}
	}
	if got := Fit(f, "12.345", Desk); got != "12.345" {
		t.Errorf("Fit to a side with unknown decimals = %v, want unchanged", got)
	}
	if got := Fit(FieldMap{Type: TypeText, CRMLimits: Limits{Decimals: 2}}, "12.345", CRM); got != "12.345" {
		t.Errorf("text is never rounded: %v", got)
	}
}

func TestFieldEqualComparesPhonesByDigits(t *testing.T) {
	phone := FieldMap{Type: TypePhone}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"555-123-4567", "(555) 123 4567", true},
		{"+1 555 123 4567", "+15551234567", true},
		{"+1 555 123 4567", "1 555 123 4567", false},
		{"555-123-4567", "555-123-4568", false},
		{"ext. none", "ext. none", true},
	} {
		if got := FieldEqual(phone, tt.a, tt.b); got != tt.want {
			t.Errorf("FieldEqual(phone, %q, %q) = %v", tt.a, tt.b, got)
		}
	}
	if FieldEqual(FieldMap{Type: TypeText}, "555-123-4567", "(555) 123 4567") {
		t.Error("text compares as written")
	}
}

func TestLengthsAreCountedAsEachSideCounts(t *testing.T) {
	f := FieldMap{Desk: "title", CRM: "Title", Type: TypeText, CRMLimits: Limits{Length: 4}, DeskLimits: Limits{Length: 4}}
	emoji := "a😀b" // 3 code points, 4 UTF-16 units
	if p := Carry(Contacts, f, emoji, CRM, nil); p != nil {
		t.Errorf("4 UTF-16 units fit CRM's 4: %v", p)
	}
	if p := Carry(Contacts, f, emoji+"c", CRM, nil); p == nil || p.Code != CodeValueTooLong {
		t.Errorf("5 UTF-16 units do not fit CRM's 4: %v", p)
	} else if want := "has 5 as CRM counts them (4 characters as Desk shows them: CRM counts each emoji"; !strings.Contains(p.Message, want) {
		// Desk shows 4 characters: a bare "has 5" puzzled a user who counted them.
		t.Errorf("message %q does not say how CRM counts: want %q", p.Message, want)
	}
	if p := Carry(Contacts, f, "a😀bc", Desk, nil); p != nil {
		t.Errorf("4 code points fit Desk's 4: %v", p)
	}
	if p := Carry(Contacts, f, "a😀bcd", Desk, nil); p == nil || strings.Contains(p.Message, "😀") {
		t.Errorf("5 code points do not fit Desk's 4, and the value is never quoted: %v", p)
	}
}

func TestCombiningCharactersAreOneValue(t *testing.T) {
	m := Mapping{Module: Contacts, Fields: []FieldMap{{Desk: "lastName", CRM: "Last_Name", Type: TypeText}}}
	d, _ := FromDesk(m, map[string]any{"lastName": "Ame\u0301lie"}, nil, nil) // e + combining acute
	c, _ := FromCRM(m, map[string]any{"Last_Name": "Amélie"}, nil)            // precomposed
	if !Equal(d, c, nil) {
		t.Errorf("%q and %q differ: a side storing either form would look changed", d, c)
	}
}

func TestPicklistValueMissingFromTheTargetIsAClearFailure(t *testing.T) {
	f := FieldMap{Desk: "cf_tier", CRM: "Tier", Type: TypePicklist, DeskLimits: Limits{Picklist: []string{"Gold", "Silver"}, Label: "Tier"}}
	p := Carry(Contacts, f, "Orange", Desk, nil)
	if p == nil || p.Code != CodeInvalidPicklistValue || !strings.Contains(p.Message, "cf_tier") || strings.Contains(p.Message, "Orange") {
		t.Errorf("Carry = %+v", p)
	}
	multi := FieldMap{Desk: "cf_tags", CRM: "Tags", Type: TypeMultiPicklist, DeskLimits: Limits{Picklist: []string{"a", "b"}}}
	if p := Carry(Contacts, multi, []string{"b", "a"}, Desk, nil); p != nil {
		t.Errorf("known values in another order: %v", p)
	}
	if p := Carry(Contacts, multi, []string{"a", "z"}, Desk, nil); p == nil {
		t.Error("an unknown multi-select value must be refused")
	}
}
