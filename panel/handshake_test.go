package panel_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/realism"
)

func TestHandshakeOrder(t *testing.T) {
	e := newEnv(t, time.Hour)
	must := func(ids []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// One CRM account per type, each with a linked Desk account and contact.
	types := []string{"Vendor", "Customer", "Prospect", "Reseller"}
	deskContactOf := map[string]string{accountType: e.fx.deskContact}
	for _, typ := range types {
		crmAcc := must(e.crmEmu.Load("Accounts", []map[string]any{{"Account_Name": typ + " Co", "Account_Type": typ}}))[0]
		dAcc := must(e.deskEmu.Load("accounts", []map[string]any{{"accountName": typ + " Co"}}))[0]
		dCon := must(e.deskEmu.Load("contacts", []map[string]any{{"lastName": typ + " Person", "accountId": dAcc}}))[0]
		e.link("accounts", dAcc, crmAcc)
		deskContactOf[typ] = dCon
	}
	// A contact whose Desk account is not linked: the type comes from its CRM contact's account.
	viaContactAcc := must(e.crmEmu.Load("Accounts", []map[string]any{{"Account_Name": "Via Contact Ltd", "Account_Type": "Customer"}}))[0]
	viaContactCRM := must(e.crmEmu.Load("Contacts", []map[string]any{{"Last_Name": "Via", "Account_Name": map[string]any{"id": viaContactAcc}}}))[0]
	viaContactDesk := must(e.deskEmu.Load("contacts", []map[string]any{{"lastName": "Via"}}))[0]
	e.link("contacts", viaContactDesk, viaContactCRM)

	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	tickets := []deskemu.Ticket{
		{Subject: "t-unknown-old", ContactID: e.fx.deskUnlinked, CreatedTime: at(0)},
		{Subject: "t-vendor", ContactID: deskContactOf["Vendor"], CreatedTime: at(1)},
		{Subject: "t-partner", ContactID: deskContactOf[accountType], CreatedTime: at(2)},
		{Subject: "t-customer-new", ContactID: deskContactOf["Customer"], CreatedTime: at(6), Status: "On Hold"},
		{Subject: "t-prospect", ContactID: deskContactOf["Prospect"], CreatedTime: at(3), Status: "Escalated"},
		{Subject: "t-customer-old", ContactID: deskContactOf["Customer"], CreatedTime: at(4)},
		{Subject: "t-closed-customer", ContactID: deskContactOf["Customer"], CreatedTime: at(0), Status: "Closed"},
		{Subject: "t-reseller", ContactID: deskContactOf["Reseller"], CreatedTime: at(5)},
		{Subject: "t-via-contact", ContactID: viaContactDesk, CreatedTime: at(7)},
	}
	if _, err := e.deskEmu.LoadTickets(tickets); err != nil {
		t.Fatal(err)
	}
	list := func() ([]string, []string) {
		t.Helper()
		a := e.as("Agent", "/api/v1/handshake/tickets")
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		var subjects, kinds []string
		for _, x := range a.body["tickets"].([]any) {
			m := x.(map[string]any)
			subjects = append(subjects, m["subject"].(string))
			kinds = append(kinds, m["customerType"].(string))
		}
		return subjects, kinds
	}

	subjects, kinds := list()
	wantSubjects := []string{"t-customer-old", "t-customer-new", "t-via-contact", "t-partner", "t-reseller", "t-prospect", "t-vendor", "t-unknown-old"}
	wantKinds := []string{"Customer", "Customer", "Customer", "Partner", "Reseller", "Prospect", "Vendor", ""}
	if !slices.Equal(subjects, wantSubjects) || !slices.Equal(kinds, wantKinds) {
		t.Fatalf("default order:\n got %v %v\nwant %v %v", subjects, kinds, wantSubjects, wantKinds)
	}

	// The order is configurable; types left out of it come after the listed ones. Types are
	// stored as CRM spells them.
	a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, map[string]any{"order": []string{"Prospect", "vendor ", "Customer"}})
	if a.status != http.StatusOK {
		t.Fatalf("put handshake: %d %s", a.status, a.raw)
	}
	subjects, _ = list()
	wantSubjects = []string{"t-prospect", "t-vendor", "t-customer-old", "t-customer-new", "t-via-contact", "t-partner", "t-reseller", "t-unknown-old"}
	if !slices.Equal(subjects, wantSubjects) {
		t.Fatalf("custom order:\n got %v\nwant %v", subjects, wantSubjects)
	}
	if a := e.do(http.MethodGet, "/api/v1/handshake", adminToken, nil); !slices.Equal(toStrings(a.body["order"]), []string{"Prospect", "Vendor", "Customer"}) {
		t.Fatalf("get handshake: %s", a.raw)
	}

	for _, tc := range []struct {
		name string
		body any
		want string // in the message
	}{
		{"empty order", map[string]any{"order": []string{}}, ""},
		{"repeated type", map[string]any{"order": []string{"Customer", "customer"}}, ""},
		{"unknown field", map[string]any{"ordr": []string{"Customer"}}, `unknown field "ordr"`},
		// In words, not Go's type of the settings (a trial read "Go value of type struct {…}").
		{"not an object", []string{"Customer"}, "must be a JSON object, not array"},
		{"order not a list", map[string]any{"order": "Customer"}, "order must be a JSON array, not string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, tc.body)
			msg, _ := a.body["message"].(string)
			if a.status != http.StatusBadRequest || !strings.Contains(msg, tc.want) || strings.Contains(msg, "Go value") {
				t.Fatalf("status %d: %s (want 400 saying %q)", a.status, a.raw, tc.want)
			}
		})
	}

	// A type CRM's Account_Type lacks (a typo) would rank no ticket: refused, naming CRM's
	// values, and nothing stored (a trial's "Custmer" was taken).
	t.Run("a type CRM lacks", func(t *testing.T) {
		a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, map[string]any{"order": []string{"Vendor", "Custmer", "partner"}})
		msg, _ := a.body["message"].(string)
		if a.status != http.StatusBadRequest || a.body["error"] != "unknown_customer_type" || !strings.Contains(msg, `no value "Custmer"`) ||
			!strings.Contains(msg, "Customer, Partner") || strings.Contains(msg, `"partner"`) {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if a := e.do(http.MethodGet, "/api/v1/handshake", adminToken, nil); !slices.Equal(toStrings(a.body["order"]), []string{"Prospect", "Vendor", "Customer"}) {
			t.Fatalf("stored after the refusal: %s", a.raw)
		}
	})

	// CRM not answering: nothing stored, a 502 that says to try again.
	t.Run("CRM cannot be asked", func(t *testing.T) {
		id, err := e.crmEmu.Realism().AddFault(realism.Fault{Method: "GET", Path: "/crm/v8/settings/fields", Kind: realism.FaultStatus, Status: 500})
		if err != nil {
			t.Fatal(err)
		}
		defer e.crmEmu.Realism().RemoveFault(id)
		a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, map[string]any{"order": []string{"Partner"}})
		if a.status != http.StatusBadGateway || a.body["error"] != "crm_unreachable" || !strings.Contains(a.raw, "nothing was stored") {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if a := e.do(http.MethodGet, "/api/v1/handshake", adminToken, nil); !slices.Equal(toStrings(a.body["order"]), []string{"Prospect", "Vendor", "Customer"}) {
			t.Fatalf("stored although CRM could not be asked: %s", a.raw)
		}
	})

	t.Run("turned off", func(t *testing.T) {
		if a := e.do(http.MethodPut, "/api/v1/handshake", adminToken, map[string]any{"enabled": false}); a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		e.resetCalls()
		a := e.as("Agent", "/api/v1/handshake/tickets")
		if a.status != http.StatusNotFound || a.body["error"] != "handshake_off" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if c, d := e.calls(); c+d != 0 {
			t.Fatalf("handshake off still cost %d CRM and %d Desk calls", c, d)
		}
	})
}

