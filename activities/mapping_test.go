package activities_test

import (
	"testing"

	"deskcrm/activities"
	"deskcrm/store"
)

// A mapping imported through another worker (or the starter) is used at once: the resolved
// mapping a worker caches is keyed by the stored mapping's version.
func TestMappingImportedElsewhereIsSeenAtOnce(t *testing.T) {
	w := newWorld(t, activities.ModeTwoWay)
	in := activities.PreflightInput{IntegrationID: "it", Mode: activities.ModeTwoWay}
	res, err := w.a.Preflight(w.ctx, in)
	must(t, err)
	if len(res.Problems) != 0 {
		t.Fatalf("default mapping has problems: %+v", res.Problems)
	}
	// Another process stores a mapping that maps a field Desk does not have.
	other := store.New(w.st.Pool)
	must(t, other.ReplaceMapping(w.ctx, "it", "contacts", []store.MappingRow{
		{DeskField: "lastName", CRMField: "Last_Name", Direction: "both", Policy: "newest"},
		{DeskField: "cf_no_such_field", CRMField: "Title", Direction: "both", Policy: "newest"},
	}))
	res, err = w.a.Preflight(w.ctx, in)
	must(t, err)
	found := false
	for _, p := range res.Problems {
		found = found || (p.Code == "UNKNOWN_FIELD" && p.Desk == "cf_no_such_field")
	}
	if !found {
		t.Fatalf("the cached mapping was used after an import: problems %+v", res.Problems)
	}
}
