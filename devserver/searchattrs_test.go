package main

import (
	"reflect"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/searchattribute/sadefs"
)

func TestPlanAliases(t *testing.T) {
	const (
		kw  = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		num = enumspb.INDEXED_VALUE_TYPE_INT
	)
	columns := map[string]enumspb.IndexedValueType{
		"Keyword02": kw, "Keyword01": kw, "Int01": num,
	}
	tests := []struct {
		name      string
		existing  map[string]string
		wanted    []searchAttribute
		want      map[string]string
		wantAdded int
		wantErr   string
	}{
		{
			name: "nothing wanted, nothing existing",
			want: map[string]string{}, wantAdded: 0,
		},
		{
			name:      "fresh namespace takes columns in name order",
			wanted:    []searchAttribute{{"CustomerId", kw}, {"Attempts", num}, {"Region", kw}},
			want:      map[string]string{"Keyword01": "CustomerId", "Int01": "Attempts", "Keyword02": "Region"},
			wantAdded: 3,
		},
		{
			name:      "already registered is a no-op",
			existing:  map[string]string{"Keyword02": "CustomerId"},
			wanted:    []searchAttribute{{"CustomerId", kw}},
			want:      map[string]string{"Keyword02": "CustomerId"},
			wantAdded: 0,
		},
		{
			name:      "adds only the missing one and keeps others",
			existing:  map[string]string{"Keyword01": "Other"},
			wanted:    []searchAttribute{{"CustomerId", kw}},
			want:      map[string]string{"Keyword01": "Other", "Keyword02": "CustomerId"},
			wantAdded: 1,
		},
		{
			name:     "registered with another type",
			existing: map[string]string{"Int01": "CustomerId"},
			wanted:   []searchAttribute{{"CustomerId", kw}},
			wantErr:  "already registered as Int",
		},
		{
			name:     "no column left",
			existing: map[string]string{"Int01": "Attempts"},
			wanted:   []searchAttribute{{"Retries", num}},
			wantErr:  "all Int columns are in use",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]string{}
			for k, v := range tt.existing {
				before[k] = v
			}
			got, added, err := planAliases(tt.existing, columns, tt.wanted)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("planAliases: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) || added != tt.wantAdded {
				t.Errorf("got %v (+%d), want %v (+%d)", got, added, tt.want, tt.wantAdded)
			}
			if len(tt.existing) > 0 && !reflect.DeepEqual(tt.existing, before) {
				t.Errorf("existing map was modified: %v", tt.existing)
			}
		})
	}
}

// TestPlanAliasesRealColumns checks the planner against the server's actual
// pre-allocated SQL columns, so a server upgrade that renames them is caught.
func TestPlanAliasesRealColumns(t *testing.T) {
	columns := sadefs.GetDBIndexSearchAttributes(nil).GetCustomSearchAttributes()
	got, added, err := planAliases(nil, columns, []searchAttribute{
		{"CustomerId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{"Tags", enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST},
	})
	if err != nil {
		t.Fatalf("planAliases: %v", err)
	}
	want := map[string]string{"Keyword01": "CustomerId", "KeywordList01": "Tags"}
	if added != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v (+%d), want %v", got, added, want)
	}
}
