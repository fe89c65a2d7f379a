// Package webhooks receives Zoho's change notifications and turns them into `changes`
// signals of the sync workflows, and keeps the subscriptions that make Zoho send them.
//
// The receiver (NewHandler) serves
//
//	POST     /webhooks/crm/{integrationId}   CRM Notification API callbacks (channel token)
//	GET|POST /webhooks/desk/{integrationId}  Desk webhooks (URL check; RS256 JWT in X-ZDesk-JWT)
//
// It only authenticates, validates and enqueues, so it answers well within Desk's five
// seconds; a coalescer batches the record ids per integration and calls Config.Signal a few
// times per burst instead of once per record.
//
// The Subscriber creates and renews the CRM watch channel and the Desk webhooks of each
// integration, pointed at the receiver.
package webhooks

import (
	"regexp"
	"strings"
)

// Sources of a change.
const (
	SourceCRM  = "crm"
	SourceDesk = "desk"
)

// Modules a change can concern, as the workflows name them.
const (
	ModuleContacts = "contacts"
	ModuleAccounts = "accounts"
)

// Operations a change can report (CRM's callback names; Desk's Add/Update/Delete map onto them).
const (
	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Changes is the payload of the sync workflow's `changes` signal: record ids of one module
// that changed on one side. Its JSON is the same as workflows.ChangesSignal's.
type Changes struct {
	// Source is SourceCRM or SourceDesk.
	Source string `json:"source"`
	// Module is ModuleContacts or ModuleAccounts.
	Module string `json:"module"`
	// IDs are the changed records' ids on the source side, each once.
	IDs []string `json:"ids"`
	// Operation is OpInsert, OpUpdate or OpDelete.
	Operation string `json:"operation"`
}

// integrationIDPattern is the integration id the workflows and the schema accept.
var integrationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// ValidIntegrationID reports whether id is a well-formed integration id.
func ValidIntegrationID(id string) bool { return integrationIDPattern.MatchString(id) }

// recordIDPattern is a Zoho record id: a numeric string (CRM and Desk both use them).
var recordIDPattern = regexp.MustCompile(`^[0-9]{1,30}$`)

// validRecordID reports whether id looks like a Zoho record id.
func validRecordID(id string) bool { return recordIDPattern.MatchString(id) }

// crmModule maps a CRM module API name to the workflow's module name; ok is false for
// modules the sync does not follow.
func crmModule(module string) (string, bool) {
	switch module {
	case "Contacts":
		return ModuleContacts, true
	case "Accounts":
		return ModuleAccounts, true
	}
	return "", false
}

// crmOperation checks a CRM callback operation.
func crmOperation(op string) (string, bool) {
	switch op {
	case OpInsert, OpUpdate, OpDelete:
		return op, true
	}
	return "", false
}

// deskEvent maps a Desk webhook event type such as "Contact_Update" to the module and
// operation; ok is false for event types the sync does not follow.
func deskEvent(eventType string) (module, op string, ok bool) {
	kind, action, found := strings.Cut(eventType, "_")
	if !found {
		return "", "", false
	}
	switch kind {
	case "Contact":
		module = ModuleContacts
	case "Account":
		module = ModuleAccounts
	default:
		return "", "", false
	}
	switch action {
	case "Add":
		op = OpInsert
	case "Update":
		op = OpUpdate
	case "Delete":
		op = OpDelete
	default:
		return "", "", false
	}
	return module, op, true
}

// DeskEvents are the Desk webhook event types a subscription asks for.
var DeskEvents = []string{"Contact_Add", "Contact_Update", "Contact_Delete", "Account_Add", "Account_Update", "Account_Delete"}

// CRMEvents are the CRM watch events a channel asks for.
var CRMEvents = []string{"Contacts.all", "Accounts.all"}
