package crm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Field describes one field of a module, as GET /crm/v8/settings/fields
// reports it and as the emulator validates writes against it.
type Field struct {
	// APIName is the field's API name, e.g. "Last_Name".
	APIName string
	// Label is the display label (defaults to APIName with spaces).
	Label string
	// DataType is Zoho's data_type: text, textarea, email, phone, website,
	// picklist, multiselectpicklist, integer, bigint, double, currency,
	// decimal, percent, boolean, date, datetime, lookup, ownerlookup.
	DataType string
	// Length is the maximum length for text-like fields (0 = type default).
	Length int
	// Custom marks custom fields (custom_field: true).
	Custom bool
	// Mandatory is system_mandatory: required on create.
	Mandatory bool
	// ReadOnly fields are ignored on write.
	ReadOnly bool
	// Unique makes the value unique across the module's records
	// (case-insensitive); violations answer DUPLICATE_DATA.
	Unique bool
	// LookupModule is the module a lookup points to ("" = any module,
	// given by $se_module or Parent_Id.module).
	LookupModule string
	// PickList lists the picklist values.
	PickList []string
	// DecimalPlace is the number of decimals for double/currency fields.
	DecimalPlace int
}

var apiNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// jsonType maps a data type to Zoho's json_type.
func jsonType(dataType string) string {
	switch dataType {
	case "integer", "bigint":
		return "integer"
	case "double", "currency", "decimal", "percent":
		return "double"
	case "boolean":
		return "boolean"
	case "lookup", "ownerlookup", "userlookup":
		return "jsonobject"
	case "multiselectpicklist":
		return "jsonarray"
	}
	return "string"
}

// defaultLength is the length Zoho's field metadata reports when a field
// definition gives none. Every field has a positive length in real metadata
// (Zoho's "Fields Metadata" API example: ownerlookup, lookup, datetime and
// picklist 120, boolean 5, integer 9, bigint 18, currency 16, multi-select
// picklist 1000). Zoho's official Node SDK (JSONConverter.getResponse) reads
// a field object whose "length" is 0 as null, so a zero length breaks it.
func defaultLength(dataType string) int {
	switch dataType {
	case "text", "website":
		return 255
	case "picklist", "lookup", "ownerlookup", "userlookup", "datetime":
		return 120
	case "multiselectpicklist":
		return 1000
	case "email":
		return 100
	case "phone":
		return 30
	case "textarea":
		return 32000
	case "integer":
		return 9
	case "bigint":
		return 18
	case "double", "currency", "decimal":
		return 16
	case "percent", "boolean":
		return 5
	case "date":
		return 20
	}
	return 1
}

var knownTypes = map[string]bool{
	"text": true, "textarea": true, "email": true, "phone": true, "website": true, "picklist": true,
	"multiselectpicklist": true, "integer": true, "bigint": true, "double": true, "currency": true,
	"decimal": true, "percent": true, "boolean": true, "date": true, "datetime": true, "lookup": true,
	"ownerlookup": true,
}

// normalize checks a field definition and fills defaults.
func (f Field) normalize() (Field, error) {
	if !apiNameRE.MatchString(f.APIName) || len(f.APIName) > 50 {
		return f, fmt.Errorf("field api name %q: want ^[A-Za-z][A-Za-z0-9_]*$, at most 50 chars", f.APIName)
	}
	if !knownTypes[f.DataType] {
		return f, fmt.Errorf("field %s: unsupported data type %q", f.APIName, f.DataType)
	}
	if f.Label == "" {
		f.Label = strings.ReplaceAll(f.APIName, "_", " ")
	}
	if f.Length <= 0 {
		f.Length = defaultLength(f.DataType)
	}
	if (f.DataType == "double" || f.DataType == "currency" || f.DataType == "decimal") && f.DecimalPlace == 0 {
		f.DecimalPlace = 2
	}
	return f, nil
}

// fieldSet is the ordered field list of one module.
type fieldSet struct {
	list   []*Field
	byName map[string]int
	ids    []string // metadata ids, parallel to list
}

func newFieldSet() *fieldSet { return &fieldSet{byName: map[string]int{}} }

func (fs *fieldSet) add(f Field, id string) (int, error) {
	f, err := f.normalize()
	if err != nil {
		return 0, err
	}
	if _, dup := fs.byName[f.APIName]; dup {
		return 0, fmt.Errorf("field %s already exists", f.APIName)
	}
	if len(fs.list) >= 1<<15 {
		return 0, fmt.Errorf("too many fields")
	}
	fs.byName[f.APIName] = len(fs.list)
	fs.list = append(fs.list, &f)
	fs.ids = append(fs.ids, id)
	return len(fs.list) - 1, nil
}

func (fs *fieldSet) get(name string) (int, *Field, bool) {
	i, ok := fs.byName[name]
	if !ok {
		return 0, nil, false
	}
	return i, fs.list[i], true
}

