package mapping

// Default returns the standard fields of a module pre-mapped, every field
// flowing both ways with the newest-wins policy, except:
//
//   - accounts industry ↔ Industry flows CRM → Desk only: Desk's industry is
//     free text and CRM's Industry is a picklist, and text cannot be written
//     into a picklist with fixed values (see Compatible).
//
// Custom fields are added by the admin; see DemoCustomFields for the demo
// data's. An unknown module yields a Mapping with no fields.
func Default(module Module) Mapping {
	f := func(desk, crm string, t Type) FieldMap {
		return FieldMap{Desk: desk, CRM: crm, Type: t, Direction: Both, Policy: Newest}
	}
	m := Mapping{Module: module}
	switch module {
	case Contacts:
		m.Fields = []FieldMap{
			f("firstName", "First_Name", TypeText),
			f("lastName", "Last_Name", TypeText),
			f("email", "Email", TypeEmail),
			f("secondaryEmail", "Secondary_Email", TypeEmail),
			f("phone", "Phone", TypePhone),
			f("mobile", "Mobile", TypePhone),
			f("title", "Title", TypeText),
			f("description", "Description", TypeTextarea),
			f("accountId", "Account_Name", TypeLookup),
			f("street", "Mailing_Street", TypeText),
			f("city", "Mailing_City", TypeText),
			f("state", "Mailing_State", TypeText),
			f("zip", "Mailing_Zip", TypeText),
			f("country", "Mailing_Country", TypeText),
		}
	case Accounts:
		industry := f("industry", "Industry", TypeText)
		industry.Direction = CRMToDesk
		m.Fields = []FieldMap{
			f("accountName", "Account_Name", TypeText),
			f("website", "Website", TypeURL),
			f("phone", "Phone", TypePhone),
			f("fax", "Fax", TypePhone),
			industry,
			f("annualrevenue", "Annual_Revenue", TypeCurrency),
			f("street", "Billing_Street", TypeText),
			f("city", "Billing_City", TypeText),
			f("state", "Billing_State", TypeText),
			f("code", "Billing_Code", TypeText),
			f("country", "Billing_Country", TypeText),
			f("description", "Description", TypeTextarea),
		}
	}
	return m
}

// DemoCustomFields returns the custom field pairs of the demo data: on
// contacts Desk cf_customer_tier ↔ CRM Customer_Tier (picklist), cf_seats ↔
// Seats (integer), cf_renewal_date ↔ Renewal_Date (date), cf_vip ↔ VIP
// (boolean). Accounts have none.
func DemoCustomFields(module Module) []FieldMap {
	if module != Contacts {
		return nil
	}
	f := func(desk, crm string, t Type) FieldMap {
		return FieldMap{Desk: desk, CRM: crm, Type: t, Direction: Both, Policy: Newest}
	}
	return []FieldMap{
		f("cf_customer_tier", "Customer_Tier", TypePicklist),
		f("cf_seats", "Seats", TypeInteger),
		f("cf_renewal_date", "Renewal_Date", TypeDate),
		f("cf_vip", "VIP", TypeBoolean),
	}
}

// DemoMapping returns Default(module) followed by DemoCustomFields(module).
func DemoMapping(module Module) Mapping {
	m := Default(module)
	m.Fields = append(m.Fields, DemoCustomFields(module)...)
	return m
}

// MatchField returns the field pair whose value matches records of a module
// that have no link yet: email ↔ Email for contacts, accountName ↔
// Account_Name for accounts.
func MatchField(module Module) FieldMap {
	if module == Accounts {
		return FieldMap{Desk: "accountName", CRM: "Account_Name", Type: TypeText}
	}
	return FieldMap{Desk: "email", CRM: "Email", Type: TypeEmail}
}

// mandatory lists the fields each side requires on create, whatever the
// metadata says.
func mandatory(module Module, side Side) []string {
	switch {
	case module == Contacts && side == CRM:
		return []string{"Last_Name"}
	case module == Contacts && side == Desk:
		return []string{"lastName"}
	case module == Accounts && side == CRM:
		return []string{"Account_Name"}
	case module == Accounts && side == Desk:
		return []string{"accountName"}
	}
	return nil
}
