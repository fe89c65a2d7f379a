// Package reconcile holds the sync's decisions, free of I/O: how records with
// no link are matched across the two sides, how a linked pair is merged
// (3-way, against the last-synced values), and what to do with one change
// seen on one side (echo, update, create, restore, re-create, record a
// deletion, skip).
//
// Values are mapping.Values in canonical form; activities convert records
// with mapping.FromDesk / mapping.FromCRM before calling in here, and write
// the resulting patches with mapping.ToDesk / mapping.ToCRM.
package reconcile

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"deskcrm/mapping"
)

// NormalizeEmail returns the matching key of an email address: trimmed and
// lower-cased. An empty or blank address yields "" (no key: never matched).
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFC.String(s)))
}

// NormalizeAccountName returns the matching key of an account name. It is
// deliberately conservative, so that only spellings of the same name meet:
//
//   - letters are lower-cased (Unicode simple case mapping);
//   - apostrophes and full stops are dropped, so "Inc." = "Inc",
//     "O'Neil" = "ONeil", "A.C.M.E" = "ACME";
//   - every other punctuation or symbol character, and every run of
//     whitespace, becomes a single space; leading and trailing spaces go;
//     so "Acme, Inc." = "ACME Inc" = "acme-inc" and "A&B" = "A & B".
//
// Legal suffixes (Inc, Ltd, GmbH, ...) are kept: "Acme Inc" and "Acme Ltd"
// may be different companies, and guessing would link the wrong records.
// Accents are kept too ("Müller" ≠ "Muller"). A name with no letters or
// digits yields "" (no key: never matched).
func NormalizeAccountName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFC.String(s) {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '.' || r == '`':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default: // spaces, punctuation, symbols, controls
			space = true
		}
	}
	return b.String()
}

// MatchKey returns the matching key of a record's canonical values: the
// normalised email of a contact, the normalised name of an account, taken
// from the mapping.MatchField pair. "" means the record has no key and is
// never matched.
func MatchKey(module mapping.Module, v mapping.Values) string {
	s, _ := v[mapping.MatchField(module).Key()].(string)
	return normalizeKey(module, s)
}

// DeskMatchKey returns the matching key of a raw Desk record (standard
// fields as read from the API), for indexing before any conversion.
func DeskMatchKey(module mapping.Module, fields map[string]any) string {
	s, _ := fields[mapping.MatchField(module).Desk].(string)
	return normalizeKey(module, s)
}

// CRMMatchKey returns the matching key of a raw CRM record.
func CRMMatchKey(module mapping.Module, record map[string]any) string {
	s, _ := record[mapping.MatchField(module).CRM].(string)
	return normalizeKey(module, s)
}

func normalizeKey(module mapping.Module, s string) string {
	if module == mapping.Accounts {
		return NormalizeAccountName(s)
	}
	return NormalizeEmail(s)
}
