package seed

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"deskcrm/emulator/desk"
)

var (
	adjectives = []string{"Blue", "Bright", "Swift", "Silver", "Golden", "Northern", "Quiet", "Bold", "Clever", "Green",
		"Rapid", "Solid", "Crimson", "Summit", "Prime", "Coastal", "Urban", "Lunar", "Polar", "Royal",
		"Amber", "Cobalt", "Evergreen", "Granite", "Harbor", "Iron", "Jade", "Keystone", "Maple", "Noble"}
	nouns = []string{"Falcon", "Harbor", "Pixel", "Forge", "Orchard", "Beacon", "Anchor", "Canyon", "Vertex", "Meadow",
		"Signal", "Bridge", "Lantern", "Quarry", "Rocket", "Summit", "Willow", "Atlas", "Cedar", "Delta",
		"Ember", "Fjord", "Glacier", "Horizon", "Island", "Juniper", "Kestrel", "Lagoon", "Mosaic", "Nimbus",
		"Oasis", "Prairie", "Quartz", "Raven", "Sierra", "Tundra", "Union", "Valley", "Wharf", "Zenith"}
	suffixes   = []string{"Inc", "LLC", "Ltd", "GmbH", "Corp", "Group", "Labs", "Systems", "Partners", "Co"}
	firstNames = []string{"Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kira", "Liam", "Maya", "Nikolai", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tanya",
		"Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Diego"}
	lastNames = []string{"Silva", "Smith", "Müller", "Rossi", "Tanaka", "Kowalski", "Okafor", "Haddad", "Johansson", "García",
		"Nguyen", "Dubois", "Costa", "Ivanova", "Kim", "Patel", "O'Brien", "Schmidt", "Moreau", "Lopez",
		"Yilmaz", "Novak", "Andersen", "Ferreira", "Chen", "Rahman", "Mendes", "Fischer", "Sato", "Walsh"}
	domains    = []string{"example.com", "example.org", "mail.example.net", "corp.example.com", "example.io"}
	cities     = []string{"Lisbon", "Berlin", "Austin", "Toronto", "Osaka", "Nairobi", "Chennai", "Lyon", "Oslo", "Sydney"}
	countries  = []string{"Portugal", "Germany", "USA", "Canada", "Japan", "Kenya", "India", "France", "Norway", "Australia"}
	titles     = []string{"CEO", "CTO", "Head of Support", "IT Manager", "Buyer", "Office Manager", "Engineer", "Analyst"}
	industries = []string{"Small/Medium Enterprise", "Large Enterprise", "Service Provider", "Systems Integrator", "Wireless Industry"}
	acctTypes  = []string{"Customer", "Customer", "Customer", "Partner", "Prospect", "Reseller", "Vendor", "Other"}
	subjects   = []string{"Cannot log in", "Invoice question", "Feature request", "Error on export", "Password reset",
		"Slow dashboard", "Upgrade plan", "Data import failed", "API rate limit", "Cancel subscription"}
	dealStages = []string{"Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// accountName returns the canonical name of account plan index k; the part
// before the legal suffix is unique per k, so names never collide even when
// a matcher drops suffixes.
func accountName(seed uint64, k int) string {
	a, n := len(adjectives), len(nouns)
	name := adjectives[k%a] + " " + nouns[(k/a)%n]
	if g := k / (a * n); g > 0 {
		name += " " + strconv.Itoa(g+1)
	}
	r := rngFor(seed, "account-suffix", k)
	return name + " " + pick(r, suffixes)
}

// deskVariant spells an overlapping account name the way a different user
// might type it on the other system: case and punctuation differences only.
func deskVariant(r *rand.Rand, name string) string {
	switch x := r.IntN(100); {
	case x < 40:
		return name
	case x < 60:
		return strings.ToUpper(name)
	case x < 75:
		return strings.ToLower(name)
	case x < 90:
		i := strings.LastIndex(name, " ")
		return name[:i] + "," + name[i:]
	default:
		return strings.Replace(name, " ", "  ", 1)
	}
}

// emailVariant spells an email with different case or surrounding spaces.
func emailVariant(r *rand.Rand, email string) string {
	switch x := r.IntN(100); {
	case x < 40:
		return email
	case x < 60:
		return strings.ToUpper(email)
	case x < 80:
		return strings.ToUpper(email[:1]) + email[1:]
	default:
		return " " + email + " "
	}
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func phone(r *rand.Rand) string {
	return fmt.Sprintf("+1 555 %03d %04d", r.IntN(1000), r.IntN(10000))
}

// accounts loads the accounts of both sides.
func (g *gen) accounts() error {
	p := g.accPlan
	o := g.o
	desk := &batch{l: o.Desk, module: "accounts", size: o.ChunkSize, onIDs: func(ids []string) { g.deskAccIDs = append(g.deskAccIDs, ids...) }}
	crm := &batch{l: o.CRM, module: "Accounts", size: o.ChunkSize, onIDs: func(ids []string) { g.crmAccIDs = append(g.crmAccIDs, ids...) }}
	s := &g.sum
	emit := func(k int, onDesk, onCRM bool, deskName, crmName string) error {
		old := g.isOld("account", k)
		if onDesk {
			r := rngFor(o.Seed, "desk-account", k)
			rec := g.deskAccount(r, k, deskName, old)
			if err := desk.add(rec); err != nil {
				return err
			}
			s.Desk.Accounts++
			if old {
				s.Desk.OldAccounts++
			}
		}
		if onCRM {
			r := rngFor(o.Seed, "crm-account", k)
			if err := crm.add(g.crmAccount(r, k, crmName, old)); err != nil {
				return err
			}
			s.CRM.Accounts++
			if old {
				s.CRM.OldAccounts++
			}
		}
		return nil
	}
	for k := 0; k < p.overlap; k++ {
		name := accountName(o.Seed, k)
		if err := emit(k, true, true, deskVariant(rngFor(o.Seed, "desk-account-variant", k), name), name); err != nil {
			return err
		}
		s.OverlapAccounts++
		if !g.isOld("account", k) {
			s.RecentOverlapAccounts++
		}
	}
	base := p.overlap
	for j := 0; j < p.deskOnly; j++ {
		k := base + j
		if err := emit(k, true, false, accountName(o.Seed, k), ""); err != nil {
			return err
		}
	}
	base += p.deskOnly
	for j := 0; j < p.crmOnly; j++ {
		k := base + j
		if err := emit(k, false, true, "", accountName(o.Seed, k)); err != nil {
			return err
		}
	}
	// Ambiguous duplicates: a second account whose name differs from an
	// overlapping one only by a trailing period.
	for j := 0; j < p.ambiguous; j++ {
		dk, ck := j, p.ambiguous+j
		dn, cn := accountName(o.Seed, dk), accountName(o.Seed, ck)
		r := rngFor(o.Seed, "desk-dup-account", j)
		if err := desk.add(g.deskAccount(r, dk, dn+".", false)); err != nil {
			return err
		}
		r = rngFor(o.Seed, "crm-dup-account", j)
		if err := crm.add(g.crmAccount(r, ck, cn+".", false)); err != nil {
			return err
		}
		s.Desk.Accounts++
		s.CRM.Accounts++
		s.Desk.AmbiguousAccounts++
		s.CRM.AmbiguousAccounts++
		s.AmbiguousAccountNames = append(s.AmbiguousAccountNames, dn, cn)
	}
	if err := desk.flush(); err != nil {
		return err
	}
	return crm.flush()
}

func (g *gen) deskAccount(r *rand.Rand, k int, name string, old bool) map[string]any {
	created, modified := g.age(r, old)
	ci := r.IntN(len(cities))
	return map[string]any{
		"accountName": name, "website": "https://www." + slug(accountName(g.o.Seed, k)) + ".example.com",
		"phone": phone(r), "industry": pick(r, industries), "city": cities[ci], "country": countries[ci],
		"annualrevenue": float64(r.IntN(50_000)) * 1000,
		"createdTime":   deskTime(created), "modifiedTime": deskTime(modified),
	}
}

func (g *gen) crmAccount(r *rand.Rand, k int, name string, old bool) map[string]any {
	created, modified := g.age(r, old)
	ci := r.IntN(len(cities))
	return map[string]any{
		"Account_Name": name, "Website": "https://www." + slug(accountName(g.o.Seed, k)) + ".example.com",
		"Phone": phone(r), "Industry": pick(r, industries), "Billing_City": cities[ci], "Billing_Country": countries[ci],
		"Account_Type": pick(r, acctTypes), "Annual_Revenue": float64(r.IntN(50_000)) * 1000,
		"Created_Time": crmTime(created), "Modified_Time": crmTime(modified),
	}
}

// person is the shared identity of contact plan index k.
type person struct {
	first, last, email, phone, title, city, country, tier, renewal string
	seats                                                          int
	vip                                                            bool
}

func (g *gen) person(k int) person {
	r := rngFor(g.o.Seed, "person", k)
	p := person{first: pick(r, firstNames), last: pick(r, lastNames), phone: phone(r), title: pick(r, titles)}
	ci := r.IntN(len(cities))
	p.city, p.country = cities[ci], countries[ci]
	local := slug(p.first) + "." + slug(p.last) + "." + strconv.Itoa(k)
	p.email = local + "@" + pick(r, domains)
	p.tier = pick(r, desk.CustomerTiers)
	p.seats = 1 + r.IntN(500)
	p.renewal = g.o.Now.AddDate(0, 0, r.IntN(720)-180).Format(time.DateOnly)
	p.vip = r.IntN(10) == 0
	return p
}

// contactSide is what one side needs to write a contact.
type contactSide struct {
	email   string // "" = none
	account string // account id or ""
	old     bool
	diverge bool // a field differs from the other side
}

func (g *gen) deskContact(r *rand.Rand, p person, c contactSide) map[string]any {
	created, modified := g.age(r, c.old)
	rec := map[string]any{
		"firstName": p.first, "lastName": p.last, "phone": p.phone, "title": p.title,
		"city": p.city, "country": p.country,
		"cf":          map[string]any{"cf_customer_tier": p.tier, "cf_seats": p.seats, "cf_renewal_date": p.renewal, "cf_vip": p.vip},
		"createdTime": deskTime(created), "modifiedTime": deskTime(modified),
	}
	if c.email != "" {
		rec["email"] = c.email
	}
	if c.account != "" {
		rec["accountId"] = c.account
	}
	if c.diverge {
		rec["phone"] = phone(r)
	}
	return rec
}

func (g *gen) crmContact(r *rand.Rand, p person, c contactSide) map[string]any {
	created, modified := g.age(r, c.old)
	rec := map[string]any{
		"First_Name": p.first, "Last_Name": p.last, "Phone": p.phone, "Title": p.title,
		"Mailing_City": p.city, "Mailing_Country": p.country,
		"Customer_Tier": p.tier, "Seats": p.seats, "Renewal_Date": p.renewal, "VIP": p.vip,
		"Created_Time": crmTime(created), "Modified_Time": crmTime(modified),
	}
	if c.email != "" {
		rec["Email"] = c.email
	}
	if c.account != "" {
		rec["Account_Name"] = map[string]any{"id": c.account}
	}
	return rec
}

// contacts loads the contacts of both sides.
func (g *gen) contacts() error {
	p := g.conPlan
	o := g.o
	s := &g.sum
	deskStride := max(1, o.DeskContacts/max(1, o.Tickets))
	crmStride := max(1, o.CRMContacts/max(1, o.Activities))
	var deskPending, crmPending []string // account per queued record
	deskSeen, crmSeen := 0, 0
	desk := &batch{l: o.Desk, module: "contacts", size: o.ChunkSize, onIDs: func(ids []string) {
		for i, id := range ids {
			if a := deskPending[i]; a != "" && deskSeen%deskStride == 0 && len(g.deskSample) < o.Tickets {
				g.deskSample = append(g.deskSample, linkRef{id, a})
			}
			deskSeen++
		}
		deskPending = deskPending[:0]
	}}
	crm := &batch{l: o.CRM, module: "Contacts", size: o.ChunkSize, onIDs: func(ids []string) {
		for i, id := range ids {
			if a := crmPending[i]; a != "" && crmSeen%crmStride == 0 && len(g.crmSample) < o.Activities {
				g.crmSample = append(g.crmSample, linkRef{id, a})
			}
			crmSeen++
		}
		crmPending = crmPending[:0]
	}}
	addDesk := func(r *rand.Rand, pr person, c contactSide) error {
		deskPending = append(deskPending, c.account)
		s.Desk.Contacts++
		if c.email == "" {
			s.Desk.ContactsNoEmail++
		}
		if c.old {
			s.Desk.OldContacts++
		}
		if c.account != "" {
			s.Desk.LinkedContacts++
		}
		return desk.add(g.deskContact(r, pr, c))
	}
	addCRM := func(r *rand.Rand, pr person, c contactSide) error {
		crmPending = append(crmPending, c.account)
		s.CRM.Contacts++
		if c.email == "" {
			s.CRM.ContactsNoEmail++
		}
		if c.old {
			s.CRM.OldContacts++
		}
		if c.account != "" {
			s.CRM.LinkedContacts++
		}
		return crm.add(g.crmContact(r, pr, c))
	}
	oa := g.accPlan.overlap
	for k := 0; k < p.overlap; k++ {
		pr := g.person(k)
		r := rngFor(o.Seed, "contact-pair", k)
		old := g.isOld("contact", k)
		var da, ca string
		if r.Float64() < o.Linked && oa > 0 {
			da, ca = g.deskAccIDs[k%oa], g.crmAccIDs[k%oa]
		}
		diverge := r.IntN(10) == 0
		crmEmail := pr.email
		if r.IntN(5) == 0 {
			crmEmail = strings.ToUpper(crmEmail[:1]) + crmEmail[1:]
		}
		if err := addDesk(rngFor(o.Seed, "desk-contact", k), pr, contactSide{email: emailVariant(r, pr.email), account: da, old: old, diverge: diverge}); err != nil {
			return err
		}
		if err := addCRM(rngFor(o.Seed, "crm-contact", k), pr, contactSide{email: crmEmail, account: ca, old: old}); err != nil {
			return err
		}
		s.OverlapContacts++
		if !old {
			s.RecentOverlapContacts++
		}
	}
	oneSided := func(k int, side string, ids []string, add func(*rand.Rand, person, contactSide) error) error {
		pr := g.person(k)
		r := rngFor(o.Seed, side+"-contact", k)
		c := contactSide{email: pr.email, old: g.isOld("contact", k)}
		if r.Float64() < o.NoEmail {
			c.email = ""
		}
		if len(ids) > 0 && r.Float64() < o.Linked {
			c.account = ids[r.IntN(len(ids))]
		}
		return add(r, pr, c)
	}
	base := p.overlap
	for j := 0; j < p.deskOnly; j++ {
		if err := oneSided(base+j, "desk", g.deskAccIDs, addDesk); err != nil {
			return err
		}
	}
	base += p.deskOnly
	for j := 0; j < p.crmOnly; j++ {
		if err := oneSided(base+j, "crm", g.crmAccIDs, addCRM); err != nil {
			return err
		}
	}
	// Ambiguous duplicates: a second person on one side with the email of
	// an overlapping contact (in another case).
	for j := 0; j < p.ambiguous; j++ {
		dk, ck := j, p.ambiguous+j
		dp, cp := g.person(dk), g.person(ck)
		dup := func(pr person, k int) person {
			x := g.person(k + 7919) // another name
			x.email = strings.ToUpper(pr.email)
			return x
		}
		if err := addDesk(rngFor(o.Seed, "desk-dup-contact", j), dup(dp, dk), contactSide{email: strings.ToUpper(dp.email)}); err != nil {
			return err
		}
		if err := addCRM(rngFor(o.Seed, "crm-dup-contact", j), dup(cp, ck), contactSide{email: strings.ToUpper(cp.email)}); err != nil {
			return err
		}
		s.Desk.AmbiguousContacts++
		s.CRM.AmbiguousContacts++
		s.AmbiguousEmails = append(s.AmbiguousEmails, lowerTrim(dp.email), lowerTrim(cp.email))
	}
	if err := desk.flush(); err != nil {
		return err
	}
	return crm.flush()
}

// tickets loads Desk tickets for sampled linked contacts.
func (g *gen) tickets() error {
	if g.o.Desk == nil || len(g.deskSample) == 0 || g.o.Tickets <= 0 {
		return nil
	}
	var ts []desk.Ticket
	for i := 0; i < g.o.Tickets; i++ {
		ref := g.deskSample[i%len(g.deskSample)]
		r := rngFor(g.o.Seed, "ticket", i)
		ts = append(ts, desk.Ticket{
			Subject: pick(r, subjects), ContactID: ref.contact, AccountID: ref.account,
			Status: pick(r, desk.TicketStatuses), Priority: pick(r, desk.TicketPriorities),
			CreatedTime: g.o.Now.Add(-time.Duration(r.Int64N(int64(60 * 24 * time.Hour)))).Truncate(time.Millisecond),
		})
		if len(ts) == g.o.ChunkSize || i == g.o.Tickets-1 {
			if _, err := g.o.Desk.LoadTickets(ts); err != nil {
				return fmt.Errorf("seed tickets: %w", err)
			}
			g.sum.Desk.Tickets += len(ts)
			ts = ts[:0]
		}
	}
	return nil
}

// activities loads CRM deals, notes, tasks, events and calls for sampled
// linked contacts.
func (g *gen) activities() error {
	if g.o.CRM == nil || len(g.crmSample) == 0 || g.o.Activities <= 0 {
		return nil
	}
	n := g.o.Activities
	kinds := []struct {
		module string
		count  *int
		make   func(r *rand.Rand, ref linkRef, i int) map[string]any
	}{
		{"Deals", &g.sum.CRM.Deals, func(r *rand.Rand, ref linkRef, i int) map[string]any {
			return map[string]any{"Deal_Name": fmt.Sprintf("%s renewal %d", pick(r, nouns), i+1), "Stage": pick(r, dealStages),
				"Amount": float64(1000 + r.IntN(99_000)), "Closing_Date": g.o.Now.AddDate(0, 0, r.IntN(180)).Format(time.DateOnly),
				"Account_Name": map[string]any{"id": ref.account}, "Contact_Name": map[string]any{"id": ref.contact}}
		}},
		{"Notes", &g.sum.CRM.Notes, func(r *rand.Rand, ref linkRef, i int) map[string]any {
			return map[string]any{"Note_Title": "Call summary", "Note_Content": "Discussed " + strings.ToLower(pick(r, subjects)) + ".",
				"Parent_Id": map[string]any{"id": ref.contact, "module": map[string]any{"api_name": "Contacts"}}, "$se_module": "Contacts"}
		}},
		{"Tasks", &g.sum.CRM.Tasks, func(r *rand.Rand, ref linkRef, i int) map[string]any {
			return map[string]any{"Subject": "Follow up: " + pick(r, subjects), "Due_Date": g.o.Now.AddDate(0, 0, r.IntN(30)).Format(time.DateOnly),
				"Status": "Not Started", "Priority": "Normal", "Who_Id": map[string]any{"id": ref.contact},
				"What_Id": map[string]any{"id": ref.account}, "$se_module": "Accounts"}
		}},
		{"Events", &g.sum.CRM.Events, func(r *rand.Rand, ref linkRef, i int) map[string]any {
			start := g.o.Now.Add(time.Duration(r.IntN(30*24)) * time.Hour)
			return map[string]any{"Event_Title": "Quarterly review", "Start_DateTime": crmTime(start), "End_DateTime": crmTime(start.Add(time.Hour)),
				"Who_Id": map[string]any{"id": ref.contact}, "What_Id": map[string]any{"id": ref.account}, "$se_module": "Accounts"}
		}},
		{"Calls", &g.sum.CRM.Calls, func(r *rand.Rand, ref linkRef, i int) map[string]any {
			return map[string]any{"Subject": "Support call", "Call_Type": pick(r, []string{"Outbound", "Inbound"}),
				"Call_Start_Time": crmTime(g.o.Now.Add(-time.Duration(r.IntN(30*24)) * time.Hour)), "Call_Duration": "05:00",
				"Who_Id": map[string]any{"id": ref.contact}}
		}},
	}
	for _, k := range kinds {
		b := &batch{l: g.o.CRM, module: k.module, size: g.o.ChunkSize}
		for i := 0; i < n; i++ {
			ref := g.crmSample[i%len(g.crmSample)]
			if err := b.add(k.make(rngFor(g.o.Seed, k.module, i), ref, i)); err != nil {
				return err
			}
			*k.count++
		}
		if err := b.flush(); err != nil {
			return err
		}
	}
	return nil
}
