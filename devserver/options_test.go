package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestParseArgsPortsAndSubcommand(t *testing.T) {
	tests := []struct {
		name               string
		args               []string
		grpc, httpP, uiP   int
		ip                 string
		headless           bool
		wantNamespaces     []string
		wantLevel, wantFmt string
		wantDBFile         string
	}{
		{
			name: "bare defaults", args: nil,
			grpc: 7233, httpP: 7243, uiP: 8233, ip: "127.0.0.1",
			wantNamespaces: []string{"default"}, wantLevel: "warn", wantFmt: "console",
		},
		{
			name: "sdk testsuite style",
			args: []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", "40001", "--namespace", "orders",
				"--dynamic-config-value", "frontend.enableServerVersionCheck=false", "--log-level", "error",
				"--log-format", "json", "--headless", "--db-filename", "/tmp/x.db"},
			grpc: 40001, httpP: 0, uiP: 41001, ip: "127.0.0.1", headless: true,
			wantNamespaces: []string{"default", "orders"}, wantLevel: "error", wantFmt: "json", wantDBFile: "/tmp/x.db",
		},
		{
			name: "start-dev only, explicit http and ui ports",
			args: []string{"start-dev", "--port=7300", "--http-port=7301", "--ui-port", "7302"},
			grpc: 7300, httpP: 7301, uiP: 7302, ip: "127.0.0.1",
			wantNamespaces: []string{"default"}, wantLevel: "warn", wantFmt: "console",
		},
		{
			name: "ui port would overflow so it is picked freely",
			args: []string{"--port", "65000", "--ip", "::1"},
			grpc: 65000, httpP: 0, uiP: 0, ip: "::1",
			wantNamespaces: []string{"default"}, wantLevel: "warn", wantFmt: "console",
		},
		{
			name: "namespaces deduplicated, default kept first",
			args: []string{"--namespace", "b", "--namespace", "default", "--namespace", "a", "--namespace", "b", "--log-level", "WARNING"},
			grpc: 7233, httpP: 7243, uiP: 8233, ip: "127.0.0.1",
			wantNamespaces: []string{"default", "b", "a"}, wantLevel: "warn", wantFmt: "console",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args, io.Discard)
			if err != nil {
				t.Fatalf("parseArgs: %v", err)
			}
			if o.Port != tt.grpc || o.HTTPPort != tt.httpP || o.UIPort != tt.uiP {
				t.Errorf("ports = %d/%d/%d, want %d/%d/%d", o.Port, o.HTTPPort, o.UIPort, tt.grpc, tt.httpP, tt.uiP)
			}
			if o.IP != tt.ip || o.Headless != tt.headless || o.DBFilename != tt.wantDBFile {
				t.Errorf("ip/headless/db = %q/%v/%q", o.IP, o.Headless, o.DBFilename)
			}
			if !reflect.DeepEqual(o.Namespaces, tt.wantNamespaces) {
				t.Errorf("namespaces = %v, want %v", o.Namespaces, tt.wantNamespaces)
			}
			if o.LogLevel != tt.wantLevel || o.LogFormat != tt.wantFmt {
				t.Errorf("log = %s/%s, want %s/%s", o.LogLevel, o.LogFormat, tt.wantLevel, tt.wantFmt)
			}
		})
	}
}

