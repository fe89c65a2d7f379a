package mapping_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"deskcrm/mapping"
)

// FuzzParseList feeds the mapping file importer (`starter mapping import`) arbitrary bytes:
// it never panics, and whatever it accepts survives a round trip through its own JSON form
// unchanged (what `mapping show --json` prints imports back as the same mapping).
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		`{"module":"contacts","fields":[{"desk":"email","crm":"Email","type":"email"}]}`,
		`[{"module":"contacts","fields":[{"desk":"phone","crm":"Phone","direction":"crm-to-desk","policy":"crm-wins"}]},` +
			`{"module":"accounts","fields":[{"desk":"cf_seats","crm":"Seats","type":"integer"}]}]`,
		`{"module":"accounts","fields":[{"desk":"website","crm":"Website"},{"desk":"website","crm":"Website"}]}`,
		`{"module":"contacts","fields":[{"desk":"email","crm":"Email","direction":"sideways"}]}`,
		`{"module":"contacts","fields":[]} trailing`, `[]`, `[{}]`, `{"module":1}`, `null`, ``, `{`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := mapping.Parse(data); err == nil {
			again := roundTrip(t, m)
			if !reflect.DeepEqual(m, again) {
				t.Fatalf("Parse round trip changed the mapping:\n%+v\n%+v", m, again)
			}
		}
		list, err := mapping.ParseList(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(list)
		if err != nil {
			t.Fatalf("marshal an accepted list: %v", err)
		}
		back, err := mapping.ParseList(b)
		if err != nil || !reflect.DeepEqual(list, back) {
			t.Fatalf("ParseList round trip: %v\n%+v\n%+v", err, list, back)
		}
	})
}

func roundTrip(t *testing.T, m mapping.Mapping) mapping.Mapping {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal an accepted mapping: %v", err)
	}
	again, err := mapping.Parse(b)
	if err != nil {
		t.Fatalf("an accepted mapping's own JSON is refused: %v\n%s", err, b)
	}
	return again
}
