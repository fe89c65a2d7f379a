package reconcile

import (
	"reflect"
	"testing"

	"deskcrm/mapping"
)

func TestMatchGroup(t *testing.T) {
	amb := func(desk, crm string, nd, nc int) MatchOutcome {
		return MatchOutcome{Action: MatchAmbiguous, Key: "k", DeskID: desk, CRMID: crm, Code: CodeAmbiguousMatch, DeskCount: nd, CRMCount: nc}
	}
	tests := []struct {
		name      string
		mode      mapping.Mode
		desk, crm []string
		want      []MatchOutcome
	}{
		{"one to one links", mapping.TwoWay, []string{"d1"}, []string{"c1"},
			[]MatchOutcome{{Action: MatchLink, Key: "k", DeskID: "d1", CRMID: "c1", DeskCount: 1, CRMCount: 1}}},
		{"one to one links in one-way mode too", mapping.OneWay, []string{"d1"}, []string{"c1"},
			[]MatchOutcome{{Action: MatchLink, Key: "k", DeskID: "d1", CRMID: "c1", DeskCount: 1, CRMCount: 1}}},
		{"two Desk, one CRM: all three ambiguous", mapping.TwoWay, []string{"d1", "d2"}, []string{"c1"},
			[]MatchOutcome{amb("d1", "", 2, 1), amb("d2", "", 2, 1), amb("", "c1", 2, 1)}},
		{"one Desk, two CRM: all three ambiguous", mapping.TwoWay, []string{"d1"}, []string{"c1", "c2"},
			[]MatchOutcome{amb("d1", "", 1, 2), amb("", "c1", 1, 2), amb("", "c2", 1, 2)}},
		{"two and two", mapping.TwoWay, []string{"d1", "d2"}, []string{"c1", "c2"},
			[]MatchOutcome{amb("d1", "", 2, 2), amb("d2", "", 2, 2), amb("", "c1", 2, 2), amb("", "c2", 2, 2)}},
		{"Desk only: create in CRM", mapping.TwoWay, []string{"d1"}, nil,
			[]MatchOutcome{{Action: MatchCreateInCRM, Key: "k", DeskID: "d1", DeskCount: 1}}},
		{"Desk only, duplicated: each created (no candidate to guess between)", mapping.TwoWay, []string{"d1", "d2"}, nil,
			[]MatchOutcome{{Action: MatchCreateInCRM, Key: "k", DeskID: "d1", DeskCount: 2}, {Action: MatchCreateInCRM, Key: "k", DeskID: "d2", DeskCount: 2}}},
		{"Desk only in one-way mode: skipped", mapping.OneWay, []string{"d1"}, nil,
			[]MatchOutcome{{Action: MatchSkip, Key: "k", DeskID: "d1", DeskCount: 1}}},
		{"CRM only: create in Desk", mapping.OneWay, nil, []string{"c1"},
			[]MatchOutcome{{Action: MatchCreateInDesk, Key: "k", CRMID: "c1", CRMCount: 1}}},
		{"empty group", mapping.TwoWay, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MatchGroup(tt.mode, "k", tt.desk, tt.crm)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("MatchGroup =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestMatchContacts(t *testing.T) {
	desk := []Candidate{
		{ID: "d1", Key: NormalizeEmail("Ann@X.com ")},
		{ID: "d2", Key: NormalizeEmail("bob@x.com")},
		{ID: "d3", Key: NormalizeEmail("bob@x.com")},
		{ID: "d4", Key: NormalizeEmail("")}, // contact without email
		{ID: "d5", Key: NormalizeEmail("only-desk@x.com")},
	}
	crm := []Candidate{
		{ID: "c1", Key: NormalizeEmail("ann@x.com")},
		{ID: "c2", Key: NormalizeEmail("BOB@x.com")},
		{ID: "c3", Key: NormalizeEmail("  ")}, // contact without email
		{ID: "c4", Key: NormalizeEmail("only-crm@x.com")},
		{ID: "c5", Key: NormalizeEmail("")},
	}
	want := []MatchOutcome{
		{Action: MatchLink, Key: "ann@x.com", DeskID: "d1", CRMID: "c1", DeskCount: 1, CRMCount: 1},
		{Action: MatchAmbiguous, Key: "bob@x.com", DeskID: "d2", Code: CodeAmbiguousMatch, DeskCount: 2, CRMCount: 1},
		{Action: MatchAmbiguous, Key: "bob@x.com", DeskID: "d3", Code: CodeAmbiguousMatch, DeskCount: 2, CRMCount: 1},
		{Action: MatchAmbiguous, Key: "bob@x.com", CRMID: "c2", Code: CodeAmbiguousMatch, DeskCount: 2, CRMCount: 1},
		{Action: MatchCreateInDesk, Key: "only-crm@x.com", CRMID: "c4", CRMCount: 1},
		{Action: MatchCreateInCRM, Key: "only-desk@x.com", DeskID: "d5", DeskCount: 1},
		{Action: MatchCreateInCRM, DeskID: "d4"},
		{Action: MatchCreateInDesk, CRMID: "c3"},
		{Action: MatchCreateInDesk, CRMID: "c5"},
	}
	got := Match(mapping.TwoWay, desk, crm)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Match =\n%+v\nwant\n%+v", got, want)
	}

	// One-way: Desk-only records, with or without email, stay where they are.
	for _, o := range Match(mapping.OneWay, desk, crm) {
		if o.Action == MatchCreateInCRM {
			t.Errorf("one-way mode creates in CRM: %+v", o)
		}
		if o.DeskID == "d4" && o.Action != MatchSkip {
			t.Errorf("one-way keyless Desk contact: %+v, want skip", o)
		}
	}
}

func TestMatchAccountsByNormalisedName(t *testing.T) {
	desk := []Candidate{{ID: "d1", Key: NormalizeAccountName("Acme, Inc.")}, {ID: "d2", Key: NormalizeAccountName("Globex Ltd")}}
	crm := []Candidate{{ID: "c1", Key: NormalizeAccountName("ACME Inc")}, {ID: "c2", Key: NormalizeAccountName("Globex")}}
	got := Match(mapping.TwoWay, desk, crm)
	want := []MatchOutcome{
		{Action: MatchLink, Key: "acme inc", DeskID: "d1", CRMID: "c1", DeskCount: 1, CRMCount: 1},
		{Action: MatchCreateInDesk, Key: "globex", CRMID: "c2", CRMCount: 1},
		{Action: MatchCreateInCRM, Key: "globex ltd", DeskID: "d2", DeskCount: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Match =\n%+v\nwant\n%+v", got, want)
	}
}
