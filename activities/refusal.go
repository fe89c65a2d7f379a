package activities

import (
	"errors"
	"fmt"
	"strings"

	"deskcrm/mapping"
	"deskcrm/store"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// The failure log speaks the seed's words: a record Zoho refused gets the seed's code where
// one fits (MANDATORY_FIELD_MISSING, TYPE_MISMATCH, MISSING_PARAMETER, INVALID_PARAMETER,
// VALUE_TOO_LONG where the API says so) and a message that names the module, the records,
// the field (API name and label) and what to change — never the value, which is customer data.

// refusal turns Zoho's refusal of a write of a record to side to into a failure-log entry.
func (w *writer) refusal(to mapping.Side, deskID, crmID string, err error) store.Failure {
	f := store.Failure{Module: w.module, Direction: directionTo(to), DeskID: deskID, CRMID: crmID,
		Code: zoho.FailureCode(err)}
	from := to.Other()
	what := fmt.Sprintf("%s refused the %s", to.Label(), singular(w.module))
	field, kind, detail := refusedField(err)
	name, source := field, ""
	if f, ok := fieldNamed(w.m, to, field); ok {
		name = f.FieldName(to)
		if (to == mapping.Desk && f.ToDesk()) || (to == mapping.CRM && f.ToCRM()) {
			source = f.FieldName(from)
		}
	}
	retry := fmt.Sprintf("correct it in %s: the record syncs again once it changes (or use Retry)", from.Label())
	if d, ok := zoho.DuplicateDetails(err); ok {
		// An update that makes a unique field collide (a rename to an account name another
		// account holds); a create's collision links or is logged by duplicateFailure.
		f.Code = "DUPLICATE_DATA"
		holder := "another " + to.Label() + " " + singular(w.module)
		switch {
		case d.MoreRecords:
			holder = "several " + to.Label() + " " + w.module
		case d.ExistingID != "":
			holder = fmt.Sprintf("%s %s %s", to.Label(), singular(w.module), d.ExistingID)
		}
		via := ""
		if source != "" {
			via = fmt.Sprintf(" that %s %s brings", from.Label(), source)
		}
		f.Message = fmt.Sprintf("%s: %s %s must be unique and %s already holds the value%s; change it in %s, or merge the two records: the record syncs again once it changes (or use Retry)",
			what, to.Label(), name, holder, via, from.Label())
		return f
	}
	switch kind {
	case "mandatory":
		f.Code = "MANDATORY_FIELD_MISSING"
		if source != "" {
			// Mapped: the source's value is empty, or only spaces, which Zoho counts as none.
			f.Message = fmt.Sprintf("Mandatory field missing: %s, as %s %s is required and %s %s, which flows into it, is empty or only spaces; fill it in: the record syncs again once it changes (or use Retry)",
				what, to.Label(), name, from.Label(), source)
		} else {
			f.Message = fmt.Sprintf("Mandatory field missing: %s, as %s %s is required and the record has no value for it; map a %s field into it or %s",
				what, to.Label(), name, from.Label(), retry)
		}
	case "too-long":
		f.Code = string(mapping.CodeValueTooLong)
		f.Message = fmt.Sprintf("%s: %s %s holds at most %s characters; %s", what, to.Label(), name, detail, retry)
	case "type":
		f.Code = string(mapping.CodeTypeMismatch)
		f.Message = fmt.Sprintf("%s: %s value expected for %s %s; %s, or map another field", what, detail, to.Label(), name, retry)
	case "missing-parameter":
		f.Code = "MISSING_PARAMETER"
		f.Message = fmt.Sprintf("Missing parameter: %s (%s %s); this is a fault of the sync's request, report it", what, to.Label(), name)
	case "invalid":
		f.Code = "INVALID_PARAMETER"
		f.Message = fmt.Sprintf("Incorrect API parameter or parameter value: %s because of %s %s; %s", what, to.Label(), name, retry)
	default:
		f.Message = fmt.Sprintf("%s: %s", what, err.Error())
	}
	return f
}

// refusedField reads the field a refusal is about, what kind of refusal it is, and a detail
// (the length limit, the expected type).
func refusedField(err error) (field, kind, detail string) {
	var ce *crm.Error
	if errors.As(err, &ce) {
		switch {
		case ce.Code == "MANDATORY_NOT_FOUND":
			return ce.APIName, "mandatory", ""
		case ce.Code == "REQUIRED_PARAM_MISSING":
			return ce.APIName, "missing-parameter", ""
		case ce.Code == "INVALID_DATA":
			if n, ok := ce.MaxLength(); ok {
				return ce.APIName, "too-long", fmt.Sprint(n)
			}
			if ce.ExpectedType != "" {
				return ce.APIName, "type", ce.ExpectedType
			}
			if ce.APIName != "" {
				return ce.APIName, "invalid", ""
			}
		}
		return ce.APIName, "", ""
	}
	var de *desk.Error
	if errors.As(err, &de) && len(de.Errors) > 0 {
		fe := de.Errors[0]
		field = strings.TrimPrefix(strings.TrimPrefix(fe.FieldName, "/cf/"), "/")
		switch fe.ErrorType {
		case "missing":
			return field, "mandatory", ""
		case "invalid":
			return field, "invalid", ""
		}
		return field, "", ""
	}
	return "", "", ""
}

// singular names one record of a module ("contact", "account").
func singular(module string) string { return strings.TrimSuffix(module, "s") }
