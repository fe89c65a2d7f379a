package crmspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// filterOneOf drops errors that only say a value matched more than one oneOf
// branch (QUIRKS.md item 4) and returns what is left.
func filterOneOf(err error) error {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var kept openapi3.MultiError
		for _, e := range me {
			if e2 := filterOneOf(e); e2 != nil {
				kept = append(kept, e2)
			}
		}
		if len(kept) == 0 {
			return nil
		}
		return kept
	}
	if isOnlyAmbiguous(err) {
		return nil
	}
	return err
}

// isOnlyAmbiguous reports whether err's only complaint is quirk 4: kin-openapi
// reports it as a SchemaError whose reason is "value matches more than one
// schema from \"oneOf\"" (a value matching no branch says "doesn't match").
func isOnlyAmbiguous(err error) bool {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return false
	}
	return se.SchemaField == "oneOf" && strings.Contains(se.Reason, "matches more than one schema")
}

func hasDataArray(body []byte) bool {
	var v struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	return bytes.HasPrefix(bytes.TrimSpace(v.Data), []byte("["))
}

// checkErrorEnvelope checks Zoho's error body
// {"code":"..","details":{..},"message":"..","status":"error"}.
func checkErrorEnvelope(body []byte) error {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error body is not a JSON object: %w", err)
	}
	var missing []string
	for _, k := range []string{"code", "message", "status"} {
		if s, ok := v[k].(string); !ok || s == "" {
			missing = append(missing, k)
		}
	}
	if _, ok := v["details"].(map[string]any); !ok {
		missing = append(missing, "details")
	}
	if len(missing) > 0 {
		return fmt.Errorf("error body lacks %s", strings.Join(missing, ", "))
	}
	if v["status"] != "error" {
		return fmt.Errorf("error body status is %q, want \"error\"", v["status"])
	}
	return nil
}

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
