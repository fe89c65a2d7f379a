package seed

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/desk"
)

// memCRM is a CRM stand-in that keeps loaded records and checks the
// mandatory fields and lookups the CRM emulator would check.
type memCRM struct {
	recs  map[string][]map[string]any
	ids   map[string]bool
	next  int
	calls int
	max   int
}

func newMemCRM() *memCRM { return &memCRM{recs: map[string][]map[string]any{}, ids: map[string]bool{}} }

var mandatory = map[string][]string{
	"Contacts": {"Last_Name"}, "Accounts": {"Account_Name"}, "Deals": {"Deal_Name", "Stage"},
	"Notes": {"Note_Content", "Parent_Id"}, "Tasks": {"Subject"}, "Events": {"Event_Title", "Start_DateTime", "End_DateTime"},
	"Calls": {"Subject", "Call_Type", "Call_Start_Time"},
}

func (m *memCRM) Load(module string, recs []map[string]any) ([]string, error) {
	m.calls++
	m.max = max(m.max, len(recs))
	var ids []string
	for i, r := range recs {
		for _, f := range mandatory[module] {
			if r[f] == nil || r[f] == "" {
				return ids, fmt.Errorf("%s record %d: %s missing", module, i, f)
			}
		}
		for _, f := range []string{"Account_Name", "Contact_Name", "Who_Id", "What_Id", "Parent_Id"} {
			if ref, ok := r[f].(map[string]any); ok && !m.ids[ref["id"].(string)] {
				return ids, fmt.Errorf("%s record %d: %s points at unknown id %v", module, i, f, ref["id"])
			}
		}
		m.next++
		id := fmt.Sprintf("57257670000%08d", m.next)
		m.ids[id] = true
		cp := map[string]any{}
		for k, v := range r {
			cp[k] = v
		}
		m.recs[module] = append(m.recs[module], cp)
		ids = append(ids, id)
	}
	return ids, nil
}

func normName(s string) string {
	s = strings.ToLower(s)
	s = regexp.MustCompile(`[^a-z0-9 ]`).ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

func TestGenerateSmall(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	d := desk.New(desk.Config{})
	defer d.Close()
	c := newMemCRM()
	sum, err := Generate(Options{Seed: 42, Now: now, Desk: d, CRM: c, DeskContacts: 200, DeskAccounts: 60, CRMContacts: 150, CRMAccounts: 80, ChunkSize: 37})
	if err != nil {
		t.Fatal(err)
	}
	// Counts match what the emulators hold.
	checks := []struct {
		name      string
		got, want int
	}{
		{"desk contacts", d.Count("contacts"), sum.Desk.Contacts},
		{"desk accounts", d.Count("accounts"), sum.Desk.Accounts},
		{"crm contacts", len(c.recs["Contacts"]), sum.CRM.Contacts},
		{"crm accounts", len(c.recs["Accounts"]), sum.CRM.Accounts},
		{"desk contacts asked", sum.Desk.Contacts, 200 + sum.Desk.AmbiguousContacts},
		{"crm accounts asked", sum.CRM.Accounts, 80 + sum.CRM.AmbiguousAccounts},
		{"overlap contacts", sum.OverlapContacts, 45},
		{"overlap accounts", sum.OverlapAccounts, 18},
		{"tickets", len(d.Tickets()), sum.Desk.Tickets},
		{"deals", len(c.recs["Deals"]), sum.CRM.Deals},
		{"calls", len(c.recs["Calls"]), sum.CRM.Calls},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d, want %d", ch.name, ch.got, ch.want)
		}
	}
	if c.max > 37 {
		t.Errorf("a Load call got %d records, chunk size is 37", c.max)
	}
	if sum.Desk.Tickets == 0 || sum.CRM.Deals == 0 || sum.CRM.Notes == 0 || sum.CRM.Tasks == 0 || sum.CRM.Events == 0 {
		t.Errorf("no tickets or activities: %+v", sum)
	}

	// Recompute overlaps from the stored data.
	deskEmails := map[string]int{}
	noEmail, old, linked := 0, 0, 0
	for _, r := range d.Records("contacts") {
		if e, _ := r["email"].(string); e != "" {
			deskEmails[strings.ToLower(strings.TrimSpace(e))]++
		} else {
			noEmail++
		}
		if ct, _ := time.Parse(time.RFC3339, r["createdTime"].(string)); now.Sub(ct) > year {
			old++
		}
		if r["accountId"] != nil {
			linked++
		}
		cf := r["cf"].(map[string]any)
		if cf["cf_customer_tier"] == nil || cf["cf_seats"] == nil || cf["cf_renewal_date"] == nil || cf["cf_vip"] == nil {
			t.Errorf("custom fields missing: %v", cf)
		}
	}
	if noEmail != sum.Desk.ContactsNoEmail || noEmail == 0 {
		t.Errorf("desk contacts without email = %d, summary %d", noEmail, sum.Desk.ContactsNoEmail)
	}
	if old != sum.Desk.OldContacts || old == 0 {
		t.Errorf("old desk contacts = %d, summary %d", old, sum.Desk.OldContacts)
	}
	if linked != sum.Desk.LinkedContacts || linked == 0 {
		t.Errorf("linked desk contacts = %d, summary %d", linked, sum.Desk.LinkedContacts)
	}
	crmEmails := map[string]int{}
	for _, r := range c.recs["Contacts"] {
		if e, _ := r["Email"].(string); e != "" {
			crmEmails[strings.ToLower(strings.TrimSpace(e))]++
		}
	}
	shared, ambiguous := 0, map[string]bool{}
	variants := 0
	for e, n := range deskEmails {
		if crmEmails[e] > 0 {
			shared++
		}
		if n > 1 || crmEmails[e] > 1 {
			ambiguous[e] = true
		}
	}
	for _, r := range d.Records("contacts") {
		if e, _ := r["email"].(string); e != "" && e != strings.ToLower(strings.TrimSpace(e)) {
			variants++
		}
	}
	if shared != sum.OverlapContacts {
		t.Errorf("emails on both sides = %d, summary %d", shared, sum.OverlapContacts)
	}
	if variants == 0 {
		t.Error("no email spelled with different case or spaces")
	}
	if len(ambiguous) != len(sum.AmbiguousEmails) {
		t.Errorf("ambiguous emails = %v, summary %v", ambiguous, sum.AmbiguousEmails)
	}
	for _, e := range sum.AmbiguousEmails {
		if !ambiguous[e] {
			t.Errorf("summary ambiguous email %s is not ambiguous", e)
		}
	}
	deskNames := map[string]int{}
	exactSame := 0
	crmNames := map[string]string{}
	for _, r := range c.recs["Accounts"] {
		crmNames[normName(r["Account_Name"].(string))] = r["Account_Name"].(string)
		if r["Account_Type"] == nil {
			t.Errorf("CRM account without Account_Type: %v", r)
		}
	}
	for _, r := range d.Records("accounts") {
		n := r["accountName"].(string)
		deskNames[normName(n)]++
		if crmNames[normName(n)] == n {
			exactSame++
		}
	}
	sharedAcc := 0
	for n := range deskNames {
		if _, ok := crmNames[n]; ok {
			sharedAcc++
		}
	}
	if sharedAcc != sum.OverlapAccounts {
		t.Errorf("normalised account names on both sides = %d, summary %d", sharedAcc, sum.OverlapAccounts)
	}
	if exactSame >= sum.OverlapAccounts {
		t.Error("every shared account name is spelled identically; want case/punctuation variants")
	}
	for _, n := range sum.AmbiguousAccountNames {
		if deskNames[normName(n)]+countNorm(c.recs["Accounts"], n) < 3 {
			t.Errorf("ambiguous account %q appears fewer than 3 times across sides", n)
		}
	}
}

