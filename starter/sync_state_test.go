package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"deskcrm/store"
	"deskcrm/workflows"
)

// The start input is checked by the workflow's own rules before anything is dialled or
// started, and every problem is named by its flag.
func TestStartRefusesBadInputBeforeStarting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"start", "--integration", "t1", "--mode", "foo"}, []string{`--mode "foo" must be "two-way", "one-way-crm-to-desk" or`}},
		{[]string{"start", "--poll-interval", "banana"}, []string{`--poll-interval "banana" must be a duration of at least 1s`}},
		{[]string{"start", "--integration", "bad id/x"}, []string{`--integration "bad id/x" must be 1-64 letters, digits`}},
		{[]string{"start", "--lookback-days", "0"}, []string{"--lookback-days 0 must be at least 1"}},
		{[]string{"start", "--lookback-days", "-5"}, []string{"--lookback-days -5 must be between 1 and 3650"}},
		{[]string{"start", "--lookback-days", "4000", "--mode", "foo", "--poll-interval", "1ms"},
			[]string{"--lookback-days 4000 must be between", `--mode "foo"`, `--poll-interval "1ms"`}},
		{[]string{"plan", "--mode", "one-way", "--lookback-days", "0"}, []string{`--mode "one-way"`, "--lookback-days 0"}},
	} {
		f := &fakeTemporal{}
		useFakeTemporal(t, f)
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "nothing was started") {
			t.Errorf("%v: err = %v, want a usage error saying nothing was started", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: err = %v, want it to contain %q", tc.args, err, w)
			}
		}
		if f.dials != 0 || len(f.started) != 0 {
			t.Errorf("%v: dialled %d time(s), started %v", tc.args, f.dials, f.started)
		}
	}
}

// An integration that never ran is started only when no other runs, or with --new: a mistyped
// id would sync the same Zoho orgs again and create duplicates.
func TestStartRefusesANewIntegrationBesideARunningOne(t *testing.T) {
	failed := &fakeWorkflow{status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, result: errors.New("boom")}
	for _, tc := range []struct {
		name    string
		exist   map[string]*fakeWorkflow
		args    []string
		want    string // in the error; "" = started
		started string
	}{
		{"the first integration", nil, []string{"start"}, "", "default"},
		{"a mistyped id", map[string]*fakeWorkflow{"deskcrm-sync-default": running(nil)}, []string{"start", "--integration", "t1"},
			`integration "t1" does not exist yet; integration(s) "default" already sync this worker's Zoho orgs, and two integrations on the same orgs create duplicates; check --integration for a typo, or pass --new`, ""},
		{"a new one on purpose", map[string]*fakeWorkflow{"deskcrm-sync-default": running(nil)}, []string{"start", "--integration", "t1", "--new"}, "", "t1"},
		{"one that ran before", map[string]*fakeWorkflow{"deskcrm-sync-default": running(nil), "deskcrm-sync-t1": failed},
			[]string{"start", "--integration", "t1"}, "", "t1"},
		{"the running one again", map[string]*fakeWorkflow{"deskcrm-sync-default": running(nil)}, []string{"start"},
			`integration "default" already has a running sync`, ""},
	} {
		f := &fakeTemporal{workflows: map[string]*fakeWorkflow{}}
		for id, w := range tc.exist {
			copied := *w
			f.workflows[id] = &copied
		}
		useFakeTemporal(t, f)
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, &out)
		switch {
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		}
		var want []string
		if tc.started != "" {
			want = []string{workflows.WorkflowID(tc.started)}
		}
		if !slices.Equal(f.started, want) {
			t.Errorf("%s: started %v, want %q", tc.name, f.started, tc.started)
		}
	}
}

