// Package crmspec loads Zoho's official CRM v8 OpenAPI specification and
// validates HTTP requests and responses against it.
//
// The spec files live in ../shared/zoho-oas/crm-v8 relative to the module
// root (the directory holding go.mod, found by walking up from the working
// directory); the environment variable DESKCRM_OAS_DIR overrides the
// location. Load handles every quirk listed in zoho-oas/QUIRKS.md:
//
//  1. cross-file $refs are absolute URLs ending in v8.0/<file>.json: they are
//     read from the local file with the same base name;
//  2. the {external_…} paths that collide with {id} paths are dropped;
//  3. the servers (https://zohoapis.com) are removed so any host matches;
//  4. "input matches more than one oneOf schemas" alone is treated as a pass:
//     every oneOf is loaded as anyOf, which also covers nested oneOfs
//     (filterOneOf remains as a safety net);
//  5. per_page stays required on search (clients must always send it).
//
// One more quirk, not in QUIRKS.md: notes.json refers to
// #/components/parameters/If-Modified-Since without defining it. Dangling
// local component references are filled from the first other spec file that
// defines a component of that name (see readPatched). And several status
// schemas (record.json's API_Exception, Success_Response, ...) list no
// required keys, so they match any object and make every oneOf ambiguous;
// code/details/message/status are made required there (requireStatusFields).
// fields.json's `fields` schema requires object properties that Zoho sends
// as null (made nullable), and notifications.json types channel_id as an
// object and restricts notify_url to zoho.com hosts (both dropped), and
// users.json restricts email and website to the shapes of its examples
// (patterns dropped). Keys
// that bulk_read.json and modules.json wrongly require are listed in
// requiredFixes.
//
// Beyond the quirks, the spec documents only status 200 for most record
// operations (errors are modelled as a oneOf branch of the 200 body). For a
// status the operation does not document, ValidateResponse checks: 204 and
// 304 have an empty body; other 2xx bodies validate against the operation's
// 200 (or first 2xx) response; 4xx/5xx bodies with a "data" array validate
// against the 200 response too (per-record errors), and any other error body
// must be Zoho's error envelope {code, details, message, status:"error"}.
//
// Requests for paths outside the CRM API (the OAuth token endpoint under
// /oauth/ and the emulator admin API under /_emulator/) are skipped
// explicitly (see Skipped); any other path the spec lacks is an error.
package crmspec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// EnvDir names the environment variable that overrides the spec directory.
const EnvDir = "DESKCRM_OAS_DIR"

// docFiles are the spec files that declare CRM paths, in tie-break order
// when two files declare the same route template (module_search.json's
// search definition is preferred to record.json's copy).
var docFiles = []string{
	"module_search.json", "notes.json", "record.json", "fields.json", "notifications.json",
	"bulk_read.json", "bulk_write.json", "related_records.json", "related_lists.json",
	"recycle_bin.json", "attachments.json", "custom_views.json", "layouts.json", "modules.json",
	"org.json", "profiles.json", "tags.json", "users.json",
}

// skippedPrefixes are path prefixes that are not part of the CRM API and
// are never validated.
var skippedPrefixes = []string{"/oauth/", "/_emulator/"}

// droppedPaths are paths removed from the loaded documents: catch-alls that
// would match any request.
var droppedPaths = map[string]bool{
	"/":               true, // common.json
	"/{download_url}": true, // bulk_write.json: the download URL is a full URL, not a path
}

// Spec is a loaded, router-ready copy of the CRM v8 specification.
type Spec struct {
	dir     string
	docs    []*openapi3.T
	routers []routers.Router
	names   []string
}

// ErrNotInSpec is returned for a request whose path and method the spec
// does not describe.
var ErrNotInSpec = errors.New("route not in the CRM v8 spec")

var registerOnce sync.Once

// Load finds the spec directory and loads it.
func Load() (*Spec, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// Dir returns the spec directory: $DESKCRM_OAS_DIR, or
// <module root>/../shared/zoho-oas/crm-v8.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find spec dir: %w", err)
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "zoho-oas", "crm-v8"), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find spec dir: no go.mod above %s (set %s)", wd, EnvDir)
		}
		d = parent
	}
}

// LoadDir loads the spec from dir.
func LoadDir(dir string) (*Spec, error) {
	registerOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-download", openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/zip", openapi3filter.FileBodyDecoder)
	})
	s := &Spec{dir: dir}
	for _, name := range docFiles {
		doc, err := loadDoc(dir, name)
		if err != nil {
			return nil, err
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", name, err)
		}
		s.docs = append(s.docs, doc)
		s.routers = append(s.routers, r)
		s.names = append(s.names, name)
	}
	return s, nil
}

// loadDoc loads one spec file, resolving cross-file references locally, and
// applies the structural quirks (external paths, servers, catch-alls).
func loadDoc(dir, name string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		// Quirk 1: https://raw.githubusercontent.com/.../v8.0/<file>.json
		// and relative paths both resolve to the local file of that name.
		return readPatched(dir, filepath.Base(u.Path))
	}
	data, err := readPatched(dir, name)
	if err != nil {
		return nil, err
	}
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: filepath.Join(dir, name)})
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}
	// Quirk 3: match any host.
	doc.Servers = nil
	for _, p := range doc.Paths.Keys() {
		item := doc.Paths.Value(p)
		// Quirk 2: {external_…} paths collide with {id} paths.
		if strings.Contains(p, "{external_") || droppedPaths[p] {
			doc.Paths.Delete(p)
			continue
		}
		item.Servers = nil
	}
	return doc, nil
}

