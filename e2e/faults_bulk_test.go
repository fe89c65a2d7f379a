package e2e

// The incremental half of the fault matrix: people bulk-update both systems while the sync
// runs passes every second. The changes are chosen from the records' content (not their ids),
// so the clean run and a faulted run make the same ones; they touch different fields on each
// side, so the result does not depend on when a pass sees them.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// userTransport marks the users' calls so that the taps leave them alone.
type userTransport struct{}

func (userTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(userHeader, "1")
	return http.DefaultTransport.RoundTrip(r)
}

// newFaultUsers returns API clients acting as people; their Desk writes carry a source id of
// their own, so that Desk notifies the sync of them.
func (w *world) newFaultUsers() users {
	w.t.Helper()
	hc := &http.Client{Transport: userTransport{}, Timeout: 30 * time.Second}
	tokens, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: "deskcrm-dev", ClientSecret: "deskcrm-dev-secret",
		RefreshToken: "deskcrm-dev-refresh", AccountsURL: w.crmURL, HTTPClient: hc})
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := crm.New(crm.Config{BaseURL: w.crmURL, Tokens: tokens, HTTPClient: hc})
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := desk.New(desk.Config{BaseURL: w.deskURL, OrgID: w.desk.OrgID(), Tokens: tokens, HTTPClient: hc, SourceID: uuid.NewString()})
	if err != nil {
		w.t.Fatal(err)
	}
	return users{crm: c, desk: d}
}