func countNorm(recs []map[string]any, name string) int {
	n := 0
	for _, r := range recs {
		if normName(r["Account_Name"].(string)) == normName(name) {
			n++
		}
	}
	return n
}

func TestGenerateDeterministic(t *testing.T) {
	run := func(seed uint64) (Summary, []map[string]any) {
		d := desk.New(desk.Config{})
		defer d.Close()
		c := newMemCRM()
		sum, err := Generate(Options{Seed: seed, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Desk: d, CRM: c,
			DeskContacts: 50, DeskAccounts: 20, CRMContacts: 50, CRMAccounts: 20})
		if err != nil {
			t.Fatal(err)
		}
		return sum, c.recs["Contacts"]
	}
	s1, c1 := run(7)
	s2, c2 := run(7)
	s3, c3 := run(8)
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(c1, c2) {
		t.Error("same seed gave different data")
	}
	if reflect.DeepEqual(c1, c3) {
		t.Error("different seeds gave the same data")
	}
	_ = s3
}

func TestGenerateEdgeSizes(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"empty", Options{}},
		{"desk only", Options{DeskContacts: 5, DeskAccounts: 2}},
		{"crm only", Options{CRMContacts: 5, CRMAccounts: 2}},
		{"handful", Options{DeskContacts: 3, DeskAccounts: 1, CRMContacts: 3, CRMAccounts: 1}},
		{"no overlap", Options{DeskContacts: 10, CRMContacts: 10, Overlap: -1}},
		{"full overlap", Options{DeskContacts: 10, DeskAccounts: 4, CRMContacts: 10, CRMAccounts: 4, Overlap: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := desk.New(desk.Config{})
			defer d.Close()
			c.o.Desk, c.o.CRM = d, newMemCRM()
			sum, err := Generate(c.o)
			if err != nil {
				t.Fatal(err)
			}
			if d.Count("contacts") != sum.Desk.Contacts || sum.Desk.Contacts < c.o.DeskContacts {
				t.Errorf("desk contacts %d, summary %+v", d.Count("contacts"), sum.Desk)
			}
		})
	}
}
