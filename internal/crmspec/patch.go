package crmspec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// readPatched reads one spec file and fills dangling local component
// references ("#/components/<kind>/<name>" with no such component) with the
// definition of the same name from another file in dir.
func readPatched(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read spec file %s: %w", name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse spec file %s: %w", name, err)
	}
	patched := requireStatusFields(doc)
	if fix, ok := nullableRefs[name]; ok {
		patched = makeRefsNullable(doc, fix) || patched
	}
	patched = dropKeywords(doc, propertyFixes[name]) || patched
	patched = dropRequired(doc, requiredFixes[name]) || patched
	patched = oneOfToAnyOf(doc) || patched
	missing := danglingRefs(doc)
	if len(missing) == 0 && !patched {
		return b, nil
	}
	comps, _ := doc["components"].(map[string]any)
	if comps == nil {
		comps = map[string]any{}
		doc["components"] = comps
	}
	for _, m := range missing {
		def, err := findComponent(dir, name, m[0], m[1])
		if err != nil {
			return nil, err
		}
		kind, _ := comps[m[0]].(map[string]any)
		if kind == nil {
			kind = map[string]any{}
			comps[m[0]] = kind
		}
		kind[m[1]] = def
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("re-encode spec file %s: %w", name, err)
	}
	return out, nil
}

// nullableRefs names, per file, component schemas whose object-valued
// ($ref) properties are required but which Zoho sends as null: fields.json's
// `fields` requires associated_module, email_parser, external, crypt,
// tooltip, ... that Zoho's own getFields example returns as null.
var nullableRefs = map[string][]string{"fields.json": {"fields"}}

