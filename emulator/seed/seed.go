// Package seed generates deterministic, realistic demo data for the Desk and
// CRM emulators and streams it into them through their Load calls, in
// chunks, so a million records per side never sit in memory at once.
//
// The data is built to exercise the sync: contacts and accounts that exist
// on both sides (same email with different case/whitespace; same account
// name with case/punctuation differences), records on one side only,
// contacts without email, a few ambiguous duplicates (two records on one
// side sharing an email or a normalised account name), records created more
// than a year before Now (which the first sync ignores), custom fields of
// several types on both sides, contacts linked to accounts, CRM deals,
// notes, tasks, events and calls, and Desk tickets. The Summary says what
// was generated, including the expected overlaps, so tests can assert the
// result of a sync.
//
// The same Options always produce the same records (math/rand/v2 PCG seeded
// from Options.Seed; each overlapping pair is derived from its index, so
// both sides agree).
package seed

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"deskcrm/emulator/desk"
)

// Loader stores records of one module; both emulators implement it
// (desk.Server.Load, crm.Server.Load).
type Loader interface {
	Load(module string, recs []map[string]any) ([]string, error)
}

// DeskLoader is the Desk emulator: records and tickets.
type DeskLoader interface {
	Loader
	LoadTickets(tickets []desk.Ticket) ([]string, error)
}

// Options configures Generate. Zero fractions take the defaults noted; use
// a negative value for "none".
type Options struct {
	// Seed makes the data reproducible (0 = 1).
	Seed uint64
	// Now is the reference time for ages (default time.Now, truncated to
	// the second).
	Now time.Time
	// Desk and CRM receive the data; a nil side is skipped.
	Desk DeskLoader
	CRM  Loader
	// Record counts per side, excluding the ambiguous duplicates.
	DeskContacts, DeskAccounts int
	CRMContacts, CRMAccounts   int
	// Overlap is the fraction of the smaller side's records that also exist
	// on the other side (default 0.3).
	Overlap float64
	// NoEmail is the fraction of one-sided contacts without email (default
	// 0.05); overlapping contacts always have one.
	NoEmail float64
	// Old is the fraction of records created more than a year before Now
	// (default 0.2).
	Old float64
	// Linked is the fraction of contacts linked to an account (default 0.7).
	Linked float64
	// Ambiguous is the number of ambiguous duplicates per side and module
	// (default 3, capped by the overlap size).
	Ambiguous int
	// Tickets is the number of Desk tickets (default min(contacts/5, 500)).
	Tickets int
	// Activities is the number of each of CRM deals, notes, tasks, events
	// and calls (default min(contacts/20, 100)).
	Activities int
	// ChunkSize is the number of records per Load call (default 1,000).
	ChunkSize int
}

// SideSummary counts what one side received.
type SideSummary struct {
	Contacts, Accounts int
	// ContactsNoEmail counts contacts without an email.
	ContactsNoEmail int
	// OldContacts and OldAccounts were created more than a year before Now.
	OldContacts, OldAccounts int
	// LinkedContacts have an account.
	LinkedContacts int
	// AmbiguousContacts and AmbiguousAccounts are the extra duplicate
	// records (included in Contacts and Accounts).
	AmbiguousContacts, AmbiguousAccounts int
	// Tickets (Desk) and activities (CRM).
	Tickets, Deals, Notes, Tasks, Events, Calls int
}

// Summary is what Generate produced.
type Summary struct {
	Seed uint64
	Now  time.Time
	Desk SideSummary
	CRM  SideSummary
	// OverlapContacts and OverlapAccounts are the pairs that exist on both
	// sides (same email / same normalised account name), ambiguous ones
	// included. The Recent counts are the pairs created within the last
	// year on both sides (a pair is old or recent on both sides at once).
	OverlapContacts, OverlapAccounts             int
	RecentOverlapContacts, RecentOverlapAccounts int
	// AmbiguousEmails and AmbiguousAccountNames are the match keys
	// (lower-cased email; canonical account name) shared by two records on
	// one side; each key belongs to one overlapping pair.
	AmbiguousEmails       []string
	AmbiguousAccountNames []string
}

