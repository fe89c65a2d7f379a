package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/searchattribute/sadefs"
)

// Default ports, matching `temporal server start-dev` except for the HTTP API,
// which the official CLI puts on a random port.
const (
	defaultGRPCPort = 7233
	defaultHTTPPort = 7243
	defaultUIPort   = 8233
	// uiPortOffset is added to an explicit --port to derive the UI port, as the
	// official CLI does.
	uiPortOffset = 1000
	// defaultNamespace always exists, whatever --namespace says.
	defaultNamespace = "default"
)

// options is the parsed command line. A port of 0 means "pick a free port".
type options struct {
	IP               string
	Port             int
	HTTPPort         int
	UIPort           int
	DBFilename       string
	Namespaces       []string
	SearchAttributes []searchAttribute
	DynamicConfig    map[string]any
	LogLevel         string
	LogFormat        string
	Headless         bool
	// UICodecEndpoint is the codec server the Web UI decodes payloads through (the UI
	// appends /encode and /decode); UICodecIncludeCredentials makes the UI send cookies to it.
	UICodecEndpoint           string
	UICodecIncludeCredentials bool
}

// searchAttribute is one --search-attribute Name=Type.
type searchAttribute struct {
	Name string
	Type enumspb.IndexedValueType
}

// stringList collects a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// errHelp is returned by parseArgs when -h/--help was asked for.
var errHelp = flag.ErrHelp

