package webhooks

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"
)

func TestDeskEvent(t *testing.T) {
	tests := []struct {
		in         string
		module, op string
		ok         bool
	}{
		{"Contact_Add", ModuleContacts, OpInsert, true},
		{"Contact_Update", ModuleContacts, OpUpdate, true},
		{"Contact_Delete", ModuleContacts, OpDelete, true},
		{"Account_Add", ModuleAccounts, OpInsert, true},
		{"Account_Update", ModuleAccounts, OpUpdate, true},
		{"Account_Delete", ModuleAccounts, OpDelete, true},
		{"Ticket_Add", "", "", false},
		{"Contact_Merge", "", "", false},
		{"Contact", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		m, op, ok := deskEvent(tt.in)
		if m != tt.module || op != tt.op || ok != tt.ok {
			t.Errorf("deskEvent(%q) = %q, %q, %v; want %q, %q, %v", tt.in, m, op, ok, tt.module, tt.op, tt.ok)
		}
	}
}

func TestCRMModuleAndOperation(t *testing.T) {
	tests := []struct {
		module, want string
		ok           bool
	}{
		{"Contacts", ModuleContacts, true},
		{"Accounts", ModuleAccounts, true},
		{"Deals", "", false},
		{"contacts", "", false},
	}
	for _, tt := range tests {
		if got, ok := crmModule(tt.module); got != tt.want || ok != tt.ok {
			t.Errorf("crmModule(%q) = %q, %v", tt.module, got, ok)
		}
	}
	for _, op := range []string{"insert", "update", "delete"} {
		if got, ok := crmOperation(op); !ok || got != op {
			t.Errorf("crmOperation(%q) = %q, %v", op, got, ok)
		}
	}
	for _, op := range []string{"", "create", "edit", "INSERT"} {
		if _, ok := crmOperation(op); ok {
			t.Errorf("crmOperation(%q) accepted", op)
		}
	}
}

func TestParseDeskEvents(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   map[batchKey][]string
		errMsg bool
	}{
		{"empty array", `[]`, map[batchKey][]string{}, false},
		{"contacts and accounts", `[{"eventType":"Contact_Add","orgId":"1","payload":{"id":"11","lastName":"x"},"eventTime":"1"},
			{"eventType":"Contact_Add","orgId":"1","payload":{"id":"12"}},
			{"eventType":"Account_Delete","orgId":"1","payload":{"id":"21"}}]`,
			map[batchKey][]string{{SourceDesk, ModuleContacts, OpInsert}: {"11", "12"}, {SourceDesk, ModuleAccounts, OpDelete}: {"21"}}, false},
		{"19-digit numeric id kept exact", `[{"eventType":"Contact_Update","payload":{"id":1892000000772003123}}]`,
			map[batchKey][]string{{SourceDesk, ModuleContacts, OpUpdate}: {"1892000000772003123"}}, false},
		{"numeric org id", `[{"eventType":"Contact_Update","orgId":1,"payload":{"id":"5"}}]`,
			map[batchKey][]string{{SourceDesk, ModuleContacts, OpUpdate}: {"5"}}, false},
		{"other events skipped", `[{"eventType":"Ticket_Add","orgId":"1","payload":{"id":"abc"}}]`, map[batchKey][]string{}, false},
		{"object, not array", `{"eventType":"Contact_Add"}`, nil, true},
		{"not json", `eventType=Contact_Add`, nil, true},
		{"trailing data", `[] []`, nil, true},
		{"no event type", `[{"payload":{"id":"1"}}]`, nil, true},
		{"other org", `[{"eventType":"Contact_Add","orgId":"2","payload":{"id":"1"}}]`, nil, true},
		{"no payload", `[{"eventType":"Contact_Add","orgId":"1"}]`, nil, true},
		{"payload not object", `[{"eventType":"Contact_Add","payload":"1"}]`, nil, true},
		{"no id", `[{"eventType":"Contact_Add","payload":{"lastName":"x"}}]`, nil, true},
		{"id not numeric", `[{"eventType":"Contact_Add","payload":{"id":"1; drop"}}]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := parseDeskEvents([]byte(tt.body), "1")
			if (msg != "") != tt.errMsg {
				t.Fatalf("msg = %q, want error %v", msg, tt.errMsg)
			}
			if !tt.errMsg && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("groups = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestChannelIDAndToken(t *testing.T) {
	ids := map[int64]string{}
	tokens := map[string]string{}
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(24 * time.Hour)
	for i := range 2000 {
		integ := fmt.Sprintf("integration-%d", i)
		id := ChannelID(integ)
		if id != ChannelID(integ) {
			t.Fatalf("ChannelID(%q) not stable", integ)
		}
		if id < channelIDBase || id >= 1<<53 {
			t.Fatalf("ChannelID(%q) = %d, outside [%d, 2^53)", integ, id, int64(channelIDBase))
		}
		if other, dup := ids[id]; dup {
			t.Fatalf("ChannelID collision: %q and %q", integ, other)
		}
		ids[id] = integ
		tok := ChannelToken("secret", integ, exp)
		if len(tok) > 50 || len(tok) < 32 {
			t.Fatalf("token length %d, want 32-50", len(tok))
		}
		if _, dup := tokens[tok]; dup {
			t.Fatalf("token collision for %q", integ)
		}
		tokens[tok] = integ
	}
	if ChannelToken("secret", "a", exp) == ChannelToken("other", "a", exp) || ChannelToken("s", "a", exp) == ChannelToken("s", "a", exp.Add(time.Second)) {
		t.Fatal("token does not depend on the secret or the expiry")
	}
	check := func(token, integ string, at time.Time) string {
		return checkChannelToken("s", integ, token, at, time.Minute, 7*24*time.Hour)
	}
	good := ChannelToken("s", "a", exp)
	for _, tc := range []struct {
		name, token, integ string
		at                 time.Time
		ok                 bool
	}{
		{"good", good, "a", now, true},
		{"at expiry within leeway", good, "a", exp.Add(30 * time.Second), true},
		{"after expiry: a replay", good, "a", exp.Add(2 * time.Minute), false},
		{"another integration", good, "b", now, false},
		{"another secret", ChannelToken("t", "a", exp), "a", now, false},
		{"expiry moved", strconv.FormatInt(exp.Add(time.Hour).Unix(), 36) + good[strings.Index(good, "."):], "a", now, false},
		{"a year ahead", ChannelToken("s", "a", now.Add(365*24*time.Hour)), "a", now, false},
		{"empty", "", "a", now, false},
		{"no dot", strings.ReplaceAll(good, ".", ""), "a", now, false},
		{"old format", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", "a", now, false},
	} {
		if got := check(tc.token, tc.integ, tc.at); (got == "") != tc.ok {
			t.Errorf("%s: %q, want ok=%v", tc.name, got, tc.ok)
		}
	}
}

func TestValidIntegrationID(t *testing.T) {
	for id, want := range map[string]bool{"default": true, "a.b_c-9": true, "": false, "a b": false, "a/b": false,
		string(make([]byte, 65)): false, "x" + string(slices.Repeat([]byte("y"), 63)): true} {
		if got := ValidIntegrationID(id); got != want {
			t.Errorf("ValidIntegrationID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestDueForRenewal(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	exp := map[string]time.Time{"a": now.Add(time.Hour), "b": now.Add(5 * time.Hour), "c": now.Add(-time.Minute), "d": now.Add(6 * time.Hour)}
	tests := []struct {
		before time.Duration
		want   []string
	}{
		{time.Minute, []string{"c"}},
		{2 * time.Hour, []string{"a", "c"}},
		{6 * time.Hour, []string{"a", "b", "c"}},
		{7 * time.Hour, []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		if got := dueForRenewal(exp, now, tt.before); !slices.Equal(got, tt.want) {
			t.Errorf("dueForRenewal(%s) = %v, want %v", tt.before, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	have := map[string]time.Time{"a": {}, "b": {}}
	tests := []struct {
		want          []string
		add, removeds []string
	}{
		{[]string{"a", "b"}, nil, nil},
		{[]string{"a", "b", "c"}, []string{"c"}, nil},
		{[]string{"b"}, nil, []string{"a"}},
		{nil, nil, []string{"a", "b"}},
		{[]string{"c", "a"}, []string{"c"}, []string{"b"}},
	}
	for _, tt := range tests {
		add, rm := plan(tt.want, have)
		if !slices.Equal(add, tt.add) || !slices.Equal(rm, tt.removeds) {
			t.Errorf("plan(%v) = %v, %v; want %v, %v", tt.want, add, rm, tt.add, tt.removeds)
		}
	}
}

func TestParseJWK(t *testing.T) {
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	strong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	e := enc(big.NewInt(65537).Bytes())
	tests := []struct {
		name string
		k    jwk
		ok   bool
	}{
		{"rs256", jwk{Kty: "RSA", Kid: "k", Use: "sig", Alg: "RS256", N: enc(strong.N.Bytes()), E: e}, true},
		{"no use or alg", jwk{Kty: "RSA", Kid: "k", N: enc(strong.N.Bytes()), E: e}, true},
		{"weak", jwk{Kty: "RSA", Kid: "k", N: enc(weak.N.Bytes()), E: e}, false},
		{"ec", jwk{Kty: "EC", Kid: "k", N: enc(strong.N.Bytes()), E: e}, false},
		{"encryption key", jwk{Kty: "RSA", Kid: "k", Use: "enc", N: enc(strong.N.Bytes()), E: e}, false},
		{"other alg", jwk{Kty: "RSA", Kid: "k", Alg: "RS512", N: enc(strong.N.Bytes()), E: e}, false},
		{"bad modulus", jwk{Kty: "RSA", Kid: "k", N: "!!", E: e}, false},
		{"no exponent", jwk{Kty: "RSA", Kid: "k", N: enc(strong.N.Bytes())}, false},
	}
	for _, tt := range tests {
		pub, err := parseJWK(tt.k)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
		if tt.ok && !pub.Equal(&strong.PublicKey) {
			t.Errorf("%s: key differs", tt.name)
		}
	}
}

// sink records signals.
type sink struct {
	mu    sync.Mutex
	calls []Changes
	err   func(n int) error // error for the n-th call (0-based); nil = success
}

func (s *sink) signal(_ context.Context, _ string, c Changes) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.calls)
	s.calls = append(s.calls, c)
	if s.err != nil {
		return s.err(n)
	}
	return nil
}

func (s *sink) snapshot() []Changes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func ids(prefix, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix + i)
	}
	return out
}

func TestCoalescerBurstBecomesFullBatches(t *testing.T) {
	s := &sink{}
	// The window never ends during the test: only full batches and close flush.
	c := newCoalescer(s.signal, time.Hour, 1000, 100_000, time.Second, zap.NewNop())
	all := ids(1_000_000, 10_000)
	for i := 0; i < len(all); i += 100 {
		if _, _, err := c.add("i1", SourceCRM, ModuleContacts, OpUpdate, all[i:i+100]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := s.snapshot()
	if len(calls) != 10 {
		t.Fatalf("10,000 ids became %d signals, want 10", len(calls))
	}
	var got []string
	for _, ch := range calls {
		if len(ch.IDs) != 1000 || ch.Source != SourceCRM || ch.Module != ModuleContacts || ch.Operation != OpUpdate {
			t.Fatalf("signal %+v (len %d)", ch.Source+"/"+ch.Module+"/"+ch.Operation, len(ch.IDs))
		}
		got = append(got, ch.IDs...)
	}
	if !slices.Equal(got, all) {
		t.Fatal("signalled ids differ from the ids added (order or content)")
	}
}

func TestCoalescerDeduplicatesAndSeparatesKeys(t *testing.T) {
	s := &sink{}
	c := newCoalescer(s.signal, time.Hour, 1000, 100_000, time.Second, zap.NewNop())
	c.add("i1", SourceDesk, ModuleContacts, OpUpdate, []string{"1", "2", "1"})
	c.add("i1", SourceDesk, ModuleContacts, OpUpdate, []string{"2", "3"})
	c.add("i1", SourceDesk, ModuleAccounts, OpUpdate, []string{"1"})
	c.add("i1", SourceCRM, ModuleContacts, OpDelete, []string{"1"})
	c.add("i2", SourceDesk, ModuleContacts, OpUpdate, []string{"1"})
	if err := c.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, ch := range s.snapshot() {
		k := ch.Source + "/" + ch.Module + "/" + ch.Operation
		got[k] = append(got[k], ch.IDs...)
	}
	want := map[string][]string{
		"desk/contacts/update": {"1", "2", "3", "1"}, // "1" once for i1 and once for i2
		"desk/accounts/update": {"1"},
		"crm/contacts/delete":  {"1"},
	}
	for k, w := range want {
		g := slices.Sorted(slices.Values(got[k]))
		if !slices.Equal(g, slices.Sorted(slices.Values(w))) {
			t.Errorf("%s: ids %v, want %v", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if st := c.stats.idsQueued.Load(); st != 6 {
		t.Errorf("queued %d, want 6", st)
	}
}

func TestCoalescerWindowFlushes(t *testing.T) {
	s := &sink{}
	c := newCoalescer(s.signal, 10*time.Millisecond, 1000, 100_000, time.Second, zap.NewNop())
	defer c.close(context.Background())
	c.add("i1", SourceCRM, ModuleAccounts, OpInsert, []string{"7"})
	deadline := time.Now().Add(10 * time.Second)
	for len(s.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the window never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The bucket ends once empty; a later id starts a new one.
	for {
		c.mu.Lock()
		n := len(c.buckets)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("empty bucket never ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.add("i1", SourceCRM, ModuleAccounts, OpInsert, []string{"8"})
	for len(s.snapshot()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second window never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	calls := s.snapshot()
	if !slices.Equal(calls[0].IDs, []string{"7"}) || !slices.Equal(calls[1].IDs, []string{"8"}) {
		t.Fatalf("calls %+v", calls)
	}
}

func TestCoalescerSignalErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        func(n int) error
		wantCalls  int
		wantOK     int64
		wantNoSync int64
		wantErrs   int64
	}{
		{"transient then success", func(n int) error {
			if n == 0 {
				return errors.New("unavailable")
			}
			return nil
		}, 2, 1, 0, 0},
		{"not found drops", func(int) error { return serviceerror.NewNotFound("workflow not found") }, 1, 0, 3, 0},
		{"wrapped ErrNoSync drops", func(int) error { return fmt.Errorf("signal: %w", ErrNoSync) }, 1, 0, 3, 0},
		{"always failing gives up", func(int) error { return errors.New("down") }, 3, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{err: tt.err}
			c := newCoalescer(s.signal, time.Hour, 1000, 100_000, time.Second, zap.NewNop())
			c.retries, c.backoff = 2, time.Millisecond
			c.add("i1", SourceCRM, ModuleContacts, OpUpdate, []string{"1", "2", "3"})
			if err := c.close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(s.snapshot()); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if got := c.stats.signals.Load(); got != tt.wantOK {
				t.Errorf("signals = %d, want %d", got, tt.wantOK)
			}
			if got := c.stats.noSync.Load(); got != tt.wantNoSync {
				t.Errorf("noSync = %d, want %d", got, tt.wantNoSync)
			}
			if got := c.stats.signalErrors.Load(); got != tt.wantErrs {
				t.Errorf("signalErrors = %d, want %d", got, tt.wantErrs)
			}
		})
	}
}

func TestCoalescerLimitsAndClose(t *testing.T) {
	s := &sink{}
	c := newCoalescer(s.signal, time.Hour, 1000, 5, time.Second, zap.NewNop())
	q, d, err := c.add("i1", SourceCRM, ModuleContacts, OpUpdate, ids(1, 8))
	if err != nil || q != 5 || d != 3 {
		t.Fatalf("add = %d queued, %d dropped, %v; want 5, 3", q, d, err)
	}
	if err := c.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := s.snapshot(); len(calls) != 1 || len(calls[0].IDs) != 5 {
		t.Fatalf("close flushed %+v, want one signal of 5 ids", calls)
	}
	if _, _, err := c.add("i1", SourceCRM, ModuleContacts, OpUpdate, []string{"9"}); !errors.Is(err, errClosed) {
		t.Fatalf("add after close: %v, want errClosed", err)
	}
}

func TestCoalescerCloseGivesUpWithContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := newCoalescer(func(ctx context.Context, _ string, _ Changes) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-block:
			return nil
		}
	}, time.Hour, 1000, 100, time.Hour, zap.NewNop())
	c.add("i1", SourceCRM, ModuleContacts, OpUpdate, []string{"1"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("close = %v, want context.Canceled", err)
	}
}