// makeRefsNullable wraps every bare $ref property of the named schemas in
// {"nullable": true, "allOf": [ref]} so null is accepted and any other
// value is still checked against the referenced schema.
func makeRefsNullable(doc map[string]any, names []string) bool {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	changed := false
	for _, n := range names {
		sch, _ := schemas[n].(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		for k, v := range props {
			pm, _ := v.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok && len(pm) == 1 {
				props[k] = map[string]any{"nullable": true, "allOf": []any{map[string]any{"$ref": ref}}}
				changed = true
			}
		}
	}
	return changed
}

// propertyFix removes keywords from one property of a component schema.
type propertyFix struct {
	schema, property string
	drop             []string
}

// propertyFixes are schema bugs that reject every real value:
// notifications.json's Notification types channel_id as an object (Zoho
// channel ids are numbers) and gives notify_url the pattern
// "www[.][a-z]{5}zoho[.]com", which no subscriber URL matches;
// bulk_read.json's Criteria types value as an object although values are
// strings, numbers or arrays; users.json's users gives email the pattern
// "[a-z0-9]{9}[@][a-z0-9]{5}[.]com" and website "[a-z0-9]{5}[.]com" (the
// shapes of its example values), which most real addresses fail.
var propertyFixes = map[string][]propertyFix{
	"notifications.json": {
		{schema: "Notification", property: "channel_id", drop: []string{"type"}},
		{schema: "Notification", property: "notify_url", drop: []string{"pattern"}},
	},
	"bulk_read.json": {
		{schema: "Criteria", property: "value", drop: []string{"type"}},
	},
	"users.json": {
		{schema: "users", property: "email", drop: []string{"pattern"}},
		{schema: "users", property: "website", drop: []string{"pattern"}},
	},
}

// requiredFixes lists, per file and schema, keys wrongly marked required.
// bulk_read.json's Query (used for the request body too) requires cvid,
// page, criteria and file_type (whose enum only allows "ics"), Criteria
// requires a "type" key Zoho's examples never send, Job_Detail requires a
// result before the job has one, and Result requires next_page_token.
// modules.json's Minified_Module requires an id where requests name a
// module by api_name only ({"module":{"api_name":"Contacts"}}); likewise
// fields.json's Minified_Field for criteria fields ({"api_name":"Email"}).
var requiredFixes = map[string]map[string][]string{
	"bulk_read.json": {
		"Query":      {"cvid", "page", "criteria", "file_type", "fields"},
		"Criteria":   {"type"},
		"Job_Detail": {"result"},
		"Result":     {"next_page_token"},
	},
	"modules.json": {"Minified_Module": {"id"}},
	"fields.json":  {"Minified_Field": {"id"}},
}

func dropRequired(doc map[string]any, fixes map[string][]string) bool {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	changed := false
	for name, keys := range fixes {
		sch, _ := schemas[name].(map[string]any)
		req, _ := sch["required"].([]any)
		var kept []any
		for _, r := range req {
			drop := false
			for _, k := range keys {
				if r == k {
					drop = true
				}
			}
			if drop {
				changed = true
			} else {
				kept = append(kept, r)
			}
		}
		if sch != nil && req != nil {
			if len(kept) == 0 {
				delete(sch, "required")
			} else {
				sch["required"] = kept
			}
		}
	}
	return changed
}

func dropKeywords(doc map[string]any, fixes []propertyFix) bool {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	changed := false
	for _, f := range fixes {
		sch, _ := schemas[f.schema].(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		prop, _ := props[f.property].(map[string]any)
		for _, k := range f.drop {
			if _, ok := prop[k]; ok {
				delete(prop, k)
				changed = true
			}
		}
	}
	return changed
}

// oneOfToAnyOf rewrites every oneOf as anyOf. QUIRKS.md item 4 says a value
// matching more than one branch is valid; the spec's branches overlap
// everywhere (error details, status objects), also in nested schemas where
// the validator's error no longer says "more than one". anyOf expresses
// exactly "at least one branch matches".
func oneOfToAnyOf(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		if o, ok := x["oneOf"]; ok {
			if _, has := x["anyOf"]; !has {
				x["anyOf"] = o
				delete(x, "oneOf")
				changed = true
			}
		}
		for _, c := range x {
			changed = oneOfToAnyOf(c) || changed
		}
	case []any:
		for _, c := range x {
			changed = oneOfToAnyOf(c) || changed
		}
	}
	return changed
}

// statusFields are the keys of every Zoho status object (success or error).
var statusFields = []string{"code", "details", "message", "status"}

// requireStatusFields marks code, details, message and status as required
// in component schemas that declare them but have no "required" list
// (record.json's API_Exception and Success_Response, among others). Without
// it such a schema matches any object, so every list body would also
// "match" the error branch of a oneOf and a wrong body would pass. Zoho
// always sends all four keys; common.json's API_Exception requires them.
func requireStatusFields(doc map[string]any) bool {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	changed := false
	for _, v := range schemas {
		sch, _ := v.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		if props == nil || sch["required"] != nil {
			continue
		}
		var req []any
		for _, k := range statusFields {
			if _, ok := props[k]; ok {
				req = append(req, k)
			}
		}
		if len(req) >= 3 {
			sch["required"] = req
			changed = true
		}
	}
	return changed
}

// danglingRefs lists [kind, name] pairs referenced locally but not defined.
func danglingRefs(doc map[string]any) [][2]string {
	comps, _ := doc["components"].(map[string]any)
	seen := map[[2]string]bool{}
	var out [][2]string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") {
				parts := strings.SplitN(strings.TrimPrefix(ref, "#/components/"), "/", 2)
				if len(parts) == 2 {
					key := [2]string{parts[0], parts[1]}
					kind, _ := comps[parts[0]].(map[string]any)
					if _, ok := kind[parts[1]]; !ok && !seen[key] {
						seen[key] = true
						out = append(out, key)
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}

// findComponent returns the definition of components/<kind>/<name> from the
// first file in docFiles (other than skip) that has it.
func findComponent(dir, skip, kind, name string) (any, error) {
	for _, f := range docFiles {
		if f == skip {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		var doc struct {
			Components map[string]map[string]json.RawMessage `json:"components"`
		}
		if json.Unmarshal(b, &doc) != nil {
			continue
		}
		if raw, ok := doc.Components[kind][name]; ok {
			if strings.Contains(string(raw), `"#/`) {
				continue // would drag further local refs along
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("parse %s components/%s/%s: %w", f, kind, name, err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("spec file %s refers to components/%s/%s, which no spec file defines", skip, kind, name)
}
