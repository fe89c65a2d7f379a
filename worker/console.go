package main

import (
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"deskcrm/activities"
	"deskcrm/config"
	"deskcrm/console"
	"deskcrm/store"
	"deskcrm/zoho"
)

// consoleHandler is the admin console the worker serves under console.Prefix, beside the
// admin API (adminAPI, the panel's handler) it deletes integrations through; fc is the
// failure converter tc was given.
func consoleHandler(cfg config.Worker, st *store.Store, tc client.Client, fc converter.FailureConverter, acts *activities.Activities, adminAPI http.Handler, logger *zap.Logger) http.Handler {
	return console.New(console.Config{
		Store: st, Temporal: tc, FailureConverter: fc, Activities: acts, AdminToken: cfg.AdminToken, AdminAPI: adminAPI,
		TaskQueue: config.TaskQueue, Namespace: cfg.Temporal.Namespace, TemporalUI: temporalUI(cfg.CodecOrigins),
		RecordURL: recordURLs(cfg.Zoho, acts.DeskURL), Logger: logger,
	})
}

// temporalUI is the Temporal UI's base URL: the first origin allowed to call the codec server
// (DESKCRM_CODEC_ORIGINS names the UI's origins), "" when none is set.
func temporalUI(codecOrigins []string) string {
	if len(codecOrigins) == 0 {
		return ""
	}
	return strings.TrimRight(codecOrigins[0], "/")
}

// recordURLs returns the web address of a Zoho record for the console's failure log. With
// the emulators it is the record's API URL on the emulator (they have no web UI); with real
// Zoho, the record's page in the CRM web app of the data centre and in the Desk web app
// (Desk's ShowHomePage.do#<Module>/dv/<id> form, which Desk's own webUrl uses).
func recordURLs(z config.Zoho, deskURL string) func(side, module, id string) string {
	crmModule := func(module string) string {
		if module == activities.Accounts {
			return "Accounts"
		}
		return "Contacts"
	}
	if z.Emulated() {
		crmBase := strings.TrimRight(z.CRMURL, "/")
		if crmBase == "" {
			crmBase = "http://127.0.0.1:8091" // the CRM emulator's default address, as activities.New uses it
		}
		return func(side, module, id string) string {
			if side == "desk" {
				return strings.TrimRight(deskURL, "/") + "/api/v1/" + url.PathEscape(module) + "/" + url.PathEscape(id)
			}
			return crmBase + "/crm/v8/" + crmModule(module) + "/" + url.PathEscape(id)
		}
	}
	crmWeb := ""
	if dc, err := zoho.ParseDataCenter(z.DataCenter); err == nil {
		if ep, err := dc.Endpoints(); err == nil {
			// The CRM API host www.zohoapis.<tld> serves the web app as crm.zoho.<tld>.
			crmWeb = strings.Replace(ep.CRM, "://www.zohoapis.", "://crm.zoho.", 1)
			if strings.Contains(ep.CRM, "zohoapis.ca") {
				crmWeb = "https://crm.zohocloud.ca"
			}
		}
	}
	return func(side, module, id string) string {
		if side == "desk" {
			return strings.TrimRight(deskURL, "/") + "/support/ShowHomePage.do#" + crmModule(module) + "/dv/" + url.PathEscape(id)
		}
		if crmWeb == "" {
			return ""
		}
		return crmWeb + "/crm/tab/" + crmModule(module) + "/" + url.PathEscape(id)
	}
}
