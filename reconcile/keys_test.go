package reconcile

import (
	"testing"

	"deskcrm/mapping"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"john@x.com", "john@x.com"},
		{"  John.Doe@Example.COM \t", "john.doe@example.com"},
		{"", ""},
		{"   ", ""},
		{"ÉLODIE@exemple.fr", "élodie@exemple.fr"},
	}
	for _, tt := range tests {
		if got := NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeAccountName(t *testing.T) {
	same := [][]string{
		{"Acme, Inc.", "ACME Inc", "acme inc", "  Acme   Inc ", "Acme-Inc", "Acme,Inc"},
		{"O'Neil & Sons", "ONeil & Sons", "O’Neil & Sons", "oneil sons"},
		{"A.C.M.E. Corp", "ACME Corp"},
		{"Zoho Corp.", "ZOHO CORP"},
		{"Müller GmbH", "MÜLLER GMBH"},
	}
	for _, group := range same {
		want := NormalizeAccountName(group[0])
		if want == "" {
			t.Fatalf("NormalizeAccountName(%q) is empty", group[0])
		}
		for _, s := range group[1:] {
			if got := NormalizeAccountName(s); got != want {
				t.Errorf("NormalizeAccountName(%q) = %q, want %q (as for %q)", s, got, want, group[0])
			}
		}
	}
	different := [][2]string{
		{"Acme Inc", "Acme Ltd"},
		{"Acme Inc", "Acme"},
		{"Müller", "Muller"},
		{"A and B", "A & B"},
		{"Acme Widgets", "AcmeWidgets"},
	}
	for _, d := range different {
		if NormalizeAccountName(d[0]) == NormalizeAccountName(d[1]) {
			t.Errorf("%q and %q match, want them distinct", d[0], d[1])
		}
	}
	exact := []struct{ in, want string }{
		{"Acme, Inc.", "acme inc"},
		{"  ", ""},
		{"...", ""},
		{"--", ""},
		{"Tab\tand\nnewline", "tab and newline"},
	}
	for _, tt := range exact {
		if got := NormalizeAccountName(tt.in); got != tt.want {
			t.Errorf("NormalizeAccountName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchKeys(t *testing.T) {
	tests := []struct {
		name   string
		module mapping.Module
		values mapping.Values
		desk   map[string]any
		crm    map[string]any
		want   string
	}{
		{"contact email", mapping.Contacts, mapping.Values{"email=Email": " A@B.com"}, map[string]any{"email": "a@b.COM "}, map[string]any{"Email": "A@b.com"}, "a@b.com"},
		{"contact no email", mapping.Contacts, mapping.Values{"email=Email": nil}, map[string]any{"email": nil}, map[string]any{}, ""},
		{"account name", mapping.Accounts, mapping.Values{"accountName=Account_Name": "Acme, Inc."}, map[string]any{"accountName": "ACME Inc"}, map[string]any{"Account_Name": "acme inc."}, "acme inc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchKey(tt.module, tt.values); got != tt.want {
				t.Errorf("MatchKey = %q, want %q", got, tt.want)
			}
			if got := DeskMatchKey(tt.module, tt.desk); got != tt.want {
				t.Errorf("DeskMatchKey = %q, want %q", got, tt.want)
			}
			if got := CRMMatchKey(tt.module, tt.crm); got != tt.want {
				t.Errorf("CRMMatchKey = %q, want %q", got, tt.want)
			}
		})
	}
}
