package activities

import (
	"strings"
	"testing"

	"deskcrm/mapping"
	"deskcrm/reconcile"
	"deskcrm/zoho/crm"
	"deskcrm/zoho/desk"
)

// Zoho's refusals become failure-log entries in the seed's words, naming the module, the
// field (API name and label) and what to change, never the value.
func TestRefusalsSpeakTheSeedsWords(t *testing.T) {
	m := mapping.Default(mapping.Contacts)
	for i := range m.Fields {
		m.Fields[i].CRMLimits.Label = strings.ReplaceAll(m.Fields[i].CRM, "_", " ")
		m.Fields[i].DeskLimits.Label = "Desk " + m.Fields[i].Desk
	}
	w := &writer{module: "contacts", m: m}
	tests := []struct {
		name  string
		to    mapping.Side
		err   error
		code  string
		wants []string
	}{
		{"CRM mandatory field", mapping.CRM, &crm.Error{Code: "MANDATORY_NOT_FOUND", APIName: "Last_Name"},
			"MANDATORY_FIELD_MISSING", []string{"Mandatory field missing", "CRM Last_Name (Last Name)", "contact",
				"Desk lastName (Desk lastName), which flows into it, is empty or only spaces; fill it in"}},
		{"CRM mandatory field not mapped", mapping.CRM, &crm.Error{Code: "MANDATORY_NOT_FOUND", APIName: "Required_Custom"},
			"MANDATORY_FIELD_MISSING", []string{"CRM Required_Custom is required and the record has no value for it; map a Desk field into it"}},
		{"CRM value too long", mapping.CRM, &crm.Error{Code: "INVALID_DATA", APIName: "Mailing_Zip", Details: map[string]any{"maximum_length": "30"}},
			"VALUE_TOO_LONG", []string{"CRM Mailing_Zip (Mailing Zip)", "at most 30 characters", "correct it in Desk"}},
		{"CRM type", mapping.CRM, &crm.Error{Code: "INVALID_DATA", APIName: "Title", ExpectedType: "integer"},
			"TYPE_MISMATCH", []string{"integer value expected for CRM Title;"}},
		{"CRM missing parameter", mapping.CRM, &crm.Error{Code: "REQUIRED_PARAM_MISSING", APIName: "data"},
			"MISSING_PARAMETER", []string{"Missing parameter"}},
		{"CRM invalid value", mapping.CRM, &crm.Error{Code: "INVALID_DATA", APIName: "Email"},
			"INVALID_PARAMETER", []string{"Incorrect API parameter or parameter value", "CRM Email;"}},
		{"Desk invalid value", mapping.Desk, &desk.Error{Code: "INVALID_DATA", Errors: []desk.FieldError{{FieldName: "/phone", ErrorType: "invalid"}}},
			"INVALID_PARAMETER", []string{"Desk phone (Desk phone)", "correct it in CRM"}},
		{"Desk missing value", mapping.Desk, &desk.Error{Code: "INVALID_DATA", Errors: []desk.FieldError{{FieldName: "/lastName", ErrorType: "missing"}}},
			"MANDATORY_FIELD_MISSING", []string{"Desk lastName (Desk lastName)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := w.refusal(tt.to, "d1", "c1", tt.err)
			if f.Code != tt.code {
				t.Errorf("code %s, want %s", f.Code, tt.code)
			}
			for _, want := range tt.wants {
				if !strings.Contains(f.Message, want) {
					t.Errorf("message %q does not say %q", f.Message, want)
				}
			}
			if f.Module != "contacts" || f.DeskID != "d1" || f.CRMID != "c1" || f.Direction != directionTo(tt.to) {
				t.Errorf("failure %+v does not name the module, both ids and the direction", f)
			}
		})
	}
}

// A create Zoho refuses is logged with the values the create left out, for its source record
// (one entry once the log merges them): a CRM contact refused by Desk for its last name named
// its picklist value only after the name was fixed.
func TestARefusedCreateNamesTheValuesItLeftOut(t *testing.T) {
	m := mapping.Default(mapping.Contacts)
	for _, target := range []mapping.Side{mapping.CRM, mapping.Desk} {
		source := target.Other()
		deskID, crmID := "", ""
		if source == mapping.Desk {
			deskID = "d1"
		} else {
			crmID = "c1"
		}
		o := &outcome{}
		w := &writer{module: "contacts", m: m, o: o}
		left := reconcile.Failure{To: target, DeskID: deskID, CRMID: crmID, Code: "INVALID_PICKLIST_VALUE", Message: "not one of the picklist's values"}
		c := reconcile.Create{Target: target, Source: reconcile.Record{Side: source, ID: deskID + crmID}, Failures: []reconcile.Failure{left}}
		var err error = &crm.Error{Code: "MANDATORY_NOT_FOUND", APIName: "Last_Name"}
		if target == mapping.Desk {
			err = &desk.Error{Code: "INVALID_DATA", Errors: []desk.FieldError{{FieldName: "/lastName", ErrorType: "missing"}}}
		}
		w.refusedCreate(c, err)
		if len(o.failures) != 2 {
			t.Fatalf("to %s: logged %+v, want the refusal and the value left out", target, o.failures)
		}
		for i, wantCode := range []string{"MANDATORY_FIELD_MISSING", "INVALID_PICKLIST_VALUE"} {
			f := o.failures[i]
			if f.Code != wantCode || f.DeskID != deskID || f.CRMID != crmID || f.Direction != directionTo(target) {
				t.Errorf("to %s: failure %d %+v, want %s of %s%s towards %s", target, i, f, wantCode, deskID, crmID, target)
			}
		}
	}
}