// System fields every module has, managed by the emulator.
var systemFields = []Field{
	{APIName: "Owner", DataType: "ownerlookup", Label: "Owner"},
	{APIName: "Created_By", DataType: "ownerlookup", ReadOnly: true},
	{APIName: "Modified_By", DataType: "ownerlookup", ReadOnly: true},
	{APIName: "Created_Time", DataType: "datetime", ReadOnly: true},
	{APIName: "Modified_Time", DataType: "datetime", ReadOnly: true},
	{APIName: "Last_Activity_Time", DataType: "datetime", ReadOnly: true},
}

// isSystemManaged reports fields whose values the emulator computes; they
// are not stored in a record's value slots.
func isSystemManaged(name string) bool {
	switch name {
	case "Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time", "id":
		return true
	}
	return false
}

func text(name string, length int) Field {
	return Field{APIName: name, DataType: "text", Length: length}
}
func pick(name string, values ...string) Field {
	return Field{APIName: name, DataType: "picklist", PickList: append([]string{"-None-"}, values...)}
}

// standardFields are the standard fields of each module, after the
// system fields.
var standardFields = map[string][]Field{
	"Contacts": {
		pick("Salutation", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."),
		text("First_Name", 40),
		{APIName: "Last_Name", DataType: "text", Length: 80, Mandatory: true},
		{APIName: "Full_Name", DataType: "text", Length: 121, ReadOnly: true},
		{APIName: "Email", DataType: "email", Length: 100},
		{APIName: "Secondary_Email", DataType: "email", Length: 100},
		{APIName: "Phone", DataType: "phone", Length: 30},
		{APIName: "Mobile", DataType: "phone", Length: 30},
		{APIName: "Home_Phone", DataType: "phone", Length: 30},
		{APIName: "Other_Phone", DataType: "phone", Length: 30},
		{APIName: "Fax", DataType: "phone", Length: 30},
		text("Title", 100),
		text("Department", 100),
		{APIName: "Account_Name", DataType: "lookup", LookupModule: "Accounts"},
		{APIName: "Reporting_To", DataType: "lookup", LookupModule: "Contacts"},
		pick("Lead_Source", "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat"),
		{APIName: "Date_of_Birth", DataType: "date"},
		{APIName: "Email_Opt_Out", DataType: "boolean"},
		text("Skype_ID", 50),
		text("Twitter", 50),
		text("Mailing_Street", 250), text("Mailing_City", 100), text("Mailing_State", 100),
		text("Mailing_Zip", 30), text("Mailing_Country", 100),
		text("Other_Street", 250), text("Other_City", 100), text("Other_State", 100),
		text("Other_Zip", 30), text("Other_Country", 100),
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
	"Accounts": {
		{APIName: "Account_Name", DataType: "text", Length: 200, Mandatory: true, Unique: true},
		text("Account_Number", 40),
		text("Account_Site", 80),
		pick("Account_Type", "Customer", "Partner", "Prospect", "Reseller", "Vendor", "Other"),
		{APIName: "Parent_Account", DataType: "lookup", LookupModule: "Accounts"},
		{APIName: "Phone", DataType: "phone", Length: 30},
		{APIName: "Fax", DataType: "phone", Length: 30},
		{APIName: "Website", DataType: "website", Length: 255},
		pick("Industry", "ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)", "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry"),
		{APIName: "Employees", DataType: "integer"},
		{APIName: "Annual_Revenue", DataType: "currency"},
		pick("Ownership", "Other", "Private", "Public", "Subsidiary", "Partnership", "Government", "Privately Held", "Public Company"),
		pick("Rating", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"),
		{APIName: "SIC_Code", DataType: "integer"},
		text("Ticker_Symbol", 30),
		text("Billing_Street", 250), text("Billing_City", 100), text("Billing_State", 100),
		text("Billing_Code", 30), text("Billing_Country", 100),
		text("Shipping_Street", 250), text("Shipping_City", 100), text("Shipping_State", 100),
		text("Shipping_Code", 30), text("Shipping_Country", 100),
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
	"Deals": {
		{APIName: "Deal_Name", DataType: "text", Length: 120, Mandatory: true},
		{APIName: "Stage", DataType: "picklist", Mandatory: true, PickList: []string{"Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Closed-Lost to Competition"}},
		{APIName: "Amount", DataType: "currency"},
		{APIName: "Closing_Date", DataType: "date"},
		{APIName: "Probability", DataType: "integer", Length: 3},
		{APIName: "Account_Name", DataType: "lookup", LookupModule: "Accounts"},
		{APIName: "Contact_Name", DataType: "lookup", LookupModule: "Contacts"},
		pick("Type", "Existing Business", "New Business"),
		pick("Lead_Source", "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Partner", "Trade Show", "Web Download", "Web Research", "Chat"),
		text("Next_Step", 100),
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
	"Notes": {
		text("Note_Title", 120),
		{APIName: "Note_Content", DataType: "textarea", Length: 32000, Mandatory: true},
		{APIName: "Parent_Id", DataType: "lookup", Mandatory: true},
	},
	"Tasks": {
		{APIName: "Subject", DataType: "text", Length: 255, Mandatory: true},
		{APIName: "Due_Date", DataType: "date"},
		pick("Status", "Not Started", "Deferred", "In Progress", "Completed", "Waiting for input"),
		pick("Priority", "High", "Highest", "Low", "Lowest", "Normal"),
		{APIName: "Who_Id", DataType: "lookup", LookupModule: "Contacts"},
		{APIName: "What_Id", DataType: "lookup"},
		{APIName: "Closed_Time", DataType: "datetime", ReadOnly: true},
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
	"Events": {
		{APIName: "Event_Title", DataType: "text", Length: 255, Mandatory: true},
		{APIName: "Start_DateTime", DataType: "datetime", Mandatory: true},
		{APIName: "End_DateTime", DataType: "datetime", Mandatory: true},
		{APIName: "All_day", DataType: "boolean"},
		text("Venue", 255),
		{APIName: "Who_Id", DataType: "lookup", LookupModule: "Contacts"},
		{APIName: "What_Id", DataType: "lookup"},
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
	"Calls": {
		{APIName: "Subject", DataType: "text", Length: 255, Mandatory: true},
		{APIName: "Call_Type", DataType: "picklist", Mandatory: true, PickList: []string{"Outbound", "Inbound", "Missed"}},
		{APIName: "Call_Start_Time", DataType: "datetime", Mandatory: true},
		text("Call_Duration", 10),
		{APIName: "Call_Duration_in_seconds", DataType: "integer", ReadOnly: true},
		pick("Call_Purpose", "Prospecting", "Administrative", "Negotiation", "Demo", "Project", "Desk"),
		text("Call_Result", 255),
		{APIName: "Who_Id", DataType: "lookup", LookupModule: "Contacts"},
		{APIName: "What_Id", DataType: "lookup"},
		{APIName: "Description", DataType: "textarea", Length: 32000},
	},
}

// DefaultCustomFields are the custom fields the emulator creates unless
// Config.NoDefaultCustomFields is set: Desk_ID on Contacts and Accounts
// (where the sync stores the counterpart's Desk id) and the demo fields the
// seed data uses, covering every custom field type.
var DefaultCustomFields = map[string][]Field{
	"Contacts": {
		{APIName: "Desk_ID", DataType: "text", Length: 30, Custom: true, Label: "Desk ID"},
		{APIName: "Customer_Tier", DataType: "picklist", Custom: true, PickList: []string{"-None-", "Bronze", "Silver", "Gold", "Platinum"}},
		{APIName: "Seats", DataType: "integer", Custom: true},
		{APIName: "Renewal_Date", DataType: "date", Custom: true},
		{APIName: "VIP", DataType: "boolean", Custom: true},
		{APIName: "Lifetime_Value", DataType: "currency", Custom: true},
		{APIName: "Health_Score", DataType: "double", Custom: true},
		{APIName: "Last_Login", DataType: "datetime", Custom: true},
		{APIName: "Billing_Email", DataType: "email", Custom: true},
	},
	"Accounts": {
		{APIName: "Desk_ID", DataType: "text", Length: 30, Custom: true, Label: "Desk ID"},
	},
}

// moduleNames are the emulated modules, in metadata order.
var moduleNames = []string{"Contacts", "Accounts", "Deals", "Notes", "Tasks", "Events", "Calls"}

// duplicateCheckField is each module's system duplicate-check field for
// upsert (zoho-api.md A5).
var duplicateCheckField = map[string]string{
	"Contacts": "Email",
	"Accounts": "Account_Name",
	"Deals":    "Deal_Name",
}

// displayField is the field whose value names a record (lookup names,
// deleted-record display_name).
func displayName(module string) string {
	switch module {
	case "Contacts":
		return "Full_Name"
	case "Accounts":
		return "Account_Name"
	case "Deals":
		return "Deal_Name"
	case "Notes":
		return "Note_Title"
	case "Events":
		return "Event_Title"
	}
	return "Subject"
}

// fieldJSON renders one field's metadata in the shape of Zoho's "Fields
// Metadata" API (v8 getFields example; v7 fields-meta doc example). Every
// key the spec's `fields` schema requires is present. Per-type objects
// (lookup, unique, currency, formula, auto_number, multiselectlookup,
// multi_module_lookup, rollup_summary) are {} on fields without that
// property, as Zoho sends them; the ones Zoho sends as null stay null.
// unique is {"casesensitive":"false"} on a unique field: the key and string
// type of the spec (fields.json `unique`) and of the official SDKs' Unique
// model, although one Zoho doc example spells it "case_sensitive": false.
func fieldJSON(module string, moduleID string, f *Field, id string, seq int) map[string]any {
	lookup := map[string]any{}
	if f.DataType == "lookup" {
		target := f.LookupModule
		lookup = map[string]any{
			"display_label":                 f.Label,
			"api_name":                      f.APIName,
			"module":                        map[string]any{"api_name": target, "id": moduleIDs[target]},
			"id":                            id,
			"revalidate_filter_during_edit": false,
			"query_details":                 map[string]any{},
		}
	}
	unique := map[string]any{}
	if f.Unique {
		unique = map[string]any{"casesensitive": "false"}
	}
	picks := []any{}
	for i, v := range f.PickList {
		picks = append(picks, map[string]any{
			"display_value": v, "actual_value": v, "reference_value": v,
			"sequence_number": i + 1, "id": id + strconv.Itoa(100+i), "type": "used", "colour_code": nil,
		})
	}
	var decimals any
	currency := map[string]any{}
	switch f.DataType {
	case "double", "decimal":
		decimals = f.DecimalPlace
	case "currency":
		decimals = f.DecimalPlace
		currency = map[string]any{"rounding_option": "normal", "precision": f.DecimalPlace}
	}
	column := strings.ToUpper(f.APIName)
	if f.Custom {
		column = fmt.Sprintf("%sCF%d", strings.ToUpper(module[:len(module)-1]), seq)
	}
	editable := !f.ReadOnly
	return map[string]any{
		"associated_module":                 nil,
		"data_type":                         f.DataType,
		"operation_type":                    map[string]any{"web_update": editable, "api_create": editable, "web_create": editable, "api_update": editable},
		"system_mandatory":                  f.Mandatory,
		"webhook":                           true,
		"blueprint_supported":               false,
		"virtual_field":                     false,
		"field_read_only":                   f.ReadOnly,
		"customizable_properties":           []any{},
		"read_only":                         f.ReadOnly,
		"custom_field":                      f.Custom,
		"businesscard_supported":            true,
		"filterable":                        true,
		"visible":                           true,
		"available_in_user_layout":          true,
		"display_field":                     f.APIName == displayName(module),
		"pick_list_values_sorted_lexically": false,
		"sortable":                          f.DataType != "textarea",
		"layout_associations":               []any{map[string]any{"api_name": "Standard", "name": "Standard", "id": moduleID + "1"}},
		"separator":                         false,
		"searchable":                        f.DataType != "textarea",
		"enable_colour_code":                false,
		"mass_update":                       !f.ReadOnly,
		"json_type":                         jsonType(f.DataType),
		"created_source":                    map[bool]string{true: "crm", false: "default"}[f.Custom],
		"type":                              "used",
		"display_label":                     f.Label,
		"field_label":                       f.Label,
		"column_name":                       column,
		"api_name":                          f.APIName,
		"display_type":                      -1,
		"ui_type":                           1,
		"colour_code_enabled_by_system":     false,
		"length":                            f.Length,
		"decimal_place":                     decimals,
		"quick_sequence_number":             strconv.Itoa(seq + 1),
		"email_parser":                      map[string]any{"fields_update_supported": false, "record_operations_supported": !f.ReadOnly},
		"rollup_summary":                    map[string]any{},
		"refer_from_field":                  nil,
		"created_time":                      nil,
		"modified_time":                     nil,
		"show_type":                         7,
		"category":                          0,
		"id":                                id,
		"multi_module_lookup":               map[string]any{},
		"sharing_properties":                nil,
		"currency":                          currency,
		"file_upolad_optionlist":            []any{},
		"lookup":                            lookup,
		"profiles":                          []any{map[string]any{"name": "Administrator", "id": userID, "permission_type": "read_write"}},
		"view_type":                         map[string]any{"view": true, "edit": editable, "quick_create": f.Mandatory, "create": editable},
		"unique":                            unique,
		"sub_module":                        nil,
		"subform":                           nil,
		"external":                          nil,
		"formula":                           map[string]any{},
		"convert_mapping":                   nil,
		"multiselectlookup":                 map[string]any{},
		"multiuserlookup":                   nil,
		"autonumber":                        nil,
		"auto_number":                       map[string]any{},
		"pick_list_values":                  picks,
		"crypt":                             nil,
		"tooltip":                           nil,
		"history_tracking":                  nil,
		"association_details":               nil,
		"allowed_modules":                   []any{},
		"additional_column":                 nil,
		"common.picklist":                   nil,
		"hipaa_compliance_enabled":          false,
		"hipaa_compliance":                  nil,
		"_update_existing_records":          false,
		"number_separator":                  false,
		"textarea":                          nil,
		"static_field":                      false,
	}
}