// A command on a sync that is not running says so and how it ended, instead of Temporal's
// "unknown queryType" or "not found".
func TestCommandsOnAClosedSyncSayHowItEnded(t *testing.T) {
	_, invalid := workflows.ValidateSyncInput(workflows.SyncInput{IntegrationID: "t2", Mode: "foo"})
	f := &fakeTemporal{workflows: map[string]*fakeWorkflow{
		"deskcrm-sync-default": running(nil),
		"deskcrm-sync-t2":      {status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, result: invalid},
		"deskcrm-sync-t3":      {status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, reason: "integration deleted", result: &temporal.TerminatedError{}},
		"deskcrm-sync-t5":      {status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED},
	}}
	useFakeTemporal(t, f)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--integration", "t2"}, `the sync of integration "t2" is not running: it failed: invalid input: mode "foo" must be`},
		{[]string{"status", "--integration", "t2"}, "fix what it names, then `starter start --integration t2` starts it again"},
		{[]string{"failures", "--integration", "t2"}, `the sync of integration "t2" is not running: it failed`},
		{[]string{"retry", "--integration", "t2", "3"}, `the sync of integration "t2" is not running: it failed`},
		{[]string{"set-mode", "--integration", "t2", "two-way"}, `the sync of integration "t2" is not running: it failed`},
		{[]string{"status", "--integration", "t3"}, `the sync of integration "t3" is not running: it was terminated (integration deleted); ` + "`starter start --integration t3`"},
		{[]string{"pause", "--integration", "t5"}, `the sync of integration "t5" is not running: it completed`},
		{[]string{"status", "--integration", "nope"}, `integration "nope" has no sync workflow (deskcrm-sync-nope); the integrations with a running sync are "default"`},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if len(f.signals) != 0 {
		t.Errorf("signals sent to closed syncs: %v", f.signals)
	}
}

// `start --wait` returns as soon as the workflow closes, with its failure.
func TestStartWaitReturnsWhenTheSyncFails(t *testing.T) {
	f := &fakeTemporal{startFails: temporal.NewNonRetryableApplicationError("preflight: the CRM refused the token", "Auth", nil)}
	useFakeTemporal(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"start", "--integration", "t4", "--wait"}, &out, &errOut)
	want := `the sync of integration "t4" ended before its first sync was done: it failed: preflight: the CRM refused the token`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// `retry ID...` leaves out, with a note, ids that are not open failures before it signals,
// and refuses when none is (a fix often closes part of a group before its retry: the open
// rest was not retried); `retry` alone retries every open failure.
func TestRetryRefusesIDsThatAreNotOpenFailures(t *testing.T) {
	listed := []store.Failure{{ID: 255, Module: "contacts", Code: "INVALID_DATA"}}
	for _, tc := range []struct {
		args     []string
		open     int // open failures in all (the list holds the newest)
		want     string
		signaled []int64
		said     string
	}{
		{[]string{"retry", "99999"}, 1, `failure(s) 99999 are not open failures of integration "default"`, nil, ""},
		{[]string{"retry", "256", "257"}, 1, "nothing was retried: `starter failures --integration default` lists the open ones", nil, ""},
		{[]string{"retry", "255", "256"}, 1, "", []int64{255}, `failure(s) 256 are not open failures of integration "default" (closed, of another integration, or never recorded) and are left out`},
		{[]string{"retry", "255", "256"}, 1, "", []int64{255}, "retrying 1 failure(s)"},
		{[]string{"retry", "255"}, 1, "", []int64{255}, "retrying 1 failure(s)"},
		{[]string{"retry"}, 1, "", []int64{}, "retrying every open failure"},
		{[]string{"retry", "99999"}, 150, "", []int64{99999}, "not among the newest 1 of the 150 open failures"},
	} {
		f := &fakeTemporal{workflows: map[string]*fakeWorkflow{"deskcrm-sync-default": running(map[string]any{
			workflows.QueryFailures: listed, workflows.QueryStatus: workflows.Status{OpenFailures: tc.open}})}}
		useFakeTemporal(t, f)
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, &out)
		switch {
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		}
		if !strings.Contains(out.String(), tc.said) {
			t.Errorf("%v: printed %q, want %q", tc.args, out.String(), tc.said)
		}
		if tc.signaled == nil {
			if len(f.signals) != 0 {
				t.Errorf("%v: signalled %v", tc.args, f.signals)
			}
			continue
		}
		if len(f.signals) != 1 || f.signals[0].name != workflows.SignalRetry ||
			len(f.signals[0].arg.(workflows.RetrySignal).IDs) != len(tc.signaled) {
			t.Errorf("%v: signals %v, want retry of %v", tc.args, f.signals, tc.signaled)
		}
	}
}

