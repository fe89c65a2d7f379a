package config

import (
	"strings"
	"testing"
)

// A DATABASE_URL the driver would refuse is a configuration problem in the one list, saying
// what is wrong and never quoting the URL (its password above all).
func TestDatabaseURLProblems(t *testing.T) {
	const pw = "s3cretPassw0rd"
	for _, tc := range []struct{ url, want string }{
		{"postgres://nohost:99999/x", "DATABASE_URL: the host's port is out of range (ports are 1 to 65535)"},
		{"postgres://u:" + pw + "@db:0/x", "DATABASE_URL: the host's port is out of range"},
		{"postgres://u:" + pw + "@db:54x2/x", "DATABASE_URL: the host's port is not a number"},
		{"postgres://u:" + pw + "/x", "DATABASE_URL: the host's port is not a number"}, // no @: the password is read as the port
		{"postgres://u:" + pw + "@db1:5432,db2:70000/x", "DATABASE_URL: host 2's port is out of range"},
		{"postgres://u:" + pw + "@db/x?port=99999", "DATABASE_URL: the port parameter is out of range"},
		{"postgres://u:" + pw + "@other@db/x", "DATABASE_URL: it has a second @"},
		{"postgres://u:" + pw + "%zz@db/x", "DATABASE_URL: the password has a space or a bad %-escape"},
		{"postgres://u:" + pw + " x@db/x", "DATABASE_URL: the password has a space or a bad %-escape"},
		{"postgres://u%zz:" + pw + "@db/x", "DATABASE_URL: the user name has a space or a bad %-escape"},
		{"postgres://u:" + pw + "@[::1/x", "DATABASE_URL: the host opens an IPv6 address with ["},
		{"postgres://u:" + pw + "@db/x?sslmode=on", "DATABASE_URL: sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full"},
		{"postgres://u:" + pw + "@db/x?sslmode", "DATABASE_URL: a query parameter has no ="},
		{"postgres://u:" + pw + "@/x", "DATABASE_URL: it names no host"},
		{"mysql://u:" + pw + "@db/x", "DATABASE_URL: it does not start with postgres:// or postgresql://"},
		{"u:" + pw + "@db/x", "DATABASE_URL: it does not start with postgres://"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			env := []string{"DATABASE_URL=" + tc.url}
			wantOneProblem(t, env, true, tc.want, "it must be a URL such as postgres://user:pass@host:5432/db")
			for _, p := range problems(t, env, false) {
				if strings.Contains(p, pw) || strings.Contains(p, "nohost") {
					t.Errorf("the problem quotes the URL:\n%s", p)
				}
			}
		})
	}
	for _, url := range []string{
		"postgres://deskcrm@127.0.0.1:5433/deskcrm?sslmode=disable",
		"postgresql://u:p%40ss@[::1]:5432,db2:5433/deskcrm?sslmode=verify-full&connect_timeout=5",
		"postgres://db:/deskcrm",                      // an empty port is the default
		"postgres://u:p#x?@db/deskcrm",                // libpq: the password runs to the first @
		"postgres://u:pw@db/deskcrm?sslmode=require&", // a final & is allowed
	} {
		if p := problems(t, []string{"DATABASE_URL=" + url}, true); p != nil {
			t.Errorf("%s refused: %q", url, p)
		}
	}
}