// Handshake mode applies the agent's profile, as the panel does: the ranked list shows each
// customer's CRM type, so a profile without the panel or without CRM info gets 403 and no
// ticket, whatever the request says.
func TestHandshakeProfileCheck(t *testing.T) {
	e := newEnv(t, time.Hour)
	if _, err := e.deskEmu.LoadTickets([]deskemu.Ticket{{Subject: "secret subject", ContactID: e.fx.deskContact}}); err != nil {
		t.Fatal(err)
	}
	e.setPermissions("Light Agent", map[string]any{"info": "restricted"})
	e.setPermissions("Newbie Agent", map[string]any{"panelVisible": false})
	for _, profile := range []string{"Light Agent", "Newbie Agent"} {
		for _, q := range []string{"", "?profile=Agent", "?profile=Administrator", "?integration=default&profile=agent"} {
			e.resetCalls()
			a := e.as(profile, "/api/v1/handshake/tickets"+q)
			if a.status != http.StatusForbidden || a.body["error"] != "not_permitted" || strings.Contains(a.raw, "secret subject") {
				t.Errorf("%s %s: %d %s", profile, q, a.status, a.raw)
			}
			if c, _ := e.calls(); c != 0 {
				t.Errorf("%s: a refused handshake cost %d CRM calls", profile, c)
			}
		}
	}
	// An unconfigured profile (the restricted default: info only) sees the ranked tickets.
	if a := e.as("Support Manager", "/api/v1/handshake/tickets"); a.status != http.StatusOK || !strings.Contains(a.raw, "secret subject") {
		t.Fatalf("default profile: %d %s", a.status, a.raw)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