// persist calls fn until it succeeds, as a person clicks Save again after an error: the
// fault-injecting emulators answer users too. Writes retried here are updates, so a lost
// response retried is harmless.
func persist(t *testing.T, what string, fn func() error) {
	t.Helper()
	var err error
	for range 100 {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("user %s: still failing after 100 tries: %v", what, err)
}

// bulkPlan is what the people change, and how to know the change arrived.
type bulkPlan struct {
	titles   map[string]string // CRM contact id → new Title (its Desk counterpart must show it)
	mobiles  map[string]string // Desk contact id → new mobile
	websites map[string]string // CRM account id → new Website
	newCRM   []string          // emails of contacts created in CRM
	newDesk  []string          // emails of contacts created in Desk
}

// linkedSorted returns the ids of a module's records that hold a counterpart id, sorted by
// their content, so that the n-th is the same record in every run.
func linkedSorted(module string, recs []map[string]any) []string {
	type rec struct{ id, key string }
	var rs []rec
	for _, r := range recs {
		if counterpartID(r) != "" {
			rs = append(rs, rec{str(r["id"]), canonical(r, func(string) string { return "" })})
		}
	}
	slices.SortFunc(rs, func(a, b rec) int { return strings.Compare(a.key, b.key) })
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	return ids
}

// bulkUpdate makes the people's changes: every fourth linked CRM contact gets a new title,
// every fourth linked Desk contact (another quarter) a new mobile, every third linked CRM
// account a new website, and each side gains size.newRecords contacts (some in an account)
// and two accounts. Updates go through the API (10 per CRM call, 5 Desk calls at a time);
// creates are loaded straight into the emulators, like an import.
func (w *world) bulkUpdate(u users) bulkPlan {
	w.t.Helper()
	ctx := context.Background()
	p := bulkPlan{titles: map[string]string{}, mobiles: map[string]string{}, websites: map[string]string{}}
	crmContacts := linkedSorted("contacts", w.crm.Records("Contacts"))
	deskContacts := linkedSorted("contacts", w.desk.Records("contacts"))
	crmAccounts := linkedSorted("accounts", w.crm.Records("Accounts"))
	deskAccounts := linkedSorted("accounts", w.desk.Records("accounts"))
	for i, id := range crmContacts {
		if i%4 == 0 {
			p.titles[id] = fmt.Sprintf("Bulk title %d", i)
		}
	}
	for i, id := range deskContacts {
		if i%4 == 2 {
			p.mobiles[id] = fmt.Sprintf("+1 555 700 %04d", i)
		}
	}
	for i, id := range crmAccounts {
		if i%3 == 0 {
			p.websites[id] = fmt.Sprintf("https://bulk-%d.example.org", i)
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // CRM: titles and websites, 10 records per call
		defer wg.Done()
		for _, set := range []struct {
			module, field string
			values        map[string]string
		}{{"Contacts", "Title", p.titles}, {"Accounts", "Website", p.websites}} {
			ids := slices.Sorted(maps.Keys(set.values))
			for start := 0; start < len(ids); start += 10 {
				batch := make([]crm.Record, 0, 10)
				for _, id := range ids[start:min(start+10, len(ids))] {
					batch = append(batch, crm.Record{ID: id, Fields: map[string]any{set.field: set.values[id]}})
				}
				persist(w.t, "CRM update", func() error {
					res, err := u.crm.Update(ctx, set.module, batch)
					for _, r := range res {
						if err == nil && !r.OK() {
							err = fmt.Errorf("record %s: %s %s", r.ID, r.Code, r.Message)
						}
					}
					return err
				})
			}
		}
	}()
	go func() { // Desk: mobiles, one per call, 5 at a time
		defer wg.Done()
		sem := make(chan struct{}, 5)
		var dw sync.WaitGroup
		for _, id := range slices.Sorted(maps.Keys(p.mobiles)) {
			sem <- struct{}{}
			dw.Add(1)
			go func() {
				defer func() { <-sem; dw.Done() }()
				persist(w.t, "Desk update", func() error {
					_, err := u.desk.Update(ctx, "contacts", id, desk.Record{Fields: map[string]any{"mobile": p.mobiles[id]}})
					return err
				})
			}()
		}
		dw.Wait()
	}()
	go func() { // creates on both sides, a few at a time
		defer wg.Done()
		p.newCRM, p.newDesk = w.loadNewRecords(crmAccounts, deskAccounts)
	}()
	wg.Wait()
	return p
}

// loadNewRecords loads the new contacts and accounts in tens, half a second apart.
func (w *world) loadNewRecords(crmAccounts, deskAccounts []string) (newCRM, newDesk []string) {
	w.t.Helper()
	load := func(l interface {
		Load(string, []map[string]any) ([]string, error)
	}, module string, recs ...map[string]any) {
		if _, err := l.Load(module, recs); err != nil {
			w.t.Errorf("load %s: %v", module, err)
		}
	}
	load(w.crm, "Accounts", map[string]any{"Account_Name": "Bulk New CRM Account One"}, map[string]any{"Account_Name": "Bulk New CRM Account Two"})
	load(w.desk, "accounts", map[string]any{"accountName": "Bulk New Desk Account One"}, map[string]any{"accountName": "Bulk New Desk Account Two"})
	for start := 0; start < w.size.newRecords; start += 10 {
		var crmRecs, deskRecs []map[string]any
		for i := start; i < min(start+10, w.size.newRecords); i++ {
			ce, de := fmt.Sprintf("bulk.crm.%d@new.example", i), fmt.Sprintf("bulk.desk.%d@new.example", i)
			cr := map[string]any{"First_Name": "Bulk", "Last_Name": fmt.Sprintf("Crm %d", i), "Email": ce, "Phone": fmt.Sprintf("+1 555 800 %04d", i)}
			dr := map[string]any{"firstName": "Bulk", "lastName": fmt.Sprintf("Desk %d", i), "email": de, "title": "New in Desk"}
			if i%3 == 0 && len(crmAccounts) > 0 {
				cr["Account_Name"] = map[string]any{"id": crmAccounts[i%len(crmAccounts)]}
			}
			if i%3 == 1 && len(deskAccounts) > 0 {
				dr["accountId"] = deskAccounts[i%len(deskAccounts)]
			}
			crmRecs, deskRecs = append(crmRecs, cr), append(deskRecs, dr)
			newCRM, newDesk = append(newCRM, ce), append(newDesk, de)
		}
		load(w.crm, "Contacts", crmRecs...)
		load(w.desk, "contacts", deskRecs...)
		time.Sleep(500 * time.Millisecond)
	}
	return newCRM, newDesk
}

// arrived reports whether every change of the plan shows on the other side, and if not, the
// first few still missing. Counterparts are found through the links in Postgres (a record's
// counterpart-id field is compared later, with everything else).
func (w *world) arrived(p bulkPlan) (bool, string) {
	var missing []string
	deskOf := func(module string) map[string]string { // CRM id → Desk id
		out := map[string]string{}
		rows, err := w.st.Pool.Query(context.Background(), `select coalesce(desk_id, ''), coalesce(crm_id, '') from links
			where integration_id = 'e2e' and module = $1`, module)
		if err != nil {
			return out // Postgres may be down on purpose: not arrived yet
		}
		defer rows.Close()
		for rows.Next() {
			var d, c string
			if rows.Scan(&d, &c) == nil {
				out[c] = d
			}
		}
		return out
	}
	contactLinks, accountLinks := deskOf("contacts"), deskOf("accounts")
	crmOf := map[string]string{}
	for c, d := range contactLinks {
		crmOf[d] = c
	}
	byID := func(recs []map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range recs {
			out[str(r["id"])] = r
		}
		return out
	}
	deskContacts, crmContacts := byID(w.desk.Records("contacts")), byID(w.crm.Records("Contacts"))
	deskAccounts := byID(w.desk.Records("accounts"))
	emails := func(recs map[string]map[string]any, field string) map[string]bool {
		out := map[string]bool{}
		for _, r := range recs {
			out[str(r[field])] = true
		}
		return out
	}
	deskEmails, crmEmails := emails(deskContacts, "email"), emails(crmContacts, "Email")
	for id, title := range p.titles {
		if r := deskContacts[contactLinks[id]]; r == nil || str(r["title"]) != title {
			missing = append(missing, "title "+title)
		}
	}
	for id, mobile := range p.mobiles {
		if r := crmContacts[crmOf[id]]; r == nil || str(r["Mobile"]) != mobile {
			missing = append(missing, "mobile "+mobile)
		}
	}
	for id, site := range p.websites {
		if r := deskAccounts[accountLinks[id]]; r == nil || str(r["website"]) != site {
			missing = append(missing, "website "+site)
		}
	}
	for _, e := range p.newCRM {
		if !deskEmails[e] {
			missing = append(missing, "new CRM contact "+e)
		}
	}
	for _, e := range p.newDesk {
		if !crmEmails[e] {
			missing = append(missing, "new Desk contact "+e)
		}
	}
	slices.Sort(missing)
	return len(missing) == 0, fmt.Sprintf("%d missing, e.g. %s", len(missing), strings.Join(missing[:min(3, len(missing))], "; "))
}