// Skipped reports whether a request path is outside the CRM API and is
// deliberately not validated (OAuth token endpoint, emulator admin API).
func Skipped(path string) bool {
	for _, p := range skippedPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// findRoute picks, among the files that match req, the route with the fewest
// path variables (a literal segment beats a template variable); ties go to
// the earlier file in docFiles.
func (s *Spec) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	var (
		best     *routers.Route
		bestVars map[string]string
		bestN    = -1
		notAllow bool
	)
	for _, r := range s.routers {
		route, vars, err := r.FindRoute(req)
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			notAllow = true
			continue
		}
		if err != nil {
			continue
		}
		n := strings.Count(route.Path, "{")
		if bestN < 0 || n < bestN {
			best, bestVars, bestN = route, vars, n
		}
	}
	if best == nil {
		if notAllow {
			return nil, nil, fmt.Errorf("%w: %s %s (method not allowed)", ErrNotInSpec, req.Method, req.URL.Path)
		}
		return nil, nil, fmt.Errorf("%w: %s %s", ErrNotInSpec, req.Method, req.URL.Path)
	}
	return best, bestVars, nil
}

// RouteOf returns the spec's path template that req matches, e.g.
// "/crm/v8/{module_api_name}/{id}".
func (s *Spec) RouteOf(req *http.Request) (string, error) {
	route, _, err := s.findRoute(req)
	if err != nil {
		return "", err
	}
	return route.Path, nil
}

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		// Authentication is checked by the API itself (401 answers are
		// validated as responses); the validator only checks shapes.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
}

// ValidateRequest checks req (whose body is given separately, as req.Body
// may already be consumed) against the spec. Skipped paths return nil.
func (s *Spec) ValidateRequest(req *http.Request, body []byte) error {
	if Skipped(req.URL.Path) {
		return nil
	}
	in, err := s.requestInput(req, body)
	if err != nil {
		return err
	}
	if err := filterOneOf(openapi3filter.ValidateRequest(context.Background(), in)); err != nil {
		return fmt.Errorf("request %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func (s *Spec) requestInput(req *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	route, vars, err := s.findRoute(req)
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(context.Background())
	r2.Body = http.NoBody
	if len(body) > 0 {
		r2.Body = readCloser(body)
		r2.ContentLength = int64(len(body))
	}
	return &openapi3filter.RequestValidationInput{
		Request:    r2,
		PathParams: vars,
		Route:      route,
		Options:    options(),
	}, nil
}

// ValidateResponse checks a response to req against the spec. Skipped
// paths return nil.
func (s *Spec) ValidateResponse(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if Skipped(req.URL.Path) {
		return nil
	}
	in, err := s.requestInput(req, reqBody)
	if err != nil {
		return err
	}
	if err := s.validateResponse(in, status, header, body); err != nil {
		return fmt.Errorf("response %d to %s %s: %w", status, req.Method, req.URL.Path, err)
	}
	return nil
}

func (s *Spec) validateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	op := in.Route.Operation
	if isBinary(header) {
		return checkBinary(op, status, header)
	}
	documented := op.Responses.Status(status) != nil
	if !documented {
		switch {
		case status == http.StatusNoContent || status == http.StatusNotModified:
			if len(strings.TrimSpace(string(body))) != 0 {
				return fmt.Errorf("status %d must have an empty body, got %d bytes", status, len(body))
			}
			return nil
		case status >= 400 && !hasDataArray(body):
			return checkErrorEnvelope(body)
		}
		fallback := fallbackStatus(op, status)
		if fallback == 0 {
			return fmt.Errorf("status %d is not documented and no 2xx response to compare with", status)
		}
		status = fallback
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options:                options(),
	}
	out.SetBodyBytes(body)
	return filterOneOf(openapi3filter.ValidateResponse(context.Background(), out))
}

// binaryTypes are media types whose bodies are files: the spec models them
// with JSON schemas (bulk read's File_Body_Wrapper {"file": {}}), which a
// file cannot match, so only the status and media type are checked.
var binaryTypes = []string{"application/x-download", "application/zip", "application/octet-stream"}

func mediaType(h http.Header) string {
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.TrimSpace(strings.ToLower(ct))
}

func isBinary(h http.Header) bool { return slices.Contains(binaryTypes, mediaType(h)) }

// checkBinary checks that the operation documents this status with this
// file media type.
func checkBinary(op *openapi3.Operation, status int, h http.Header) error {
	ref := op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d with a %s body is not documented", status, mediaType(h))
	}
	if ref.Value.Content.Get(mediaType(h)) == nil {
		return fmt.Errorf("status %d: media type %s is not documented", status, mediaType(h))
	}
	return nil
}

// fallbackStatus picks the documented response used for an undocumented
// status: 200 if present, else the lowest documented 2xx.
func fallbackStatus(op *openapi3.Operation, status int) int {
	if op.Responses.Status(http.StatusOK) != nil {
		return http.StatusOK
	}
	var codes []int
	for k := range op.Responses.Map() {
		var c int
		if _, err := fmt.Sscanf(k, "%d", &c); err == nil && c >= 200 && c < 300 {
			codes = append(codes, c)
		}
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		return 0
	}
	_ = status
	return codes[0]
}
