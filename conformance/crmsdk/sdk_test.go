// Package crmsdk_test checks the CRM emulator against Zoho's official CRM
// Node SDK (@zohocrm/nodejs-sdk-8.0, pinned in package.json and
// package-lock.json beside this file): a client Zoho wrote for the real API
// must work unchanged against the emulator.
//
// The test needs Node.js and the pinned SDK in ./node_modules; both are
// installed by scripts/setup.sh (which `make test` and .ci/run call).
// When either is missing the test fails — it does not skip — and says what
// to run.
package crmsdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"deskcrm/emulator/crm"
	"deskcrm/internal/crmspec"
)

// sdkPackage is the npm package under test.
const sdkPackage = "@zohocrm/nodejs-sdk-8.0"

const installHint = "run `make test`, or scripts/setup.sh test from the repository root (it installs Node.js with apt and the pinned SDK with npm ci into conformance/crmsdk/node_modules)"

// requireNode returns the path of node, failing the test when it is missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: the official CRM SDK conformance test needs Node.js; %s", installHint)
	}
	return node
}

// requireSDK fails the test unless node_modules holds the version of the
// SDK that package.json pins.
func requireSDK(t *testing.T) string {
	t.Helper()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatalf("read package.json: %v", err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatalf("parse package.json: %v", err)
	}
	want := pkg.Dependencies[sdkPackage]
	var installed struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join("node_modules", sdkPackage, "package.json"))
	if err != nil {
		t.Fatalf("%s is not installed in conformance/crmsdk/node_modules: %s", sdkPackage, installHint)
	}
	if err := json.Unmarshal(b, &installed); err != nil {
		t.Fatalf("parse the installed %s package.json: %v", sdkPackage, err)
	}
	if installed.Version != want {
		t.Fatalf("%s %s is installed, package.json pins %s: %s", sdkPackage, installed.Version, want, installHint)
	}
	return want
}

// report is what testdata/sdk_conformance.mjs prints.
type report struct {
	Steps  []string `json:"steps"`
	Error  string   `json:"error"`
	Fields struct {
		Status int    `json:"status"`
		Kind   string `json:"kind"`
		Fields []*struct {
			APIName      string  `json:"api_name"`
			DataType     string  `json:"data_type"`
			Length       int     `json:"length"`
			LookupModule *string `json:"lookup_module"`
			Unique       *string `json:"unique"`
		} `json:"fields"`
	} `json:"fields"`
	Create struct {
		Status int      `json:"status"`
		Kind   string   `json:"kind"`
		Data   []action `json:"data"`
	} `json:"create"`
	Get struct {
		Status int              `json:"status"`
		Kind   string           `json:"kind"`
		Data   []map[string]any `json:"data"`
	} `json:"get"`
	List struct {
		Status int      `json:"status"`
		Kind   string   `json:"kind"`
		IDs    []string `json:"ids"`
		Info   struct {
			Count       int  `json:"count"`
			MoreRecords bool `json:"more_records"`
			PerPage     int  `json:"per_page"`
		} `json:"info"`
	} `json:"list"`
	Update struct {
		Status int      `json:"status"`
		Kind   string   `json:"kind"`
		Data   []action `json:"data"`
	} `json:"update"`
	Search struct {
		Status int              `json:"status"`
		Kind   string           `json:"kind"`
		Data   []map[string]any `json:"data"`
	} `json:"search"`
	Delete struct {
		Status int      `json:"status"`
		Kind   string   `json:"kind"`
		Data   []action `json:"data"`
	} `json:"delete"`
	BadRequest   apiException `json:"badRequest"`
	Unauthorized apiException `json:"unauthorized"`
}

