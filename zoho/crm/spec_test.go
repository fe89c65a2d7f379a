package crm_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"deskcrm/internal/crmspec"
)

// specQuirks are request-validation failures caused by errors in Zoho's
// published v8 spec rather than by the client; each is explained in the
// package report. Requests hitting them are otherwise still validated, but
// kin-openapi reports only the first error of a body.
var specQuirks = []string{
	// notifications.json declares channel_id as an object; Zoho's examples
	// and API take a number.
	`"/watch/0/channel_id": value must be an object`,
	// notifications.json gives notify_url the pattern www[.][a-z]{5}zoho[.]com,
	// which no subscriber URL (and no local test server) matches.
	`"/watch/0/notify_url": string doesn't match the regular expression`,
	// bulk_read.json requires query.criteria (whose schema requires "type")
	// and query.file_type with the single enum value "ics", so no CSV export
	// of all records can validate.
	`"/query/criteria": property "criteria" is missing`,
	`"/query/file_type"`,
}

func knownSpecQuirk(err error) bool {
	for _, q := range specQuirks {
		if strings.Contains(err.Error(), q) {
			return true
		}
	}
	return false
}

// validatingTransport checks every request against the official CRM spec
// (crmspec) before sending it, failing the test on any error that is not a
// known spec quirk. Responses are the emulator's business and are not judged
// here.
type validatingTransport struct {
	t    testing.TB
	spec *crmspec.Spec
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	if !crmspec.Skipped(req.URL.Path) {
		if err := v.spec.ValidateRequest(req, body); err != nil && !knownSpecQuirk(err) {
			v.t.Errorf("request not valid against the CRM spec: %v", err)
		}
	}
	return v.base.RoundTrip(req)
}
