package activities

import (
	"context"
	"strings"

	"deskcrm/mapping"
	"deskcrm/store"
)

// The functions below serve the admin console and the starter with the code the sync itself
// uses. They are package functions, not methods, so that registering Activities with a worker
// does not make them activities.

// FieldMetadata reads a module's fields on both sides (Desk GET /organizationFields, CRM GET
// /settings/fields) in the form mapping.PreflightMode and mapping.Resolve take: two API calls.
func FieldMetadata(ctx context.Context, a *Activities, module string) (desk, crm []mapping.FieldMeta, err error) {
	return a.fieldMetadata(ctx, module)
}

// CurrentMapping returns an integration's mapping of a module as the sync reads it: the
// stored one (types of pre-mapped fields filled from the default), or the default when the
// admin stored none.
func CurrentMapping(ctx context.Context, a *Activities, integrationID, module string) (mapping.Mapping, error) {
	return a.mappingFor(ctx, integrationID, module)
}

// ImportMapping stores a module's whole mapping in place of the previous one (one
// transaction; the mapping version changes, so every worker uses it from its next step). An
// empty direction is stored as both, an empty policy as newest. It is what `starter mapping
// import` and the console's mapping page save through; it does not check the mapping against
// Zoho's metadata (Preflight does).
func ImportMapping(ctx context.Context, st *store.Store, integrationID string, m mapping.Mapping) (int, error) {
	rows := make([]store.MappingRow, 0, len(m.Fields))
	for _, f := range m.Fields {
		rows = append(rows, store.MappingRow{DeskField: f.Desk, CRMField: f.CRM,
			Direction: orBlank(string(f.Direction), string(mapping.Both)), Policy: orBlank(string(f.Policy), string(mapping.Newest))})
	}
	return len(rows), st.ReplaceMapping(ctx, integrationID, string(m.Module), rows)
}

// orBlank returns s, or def when s is blank.
func orBlank(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
