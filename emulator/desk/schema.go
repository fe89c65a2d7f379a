package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Modules served by the emulator.
const (
	ModuleContacts = "contacts"
	ModuleAccounts = "accounts"
)

// FieldType is a Desk organizationFields type name.
type FieldType string

// Field types, spelled as Desk's organizationFields API spells them.
const (
	TypeText     FieldType = "Text"
	TypeTextarea FieldType = "Textarea"
	TypeEmail    FieldType = "Email"
	TypePhone    FieldType = "Phone"
	TypeURL      FieldType = "URL"
	TypeNumber   FieldType = "Number" // integer
	TypeDecimal  FieldType = "Decimal"
	TypeCurrency FieldType = "Currency"
	TypePercent  FieldType = "Percent"
	TypeBoolean  FieldType = "Boolean"
	TypeDate     FieldType = "Date"
	TypeDateTime FieldType = "DateTime"
	TypePicklist FieldType = "Picklist"
	TypeLookUp   FieldType = "LookUp"
)

// Field describes one field of a module, in the shape of an element of
// GET /api/v1/organizationFields. Custom fields have API names starting with
// "cf_" and travel inside the record's "cf" object.
type Field struct {
	ID            string    `json:"id"`
	APIName       string    `json:"apiName"`
	DisplayLabel  string    `json:"displayLabel"`
	Type          FieldType `json:"type"`
	MaxLength     int       `json:"maxLength,omitempty"`
	Mandatory     bool      `json:"isMandatory"`
	Custom        bool      `json:"isCustomField"`
	ReadOnly      bool      `json:"isReadOnly"`
	Unique        bool      `json:"isUnique,omitempty"`
	AllowedValues []string  `json:"allowedValues,omitempty"`
	// Decimals is the number of decimal places kept for Decimal, Currency
	// and Percent fields (0 = as given).
	Decimals int `json:"decimalPlaces,omitempty"`
}

// CustomerTiers are the values of the demo picklist cf_customer_tier.
var CustomerTiers = []string{"Bronze", "Silver", "Gold", "Platinum"}

// DefaultCustomFields returns the custom fields every emulator instance has
// unless Config.NoDefaultCustomFields is set: cf_crm_id (text, both
// modules; the sync stores the CRM counterpart id there) and the demo
// fields on contacts (cf_customer_tier picklist, cf_seats integer,
// cf_renewal_date date, cf_vip boolean).
func DefaultCustomFields(module string) []Field {
	crmID := Field{APIName: "cf_crm_id", DisplayLabel: "CRM ID", Type: TypeText, MaxLength: 30, Custom: true}
	switch module {
	case ModuleContacts:
		return []Field{crmID,
			{APIName: "cf_customer_tier", DisplayLabel: "Customer Tier", Type: TypePicklist, Custom: true, AllowedValues: CustomerTiers},
			{APIName: "cf_seats", DisplayLabel: "Seats", Type: TypeNumber, MaxLength: 9, Custom: true},
			{APIName: "cf_renewal_date", DisplayLabel: "Renewal Date", Type: TypeDate, Custom: true},
			{APIName: "cf_vip", DisplayLabel: "VIP", Type: TypeBoolean, Custom: true},
		}
	case ModuleAccounts:
		return []Field{crmID}
	}
	return nil
}

