package desk

import (
	"fmt"
	"net/http"
	"slices"
)

// Fields returns the field metadata of a module (standard and custom), as
// served by GET /api/v1/organizationFields.
func (s *Server) Fields(module string) ([]Field, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ms := s.mods[module]
	if ms == nil {
		return nil, fmt.Errorf("fields: unknown module %q", module)
	}
	return cloneFields(ms.sch.fields), nil
}

func cloneFields(fs []Field) []Field {
	out := slices.Clone(fs)
	for i := range out {
		out[i].AllowedValues = slices.Clone(out[i].AllowedValues)
	}
	return out
}

// AddField adds a custom field (API name cf_...) to a module. Adding a field
// identical to an existing one (same name, type and allowed values) is a
// no-op, so seeding can call it repeatedly; a conflicting definition is an
// error. Fields added here survive Reset.
func (s *Server) AddField(module string, f Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.mods[module]
	if ms == nil {
		return fmt.Errorf("add field: unknown module %q", module)
	}
	if i, ok := ms.sch.byName[f.APIName]; ok {
		old := ms.sch.fields[i]
		if old.Custom && old.Type == f.Type && slices.Equal(old.AllowedValues, f.AllowedValues) {
			return nil
		}
		return fmt.Errorf("add field %s.%s: a different field with this name exists", module, f.APIName)
	}
	if err := validateFieldDef(f); err != nil {
		return fmt.Errorf("add field: %w", err)
	}
	if err := ms.sch.add(f, 0); err != nil {
		return fmt.Errorf("add field: %w", err)
	}
	// Keep ids in the module's range.
	last := &ms.sch.fields[len(ms.sch.fields)-1]
	last.ID = fmt.Sprintf("%d", 1892000000020000+uint64(len(ms.sch.fields))+uint64(indexOf(module))*1000)
	if s.cfg.CustomFields == nil {
		s.cfg.CustomFields = map[string][]Field{}
	}
	s.cfg.CustomFields[module] = append(s.cfg.CustomFields[module], f)
	return nil
}

func indexOf(module string) int {
	if module == ModuleAccounts {
		return 1
	}
	return 0
}

// serveFields serves GET /api/v1/organizationFields?module=contacts|accounts.
func (s *Server) serveFields(w http.ResponseWriter, r *http.Request, rt route) *apiError {
	if rt.sub != "" {
		return errNotFound()
	}
	if r.Method != http.MethodGet {
		return errMethod()
	}
	m := r.URL.Query().Get("module")
	if m == "" {
		return errInvalidData(FieldError{FieldName: "module", ErrorType: ErrMissing, ErrorMessage: "module is required"})
	}
	fs, err := s.Fields(m)
	if err != nil {
		return errParam("module", fmt.Sprintf("module %q is not supported; use contacts or accounts", m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": fs})
	return nil
}
