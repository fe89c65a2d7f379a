package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"deskcrm/mapping"
	"deskcrm/store"
)

// mappingCache keeps resolved mappings (checked against both sides' field metadata) so that
// the steps of a sync do not re-read the metadata, which costs API calls. An entry is keyed by
// the stored mapping's version, so an import through any worker is seen at once, and lives a
// few minutes, so a change of field metadata in Zoho is seen soon.
type mappingCache struct{ entries sync.Map } // key → resolvedMapping

// resolvedMapping is one cache entry.
type resolvedMapping struct {
	m        mapping.Mapping
	problems []mapping.Problem
	at       time.Time
}

// mappingCacheTTL is how long a resolved mapping is trusted to match the field metadata.
const mappingCacheTTL = 5 * time.Minute

// resolve returns the integration's mapping of a module with types and limits filled from
// both sides' field metadata, and the preflight problems found.
func (a *Activities) resolve(ctx context.Context, integrationID, module, mode string) (mapping.Mapping, []mapping.Problem, error) {
	m, problems, _, err := a.resolveVersion(ctx, integrationID, module, mode)
	return m, problems, err
}

// resolveVersion is resolve that also returns the integration's mapping version the mapping
// was read at (store.MappingVersion).
func (a *Activities) resolveVersion(ctx context.Context, integrationID, module, mode string) (mapping.Mapping, []mapping.Problem, int64, error) {
	version, err := a.Store.MappingVersion(ctx, integrationID)
	if err != nil {
		return mapping.Mapping{}, nil, 0, err
	}
	key := fmt.Sprintf("%s/%s/%s/%d", integrationID, module, mode, version)
	if v, ok := a.mappings.entries.Load(key); ok {
		if r := v.(resolvedMapping); time.Since(r.at) < mappingCacheTTL {
			return r.m, r.problems, version, nil
		}
	}
	m, err := a.mappingFor(ctx, integrationID, module)
	if err != nil {
		return m, nil, 0, err
	}
	dm, cm, err := a.fieldMetadata(ctx, module)
	if err != nil {
		return m, nil, 0, err
	}
	resolved, problems := mapping.Resolve(modeOf(mode), m, dm, cm)
	a.mappings.entries.Store(key, resolvedMapping{m: resolved, problems: problems, at: time.Now()})
	return resolved, problems, version, nil
}

// fieldMetadata reads a module's fields on both sides (Desk GET /organizationFields, CRM
// GET /settings/fields) in the form the mapping checks take.
func (a *Activities) fieldMetadata(ctx context.Context, module string) (desk, crm []mapping.FieldMeta, err error) {
	crmFields, err := a.CRM.Fields(ctx, crmModule(module))
	if err != nil {
		return nil, nil, apiError("read CRM "+crmModule(module)+" field metadata", err)
	}
	deskFields, err := a.Desk.Fields(ctx, module)
	if err != nil {
		return nil, nil, apiError("read Desk "+module+" field metadata", err)
	}
	for _, f := range crmFields {
		fm := mapping.FieldMeta{Name: f.APIName, Label: f.FieldLabel, Type: mapping.CRMType(f.DataType),
			Mandatory: f.SystemMandatory, ReadOnly: f.ReadOnly || f.FieldReadOnly, Custom: f.CustomField,
			Unique: f.IsUnique(), Length: f.Length}
		for _, p := range f.PickListValues {
			fm.Picklist = append(fm.Picklist, p.ActualValue)
		}
		if f.Lookup != nil {
			fm.LookupModule = f.Lookup.Module.APIName
		}
		if f.DecimalPlace != nil {
			fm.Decimals = *f.DecimalPlace
		}
		crm = append(crm, fm)
	}
	for _, f := range deskFields {
		desk = append(desk, mapping.FieldMeta{Name: f.APIName, Label: f.DisplayLabel, Type: mapping.DeskType(f.Type),
			Mandatory: f.IsMandatory, ReadOnly: f.IsReadOnly, Custom: f.IsCustomField, Unique: f.IsUnique,
			Length: f.MaxLength, Picklist: f.AllowedValues, Decimals: f.DecimalPlaces})
	}
	return desk, crm, nil
}

// mappingFor returns the integration's mapping of a module: the stored one, or the default.
func (a *Activities) mappingFor(ctx context.Context, integrationID, module string) (mapping.Mapping, error) {
	rows, err := a.Store.Mapping(ctx, integrationID, module)
	if err != nil {
		return mapping.Mapping{}, err
	}
	def := a.DefaultMapping(mapping.Module(module))
	if len(rows) == 0 {
		return def, nil
	}
	m := mapping.Mapping{Module: mapping.Module(module)}
	for _, r := range rows {
		f := mapping.FieldMap{Desk: r.DeskField, CRM: r.CRMField, Direction: mapping.Direction(r.Direction), Policy: mapping.Policy(r.Policy)}
		if d, ok := def.Field(f.Key()); ok {
			f.Type = d.Type
		}
		m.Fields = append(m.Fields, f)
	}
	return m, nil
}

func modeOf(mode string) mapping.Mode {
	if mode == ModeOneWayToDesk {
		return mapping.OneWay
	}
	return mapping.TwoWay
}

// Preflight checks the integration's mapping of both modules against both sides' field
// metadata and returns every problem, before any record moves. It registers an integration
// it does not know (in.Mode, in.LookbackDays), but never changes a stored one: the sync
// workflow holds the mode and records it (RecordMode).
func (a *Activities) Preflight(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	integ, err := a.Store.Integration(ctx, in.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		lookback := 365 * 24 * time.Hour
		if in.LookbackDays > 0 {
			lookback = time.Duration(in.LookbackDays) * 24 * time.Hour
		}
		integ, err = a.Store.EnsureIntegration(ctx, in.IntegrationID, orDefault(in.Mode, ModeTwoWay), lookback)
	}
	if err != nil {
		return PreflightResult{}, err
	}
	mode := integ.Mode
	if in.Mode != "" {
		mode = in.Mode
	}
	var res PreflightResult
	for _, module := range []string{Accounts, Contacts} {
		_, problems, err := a.resolve(ctx, in.IntegrationID, module, mode)
		if err != nil {
			return res, err
		}
		for _, p := range problems {
			res.Problems = append(res.Problems, PreflightProblem{Code: string(p.Code), Module: module, Desk: p.Desk, CRM: p.CRM, Message: p.Message})
		}
	}
	return res, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
