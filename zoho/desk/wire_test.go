package desk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	deskemu "deskcrm/emulator/desk"
	"deskcrm/zoho"
	"deskcrm/zoho/desk"
)

// TestWireTypes pins how values travel through the client and the Desk
// emulator, as Desk carries them: custom fields come back as strings
// ("true", "12", "2026-03-01", "Email;Phone" for a multi-select), input may be
// the native JSON type or the string; datetimes are UTC yyyy-MM-ddTHH:mm:ss.SSSZ;
// the standard currency annualrevenue is a number with two decimals; phones,
// emoji and combining characters come back unchanged.
func TestWireTypes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, f := range []deskemu.Field{
		{APIName: "cf_channels", Type: deskemu.TypeMultiselect, AllowedValues: []string{"Email", "Phone", "Chat"}},
		{APIName: "cf_last_login", Type: deskemu.TypeDateTime},
		{APIName: "cf_ratio", Type: deskemu.TypeDecimal, Decimals: 2},
	} {
		if err := e.emu.AddField(desk.Contacts, f); err != nil {
			t.Fatal(err)
		}
	}
	const (
		phone = "+1 (555) 010-0199 ext. 12"
		last  = "Zoë 😀 Zoe\u0308"
	)
	in := desk.Record{
		Fields: map[string]any{"lastName": last, "phone": phone},
		CF: map[string]any{"cf_vip": true, "cf_seats": 12, "cf_renewal_date": "2026-03-01",
			"cf_channels": "Phone;Email", "cf_last_login": "2026-01-02T03:04:05+05:30", "cf_ratio": 1.006},
	}
	created, err := e.client.Create(ctx, desk.Contacts, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.client.Get(ctx, desk.Contacts, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.String("lastName") != last || got.String("phone") != phone {
		t.Errorf("lastName %q phone %q, want them unchanged", got.String("lastName"), got.String("phone"))
	}
	wantCF := map[string]any{"cf_vip": "true", "cf_seats": "12", "cf_renewal_date": "2026-03-01",
		"cf_channels": "Phone;Email", "cf_last_login": "2026-01-01T21:34:05.000Z", "cf_ratio": "1.01"}
	for k, w := range wantCF {
		if got.CF[k] != w {
			t.Errorf("cf %s = %#v, want %#v", k, got.CF[k], w)
		}
	}
	// Strings are accepted for custom booleans and numbers, and clearing works.
	upd, err := e.client.Update(ctx, desk.Contacts, created.ID, desk.Record{CF: map[string]any{"cf_vip": "false", "cf_seats": "7", "cf_channels": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.CF["cf_vip"] != "false" || upd.CF["cf_seats"] != "7" || (upd.CF["cf_channels"] != nil && upd.CF["cf_channels"] != "") {
		t.Errorf("after update cf = %v", upd.CF)
	}

	acc, err := e.client.Create(ctx, desk.Accounts, desk.Record{Fields: map[string]any{"accountName": "Wire Co", "annualrevenue": 1234.5}})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Fields["annualrevenue"] != json.Number("1234.50") {
		t.Errorf("annualrevenue = %#v, want the number 1234.50", acc.Fields["annualrevenue"])
	}
}

// TestWireRejections: Desk answers 422 INVALID_DATA naming the field (JSON
// pointer) with errorType invalid for a value of the wrong shape, outside a
// picklist, or longer than the field's maxLength.
func TestWireRejections(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.emu.AddField(desk.Contacts, deskemu.Field{APIName: "cf_channels", Type: deskemu.TypeMultiselect, AllowedValues: []string{"Email", "Phone"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		rec    desk.Record
		field  string
		reason string
	}{
		{"41 characters in a 40 one", desk.Record{Fields: map[string]any{"lastName": "X", "firstName": strings.Repeat("a", 41)}}, "/firstName", "too long"},
		{"boolean not true/false", desk.Record{Fields: map[string]any{"lastName": "X"}, CF: map[string]any{"cf_vip": "yes"}}, "/cf/cf_vip", "bad boolean"},
		{"date with a time", desk.Record{Fields: map[string]any{"lastName": "X"}, CF: map[string]any{"cf_renewal_date": "2026-03-01T00:00:00.000Z"}}, "/cf/cf_renewal_date", "bad date"},
		{"multi-select value outside the list", desk.Record{Fields: map[string]any{"lastName": "X"}, CF: map[string]any{"cf_channels": "Email;Fax"}}, "/cf/cf_channels", "not allowed"},
		{"multi-select as an array", desk.Record{Fields: map[string]any{"lastName": "X"}, CF: map[string]any{"cf_channels": []any{"Email"}}}, "/cf/cf_channels", "array"},
		{"10 digits in a 9 digit number", desk.Record{Fields: map[string]any{"lastName": "X"}, CF: map[string]any{"cf_seats": 1000000000}}, "/cf/cf_seats", "too many digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Create(ctx, desk.Contacts, tt.rec)
			var de *desk.Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *desk.Error (%s)", err, tt.reason)
			}
			if de.HTTPStatus != 422 || de.Code != "INVALID_DATA" || de.FieldName != tt.field || de.ErrorType != "invalid" {
				t.Errorf("err = %v, want 422 INVALID_DATA %s invalid", err, tt.field)
			}
			if got := zoho.FailureCode(err); got != zoho.CodeInvalidParameter {
				t.Errorf("FailureCode = %s", got)
			}
		})
	}
	// Exactly 40 characters — emoji and combining marks counted as code
	// points by the Desk emulator — is accepted.
	if _, err := e.client.Create(ctx, desk.Contacts, desk.Record{Fields: map[string]any{"lastName": "X", "firstName": strings.Repeat("😀", 40)}}); err != nil {
		t.Errorf("40 emoji in a 40 character field: %v", err)
	}
}
