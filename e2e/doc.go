// Package e2e holds end-to-end tests of the sync: a real Temporal dev server, a real
// Postgres, and the Zoho emulators over HTTP, with the worker running in the test process.
//
// The faults_*_test.go files are the fault matrix of DESIGN.md section 6. Each fault strikes a
// world of its own — seeded emulators with latency, Postgres and a dev server the test may own,
// a worker in this process or in a child process — during the first sync and again during an
// incremental pass in the middle of a bulk update, and the world must end exactly as a clean
// run of the same seed does: every record of both emulators field by field (ids and times
// replaced by what they point at), every link and every failure in Postgres, no match key held
// by more or fewer records. make test runs them on 200 contacts + 50 accounts per side; make
// test-faults (DESKCRM_FAULTS=big) also on 3,000 + 600.
//
//   - faults_world_test.go: the world; taps in front of the emulators act at the sync's nth
//     call of an endpoint (kill, stop, fail, slow down) and leave the test's users alone
//   - faults_state_test.go: the end state and its comparison
//   - faults_bulk_test.go: the people's bulk update on both sides
//   - faults_matrix_test.go: running a scenario against the clean run
//   - faults_process_test.go, faults_api_test.go, faults_webhooks_test.go: the scenarios
//   - faults_child_test.go: the worker as a child process, for SIGKILL
//   - faults_bugs_test.go: engine defects the matrix found, each pinned by a failing test
package e2e
