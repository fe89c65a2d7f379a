// Package e2e holds end-to-end tests of the sync: a real Temporal dev server, a real
// Postgres, and the Zoho emulators over HTTP, with the worker running in the test process.
package e2e
