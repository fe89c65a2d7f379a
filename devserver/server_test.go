package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/resolver"
)

func TestResolvePorts(t *testing.T) {
	tests := []struct {
		name    string
		o       options
		wantErr string
	}{
		{name: "explicit ports kept", o: options{IP: "127.0.0.1", Port: 41001, HTTPPort: 41002, UIPort: 41003}},
		{name: "zeros filled", o: options{IP: "127.0.0.1"}},
		{name: "grpc equals ui", o: options{IP: "127.0.0.1", Port: 41001, HTTPPort: 41002, UIPort: 41001}, wantErr: "--port and --ui-port both ask for port 41001"},
		{name: "grpc equals http", o: options{IP: "127.0.0.1", Port: 41001, HTTPPort: 41001}, wantErr: "--port and --http-port"},
		{name: "ui port ignored when headless", o: options{IP: "127.0.0.1", Port: 41001, HTTPPort: 41002, UIPort: 41001, Headless: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := resolvePorts(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolvePorts: %v", err)
			}
			for given, got := range map[int]int{tt.o.Port: p.GRPC, tt.o.HTTPPort: p.HTTP} {
				if given != 0 && given != got {
					t.Errorf("explicit port %d became %d", given, got)
				}
			}
			all := []int{p.GRPC, p.HTTP, p.History, p.Matching, p.Worker}
			if !tt.o.Headless {
				all = append(all, p.UI)
			}
			seen := map[int]bool{}
			for _, port := range all {
				if port <= 0 || seen[port] {
					t.Fatalf("ports %+v: %d is zero or repeated", p, port)
				}
				seen[port] = true
			}
		})
	}
}

func TestDialHost(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1": "127.0.0.1",
		"0.0.0.0":   "127.0.0.1",
		"::":        "::1",
		"::1":       "::1",
		"10.1.2.3":  "10.1.2.3",
	}
	for in, want := range tests {
		if got := dialHost(in); got != want {
			t.Errorf("dialHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// customAttributes reads a namespace's alias→type map straight from the
// database file.
func customAttributes(t *testing.T, o options, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	cfg, err := sqlConfig(o)
	if err != nil {
		t.Fatalf("sqlConfig: %v", err)
	}
	ser := serialization.NewSerializer()
	f := sql.NewFactory(*cfg, resolver.NewNoopResolver(), clusterName, log.NewNoopLogger(), metrics.NoopMetricsHandler, ser)
	defer f.Close()
	store, err := f.NewMetadataStore()
	if err != nil {
		t.Fatalf("metadata store: %v", err)
	}
	mgr := persistence.NewMetadataManagerImpl(store, ser, log.NewNoopLogger(), clusterName)
	defer mgr.Close()
	got, err := mgr.GetNamespace(context.Background(), &persistence.GetNamespaceRequest{Name: ns})
	if err != nil {
		t.Fatalf("get namespace %s: %v", ns, err)
	}
	out := map[string]enumspb.IndexedValueType{}
	for col, alias := range got.Namespace.GetConfig().GetCustomSearchAttributeAliases() {
		typ, err := parseIndexedValueType(strings.TrimRight(col, "0123456789"))
		if err != nil {
			t.Fatalf("column %s: %v", col, err)
		}
		out[alias] = typ
	}
	return out
}

// TestEnsureNamespacesOnFile runs the pre-start namespace setup three times
// on one database file, as three restarts would.
func TestEnsureNamespacesOnFile(t *testing.T) {
	const kw, num = enumspb.INDEXED_VALUE_TYPE_KEYWORD, enumspb.INDEXED_VALUE_TYPE_INT
	o := options{DBFilename: filepath.Join(t.TempDir(), "ns.db"), Namespaces: []string{"default", "orders"}}
	ctx := context.Background()
	ensure := func(attrs ...searchAttribute) error {
		cfg, err := sqlConfig(o)
		if err != nil {
			t.Fatalf("sqlConfig: %v", err)
		}
		return ensureNamespaces(ctx, cfg, clusterName, o.Namespaces, attrs, log.NewNoopLogger())
	}

	if err := ensure(searchAttribute{"CustomerId", kw}); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if got := customAttributes(t, o, "orders"); len(got) != 1 || got["CustomerId"] != kw {
		t.Errorf("after first run orders has %v", got)
	}

	// Second run: the file exists, so no schema is created; one attribute is
	// added and the existing one is kept.
	if err := ensure(searchAttribute{"CustomerId", kw}, searchAttribute{"Attempts", num}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	for _, ns := range o.Namespaces {
		got := customAttributes(t, o, ns)
		if len(got) != 2 || got["CustomerId"] != kw || got["Attempts"] != num {
			t.Errorf("after second run %s has %v", ns, got)
		}
	}

	// Third run: a type change is refused rather than silently ignored.
	err := ensure(searchAttribute{"Attempts", kw})
	if err == nil || !strings.Contains(err.Error(), "already registered as Int") {
		t.Fatalf("third run err = %v, want a type conflict", err)
	}
}

func TestSQLConfigFileStates(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		wantErr string
	}{
		{name: "new file gets a schema", file: filepath.Join(dir, "new.db")},
		{name: "empty file counts as new", file: empty},
		{name: "directory", file: dir, wantErr: "is a directory"},
		{name: "missing parent", file: filepath.Join(dir, "no", "such.db"), wantErr: "directory for --db-filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlConfig(options{DBFilename: tt.file})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("sqlConfig: %v", err)
			}
			// A second call sees a non-empty file and must not try to create
			// the tables again (which would fail).
			if _, err := sqlConfig(options{DBFilename: tt.file}); err != nil {
				t.Fatalf("second sqlConfig: %v", err)
			}
		})
	}
}