// parseArgs turns the process arguments (without the program name) into
// options. The leading words "server start-dev" are optional, so the binary
// can be called both like the temporal CLI and bare.
func parseArgs(args []string, usage io.Writer) (options, error) {
	args = stripSubcommand(args)

	fs := flag.NewFlagSet("temporal-dev server start-dev", flag.ContinueOnError)
	fs.SetOutput(usage)
	var (
		o          options
		namespaces stringList
		attrs      stringList
		dynamic    stringList
	)
	fs.StringVar(&o.IP, "ip", "127.0.0.1", "IP address to bind the gRPC frontend, HTTP API and UI to")
	fs.IntVar(&o.Port, "port", defaultGRPCPort, "gRPC frontend port (0 picks a free port)")
	fs.IntVar(&o.HTTPPort, "http-port", defaultHTTPPort, "HTTP API port; default 7243, or a free port when --port is given")
	fs.IntVar(&o.UIPort, "ui-port", defaultUIPort, "Web UI port; default 8233, or --port + 1000 when --port is given")
	fs.StringVar(&o.DBFilename, "db-filename", "", "SQLite file to persist to (created with its schema if new); empty keeps everything in memory")
	fs.Var(&namespaces, "namespace", "namespace to create if missing (repeatable; \"default\" always exists)")
	fs.Var(&attrs, "search-attribute", "custom search attribute Name=Type to register on every namespace (repeatable); Type is one of Keyword, Text, Int, Double, Bool, Datetime, KeywordList")
	fs.Var(&dynamic, "dynamic-config-value", "dynamic config key=value (repeatable); value is JSON, or a plain string if it is not valid JSON")
	fs.StringVar(&o.LogLevel, "log-level", "warn", "server log level: debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "log-format", "pretty", "server log format: pretty or json")
	fs.BoolVar(&o.Headless, "headless", false, "do not start the Web UI")
	fs.StringVar(&o.UICodecEndpoint, "ui-codec-endpoint", "", "codec server URL the Web UI decodes payloads through (it appends /encode and /decode)")
	fs.BoolVar(&o.UICodecIncludeCredentials, "ui-codec-include-credentials", false, "the Web UI sends cookies to the codec server (a session set by signing in there)")

	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if ip := net.ParseIP(o.IP); ip == nil {
		return options{}, fmt.Errorf("--ip %q is not an IP address", o.IP)
	}
	if o.UICodecEndpoint != "" {
		u, err := url.Parse(o.UICodecEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return options{}, fmt.Errorf("--ui-codec-endpoint %q must be an http(s) URL without a query", o.UICodecEndpoint)
		}
		o.UICodecEndpoint = strings.TrimRight(o.UICodecEndpoint, "/")
	} else if o.UICodecIncludeCredentials {
		return options{}, errors.New("--ui-codec-include-credentials needs --ui-codec-endpoint")
	}
	o.HTTPPort, o.UIPort = derivePorts(o.Port, set["port"], o.HTTPPort, set["http-port"], o.UIPort, set["ui-port"])
	for name, p := range map[string]int{"port": o.Port, "http-port": o.HTTPPort, "ui-port": o.UIPort} {
		if p < 0 || p > 65535 {
			return options{}, fmt.Errorf("--%s %d is out of range", name, p)
		}
	}

	var err error
	if o.Namespaces, err = normalizeNamespaces(namespaces); err != nil {
		return options{}, err
	}
	if o.SearchAttributes, err = parseSearchAttributes(attrs); err != nil {
		return options{}, err
	}
	if o.DynamicConfig, err = parseDynamicConfig(dynamic); err != nil {
		return options{}, err
	}
	if o.LogLevel, err = normalizeLogLevel(o.LogLevel); err != nil {
		return options{}, err
	}
	if o.LogFormat, err = normalizeLogFormat(o.LogFormat); err != nil {
		return options{}, err
	}
	return o, nil
}

// stripSubcommand drops the optional leading "server start-dev" words.
func stripSubcommand(args []string) []string {
	if len(args) > 0 && args[0] == "server" {
		args = args[1:]
		if len(args) > 0 && args[0] == "start-dev" {
			args = args[1:]
		}
	} else if len(args) > 0 && args[0] == "start-dev" {
		args = args[1:]
	}
	return args
}

// derivePorts applies the port defaults that depend on whether --port was
// given. With an explicit --port and no --http-port, the HTTP API gets a free
// port (0) so that several dev servers on different --port values never clash;
// the UI gets --port + 1000 like the official CLI, or a free port if that
// would overflow.
func derivePorts(port int, portSet bool, httpPort int, httpSet bool, uiPort int, uiSet bool) (int, int) {
	if portSet && !httpSet {
		httpPort = 0
	}
	if portSet && !uiSet {
		uiPort = 0
		if port > 0 && port+uiPortOffset <= 65535 {
			uiPort = port + uiPortOffset
		}
	}
	return httpPort, uiPort
}

// normalizeNamespaces puts "default" first and removes duplicates, keeping
// the order the flags were given in.
func normalizeNamespaces(given []string) ([]string, error) {
	out := []string{defaultNamespace}
	for _, ns := range given {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			return nil, errors.New("--namespace must not be empty")
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out, nil
}

// indexedValueTypes maps the lower-cased short type names accepted by
// --search-attribute to their enum values.
var indexedValueTypes = map[string]enumspb.IndexedValueType{
	"keyword":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"text":        enumspb.INDEXED_VALUE_TYPE_TEXT,
	"int":         enumspb.INDEXED_VALUE_TYPE_INT,
	"double":      enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	"bool":        enumspb.INDEXED_VALUE_TYPE_BOOL,
	"datetime":    enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"keywordlist": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

// parseIndexedValueType accepts the short names (any case) and the full
// proto names such as INDEXED_VALUE_TYPE_KEYWORD.
func parseIndexedValueType(s string) (enumspb.IndexedValueType, error) {
	if t, ok := indexedValueTypes[strings.ToLower(s)]; ok {
		return t, nil
	}
	if t, err := enumspb.IndexedValueTypeFromString(strings.ToUpper(s)); err == nil && t != enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
		return t, nil
	}
	return enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED, fmt.Errorf("unknown search attribute type %q (want Keyword, Text, Int, Double, Bool, Datetime or KeywordList)", s)
}

// parseSearchAttributes parses Name=Type pairs. The same name given twice
// with the same type is accepted once; with different types it is an error.
// The result is sorted by name.
func parseSearchAttributes(given []string) ([]searchAttribute, error) {
	byName := map[string]enumspb.IndexedValueType{}
	for _, kv := range given {
		name, typ, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--search-attribute %q: want Name=Type", kv)
		}
		if strings.ContainsAny(name, " \t\n") {
			return nil, fmt.Errorf("--search-attribute %q: name must not contain spaces", kv)
		}
		if sadefs.IsReserved(name) {
			return nil, fmt.Errorf("--search-attribute %q: %s is a reserved or system search attribute name", kv, name)
		}
		t, err := parseIndexedValueType(strings.TrimSpace(typ))
		if err != nil {
			return nil, fmt.Errorf("--search-attribute %q: %w", kv, err)
		}
		if prev, dup := byName[name]; dup && prev != t {
			return nil, fmt.Errorf("--search-attribute %s given with two types, %s and %s", name, prev, t)
		}
		byName[name] = t
	}
	out := make([]searchAttribute, 0, len(byName))
	for name, t := range byName {
		out = append(out, searchAttribute{Name: name, Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parseDynamicConfig parses key=value pairs; a later value for the same key
// wins.
func parseDynamicConfig(given []string) (map[string]any, error) {
	out := make(map[string]any, len(given))
	for _, kv := range given {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--dynamic-config-value %q: want key=value", kv)
		}
		out[key] = parseDynamicValue(value)
	}
	return out, nil
}

// parseDynamicValue decodes a dynamic config value as JSON, falling back to
// the raw string. Whole JSON numbers become int and other numbers float64,
// because the server's int settings do not accept float64.
func parseDynamicValue(s string) any {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s
	}
	// Reject trailing garbage such as `1 2` or `true x`.
	if _, err := dec.Token(); err != io.EOF {
		return s
	}
	return convertJSONNumbers(v)
}

// convertJSONNumbers replaces json.Number values, at any depth, with int or
// float64.
func convertJSONNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(v.String()); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case []any:
		for i := range v {
			v[i] = convertJSONNumbers(v[i])
		}
		return v
	case map[string]any:
		for k := range v {
			v[k] = convertJSONNumbers(v[k])
		}
		return v
	default:
		return v
	}
}

// normalizeLogLevel validates --log-level.
func normalizeLogLevel(s string) (string, error) {
	switch l := strings.ToLower(s); l {
	case "debug", "info", "warn", "error":
		return l, nil
	case "warning":
		return "warn", nil
	default:
		return "", fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
}

// normalizeLogFormat validates --log-format and maps it to the server's zap
// encoding names ("console" or "json").
func normalizeLogFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case "pretty", "console", "text":
		return "console", nil
	case "json":
		return "json", nil
	default:
		return "", fmt.Errorf("--log-format %q: want pretty or json", s)
	}
}