// pause, resume and sync-now read the sync's status, then send their signal when it changes
// something, and say what happened: a pause of a paused sync says "already paused" and a resume
// of a running one "not paused" (both used to print "paused" / "resumed" again).
func TestSignalCommands(t *testing.T) {
	syncing := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseIdle}
	paused := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseIdle, Paused: true, PausedReason: pausedByRequest}
	credits := workflows.Status{IntegrationID: "acme", Phase: workflows.PhaseInitial, Paused: true, PausedReason: "CRM credits exhausted until 00:00 UTC"}
	for _, tc := range []struct {
		command string
		status  workflows.Status
		signal  string // "" = none sent
		said    string
	}{
		{"pause", syncing, workflows.SignalPause, `sync of integration "acme" paused`},
		{"pause", paused, "", `sync of integration "acme" is already paused; nothing was sent`},
		{"pause", credits, workflows.SignalPause, "it was already paused (CRM credits exhausted until 00:00 UTC), and now stays paused until `starter resume`"},
		{"resume", paused, workflows.SignalResume, `sync of integration "acme" resumed`},
		{"resume", syncing, "", `sync of integration "acme" is not paused; nothing was sent`},
		{"resume", credits, workflows.SignalResume, `resumed (it was paused: CRM credits exhausted`},
		{"sync-now", syncing, workflows.SignalSyncNow, `sync of integration "acme" asked for an incremental pass now`},
		{"sync-now", paused, workflows.SignalSyncNow, "the pass runs once it is resumed (`starter resume`)"},
	} {
		f := &fakeTemporal{workflows: map[string]*fakeWorkflow{"deskcrm-sync-acme": running(map[string]any{workflows.QueryStatus: tc.status})}}
		useFakeTemporal(t, f)
		var out bytes.Buffer
		if err := run(context.Background(), []string{tc.command, "--integration", "acme"}, &out, &out); err != nil {
			t.Errorf("%s of %+v: %v", tc.command, tc.status, err)
			continue
		}
		var want []fakeSignal
		if tc.signal != "" {
			want = []fakeSignal{{workflowID: "deskcrm-sync-acme", name: tc.signal}}
		}
		if !slices.Equal(f.signals, want) {
			t.Errorf("%s of paused=%v: signals %v, want %v", tc.command, tc.status.Paused, f.signals, want)
		}
		if !strings.Contains(out.String(), tc.said) {
			t.Errorf("%s of paused=%v: printed %q, want %q", tc.command, tc.status.Paused, out.String(), tc.said)
		}
	}
}

// How a run ended reads the first of Temporal's errors in its result, without the SDK's
// decorations; a failure to get the result is no ending.
func TestHowEnded(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
		ok   bool
	}{
		{nil, "completed", true},
		{fmt.Errorf("workflow execution error (type: SyncWorkflow): %w", &temporal.TerminatedError{}), "was terminated", true},
		{temporal.NewApplicationErrorWithCause("preflight", "Preflight", temporal.NewApplicationError("connect to CRM", "Net")), "failed: preflight: connect to CRM", true},
		{temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil), "timed out", true},
		{errors.New("connection refused"), "", false},
	} {
		how, ok := howEnded(tc.err)
		if how != tc.want || ok != tc.ok {
			t.Errorf("howEnded(%v) = %q, %v; want %q, %v", tc.err, how, ok, tc.want, tc.ok)
		}
	}
}

