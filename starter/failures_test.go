package main

import (
	"strings"
	"testing"

	"deskcrm/store"
)

// The failures table says where a message the sync cut to 300 bytes is whole, and only when
// one was cut: a user read "…Shorten it in Desk: the record syncs again by…" and lost the
// second problem's instruction without knowing the console had it.
func TestFailuresSayWhereACutMessageIsWhole(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  string
		hint bool
	}{
		{"whole", "CRM Phone holds at most 30 characters", false},
		{"cut", "CRM Last_Name holds at most 80 characters; Shorten it in Desk: the record syncs again by…", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := printFailures(&b, []store.Failure{{ID: 7, Module: "contacts", Direction: "desk-to-crm", DeskID: "1", Code: "VALUE_TOO_LONG", Message: tt.msg}}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, tt.msg) {
				t.Errorf("table %q lacks the message", out)
			}
			if got := strings.Contains(out, "the console's Failures page shows them whole"); got != tt.hint {
				t.Errorf("hint shown %v, want %v:\n%s", got, tt.hint, out)
			}
		})
	}
}
