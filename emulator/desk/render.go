package desk

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// renderOpts selects what a rendered record contains.
type renderOpts struct {
	// fields limits the output to these API names (nil = all); id is
	// always present.
	fields map[string]bool
	// includeAccount adds "account" to contacts.
	includeAccount bool
}

const hexDigits = "0123456789abcdef"

// bufPool recycles the buffers responses are rendered into. Rendered into slices grown from
// empty, responses were the largest share of the bytes this package allocated in
// bench-scale at 100k (appendJSONString: 0.42 GB of both emulators' 4.34 GB).
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuf is the largest buffer kept for reuse.
const maxPooledBuf = 1 << 20

// getBuf returns an empty buffer from bufPool. Give it back with putBuf once nothing refers
// to its bytes: the response writer and webhook events copy what they keep.
func getBuf() *[]byte {
	p := bufPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

func putBuf(p *[]byte) {
	if cap(*p) <= maxPooledBuf {
		bufPool.Put(p)
	}
}

// appendJSONString appends s as a JSON string literal. Runs of bytes that need no escape
// are copied at once.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] goes out as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendValue(b []byte, v value, ok bool) []byte {
	switch {
	case !ok:
		return append(b, "null"...)
	case v.num:
		return append(b, v.s...)
	default:
		return appendJSONString(b, v.s)
	}
}

// jsonObj writes the members of a JSON object.
type jsonObj struct {
	b     []byte
	first bool
}

func (o *jsonObj) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = appendJSONString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *jsonObj) str(k, v string) { o.key(k); o.b = appendJSONString(o.b, v) }
func (o *jsonObj) raw(k, v string) { o.key(k); o.b = append(o.b, v...) }
func (o *jsonObj) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

// id writes a record id as a JSON string (idString's digits need no escape).
func (o *jsonObj) id(k string, id uint64) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = strconv.AppendUint(o.b, id, 10)
	o.b = append(o.b, '"')
}

// time writes a Desk timestamp (formatTime's, which needs no escape).
func (o *jsonObj) time(k string, ms int64) {
	o.key(k)
	o.b = append(o.b, '"')
	o.b = time.UnixMilli(ms).UTC().AppendFormat(o.b, timeLayout)
	o.b = append(o.b, '"')
}

// render appends the JSON object of r (a record of ms) to b, in the shape of
// Desk's contact/account objects (zoho-api.md B2/B3). Caller holds s.mu
// (read) when includeAccount is set.
func (s *Server) render(b []byte, ms *moduleStore, r record, o renderOpts) []byte {
	want := func(name string) bool { return o.fields == nil || o.fields[name] }
	obj := jsonObj{b: append(b, '{'), first: true}
	obj.id("id", r.id)
	data := ms.data(r)
	// Fields are visited in index order, the blob's order: a cursor per pass reads it once.
	vals := blobCursor{rest: string(data)}
	anyCustom := false
	fields := ms.sch.fields
	for fi := range fields {
		f := &fields[fi]
		if f.Custom {
			anyCustom = anyCustom || want(f.APIName) || want("cf")
			continue
		}
		if f.ReadOnly || !want(f.APIName) {
			continue
		}
		obj.key(f.APIName)
		v, ok := vals.find(uint16(fi))
		obj.b = appendValue(obj.b, v, ok)
	}
	if anyCustom {
		obj.key("cf")
		cf := jsonObj{b: append(obj.b, '{'), first: true}
		vals := blobCursor{rest: string(data)}
		for fi := range fields {
			f := &fields[fi]
			if !f.Custom || !(want(f.APIName) || want("cf")) {
				continue
			}
			cf.key(f.APIName)
			v, ok := vals.find(uint16(fi))
			cf.b = appendValue(cf.b, v, ok)
		}
		obj.b = append(cf.b, '}')
	}
	if want("createdTime") {
		obj.time("createdTime", r.created)
	}
	if want("modifiedTime") {
		obj.time("modifiedTime", r.modified)
	}
	kind := "Contacts"
	if ms.name == ModuleAccounts {
		kind = "Accounts"
	}
	if want("webUrl") {
		obj.key("webUrl")
		obj.b = append(obj.b, `"https://desk.zoho.com/support/deskcrm/ShowHomePage.do#`...)
		obj.b = append(obj.b, kind...)
		obj.b = append(obj.b, "/dv/"...)
		obj.b = strconv.AppendUint(obj.b, r.id, 10)
		obj.b = append(obj.b, '"')
	}
	if ms.name == ModuleContacts {
		if want("photoURL") {
			obj.raw("photoURL", "null")
		}
		if o.fields == nil {
			obj.boolean("isAnonymous", false)
			obj.boolean("isEndUser", false)
			obj.boolean("isSpam", false)
		}
	}
	if o.fields == nil {
		obj.boolean("isDeleted", false)
		obj.boolean("isTrashed", r.trashed())
		obj.boolean("isFollowing", false)
		if ms.name == ModuleContacts {
			obj.raw("zohoCRMContact", "null")
		} else {
			obj.raw("zohoCRMAccount", "null")
		}
	}
	if o.includeAccount && ms.name == ModuleContacts {
		obj.key("account")
		obj.b = s.appendAccountRef(obj.b, ms, r)
	}
	return append(obj.b, '}')
}

// appendAccountRef appends {"id","accountName","website"} of the contact's
// account, or null.
func (s *Server) appendAccountRef(b []byte, contacts *moduleStore, r record) []byte {
	accID, ok := parseID(contacts.str(r, "accountId"))
	if !ok {
		return append(b, "null"...)
	}
	accs := s.mods[ModuleAccounts]
	a, ok := accs.get(accID)
	if !ok {
		return append(b, "null"...)
	}
	o := jsonObj{b: append(b, '{'), first: true}
	o.id("id", a.id)
	o.str("accountName", accs.str(a, "accountName"))
	o.key("website")
	v, ok := accs.data(a).get(uint16(accs.sch.byName["website"]))
	o.b = appendValue(o.b, v, ok)
	return append(o.b, '}')
}

// renderList appends {"data":[...]} (plus extra members) for records to b.
func (s *Server) renderList(b []byte, ms *moduleStore, recs []record, o renderOpts, extra func(*jsonObj)) []byte {
	b = append(b, `{"data":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.render(b, ms, r, o)
	}
	b = append(b, ']')
	if extra != nil {
		obj := jsonObj{b: b}
		extra(&obj)
		b = obj.b
	}
	return append(b, '}')
}