// year is the first-sync horizon.
const year = 365 * 24 * time.Hour

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	frac := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		} else if *v < 0 {
			*v = 0
		}
		*v = min(*v, 1)
	}
	frac(&o.Overlap, 0.3)
	frac(&o.NoEmail, 0.05)
	frac(&o.Old, 0.2)
	frac(&o.Linked, 0.7)
	if o.Ambiguous == 0 {
		o.Ambiguous = 3
	}
	if o.Desk == nil {
		o.DeskContacts, o.DeskAccounts = 0, 0
	}
	if o.CRM == nil {
		o.CRMContacts, o.CRMAccounts = 0, 0
	}
	if o.Tickets == 0 {
		o.Tickets = min(o.DeskContacts/5, 500)
	}
	if o.Activities == 0 {
		o.Activities = min(o.CRMContacts/20, 100)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1000
	}
	return o
}

// plan fixes the index layout of one module: overlapping pairs first, then
// each side's own records, then the ambiguous duplicates.
type plan struct {
	overlap   int // pairs on both sides
	deskOnly  int
	crmOnly   int
	ambiguous int // duplicates per side (of pairs 0..amb-1 on Desk, amb..2amb-1 on CRM)
}

func makePlan(deskN, crmN int, overlap float64, amb int) plan {
	o := int(overlap * float64(min(deskN, crmN)))
	if deskN == 0 || crmN == 0 {
		o = 0
	}
	p := plan{overlap: o, deskOnly: deskN - o, crmOnly: crmN - o}
	p.ambiguous = max(0, min(amb, o/2))
	return p
}

// rngFor returns a generator for one stream and index, so each record is
// reproducible on its own.
func rngFor(seed uint64, stream string, i int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(i)*0x9e3779b97f4a7c15+1))
}

// Generate streams the data into the emulators and returns the Summary.
func Generate(opts Options) (Summary, error) {
	o := opts.withDefaults()
	g := &gen{o: o, sum: Summary{Seed: o.Seed, Now: o.Now}}
	acc := makePlan(o.DeskAccounts, o.CRMAccounts, o.Overlap, o.Ambiguous)
	con := makePlan(o.DeskContacts, o.CRMContacts, o.Overlap, o.Ambiguous)
	g.accPlan, g.conPlan = acc, con
	if err := g.accounts(); err != nil {
		return g.sum, err
	}
	if err := g.contacts(); err != nil {
		return g.sum, err
	}
	if err := g.tickets(); err != nil {
		return g.sum, err
	}
	if err := g.activities(); err != nil {
		return g.sum, err
	}
	return g.sum, nil
}

type gen struct {
	o                Options
	sum              Summary
	accPlan, conPlan plan
	// account ids per side by plan index (-1 = none on that side).
	deskAccIDs, crmAccIDs []string
	// samples of linked contacts for tickets and activities.
	deskSample []linkRef
	crmSample  []linkRef
}

type linkRef struct{ contact, account string }

// batch accumulates records of one module and flushes them in chunks.
type batch struct {
	l      Loader
	module string
	size   int
	recs   []map[string]any
	onIDs  func(ids []string)
}

func (b *batch) add(r map[string]any) error {
	b.recs = append(b.recs, r)
	if len(b.recs) >= b.size {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if len(b.recs) == 0 || b.l == nil {
		b.recs = b.recs[:0]
		return nil
	}
	ids, err := b.l.Load(b.module, b.recs)
	if err != nil {
		return fmt.Errorf("seed %s: %w", b.module, err)
	}
	if b.onIDs != nil {
		b.onIDs(ids)
	}
	clear(b.recs)
	b.recs = b.recs[:0]
	return nil
}

// age picks created and modified times: old records more than a year ago,
// recent ones within the last year.
func (g *gen) age(r *rand.Rand, old bool) (time.Time, time.Time) {
	now := g.o.Now
	var created time.Time
	if old {
		created = now.Add(-year - 24*time.Hour - time.Duration(r.Int64N(int64(2*year))))
	} else {
		created = now.Add(-time.Hour - time.Duration(r.Int64N(int64(year-48*time.Hour))))
	}
	span := now.Sub(created)
	modified := created.Add(time.Duration(r.Int64N(int64(span))))
	return created.Truncate(time.Millisecond), modified.Truncate(time.Millisecond)
}

// isOld decides deterministically whether record i of a stream is old.
func (g *gen) isOld(stream string, i int) bool {
	return rngFor(g.o.Seed, stream+"/age", i).Float64() < g.o.Old
}

func deskTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
func crmTime(t time.Time) string  { return t.UTC().Format("2006-01-02T15:04:05-07:00") }

// lowerFirst is a helper for tests and callers building keys.
func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
