package main

import (
	"fmt"
	"maps"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
)

// planAliases decides how the wanted custom search attributes map onto the
// SQL visibility store's pre-allocated columns for one namespace.
//
// existing is the namespace's current column→alias map, columns the
// pre-allocated columns and their types. It returns the complete new
// column→alias map and how many aliases it added; added == 0 means the
// namespace needs no update. An attribute that is already registered with
// another type, or a type whose columns are all taken, is an error.
// Free columns are taken in name order so the result is deterministic.
func planAliases(
	existing map[string]string,
	columns map[string]enumspb.IndexedValueType,
	wanted []searchAttribute,
) (map[string]string, int, error) {
	out := maps.Clone(existing)
	if out == nil {
		out = map[string]string{}
	}
	aliasToColumn := make(map[string]string, len(out))
	for col, alias := range out {
		aliasToColumn[alias] = col
	}

	names := make([]string, 0, len(columns))
	for col := range columns {
		names = append(names, col)
	}
	sort.Strings(names)

	added := 0
	for _, sa := range wanted {
		if col, ok := aliasToColumn[sa.Name]; ok {
			if have, known := columns[col]; known && have != sa.Type {
				return nil, 0, fmt.Errorf("search attribute %s is already registered as %s, not %s", sa.Name, have, sa.Type)
			}
			continue
		}
		free := ""
		for _, col := range names {
			if columns[col] != sa.Type {
				continue
			}
			if _, used := out[col]; !used {
				free = col
				break
			}
		}
		if free == "" {
			return nil, 0, fmt.Errorf("search attribute %s: all %s columns are in use", sa.Name, sa.Type)
		}
		out[free] = sa.Name
		aliasToColumn[sa.Name] = free
		added++
	}
	return out, added, nil
}