// `set-mode sync` of a sync that is no legacy import says what to run instead of the
// validator's "use set-mode to change its sync type" (the command just used): the pre-check
// from the status, and the validator's own words turned into the starter's when it answers.
func TestSetModeSaysWhatToRunInstead(t *testing.T) {
	twoWay := workflows.Status{IntegrationID: "acme", Mode: "two-way", InitialDone: true}
	legacy := workflows.Status{IntegrationID: "acme", Mode: workflows.ModeLegacyImport, InitialDone: true}
	// The validator's refusal as the client hands it over (workflows/handlers.go,
	// validateSwitchToSync), for a status read before the mode changed.
	refused := func(msg string) func(string, []any) (any, error) {
		return func(string, []any) (any, error) {
			fc := temporal.GetDefaultFailureConverter()
			return nil, fc.FailureToError(fc.ErrorToFailure(errors.New(msg)))
		}
	}
	changed := func(_ string, args []any) (any, error) {
		return workflows.ModeResult{Mode: args[0].(workflows.SetModeRequest).Mode, Previous: "two-way"}, nil
	}
	for _, tc := range []struct {
		name    string
		status  workflows.Status
		update  func(string, []any) (any, error)
		args    []string
		want    string // in the error, or printed when ok
		ok      bool
		updated bool
	}{
		{"sync of a two-way sync", twoWay, nil, []string{"set-mode", "sync"},
			"`set-mode sync` is only the one-time switch from the legacy import, and integration \"acme\" is not a legacy import (its mode is two-way); " +
				"to change between two-way and one-way sync use `starter set-mode two-way` or `starter set-mode one-way-crm-to-desk`", false, false},
		{"sync once switched", workflows.Status{Mode: "two-way", SwitchedToSync: true}, nil, []string{"set-mode", "sync"},
			"was already switched from the legacy import to sync", false, false},
		{"a sync mode of a legacy import", legacy, nil, []string{"set-mode", "one-way-crm-to-desk"},
			"is a legacy one-way import; `starter set-mode sync` moves it to two-way sync", false, false},
		{"the validator's words", legacy, refused(`this integration is not a legacy import (mode "two-way"): use set-mode to change its sync type`), []string{"set-mode", "sync"},
			"mode not changed: this integration is not a legacy import (mode \"two-way\"): `set-mode sync` is only the one-time switch from the legacy import; " +
				"to change between two-way and one-way sync use `starter set-mode two-way` or `starter set-mode one-way-crm-to-desk`", false, true},
		{"the validator's first-sync refusal", twoWay, refused("the first sync is still running: change the mode once it is done (the status query shows its progress)"),
			[]string{"set-mode", "one-way-crm-to-desk"}, "mode not changed: the first sync is still running: change the mode once it is done (`starter status` shows its progress)", false, true},
		{"a change", twoWay, changed, []string{"set-mode", "one-way-crm-to-desk"}, `integration "acme": mode one-way-crm-to-desk (was two-way)`, true, true},
		{"no change", twoWay, changed, []string{"set-mode", "two-way"}, `integration "acme": mode is already two-way`, true, true},
		{"back to two-way", workflows.Status{Mode: "one-way-crm-to-desk"}, func(string, []any) (any, error) {
			return workflows.ModeResult{Mode: "two-way", Previous: "one-way-crm-to-desk", CatchUpSince: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}, nil
		}, []string{"set-mode", "two-way"}, "the next pass sends to CRM the Desk records and edits made since " +
			time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Local().Format(time.RFC1123) + ", which one-way held back", true, true},
	} {
		w := running(map[string]any{workflows.QueryStatus: tc.status})
		w.update = tc.update
		f := &fakeTemporal{workflows: map[string]*fakeWorkflow{"deskcrm-sync-acme": w}}
		useFakeTemporal(t, f)
		var out bytes.Buffer
		err := run(context.Background(), append(tc.args, "--integration", "acme"), &out, &out)
		switch {
		case tc.ok && (err != nil || !strings.Contains(out.String(), tc.want)):
			t.Errorf("%s: err = %v, printed %q, want %q", tc.name, err, out.String(), tc.want)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v\nwant %q", tc.name, err, tc.want)
		case !tc.ok && strings.Contains(err.Error(), "use set-mode"):
			t.Errorf("%s: err = %v, still says to use set-mode", tc.name, err)
		}
		if (len(f.updates) > 0) != tc.updated {
			t.Errorf("%s: updates sent %v, want sent=%v", tc.name, f.updates, tc.updated)
		}
	}
}
