package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sslModes are the sslmode values a Postgres URL may give (libpq's, which pgx follows).
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// checkPostgresURL accepts URLs only (postgres:// or postgresql://), read as store.Open's
// driver reads them (pgx, which follows libpq's URI rules: several hosts, the user name and
// password up to the first @), and says what is wrong without quoting any part of the URL: in a
// malformed one the password can sit where a host or a port belongs.
func checkPostgresURL(name, v string) []string {
	why := postgresURLProblem(v)
	if why == "" {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s; it must be a URL such as postgres://user:pass@host:5432/db", name, why)}
}

// postgresURLProblem says what is wrong with a Postgres URL ("" when nothing is), in words
// that quote none of it.
func postgresURLProblem(v string) string {
	if strings.IndexByte(v, 0) >= 0 {
		return "it contains a NUL byte"
	}
	rest, ok := strings.CutPrefix(v, "postgresql://")
	if !ok {
		rest, ok = strings.CutPrefix(v, "postgres://")
	}
	if !ok {
		return "it does not start with postgres:// or postgresql://"
	}
	const encode = "percent-encode it (% as %25, space as %20, @ as %40, / as %2F)"
	// Like libpq, only a '/' ends the search for the @ that closes the user name and password.
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, password, _ := strings.Cut(rest[:i], ":")
		if !uriEncoded(user) {
			return "the user name has a space or a bad %-escape in it: " + encode
		}
		if !uriEncoded(password) {
			return "the password has a space or a bad %-escape in it: " + encode
		}
		rest = rest[i+1:]
	}
	netloc, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		netloc, tail = rest[:i], rest[i:]
	}
	if netloc == "" {
		return "it names no host"
	}
	for n, hostPort := range strings.Split(netloc, ",") {
		which := "the host"
		if strings.Contains(netloc, ",") {
			which = fmt.Sprintf("host %d", n+1)
		}
		host, port, _ := strings.Cut(hostPort, ":")
		if strings.HasPrefix(hostPort, "[") {
			end := strings.IndexByte(hostPort, ']')
			if end < 0 {
				return which + " opens an IPv6 address with [ but does not close it with ]"
			}
			after := hostPort[end+1:]
			if after != "" && after[0] != ':' {
				return which + " has something other than :port after its IPv6 address"
			}
			host, port = hostPort[1:end], strings.TrimPrefix(after, ":")
		}
		switch {
		case strings.Contains(host, "@"):
			return "it has a second @: in a user name or password, " + encode
		case !uriEncoded(host):
			return which + " has a space or a bad %-escape in it"
		case port != "" && portProblem(port) != "": // an empty port is the default, 5432
			return which + "'s port " + portProblem(port)
		}
	}
	dbname, query, _ := strings.Cut(strings.TrimPrefix(tail, "/"), "?")
	if !uriEncoded(dbname) {
		return "the database name has a space or a bad %-escape in it"
	}
	// Like libpq: name=value pairs joined by &, a final & allowed.
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, found := strings.Cut(pair, "=")
		switch {
		case !found:
			return "a query parameter has no =: write name=value"
		case strings.Contains(value, "="):
			return "a query parameter has two =: percent-encode the second as %3D"
		case !uriEncoded(key) || !uriEncoded(value):
			return "a query parameter has a space or a bad %-escape in it"
		case key == "sslmode" && !slices.Contains(sslModes, value):
			return "sslmode is not one of " + strings.Join(sslModes, ", ")
		case key == "port" && portProblem(value) != "":
			return "the port parameter " + portProblem(value)
		}
	}
	return ""
}

// uriEncoded reports whether libpq's percent-decoding accepts s: every % followed by two hex
// digits (and not %00), spaces only at either end.
func uriEncoded(s string) bool {
	s = strings.Trim(s, " ")
	if strings.Contains(s, " ") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) || s[i+1:i+3] == "00" {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// portProblem says what is wrong with a TCP port ("" when nothing is), quoting none of it.
func portProblem(port string) string {
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return "is not a number (ports are 1 to 65535)"
	}
	if n, err := strconv.ParseUint(port, 10, 64); err != nil || n < 1 || n > 65535 {
		return "is out of range (ports are 1 to 65535)"
	}
	return ""
}
