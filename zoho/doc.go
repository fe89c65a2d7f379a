// Package zoho holds what the Zoho CRM and Zoho Desk clients share: data-centre
// hosts, the OAuth 2 refresh-token flow with the "Zoho-oauthtoken" header, the
// request executor (concurrency limits, credit accounting, retries of reads),
// Prometheus collectors, and the error classification the sync uses to decide
// between retrying, pausing and logging a failure.
//
// The API-specific clients live in zoho/crm and zoho/desk.
package zoho
