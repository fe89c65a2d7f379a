package desk

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// memberSeeds are bodies for the members tests: objects plain and nested, with escapes,
// repeated keys, odd white space and literals, and what is not one object.
var memberSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":"}"}]},"d":"x\"y"}`,
	`{"lastName":"Sousa","cf":{"cf_seats":"3","cf_crm_id":null}}`, "{\n\t\"a\" :\r\n true ,\"b\":false}",
	`{"a\u0062":1}`, `{"a\\":1}`, `{"é":"ü"}`, "{\"\xff\":1}", `{"a":"\u2028"}`, `{"a":-1.5e3,"b":[]}`,
	`{"a":1}]`, `{"a":1}}`, `{"a":1} {"b":2}`, `{"a":1} x`, `{"a":1`, `{"a" 1}`, `{'a':1}`, `[1]`, `null`,
	`"x"`, `1`, `{"a":1,}`, `{"a":01}`, `{"a":"\x01"}`, ``, `{"a":[1,2}`, `{"a":"b"}` + "\x00",
}

// decodeMap is how the body of a write was decoded before appendMembers: encoding/json's
// stream decoder into a map.
func decodeMap(body []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, false
	}
	return m, true
}

func membersMap(ms []member) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[string(m.key)] = string(m.raw)
	}
	return out
}

func rawMap(m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// checkMembers checks appendMembers and membersOf on b against encoding/json.
func checkMembers(t *testing.T, b []byte) {
	t.Helper()
	want, wantOK := decodeMap(b)
	got, ok := appendMembers(nil, b)
	if ok {
		if !wantOK {
			t.Fatalf("appendMembers(%q) read an object encoding/json refuses", b)
		}
		if g, w := membersMap(got), rawMap(want); !maps.Equal(g, w) || len(got) != len(g) {
			t.Fatalf("appendMembers(%q) = %v, encoding/json gives %v", b, got, w)
		}
	} else if len(got) != 0 {
		t.Fatalf("appendMembers(%q) failed but returned %d members", b, len(got))
	}
	var um map[string]json.RawMessage
	uerr := json.Unmarshal(b, &um)
	mo, err := membersOf(nil, b)
	if (err != nil) != (uerr != nil) || (err == nil && !maps.Equal(membersMap(mo), rawMap(um))) {
		t.Fatalf("membersOf(%q) = %v, %v; json.Unmarshal gives %v, %v", b, mo, err, um, uerr)
	}
}

// The members of a write's body are those encoding/json decodes into a map, for bodies it
// takes and bodies it refuses (appendMembers leaves those to it).
func TestAppendMembersAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range memberSeeds {
		checkMembers(t, []byte(s))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := randomObject(rng, 0)
		if rng.IntN(4) == 0 && len(b) > 0 { // and broken ones
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b = b[:i]
			case 1:
				b = slices.Insert(b, i, `{}[]",:\ x`[rng.IntN(10)])
			default:
				b = slices.Delete(b, i, i+1)
			}
		}
		checkMembers(t, b)
	}
}

func FuzzAppendMembers(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkMembers(t, b) })
}

// randomObject returns a random JSON object: keys repeat, escape and nest.
func randomObject(rng *rand.Rand, depth int) []byte {
	keys := []string{"a", "b", "lastName", "cf", `a\"b`, `\u0061`, "é", "cf_seats"}
	b := []byte{'{'}
	for i := range rng.IntN(5) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ws(rng)...)
		b = append(b, '"')
		b = append(b, keys[rng.IntN(len(keys))]...)
		b = append(b, '"')
		b = append(b, ws(rng)...)
		b = append(b, ':')
		b = append(b, ws(rng)...)
		b = append(b, randomValue(rng, depth)...)
		b = append(b, ws(rng)...)
	}
	return append(b, '}')
}

