package panel

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLinkerRefusesForeignKeysAndFarExpiries(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := linker{key: []byte("the-worker-link-key"), ttl: DefaultLinkTTL, now: func() time.Time { return now }}
	open := func(l linker, link string) *problem {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", link, nil)
		r.SetPathValue("module", "contacts")
		r.SetPathValue("id", u.Path[len("/panel/contacts/"):])
		_, p := l.verify(r)
		return p
	}
	k := Link{Integration: "default", Module: "contacts", RecordID: "1892000000100001", AgentID: "7", Profile: "Agent"}
	link, exp := l.mint(k)
	if p := open(l, link); p != nil {
		t.Fatalf("own link refused: %+v", p)
	}
	if !exp.Equal(now.Add(DefaultLinkTTL)) {
		t.Errorf("expiry %v", exp)
	}
	other := linker{key: []byte("another-worker-key!"), ttl: DefaultLinkTTL, now: l.now}
	if p := open(other, link); p == nil || p.code != "invalid_link" {
		t.Errorf("a link of another key: %+v", p)
	}
	// Signed with the right key but for a day: not what this worker mints.
	long := linker{key: l.key, ttl: 24 * time.Hour, now: l.now}
	dayLink, _ := long.mint(k)
	if p := open(l, dayLink); p == nil || p.code != "invalid_link" {
		t.Errorf("a day-long link: %+v", p)
	}
	// Within the clock skew after expiry it still opens; past it, expired.
	now = exp.Add(linkSkew / 2)
	if p := open(l, link); p != nil {
		t.Errorf("within the skew: %+v", p)
	}
	now = exp.Add(linkSkew)
	if p := open(l, link); p == nil || p.code != "link_expired" {
		t.Errorf("expired: %+v", p)
	}
}

// FuzzLinkVerify opens the page with arbitrary query strings: verification never panics,
// and whatever it accepts is the minted link itself (same record, agent, profile, expiry),
// however the query is spelled.
func FuzzLinkVerify(f *testing.F) {
	now := time.Unix(1_900_000_000, 0)
	l := linker{key: []byte("fuzz-link-key-0123456789"), ttl: DefaultLinkTTL, now: func() time.Time { return now }}
	want := Link{Integration: "default", Module: "contacts", RecordID: "1892000000100001", AgentID: "1892000000042005", Profile: "Light Agent"}
	minted, exp := l.mint(want)
	want.Expires = exp
	u, err := url.Parse(minted)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(u.RawQuery)
	f.Add(u.RawQuery + "&profile=Administrator")
	f.Add(strings.Replace(u.RawQuery, "Light", "light", 1))
	f.Add("agent=1&profile=Agent&exp=1900000300&sig=AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/panel/contacts/1892000000100001", nil)
		r.URL.RawQuery = query
		r.SetPathValue("module", "contacts")
		r.SetPathValue("id", "1892000000100001")
		got, p := l.verify(r)
		if p != nil {
			return
		}
		got.Expires = got.Expires.UTC()
		if got.Integration != want.Integration || got.AgentID != want.AgentID || got.Profile != want.Profile ||
			!got.Expires.Equal(want.Expires) {
			t.Fatalf("accepted a link that was not minted: %+v from %q", got, query)
		}
	})
}