func standardFields(module string) []Field {
	t := func(name, label string, typ FieldType, max int) Field {
		return Field{APIName: name, DisplayLabel: label, Type: typ, MaxLength: max}
	}
	ro := func(name, label string, typ FieldType) Field {
		return Field{APIName: name, DisplayLabel: label, Type: typ, ReadOnly: true}
	}
	switch module {
	case ModuleContacts:
		last := t("lastName", "Last Name", TypeText, 200)
		last.Mandatory = true
		return []Field{
			t("firstName", "First Name", TypeText, 40),
			last,
			t("email", "Email", TypeEmail, 255),
			t("secondaryEmail", "Secondary Email", TypeEmail, 100),
			t("phone", "Phone", TypePhone, 50),
			t("mobile", "Mobile", TypePhone, 50),
			t("accountId", "Account Name", TypeLookUp, 0),
			t("ownerId", "Contact Owner", TypeLookUp, 0),
			t("type", "Type", TypeText, 120),
			t("title", "Title", TypeText, 100),
			t("street", "Street", TypeTextarea, 250),
			t("city", "City", TypeText, 100),
			t("state", "State", TypeText, 100),
			t("country", "Country", TypeText, 100),
			t("zip", "Zip", TypeText, 50),
			t("description", "Description", TypeTextarea, 65535),
			t("twitter", "Twitter", TypeText, 100),
			t("facebook", "Facebook", TypeText, 100),
			ro("createdTime", "Created Time", TypeDateTime),
			ro("modifiedTime", "Modified Time", TypeDateTime),
		}
	case ModuleAccounts:
		name := t("accountName", "Account Name", TypeText, 200)
		name.Mandatory = true
		name.Unique = true
		return []Field{
			name,
			t("email", "Email", TypeEmail, 150),
			t("website", "Website", TypeURL, 120),
			t("phone", "Phone", TypePhone, 100),
			t("fax", "Fax", TypePhone, 100),
			t("industry", "Industry", TypeText, 120),
			t("street", "Street", TypeTextarea, 250),
			t("city", "City", TypeText, 100),
			t("state", "State", TypeText, 100),
			t("country", "Country", TypeText, 100),
			t("code", "Code", TypeText, 100),
			t("description", "Description", TypeTextarea, 65535),
			{APIName: "annualrevenue", DisplayLabel: "Annual Revenue", Type: TypeCurrency, MaxLength: 16, Decimals: 2},
			t("ownerId", "Account Owner", TypeLookUp, 0),
			ro("createdTime", "Created Time", TypeDateTime),
			ro("modifiedTime", "Modified Time", TypeDateTime),
		}
	}
	return nil
}

// schema is the field set of one module. Field indexes are stable for the
// life of the server (fields are only ever appended).
type schema struct {
	module string
	fields []Field
	byName map[string]int
}

