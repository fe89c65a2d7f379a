// Package mapping describes which Zoho Desk field is synchronised with which
// Zoho CRM field, checks such a mapping against both sides' field metadata
// before any record moves, and converts record values between each side's
// wire form and one side-independent canonical form.
//
// The package is pure: it does no I/O. Activities read records and field
// metadata through the Zoho clients and hand them to the functions here.
//
// # Mapping file
//
// A Mapping is edited by the admin as JSON and imported by the starter CLI:
//
//	{"module": "contacts",
//	 "fields": [
//	   {"desk": "firstName", "crm": "First_Name", "type": "text"},
//	   {"desk": "cf_seats", "crm": "Seats", "type": "integer",
//	    "direction": "both", "policy": "newest"}]}
//
// direction is one of both (default), crm-to-desk, desk-to-crm; policy is one
// of newest (default), crm-wins, desk-wins. type is optional in the file:
// [Resolve] fills it in from field metadata. The fields that hold the
// counterpart's id ([CRMDeskIDField], [DeskCRMIDField]) are written by the
// sync itself and cannot be mapped.
//
// # Types and compatibility
//
// Both sides' field types are reduced to the canonical [Type]s by [CRMType]
// and [DeskType]. A value may flow from a field of type S into a field of
// type T when [Compatible](S, T) holds:
//
//	target                         accepted sources
//	text, textarea, email,         any text-like type, picklist,
//	phone, url                     multipicklist (joined with "; "), integer,
//	                               decimal, currency, percent, boolean,
//	                               date, datetime
//	picklist                       picklist; text-like only when the target
//	                               picklist has no fixed values (checked by
//	                               Preflight from metadata)
//	multipicklist                  multipicklist, picklist
//	integer                        integer
//	decimal, currency, percent     integer, decimal, currency, percent
//	boolean                        boolean
//	date                           date
//	datetime                       datetime
//	lookup                         lookup (account references only)
//
// Autonumber and formula fields are readable sources (as text) but never
// targets. User/owner lookups, subforms, files and other exotic types are
// refused with UNSUPPORTED_TYPE. Picklist to picklist additionally requires
// every known source value to be a value of the target picklist.
//
// # Canonical values
//
// [Values] maps FieldMap.Key() to a canonical value, so that a Desk record
// and a CRM record can be compared and hashed directly:
//
//	text-like, picklist   trimmed string; "" and whitespace-only become nil
//	multipicklist         []string, trimmed, de-duplicated, sorted
//	integer               canonical decimal string ("42", "-7")
//	decimal kinds         canonical decimal string, no exponent, no
//	                      trailing zeros ("1.5", "1000", "-0.25")
//	boolean               bool
//	date                  "2006-01-02"
//	datetime              UTC RFC 3339 at second precision
//	                      ("2006-01-02T15:04:05Z"; CRM keeps seconds only)
//	lookup (account)      the CRM account id, as a string
//
// A key absent from a Values map means "not known" (for example a field that
// was not read, or a reference that could not be translated); a key present
// with a nil value means "empty".
package mapping