type action struct {
	Kind    string         `json:"kind"`
	Status  string         `json:"status"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

type apiException struct {
	action
	HTTPStatus int `json:"httpStatus"`
}

// TestOfficialNodeSDK drives the emulator with Zoho's CRM Node SDK: token
// refresh (multipart/form-data), the current-user lookup, field metadata,
// create with a per-record error, get, list, update, search, delete, and a
// 400 and a 401 that the SDK must classify as its APIException. Every
// response the emulator gives the SDK is also validated against the CRM v8
// spec.
func TestOfficialNodeSDK(t *testing.T) {
	node := requireNode(t)
	version := requireSDK(t)
	spec, err := crmspec.Load()
	if err != nil {
		t.Fatalf("load the CRM spec: %v", err)
	}
	emu := crm.New(crm.Config{SearchLag: crm.NoSearchLag}) // the SDK searches right after updating
	v := &validator{spec: spec}
	srv := httptest.NewServer(v.wrap(emu))
	t.Cleanup(srv.Close)

	scratch := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "sdk_conformance.mjs"), srv.URL, scratch)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || runErr != nil || rep.Error != "" {
		sdkLog, _ := os.ReadFile(filepath.Join(scratch, "sdk.log"))
		t.Fatalf("the SDK script failed (%v) after steps %v:\n%s\nstdout: %.2000s\nstderr: %.2000s\nSDK log (tail): %s",
			errors.Join(runErr, err), rep.Steps, rep.Error, stdout.String(), stderr.String(), tail(sdkLog, 3000))
	}
	t.Logf("%s %s ran steps %v", sdkPackage, version, rep.Steps)

	// Field metadata: every field deserialises, lookups name their module.
	if rep.Fields.Status != 200 || rep.Fields.Kind != "ResponseWrapper" || len(rep.Fields.Fields) == 0 {
		t.Fatalf("fields: status %d kind %s, %d fields", rep.Fields.Status, rep.Fields.Kind, len(rep.Fields.Fields))
	}
	byName := map[string]int{}
	for i, f := range rep.Fields.Fields {
		if f == nil {
			t.Errorf("fields: field %d deserialised to null in the SDK's model", i)
			continue
		}
		byName[f.APIName] = i
	}
	if i, ok := byName["Account_Name"]; !ok || rep.Fields.Fields[i].LookupModule == nil || *rep.Fields.Fields[i].LookupModule != "Accounts" {
		t.Errorf("fields: Account_Name lookup module not read by the SDK")
	}
	for _, n := range []string{"Owner", "Email_Opt_Out", "VIP", "Reporting_To"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("fields: %s missing from the SDK's field list", n)
		}
	}

	// Create: 207, one SuccessResponse and one per-record APIException.
	c := rep.Create
	if c.Status != 207 || c.Kind != "ActionWrapper" || len(c.Data) != 2 {
		t.Fatalf("create: status %d kind %s data %v", c.Status, c.Kind, c.Data)
	}
	if c.Data[0].Kind != "SuccessResponse" || c.Data[0].Code != "SUCCESS" {
		t.Errorf("create[0] = %+v, want SuccessResponse SUCCESS", c.Data[0])
	}
	if d := c.Data[1]; d.Kind != "APIException" || d.Code != "MANDATORY_NOT_FOUND" || d.Details["api_name"] != "Last_Name" {
		t.Errorf("create[1] = %+v, want APIException MANDATORY_NOT_FOUND on Last_Name", d)
	}
	id, _ := c.Data[0].Details["id"].(string)

	// Get: the SDK types the values from the field metadata.
	if rep.Get.Status != 200 || len(rep.Get.Data) != 1 {
		t.Fatalf("get: status %d data %v", rep.Get.Status, rep.Get.Data)
	}
	got := rep.Get.Data[0]
	want := map[string]any{"id": id, "Last_Name": "Conformance", "First_Name": "Zoë", "Email": "sdk.conformance@example.com",
		"Email_Opt_Out": true, "Date_of_Birth": "1990-05-17T00:00:00.000Z", "Seats": float64(12),
		"Renewal_Date": "2026-01-02T00:00:00.000Z"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("get: %s = %#v, want %#v", k, got[k], w)
		}
	}

	if rep.List.Status != 200 || !slices.Contains(rep.List.IDs, id) || rep.List.Info.Count != len(rep.List.IDs) || rep.List.Info.PerPage != 200 {
		t.Errorf("list: %+v, want the created record %s", rep.List, id)
	}
	if u := rep.Update; u.Status != 200 || len(u.Data) != 1 || u.Data[0].Code != "SUCCESS" || u.Data[0].Message != "record updated" {
		t.Errorf("update: %+v", u)
	}
	if s := rep.Search; s.Status != 200 || len(s.Data) != 1 || s.Data[0]["id"] != id || s.Data[0]["Last_Name"] != "Conformance Updated" {
		t.Errorf("search: %+v, want the updated record %s", s, id)
	}
	if d := rep.Delete; d.Status != 200 || len(d.Data) != 1 || d.Data[0].Code != "SUCCESS" || d.Data[0].Details["id"] != id {
		t.Errorf("delete: %+v", d)
	}
	if b := rep.BadRequest; b.HTTPStatus != 400 || b.Kind != "APIException" || b.Code != "REQUIRED_PARAM_MISSING" {
		t.Errorf("400: %+v, want an APIException REQUIRED_PARAM_MISSING", b)
	}
	if u := rep.Unauthorized; u.HTTPStatus != 401 || u.Kind != "APIException" || u.Code != "INVALID_TOKEN" {
		t.Errorf("401: %+v, want an APIException INVALID_TOKEN", u)
	}
	if _, ok := emu.Record("Contacts", id); ok {
		t.Errorf("record %s still live after the SDK deleted it", id)
	}

	for _, e := range v.errors() {
		t.Errorf("emulator response to the SDK does not conform to the CRM spec: %s", e)
	}
	if n := v.count(); n < 10 {
		t.Errorf("validated %d API responses, want every call the SDK made (at least 10)", n)
	}
}

// validator checks every API response the emulator sends against the spec.
// Requests are the SDK's and are not judged.
type validator struct {
	spec *crmspec.Spec
	mu   sync.Mutex
	errs []string
	n    int
}

func (v *validator) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if crmspec.Skipped(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = readAll(r)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		err := v.spec.ValidateResponse(r, reqBody, rec.Code, rec.Header(), rec.Body.Bytes())
		v.mu.Lock()
		defer v.mu.Unlock()
		v.n++
		if err != nil {
			v.errs = append(v.errs, r.Method+" "+r.URL.String()+": "+err.Error())
		}
	})
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	_ = r.Body.Close()
	r.Body = nopCloser{bytes.NewReader(b.Bytes())}
	return b.Bytes(), err
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func (v *validator) errors() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.errs)
}

func (v *validator) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.n
}

func tail(b []byte, n int) string {
	s := string(b)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