func newSchema(module string, custom []Field, idBase uint64) (*schema, error) {
	s := &schema{module: module, byName: map[string]int{}}
	for _, f := range standardFields(module) {
		if err := s.add(f, idBase); err != nil {
			return nil, err
		}
	}
	for _, f := range custom {
		if err := s.add(f, idBase); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validateFieldDef checks a custom field definition.
func validateFieldDef(f Field) error {
	if !strings.HasPrefix(f.APIName, "cf_") || len(f.APIName) < 4 {
		return fmt.Errorf("custom field %q: api name must start with cf_", f.APIName)
	}
	switch f.Type {
	case TypeText, TypeTextarea, TypeEmail, TypePhone, TypeURL, TypeNumber, TypeDecimal,
		TypeCurrency, TypePercent, TypeBoolean, TypeDate, TypeDateTime:
	case TypePicklist, TypeMultiselect:
		if len(f.AllowedValues) == 0 {
			return fmt.Errorf("custom field %q: picklist needs allowed values", f.APIName)
		}
	default:
		return fmt.Errorf("custom field %q: unsupported type %q", f.APIName, f.Type)
	}
	return nil
}

func (s *schema) add(f Field, idBase uint64) error {
	if _, dup := s.byName[f.APIName]; dup {
		return fmt.Errorf("field %q already exists in %s", f.APIName, s.module)
	}
	if strings.HasPrefix(f.APIName, "cf_") {
		f.Custom = true
		if err := validateFieldDef(f); err != nil {
			return err
		}
	}
	if f.DisplayLabel == "" {
		f.DisplayLabel = f.APIName
	}
	if f.MaxLength == 0 {
		f.MaxLength = defaultMaxLength(f.Type)
	}
	if len(s.fields) >= math.MaxUint16 {
		return fmt.Errorf("too many fields in %s", s.module)
	}
	f.ID = strconv.FormatUint(idBase+uint64(len(s.fields))+1, 10)
	s.byName[f.APIName] = len(s.fields)
	s.fields = append(s.fields, f)
	return nil
}

func defaultMaxLength(t FieldType) int {
	switch t {
	case TypeText, TypePicklist, TypePhone:
		return 255
	case TypeTextarea:
		return 65535
	case TypeEmail, TypeURL:
		return 255
	case TypeNumber:
		return 9
	case TypeDecimal, TypeCurrency, TypePercent:
		return 16
	}
	return 0
}

// value is the canonical stored form of one field value: the text of a
// string, or the JSON text of a number when num is set. Absent means null.
type value struct {
	s   string
	num bool
}

var (
	emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// convert validates raw (a JSON value, not null) for field f and returns its
// canonical stored value, or a FieldError (fieldName filled by the caller).
// Custom-field values are kept as strings, the way Desk returns them in
// "cf"; the standard currency field annualrevenue is kept as a number.
func convert(f *Field, raw json.RawMessage) (value, *FieldError) {
	bad := func(format string, a ...any) (value, *FieldError) {
		return value{}, &FieldError{ErrorType: ErrInvalid, ErrorMessage: fmt.Sprintf(format, a...)}
	}
	raw = bytes.TrimSpace(raw)
	var str string
	isStr := len(raw) > 0 && raw[0] == '"'
	if isStr {
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && simpleJSONString(raw[1:len(raw)-1]) {
			str = string(raw[1 : len(raw)-1])
		} else {
			var u string // apart from str, which would otherwise move to the heap on every call
			if err := json.Unmarshal(raw, &u); err != nil {
				return bad("malformed string")
			}
			str = u
		}
	}
	switch f.Type {
	case TypeText, TypeTextarea, TypePhone, TypeURL, TypeEmail, TypePicklist:
		if !isStr {
			return bad("%s field %s expects a string value", f.Type, f.APIName)
		}
		if n := utf8.RuneCountInString(str); f.MaxLength > 0 && n > f.MaxLength {
			return bad("value of %s exceeds the maximum length of %d", f.APIName, f.MaxLength)
		}
		if f.Type == TypeEmail && str != "" && !emailRE.MatchString(strings.TrimSpace(str)) {
			return bad("%s is not a valid email address", f.APIName)
		}
		if f.Type == TypePicklist && str != "" && !contains(f.AllowedValues, str) {
			return bad("%q is not an allowed value of %s (allowed: %s)", str, f.APIName, strings.Join(f.AllowedValues, ", "))
		}
		return value{s: str}, nil
	case TypeMultiselect:
		return convertMultiselect(f, isStr, str)
	case TypeLookUp:
		if !isStr {
			if _, err := strconv.ParseUint(string(raw), 10, 64); err != nil {
				return bad("%s expects an id", f.APIName)
			}
			str = string(raw)
		}
		if _, err := strconv.ParseUint(str, 10, 64); err != nil {
			return bad("%s expects a numeric id, got %q", f.APIName, str)
		}
		return value{s: str}, nil
	case TypeNumber:
		txt := str
		if !isStr {
			txt = string(raw)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(txt), 10, 64)
		if err != nil {
			return bad("%s expects an integer value", f.APIName)
		}
		if f.MaxLength > 0 && len(strconv.FormatInt(abs(n), 10)) > f.MaxLength {
			return bad("value of %s exceeds %d digits", f.APIName, f.MaxLength)
		}
		return value{s: strconv.FormatInt(n, 10), num: !f.Custom}, nil
	case TypeDecimal, TypeCurrency, TypePercent:
		txt := str
		if !isStr {
			txt = string(raw)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(txt), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad("%s expects a decimal value", f.APIName)
		}
		out := strconv.FormatFloat(x, 'f', -1, 64)
		if f.Decimals > 0 {
			out = roundDecimal(strings.TrimSpace(txt), f.Decimals)
		}
		if f.MaxLength > 0 && len(out) > f.MaxLength+1 {
			return bad("value of %s exceeds %d digits", f.APIName, f.MaxLength)
		}
		return value{s: out, num: !f.Custom}, nil
	case TypeBoolean:
		switch {
		case string(raw) == "true" || (isStr && str == "true"):
			return value{s: "true", num: !f.Custom}, nil
		case string(raw) == "false" || (isStr && str == "false"):
			return value{s: "false", num: !f.Custom}, nil
		}
		return bad("%s expects a boolean value", f.APIName)
	case TypeDate:
		if !isStr || !dateRE.MatchString(str) {
			return bad("%s expects a date in yyyy-MM-dd format", f.APIName)
		}
		if _, err := time.Parse(time.DateOnly, str); err != nil {
			return bad("%s expects a valid date", f.APIName)
		}
		return value{s: str}, nil
	case TypeDateTime:
		if !isStr {
			return bad("%s expects a date-time string", f.APIName)
		}
		t, err := parseDeskTime(str)
		if err != nil {
			return bad("%s expects a date-time in yyyy-MM-ddTHH:mm:ss.SSSZ format", f.APIName)
		}
		return value{s: formatTime(t.UnixMilli())}, nil
	}
	return bad("field %s cannot be written", f.APIName)
}

// simpleJSONString reports whether the body of a JSON string literal has
// no escapes or control characters, so its bytes are the string.
func simpleJSONString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// timeLayout is Desk's timestamp format (UTC, milliseconds).
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(timeLayout)
}

// parseDeskTime accepts Desk's yyyy-MM-ddTHH:mm:ss.SSSZ and, leniently, any
// RFC 3339 timestamp.
func parseDeskTime(s string) (time.Time, error) {
	if t, err := time.Parse(timeLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}
