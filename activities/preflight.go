package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"deskcrm/mapping"
)

// resolvedMapping is a mapping checked against both sides' metadata, cached briefly so that
// every step of a sync does not re-read the metadata (that would cost API calls).
type resolvedMapping struct {
	m        mapping.Mapping
	problems []mapping.Problem
	at       time.Time
}

var mappingCache sync.Map // key → resolvedMapping

const mappingCacheTTL = 5 * time.Minute

// resolve returns the integration's mapping of a module with types filled from metadata,
// and the preflight problems found.
func (a *Activities) resolve(ctx context.Context, integrationID, module, mode string) (mapping.Mapping, []mapping.Problem, error) {
	key := fmt.Sprintf("%p/%s/%s/%s", a, integrationID, module, mode)
	if v, ok := mappingCache.Load(key); ok {
		if r := v.(resolvedMapping); time.Since(r.at) < mappingCacheTTL {
			return r.m, r.problems, nil
		}
	}
	m, err := a.mappingFor(ctx, integrationID, module)
	if err != nil {
		return m, nil, err
	}
	crmFields, err := a.CRM.Fields(ctx, crmModule(module))
	if err != nil {
		return m, nil, apiError("read CRM "+crmModule(module)+" field metadata", err)
	}
	deskFields, err := a.Desk.Fields(ctx, module)
	if err != nil {
		return m, nil, apiError("read Desk "+module+" field metadata", err)
	}
	cm := make([]mapping.FieldMeta, 0, len(crmFields))
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
		cm = append(cm, fm)
	}
	dm := make([]mapping.FieldMeta, 0, len(deskFields))
	for _, f := range deskFields {
		dm = append(dm, mapping.FieldMeta{Name: f.APIName, Label: f.DisplayLabel, Type: mapping.DeskType(f.Type),
			Mandatory: f.IsMandatory, ReadOnly: f.IsReadOnly, Custom: f.IsCustomField, Unique: f.IsUnique,
			Length: f.MaxLength, Picklist: f.AllowedValues})
	}
	resolved, problems := mapping.Resolve(modeOf(mode), m, dm, cm)
	mappingCache.Store(key, resolvedMapping{m: resolved, problems: problems, at: time.Now()})
	return resolved, problems, nil
}

func modeOf(mode string) mapping.Mode {
	if mode == ModeOneWayToDesk {
		return mapping.OneWay
	}
	return mapping.TwoWay
}

// Preflight checks the integration's mapping of both modules against both sides' field
// metadata and returns every problem, before any record moves.
func (a *Activities) Preflight(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	lookback := 365 * 24 * time.Hour
	if in.LookbackDays > 0 {
		lookback = time.Duration(in.LookbackDays) * 24 * time.Hour
	}
	integ, err := a.Store.EnsureIntegration(ctx, in.IntegrationID, orDefault(in.Mode, ModeTwoWay), lookback)
	if err != nil {
		return PreflightResult{}, err
	}
	mode := integ.Mode
	if in.Mode != "" {
		mode = in.Mode
	}
	var res PreflightResult
	for _, module := range []string{Accounts, Contacts} {
		mappingCache.Delete(fmt.Sprintf("%p/%s/%s/%s", a, in.IntegrationID, module, mode))
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
