package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Field is the metadata of one CRM field (GET /settings/fields).
type Field struct {
	ID         string `json:"id"`
	APIName    string `json:"api_name"`
	FieldLabel string `json:"field_label"`
	// DataType is text, textarea, email, phone, picklist, integer, lookup, ...
	DataType string `json:"data_type"`
	// JSONType is string, integer, double, boolean, jsonobject or jsonarray.
	JSONType        string          `json:"json_type"`
	Length          int             `json:"length"`
	DecimalPlace    *int            `json:"decimal_place"`
	CustomField     bool            `json:"custom_field"`
	SystemMandatory bool            `json:"system_mandatory"`
	ReadOnly        bool            `json:"read_only"`
	FieldReadOnly   bool            `json:"field_read_only"`
	Visible         bool            `json:"visible"`
	PickListValues  []PickListValue `json:"pick_list_values"`
	Lookup          *LookupMeta     `json:"lookup"`
	// Unique is non-empty when the field is a unique field.
	Unique map[string]any `json:"unique"`
}

// PicklistValues returns the actual values of the picklist field apiName among fields, without
// "-None-" (CRM's "no value"); ok is false when there is no such field, it is no picklist, or
// it lists no values.
func PicklistValues(fields []Field, apiName string) (values []string, ok bool) {
	for _, f := range fields {
		if f.APIName != apiName || (f.DataType != "picklist" && f.DataType != "multiselectpicklist") {
			continue
		}
		for _, v := range f.PickListValues {
			if v.ActualValue != "" && v.ActualValue != "-None-" {
				values = append(values, v.ActualValue)
			}
		}
		return values, len(values) > 0
	}
	return nil, false
}

// IsUnique reports whether CRM enforces unique values on the field.
func (f Field) IsUnique() bool { return len(f.Unique) > 0 }

// PickListValue is one allowed value of a picklist.
type PickListValue struct {
	DisplayValue string `json:"display_value"`
	ActualValue  string `json:"actual_value"`
}

// LookupMeta says which module a lookup field points to.
type LookupMeta struct {
	Module struct {
		APIName string `json:"api_name"`
		ID      string `json:"id"`
	} `json:"module"`
	APIName string `json:"api_name"`
}

// Fields returns the field metadata of module.
func (c *Client) Fields(ctx context.Context, module string) ([]Field, error) {
	var out struct {
		Fields []Field `json:"fields"`
	}
	if _, err := c.call(ctx, c.get("fields "+module, "/settings/fields", url.Values{"module": {module}}), &out); err != nil {
		return nil, err
	}
	return out.Fields, nil
}

// RelatedList is the metadata of one related list of a module.
type RelatedList struct {
	ID           string `json:"id"`
	APIName      string `json:"api_name"`
	DisplayLabel string `json:"display_label"`
	Href         string `json:"href"`
	Type         string `json:"type"`
	Module       *struct {
		APIName string `json:"api_name"`
	} `json:"module"`
}

// RelatedLists returns the related lists of module (to find the API names of
// activities, notes and deals in a given org).
func (c *Client) RelatedLists(ctx context.Context, module string) ([]RelatedList, error) {
	var out struct {
		RelatedLists []RelatedList `json:"related_lists"`
	}
	if _, err := c.call(ctx, c.get("related lists "+module, "/settings/related_lists", url.Values{"module": {module}}), &out); err != nil {
		return nil, err
	}
	return out.RelatedLists, nil
}

// jsonString reads an id that may arrive as a string or a number.
func jsonString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprintf("%.0f", x)
	}
	return ""
}
