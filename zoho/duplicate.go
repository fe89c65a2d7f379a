package zoho

import "errors"

// Duplicate describes a write refused because a unique field already holds
// the value: CRM's per-record DUPLICATE_DATA (zoho-api.md A5; record.json
// API_Exception details api_name, id, duplicate_record, more_records) or
// Desk's 422 INVALID_DATA with errorType "duplicate" (DeskAPIDocument
// "Errors").
type Duplicate struct {
	// Field is the unique field: a CRM API name ("Email", "Account_Name") or
	// a Desk field name ("accountName", "cf_crm_id" for a custom field).
	Field string
	// ExistingID is the id of a record that already holds the value; empty
	// when the API does not say (Desk never does: search the value instead).
	ExistingID string
	// ExistingModule is the module of that record (CRM only).
	ExistingModule string
	// MoreRecords is CRM's more_records: other records hold the value too.
	MoreRecords bool
}

// DuplicateReporter is implemented by the API error types (crm.Error,
// desk.Error) so that DuplicateOf can read them without importing them.
type DuplicateReporter interface {
	error
	// Duplicate returns the duplicate details, ok false when the error is
	// not a duplicate-value refusal.
	Duplicate() (d Duplicate, ok bool)
}

// DuplicateOf reports whether err — any error from the CRM or Desk client,
// wrapped or not, including a crm.Result's Err — is a write refused because a
// unique field already holds the value, and names the field and, when the API
// says, the record that holds it. The sync uses it to link a create that
// collides with an existing record instead of logging a failure.
func DuplicateOf(err error) (field, existingID string, ok bool) {
	d, ok := DuplicateDetails(err)
	return d.Field, d.ExistingID, ok
}

// DuplicateDetails is DuplicateOf with everything the API said.
func DuplicateDetails(err error) (Duplicate, bool) {
	var r DuplicateReporter
	if err == nil || !errors.As(err, &r) {
		return Duplicate{}, false
	}
	return r.Duplicate()
}
