package panel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultLinkTTL is how long a signed panel link opens the page.
const DefaultLinkTTL = 5 * time.Minute

// linkSkew is the clock difference between workers a link's expiry tolerates.
const linkSkew = 30 * time.Second

// Link is what a signed panel link carries: which record, for which agent and profile, until
// when. The page trusts these values only when the signature over all of them is right.
type Link struct {
	Integration, Module, RecordID string
	AgentID, Profile              string
	Expires                       time.Time
}

// linker mints and checks signed links (HMAC-SHA256 under the panel link key).
type linker struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// mac is the signature of a link: every field length-prefixed, so that no two different
// links sign the same bytes.
func (l linker) mac(k Link) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("deskcrm panel link v1"))
	for _, f := range []string{k.Integration, k.Module, k.RecordID, k.AgentID, k.Profile, strconv.FormatInt(k.Expires.Unix(), 10)} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

// mint returns the page URL (path and query) of a link that expires ttl from now.
func (l linker) mint(k Link) (string, time.Time) {
	k.Expires = l.now().Add(l.ttl).Truncate(time.Second)
	q := url.Values{
		"integration": {k.Integration}, "agent": {k.AgentID}, "profile": {k.Profile},
		"exp": {strconv.FormatInt(k.Expires.Unix(), 10)}, "sig": {base64.RawURLEncoding.EncodeToString(l.mac(k))},
	}
	return "/panel/" + k.Module + "/" + k.RecordID + "?" + q.Encode(), k.Expires
}

// verify checks the link a page request carries. A missing, altered or foreign link is
// refused as invalid_link, an old one as link_expired; both are 401.
func (l linker) verify(r *http.Request) (Link, *problem) {
	q := r.URL.Query()
	invalid := &problem{status: http.StatusUnauthorized, code: "invalid_link",
		msg: "this panel link is not valid: open the CRM panel again from the Desk record"}
	k := Link{Integration: q.Get("integration"), Module: r.PathValue("module"), RecordID: r.PathValue("id"),
		AgentID: q.Get("agent"), Profile: q.Get("profile")}
	if k.Integration == "" {
		k.Integration = "default"
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	sig, serr := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || serr != nil || k.AgentID == "" || k.Profile == "" || len(q["sig"]) != 1 || len(q["exp"]) != 1 ||
		len(q["agent"]) != 1 || len(q["profile"]) != 1 || len(q["integration"]) > 1 {
		return k, invalid
	}
	k.Expires = time.Unix(exp, 0)
	if !hmac.Equal(sig, l.mac(k)) {
		return k, invalid
	}
	now := l.now()
	if !now.Before(k.Expires.Add(linkSkew)) {
		return k, &problem{status: http.StatusUnauthorized, code: "link_expired",
			msg: "this panel link has expired: links last a few minutes; open the CRM panel again from the Desk record"}
	}
	if k.Expires.Sub(now) > l.ttl+linkSkew {
		return k, invalid // signed with our key, but not by this worker's rules
	}
	return k, nil
}
