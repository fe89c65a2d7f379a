package seed

import (
	"testing"
	"time"

	"deskcrm/emulator/crm"
	"deskcrm/emulator/desk"
)

// TestGenerateIntoEmulators seeds the real CRM and Desk emulators, so the
// records (lookups, picklists, custom fields, activities) are checked by
// the CRM emulator's own validation.
func TestGenerateIntoEmulators(t *testing.T) {
	d := desk.New(desk.Config{})
	defer d.Close()
	c := crm.New(crm.Config{})
	sum, err := Generate(Options{Seed: 3, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Desk: d, CRM: c,
		DeskContacts: 120, DeskAccounts: 30, CRMContacts: 100, CRMAccounts: 40, ChunkSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	counts := []struct {
		module    string
		got, want int
	}{
		{"Contacts", c.Count("Contacts"), sum.CRM.Contacts},
		{"Accounts", c.Count("Accounts"), sum.CRM.Accounts},
		{"Deals", c.Count("Deals"), sum.CRM.Deals},
		{"Notes", c.Count("Notes"), sum.CRM.Notes},
		{"Tasks", c.Count("Tasks"), sum.CRM.Tasks},
		{"Events", c.Count("Events"), sum.CRM.Events},
		{"Calls", c.Count("Calls"), sum.CRM.Calls},
		{"desk contacts", d.Count("contacts"), sum.Desk.Contacts},
	}
	for _, x := range counts {
		if x.got != x.want || x.want == 0 {
			t.Errorf("%s: %d stored, summary %d", x.module, x.got, x.want)
		}
	}
	linked := 0
	for _, r := range c.Records("Contacts") {
		if r["Account_Name"] != nil {
			linked++
		}
	}
	if linked != sum.CRM.LinkedContacts {
		t.Errorf("linked CRM contacts = %d, summary %d", linked, sum.CRM.LinkedContacts)
	}
}