func TestParseArgsCodec(t *testing.T) {
	o, err := parseArgs([]string{"--ui-codec-endpoint", "http://127.0.0.1:8090/codec/", "--ui-codec-include-credentials"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.UICodecEndpoint != "http://127.0.0.1:8090/codec" || !o.UICodecIncludeCredentials {
		t.Fatalf("codec options = %q %v", o.UICodecEndpoint, o.UICodecIncludeCredentials)
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"stray word", []string{"server", "start-dev", "extra"}, `unexpected argument "extra"`},
		{"bad ip", []string{"--ip", "localhost"}, "not an IP address"},
		{"port out of range", []string{"--port", "70000"}, "out of range"},
		{"empty namespace", []string{"--namespace", " "}, "must not be empty"},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"bad log format", []string{"--log-format", "xml"}, "--log-format"},
		{"search attribute without type", []string{"--search-attribute", "CustomerId"}, "want Name=Type"},
		{"search attribute bad type", []string{"--search-attribute", "CustomerId=Uuid"}, "unknown search attribute type"},
		{"reserved search attribute", []string{"--search-attribute", "TemporalThing=Keyword"}, "reserved"},
		{"system search attribute", []string{"--search-attribute", "WorkflowId=Keyword"}, "reserved"},
		{"conflicting types", []string{"--search-attribute", "A=Int", "--search-attribute", "A=Text"}, "two types"},
		{"dynamic config without value", []string{"--dynamic-config-value", "justakey"}, "want key=value"},
		{"codec endpoint not a URL", []string{"--ui-codec-endpoint", "127.0.0.1:8090/codec"}, "--ui-codec-endpoint"},
		{"codec credentials without endpoint", []string{"--ui-codec-include-credentials"}, "needs --ui-codec-endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseSearchAttributes(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []searchAttribute
	}{
		{"none", nil, []searchAttribute{}},
		{
			"short names any case, sorted, duplicates merged",
			[]string{"Zeta=keyword", "Alpha=Int", "Mid=KeywordList", "Zeta=Keyword"},
			[]searchAttribute{
				{"Alpha", enumspb.INDEXED_VALUE_TYPE_INT},
				{"Mid", enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST},
				{"Zeta", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
			},
		},
		{
			"every type including proto names",
			[]string{"A=Text", "B=Double", "C=Bool", "D=Datetime", "E=INDEXED_VALUE_TYPE_KEYWORD", "F=indexed_value_type_int"},
			[]searchAttribute{
				{"A", enumspb.INDEXED_VALUE_TYPE_TEXT},
				{"B", enumspb.INDEXED_VALUE_TYPE_DOUBLE},
				{"C", enumspb.INDEXED_VALUE_TYPE_BOOL},
				{"D", enumspb.INDEXED_VALUE_TYPE_DATETIME},
				{"E", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
				{"F", enumspb.INDEXED_VALUE_TYPE_INT},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSearchAttributes(tt.in)
			if err != nil {
				t.Fatalf("parseSearchAttributes: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseDynamicValue(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"false", false},
		{"true", true},
		{"42", 42},
		{"-7", -7},
		{"1.5", 1.5},
		{"1e3", 1000.0},
		{`"quoted"`, "quoted"},
		{"plain words", "plain words"},
		{"10s", "10s"},
		{"", ""},
		{"1 2", "1 2"},
		{`{"a": 1, "b": [2, 2.5]}`, map[string]any{"a": 1, "b": []any{2, 2.5}}},
		{"null", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := parseDynamicValue(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDynamicValue(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDerivePorts(t *testing.T) {
	tests := []struct {
		name             string
		port             int
		portSet          bool
		httpPort         int
		httpSet          bool
		uiPort           int
		uiSet            bool
		wantHTTP, wantUI int
	}{
		{"all defaults", 7233, false, 7243, false, 8233, false, 7243, 8233},
		{"port given", 9000, true, 7243, false, 8233, false, 0, 10000},
		{"port and http given", 9000, true, 9001, true, 8233, false, 9001, 10000},
		{"port and ui given", 9000, true, 7243, false, 9100, true, 0, 9100},
		{"port zero", 0, true, 7243, false, 8233, false, 0, 0},
		{"only http given", 7233, false, 1234, true, 8233, false, 1234, 8233},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, u := derivePorts(tt.port, tt.portSet, tt.httpPort, tt.httpSet, tt.uiPort, tt.uiSet)
			if h != tt.wantHTTP || u != tt.wantUI {
				t.Errorf("derivePorts = %d,%d want %d,%d", h, u, tt.wantHTTP, tt.wantUI)
			}
		})
	}
}
