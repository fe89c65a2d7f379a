package desk

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// member is one member of a JSON object: its name and its value as raw JSON.
type member struct {
	key []byte
	raw []byte
}

// maxFastMembers is the most members appendMembers reads itself; larger objects are left to
// encoding/json, as its check for repeated keys is quadratic.
const maxFastMembers = 64

// appendMembers appends the members of the JSON object b to dst as encoding/json would
// decode b into a map[string]json.RawMessage: a key given twice keeps its last value (in
// the place of its first). It reads b in place, without that map or the decoder (which
// were about a tenth of the bytes BenchmarkSyncTraffic100k allocated per call); the members
// alias b. ok is false, and dst comes back as it was, when b is not one valid JSON object
// (white space around it aside), has a key that is not plain text (an escape or invalid
// UTF-8, which encoding/json rewrites), or has more than maxFastMembers members: the
// caller then decodes b with encoding/json, which gives the same members or the error.
func appendMembers(dst []member, b []byte) ([]member, bool) {
	if !json.Valid(b) {
		return dst, false
	}
	// b is valid JSON: what follows only finds the boundaries.
	start := len(dst)
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return dst, false
	}
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return dst, true
	}
	for {
		j := i + 1
		for b[j] != '"' {
			if b[j] == '\\' {
				return dst[:start], false
			}
			j++
		}
		key := b[i+1 : j]
		if !utf8.Valid(key) {
			return dst[:start], false
		}
		i = skipSpace(b, skipSpace(b, j+1)+1) // past the colon
		end := valueEnd(b, i)
		raw := b[i:end]
		dup := false
		for k := start; k < len(dst); k++ {
			if bytes.Equal(dst[k].key, key) {
				dst[k].raw, dup = raw, true
				break
			}
		}
		if !dup {
			if len(dst)-start == maxFastMembers {
				return dst[:start], false
			}
			dst = append(dst, member{key: key, raw: raw})
		}
		i = skipSpace(b, end)
		if b[i] == '}' {
			return dst, true
		}
		i = skipSpace(b, i+1) // past the comma, at the next key
	}
}

// membersOf returns the members of the JSON object b, or the error of decoding b into a map.
func membersOf(dst []member, b []byte) ([]member, error) {
	if out, ok := appendMembers(dst, b); ok {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return dst, err
	}
	for k, v := range m {
		dst = append(dst, member{key: []byte(k), raw: v})
	}
	return dst, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the valid JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// stringEnd returns the end of the JSON string literal that starts at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}