func randomValue(rng *rand.Rand, depth int) []byte {
	switch n := rng.IntN(8); {
	case n == 0 && depth < 3:
		return randomObject(rng, depth+1)
	case n == 1 && depth < 3:
		return []byte(`[` + string(randomValue(rng, depth+1)) + `, {"}":"]"}]`)
	case n == 2:
		return []byte(`"x\"}\\\n\u00e9"`)
	case n == 3:
		return []byte("null")
	case n == 4:
		return []byte("-12.5e-3")
	case n == 5:
		return []byte("true")
	}
	return []byte(`"plain text"`)
}

func ws(rng *rand.Rand) string { return []string{"", "", " ", "\n\t", "\r\n "}[rng.IntN(5)] }

// appendJSONStringByByte is appendJSONString as it was, escaping byte by byte: the reference
// the run-copying version must agree with.
func appendJSONStringByByte(b []byte, s string) []byte {
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

var jsonStringSeeds = []string{"", "plain", `a"b\c`, "\x00\x1f\n\r\t", "é\u2028\u2029ü", "\xff\xfe", "tail\xe2\x80", "\ufffd", "日本語 text"}

func TestAppendJSONStringMatchesEscapingByteByByte(t *testing.T) {
	check := func(s string) {
		if got, want := appendJSONString([]byte("x"), s), appendJSONStringByByte([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
	for _, s := range jsonStringSeeds {
		check(s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "Z ", `"`, `\`, "\n", "\x01", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "€", "😀"}
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		check(sb.String())
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), appendJSONStringByByte(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// packBlobByDecoding and patchByDecoding are packBlob and blob.patch as they were: decode
// the entries, drop and append, sort and encode. appendBlob and appendPatch must give the
// same bytes.
func packBlobByDecoding(es []entry) blob {
	sort.SliceStable(es, func(i, j int) bool { return es[i].f < es[j].f })
	var buf []byte
	for i, e := range es {
		if i+1 < len(es) && es[i+1].f == e.f {
			continue
		}
		buf = append(buf, byte(e.f), byte(e.f>>8), 0)
		if e.v.num {
			buf[len(buf)-1] = 1
		}
		buf = binary.AppendUvarint(buf, uint64(len(e.v.s)))
		buf = append(buf, e.v.s...)
	}
	return blob(buf)
}

func patchByDecoding(b blob, set []entry, unset []uint16) blob {
	var es []entry
	b.each(func(f uint16, v value) bool { es = append(es, entry{f, v}); return true })
	drop := map[uint16]bool{}
	for _, f := range unset {
		drop[f] = true
	}
	for _, e := range set {
		drop[e.f] = true
	}
	out := es[:0]
	for _, e := range es {
		if !drop[e.f] {
			out = append(out, e)
		}
	}
	return packBlobByDecoding(append(out, set...))
}

func TestAppendPatchMatchesDecodingAndPacking(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randomEntries := func(n int) []entry {
		es := make([]entry, n)
		for i := range es {
			es[i] = entry{uint16(rng.IntN(12)), value{s: strings.Repeat("v", rng.IntN(140)) + fmt.Sprint(i), num: rng.IntN(3) == 0}}
		}
		return es
	}
	for range 20000 {
		base := randomEntries(rng.IntN(10))
		want := packBlobByDecoding(slices.Clone(base))
		if got := blob(appendBlob([]byte("junk")[:0], slices.Clone(base))); got != want {
			t.Fatalf("appendBlob(%v) = %q, want %q", base, got, want)
		}
		set := randomEntries(rng.IntN(5))
		var unset []uint16
		for range rng.IntN(4) {
			unset = append(unset, uint16(rng.IntN(12)))
		}
		wantPatch := patchByDecoding(want, slices.Clone(set), unset)
		if got := blob(want.appendPatch(nil, slices.Clone(set), unset)); got != wantPatch {
			t.Fatalf("appendPatch of %q with set %v unset %v = %q, want %q", want, set, unset, got, wantPatch)
		}
		for f := range uint16(12) {
			v, ok := want.get(f)
			var wv value
			wok := false
			want.each(func(g uint16, x value) bool {
				if g == f {
					wv, wok = x, true
				}
				return true
			})
			if v != wv || ok != wok {
				t.Fatalf("get(%d) of %q = %v %v, want %v %v", f, want, v, ok, wv, wok)
			}
		}
	}
}

// renderByEntries is render as it was (entries decoded into a slice and looked up one field
// at a time, times and ids formatted into strings): the reference for the cursor version.
func renderByEntries(s *Server, b []byte, ms *moduleStore, r record, o renderOpts) []byte {
	want := func(name string) bool { return o.fields == nil || o.fields[name] }
	obj := jsonObj{b: append(b, '{'), first: true}
	obj.str("id", idString(r.id))
	var vals []entry
	ms.data(r).each(func(f uint16, v value) bool { vals = append(vals, entry{f, v}); return true })
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
		accID, ok := parseID(ms.str(r, "accountId"))
		accs := s.mods[ModuleAccounts]
		a, found := accs.get(accID)
		if !ok || !found {
			obj.b = append(obj.b, "null"...)
		} else {
			ao := jsonObj{b: append(obj.b, '{'), first: true}
			ao.str("id", idString(a.id))
			ao.str("accountName", accs.str(a, "accountName"))
			ao.key("website")
			v, ok := accs.data(a).get(uint16(accs.sch.byName["website"]))
			ao.b = appendValue(ao.b, v, ok)
			obj.b = append(ao.b, '}')
		}
	}
	return append(obj.b, '}')
}

// Records render to the same bytes as before the cursor: every field type, custom fields
// added later, unset and cleared values, escapes, trashed records, field lists and the
// account reference.
func TestRenderMatchesRenderingByEntries(t *testing.T) {
	e := newEnv(t, Config{})
	s := e.srv
	if err := s.AddField(ModuleContacts, Field{APIName: "cf_notes", Type: TypeTextarea}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddField(ModuleContacts, Field{APIName: "cf_score", Type: TypeDecimal, Decimals: 2}); err != nil {
		t.Fatal(err)
	}
	accs, err := s.Load(ModuleAccounts, []map[string]any{
		{"accountName": "Acme \"Q\" Ltd", "website": "https://acme.example", "annualrevenue": 1234.5},
		{"accountName": "Bare"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Load(ModuleContacts, []map[string]any{
		{"lastName": "Plain"},
		{"firstName": "Zoë", "lastName": "Ünïcode\u2028", "email": "z@example.com", "accountId": accs[0], "description": "line1\nline2\t\"q\"\\",
			"cf": map[string]any{"cf_seats": 12, "cf_vip": true, "cf_customer_tier": "Gold", "cf_renewal_date": "2026-01-02", "cf_notes": "n", "cf_score": "3.14159"}},
		{"lastName": "Other", "accountId": accs[1], "createdTime": "2020-02-29T12:00:00.000Z", "cf": map[string]any{"cf_crm_id": "77"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", "/api/v1/contacts/"+ids[1], map[string]any{"phone": "+1", "email": nil, "cf": map[string]any{"cf_notes": nil}}); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/contacts/moveToTrash", map[string]any{"contactIds": []string{ids[2]}}); r.status != 204 {
		t.Fatalf("trash: %d %s", r.status, r.body)
	}
	opts := []renderOpts{{}, {includeAccount: true}, {fields: map[string]bool{"email": true}},
		{fields: map[string]bool{"cf": true, "webUrl": true, "photoURL": true}}, {fields: map[string]bool{"cf_seats": true, "lastName": true, "modifiedTime": true}, includeAccount: true}}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range []string{ModuleContacts, ModuleAccounts} {
		ms := s.mods[m]
		for _, r := range ms.recs {
			for _, o := range opts {
				got, want := s.render([]byte("x"), ms, r, o), renderByEntries(s, []byte("x"), ms, r, o)
				if !bytes.Equal(got, want) {
					t.Errorf("%s %d %+v:\n got %s\nwant %s", m, r.id, o, got, want)
				}
			}
		}
	}
}
