package desk

// duplicateError is Desk's answer to a write that gives a unique field (an
// account's accountName) a value a live record already holds: 422
// INVALID_DATA with errors[{fieldName:"/accountName", errorType:"duplicate",
// errorMessage}] (DeskAPIDocument "Errors": errorType "duplicate - the field
// contains a value that already exists"; desk-oas Common.json errorDetailArr,
// whose items carry fieldName, errorType and errorMessage only). Desk's
// documented error does not name the existing record, so neither does the
// emulator — not even in the message: a client finds the record by searching
// the value (GET /api/v1/accounts/search?accountName=).
func duplicateError(f Field) FieldError {
	return FieldError{FieldName: fieldPointer(f), ErrorType: ErrDuplicate,
		ErrorMessage: "The value given for " + f.APIName + " already exists."}
}
