package panel

import (
	"net/http/httptest"
	"net/url"
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
