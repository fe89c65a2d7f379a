package main

import (
	"net/http/httptest"
	"testing"

	crmemu "deskcrm/emulator/crm"
	deskemu "deskcrm/emulator/desk"
	"deskcrm/emulator/zohoauth"
)

// useEmulators serves both Zoho emulators for the rest of the test and points the starter's
// ZOHO_* URLs at them; it returns the Desk emulator's server (a test may close it to take Desk
// away).
func useEmulators(t *testing.T) (desk *httptest.Server) {
	t.Helper()
	auth := zohoauth.NewStore(zohoauth.Config{})
	d := deskemu.New(deskemu.Config{Auth: auth})
	cs, ds := httptest.NewServer(crmemu.New(crmemu.Config{Auth: auth})), httptest.NewServer(d)
	t.Cleanup(cs.Close)
	t.Cleanup(ds.Close)
	t.Cleanup(d.Close)
	t.Setenv("ZOHO_CRM_URL", cs.URL)
	t.Setenv("ZOHO_DESK_URL", ds.URL)
	t.Setenv("ZOHO_ACCOUNTS_URL", cs.URL)
	return ds
}
