package reconcile

import (
	"reflect"
	"strings"
	"testing"

	"deskcrm/mapping"
)

// cand builds candidates: "d1" is Desk record 1, "c2*" CRM record 2 linked.
func cand(specs ...string) []Candidate {
	var out []Candidate
	for _, s := range specs {
		c := Candidate{Side: mapping.Desk, ID: strings.TrimSuffix(s, "*"), Linked: strings.HasSuffix(s, "*")}
		if strings.HasPrefix(s, "c") {
			c.Side = mapping.CRM
		}
		out = append(out, c)
	}
	return out
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		side   mapping.Side
		id     string
		key    string
		cands  []Candidate
		action MatchAction
		with   string
		others int
		peers  int
	}{
		{"no key: create", mapping.Desk, "d1", "", cand("c1"), MatchCreate, "", 0, 1},
		{"nothing on the other side: create", mapping.Desk, "d1", "k", cand("d1"), MatchCreate, "", 0, 1},
		{"nothing on the other side, peers too: the first is created", mapping.Desk, "d1", "k", cand("d1", "d2"), MatchCreate, "", 0, 2},
		{"nothing on the other side: a later peer is the first's duplicate", mapping.Desk, "d3", "k", cand("d2", "d1", "d3"), MatchDuplicateOfPeer, "d1", 0, 3},
		{"nothing on the other side: a linked peer was synced", mapping.CRM, "c1", "k", cand("c2*", "c1"), MatchDuplicateOfPeer, "c2", 0, 1},
		{"one to one: link", mapping.Desk, "d1", "k", cand("d1", "c1"), MatchLink, "c1", 1, 1},
		{"one to one from CRM", mapping.CRM, "c1", "k", cand("d1", "c1"), MatchLink, "d1", 1, 1},
		{"the record itself need not be listed", mapping.CRM, "c9", "k", cand("d1"), MatchLink, "d1", 1, 1},
		{"two on the other side: ambiguous", mapping.Desk, "d1", "k", cand("d1", "c1", "c2"), MatchAmbiguous, "", 2, 1},
		{"two on its own side: ambiguous", mapping.CRM, "c1", "k", cand("d1", "c1", "c2"), MatchAmbiguous, "", 1, 2},
		{"linked peers do not count", mapping.Desk, "d1", "k", cand("d1", "d2*", "c1"), MatchLink, "c1", 1, 1},
		{"linked others do not count", mapping.Desk, "d1", "k", cand("d1", "c1*", "c2"), MatchLink, "c2", 1, 1},
		{"only linked on the other side: duplicate", mapping.Desk, "d2", "k", cand("d1*", "d2", "c1*"), MatchAlreadyMapped, "", 0, 1},
		{"several linked on the other side: duplicate", mapping.CRM, "c3", "k", cand("d1*", "d2*", "c3"), MatchAlreadyMapped, "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Match(tt.side, tt.id, tt.key, tt.cands)
			if got.Action != tt.action || got.With.ID != tt.with || got.Others != tt.others || got.Peers != tt.peers {
				t.Fatalf("Match = %+v, want %s with %q, %d others, %d peers", got, tt.action, tt.with, tt.others, tt.peers)
			}
		})
	}
}

func TestMatchKeysNormalise(t *testing.T) {
	if got := Match(mapping.Desk, "d1", NormalizeEmail("Ann@X.com "), []Candidate{{Side: mapping.CRM, ID: "c1"}}); got.Action != MatchLink {
		t.Fatalf("email keys: %+v", got)
	}
	if NormalizeAccountName("Acme, Inc.") != NormalizeAccountName("ACME Inc") || NormalizeAccountName("Globex Ltd") == NormalizeAccountName("Globex") {
		t.Fatal("account name keys")
	}
}

func TestPlanMatch(t *testing.T) {
	groups := []KeyGroup{
		{Key: "a", Candidates: cand("c1", "d1")},               // link
		{Key: "b", Candidates: cand("c2", "d2", "d3")},         // all three ambiguous
		{Key: "c", Candidates: cand("c3*", "d4*", "d5")},       // d5 duplicate of the linked pair
		{Key: "d", Candidates: cand("c4*", "c5", "d6*", "d7")}, // c5 and d7 link
	}
	pl := PlanMatch(mapping.Contacts, groups)
	var links []string
	for _, u := range pl.Updates {
		if !u.Match || u.Writes() || !u.Base.IsZero() {
			t.Errorf("match update %+v should only link", u)
		}
		links = append(links, u.DeskID+"-"+u.CRMID)
	}
	if want := []string{"d1-c1", "d7-c5"}; !reflect.DeepEqual(links, want) {
		t.Errorf("links %v, want %v", links, want)
	}
	var fails []string
	for _, f := range pl.Failures {
		fails = append(fails, f.Code+" "+f.DeskID+f.CRMID+" "+string(f.To))
	}
	want := []string{
		"AMBIGUOUS_MATCH c2 desk", "AMBIGUOUS_MATCH d2 crm", "AMBIGUOUS_MATCH d3 crm",
		"CRM_ID_ALREADY_MAPPED d5 crm",
	}
	if !reflect.DeepEqual(fails, want) {
		t.Errorf("failures\n%v\nwant\n%v", fails, want)
	}
	if pl.Matched != 2 {
		t.Errorf("Matched = %d", pl.Matched)
	}
	for _, f := range pl.Failures {
		if f.Code == CodeAlreadyMapped && !strings.Contains(f.Message, "already mapped") {
			t.Errorf("duplicate message in the seed's words: %q", f.Message)
		}
	}
}
