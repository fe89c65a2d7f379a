package desk

import (
	"strconv"
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

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
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

// render appends the JSON object of r (a record of ms) to b, in the shape of
// Desk's contact/account objects (zoho-api.md B2/B3). Caller holds s.mu
// (read) when includeAccount is set.
func (s *Server) render(b []byte, ms *moduleStore, r *record, o renderOpts) []byte {
	want := func(name string) bool { return o.fields == nil || o.fields[name] }
	obj := jsonObj{b: append(b, '{'), first: true}
	obj.str("id", idString(r.id))
	vals := r.data.entries()
	get := func(fi int) (value, bool) {
		for _, e := range vals {
			if int(e.f) == fi {
				return e.v, true
			}
		}
		return value{}, false
	}
	anyCustom := false
	for fi, f := range ms.sch.fields {
		if f.Custom {
			anyCustom = anyCustom || want(f.APIName) || want("cf")
			continue
		}
		if f.ReadOnly || !want(f.APIName) {
			continue
		}
		obj.key(f.APIName)
		v, ok := get(fi)
		obj.b = appendValue(obj.b, v, ok)
	}
	if anyCustom {
		obj.key("cf")
		cf := jsonObj{b: append(obj.b, '{'), first: true}
		for fi, f := range ms.sch.fields {
			if !f.Custom || !(want(f.APIName) || want("cf")) {
				continue
			}
			cf.key(f.APIName)
			v, ok := get(fi)
			cf.b = appendValue(cf.b, v, ok)
		}
		obj.b = append(cf.b, '}')
	}
	if want("createdTime") {
		obj.str("createdTime", formatTime(r.created))
	}
	if want("modifiedTime") {
		obj.str("modifiedTime", formatTime(r.modified))
	}
	kind := "Contacts"
	if ms.name == ModuleAccounts {
		kind = "Accounts"
	}
	if want("webUrl") {
		obj.str("webUrl", "https://desk.zoho.com/support/deskcrm/ShowHomePage.do#"+kind+"/dv/"+idString(r.id))
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
func (s *Server) appendAccountRef(b []byte, contacts *moduleStore, r *record) []byte {
	accID, ok := parseID(contacts.str(r, "accountId"))
	if !ok {
		return append(b, "null"...)
	}
	accs := s.mods[ModuleAccounts]
	a := accs.recs[accID]
	if a == nil {
		return append(b, "null"...)
	}
	o := jsonObj{b: append(b, '{'), first: true}
	o.str("id", idString(a.id))
	o.str("accountName", accs.str(a, "accountName"))
	o.key("website")
	v, ok := a.data.get(uint16(accs.sch.byName["website"]))
	o.b = appendValue(o.b, v, ok)
	return append(o.b, '}')
}

// renderList renders {"data":[...]} (plus extra members) for records.
func (s *Server) renderList(ms *moduleStore, recs []*record, o renderOpts, extra func(*jsonObj)) []byte {
	b := make([]byte, 0, 64+len(recs)*700)
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
