package crm

import (
	"testing"
)

// TestFieldsMetadataShapes pins the shapes Zoho's "Fields Metadata" API gives
// every field, which Zoho's official SDKs rely on: a positive length on every
// field (the Node SDK reads an object whose "length" is 0 as null), objects —
// {} when the field has no such property — for lookup, unique, currency,
// formula, auto_number, multiselectlookup, multi_module_lookup and
// rollup_summary, and the lookup/currency/unique contents where they apply.
func TestFieldsMetadataShapes(t *testing.T) {
	e := newEnv(t, Config{})
	for _, module := range moduleNames {
		r := e.call("GET", "/crm/v8/settings/fields"+q("module", module), nil)
		wantStatus(t, r, 200)
		for _, raw := range r.body["fields"].([]any) {
			f := raw.(map[string]any)
			name := module + "." + f["api_name"].(string)
			if l, _ := f["length"].(float64); l <= 0 {
				t.Errorf("%s: length = %v, want > 0", name, f["length"])
			}
			for _, k := range []string{"lookup", "unique", "currency", "formula", "auto_number", "multiselectlookup", "multi_module_lookup", "rollup_summary", "email_parser"} {
				if _, ok := f[k].(map[string]any); !ok {
					t.Errorf("%s: %s = %#v, want an object", name, k, f[k])
				}
			}
			lookup := f["lookup"].(map[string]any)
			switch f["data_type"] {
			case "lookup":
				if _, ok := lookup["module"].(map[string]any); !ok {
					t.Errorf("%s: lookup = %v, want the target module", name, lookup)
				}
			default:
				if len(lookup) != 0 {
					t.Errorf("%s: lookup = %v on a %v field, want {}", name, lookup, f["data_type"])
				}
			}
			if f["data_type"] == "currency" {
				cur := f["currency"].(map[string]any)
				if cur["precision"] != float64(2) || cur["rounding_option"] != "normal" || f["decimal_place"] != float64(2) {
					t.Errorf("%s: currency = %v, decimal_place = %v", name, cur, f["decimal_place"])
				}
			}
		}
	}
	fields := func(module string) map[string]map[string]any {
		r := e.call("GET", "/crm/v8/settings/fields"+q("module", module), nil)
		out := map[string]map[string]any{}
		for _, raw := range r.body["fields"].([]any) {
			f := raw.(map[string]any)
			out[f["api_name"].(string)] = f
		}
		return out
	}
	acc, con := fields("Accounts"), fields("Contacts")
	if u := acc["Account_Name"]["unique"].(map[string]any); u["casesensitive"] != "false" {
		t.Errorf("Accounts.Account_Name unique = %v, want casesensitive \"false\"", u)
	}
	if u := con["Email"]["unique"].(map[string]any); len(u) != 0 {
		t.Errorf("Contacts.Email unique = %v, want {} (not unique unless configured)", u)
	}
	for name, want := range map[string]float64{"Owner": 120, "Account_Name": 120, "Email_Opt_Out": 5, "Created_Time": 120, "Last_Name": 80} {
		if got := con[name]["length"]; got != want {
			t.Errorf("Contacts.%s length = %v, want %v", name, got, want)
		}
	}
}
