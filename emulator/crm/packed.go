package crm

import (
	"encoding/binary"
	"fmt"
	"math"
)

// packed holds a record's set field values in one string, ordered by field index: repeated
// [field uint16 LE][kind byte][payload], kind one of the snapshot's value kinds. Payloads:
// kindString a uvarint length and the bytes; kindInt, kindFloat and kindDateTime 8 bytes LE;
// kindBool one byte; kindLookup the id (8 bytes LE) and the module index (1 byte);
// kindStrings a uvarint count and each string as kindString's; kindUser 2 bytes LE.
//
// One string per record, instead of a slice with a boxed value and its bytes per field, is
// what lets the emulator hold a million records per module with a garbage collector that
// marks a few objects per record, not dozens: at that size the marking of small objects took
// more processor time than serving the API.
type packed string

// entryLen returns the length of the entry at the start of p (0 when malformed).
func entryLen(p string) int {
	if len(p) < 3 {
		return 0
	}
	n := 3
	switch p[2] {
	case kindString:
		l, k := uvarint(p[n:min(len(p), n+binary.MaxVarintLen64)])
		if k <= 0 {
			return 0
		}
		n += k + int(l)
	case kindInt, kindFloat, kindDateTime:
		n += 8
	case kindBool:
		n++
	case kindLookup:
		n += 9
	case kindStrings:
		c, k := uvarint(p[n:min(len(p), n+binary.MaxVarintLen64)])
		if k <= 0 {
			return 0
		}
		n += k
		for range c {
			l, k := uvarint(p[n:min(len(p), n+binary.MaxVarintLen64)])
			if k <= 0 {
				return 0
			}
			n += k + int(l)
		}
	case kindUser:
		n += 2
	default:
		return 0
	}
	if n > len(p) {
		return 0
	}
	return n
}

// each calls fn with every field index and its entry, in field order, until fn returns false.
func (p packed) each(fn func(k uint16, entry string) bool) {
	s := string(p)
	for len(s) > 0 {
		n := entryLen(s)
		if n == 0 {
			return
		}
		if !fn(le16(s), s[:n]) {
			return
		}
		s = s[n:]
	}
}

// entry returns field k's entry.
func (p packed) entry(k int) (string, bool) {
	s := string(p)
	for len(s) > 0 {
		n := entryLen(s)
		if n == 0 {
			break
		}
		if f := int(le16(s)); f >= k {
			return s[:n], f == k
		}
		s = s[n:]
	}
	return "", false
}

// entryText returns the text of a string entry (false for other kinds).
func entryText(e string) (string, bool) {
	if e[2] != kindString {
		return "", false
	}
	b := e[3:]
	_, k := uvarint(b)
	return b[k:], true
}

// decodeEntry returns an entry's value in the form the rest of the emulator uses.
func decodeEntry(e string) any {
	b := e[3:]
	switch e[2] {
	case kindString:
		_, k := uvarint(b[:min(len(b), binary.MaxVarintLen64)])
		return b[k:]
	case kindInt:
		return int64(le64(b))
	case kindFloat:
		return math.Float64frombits(le64(b))
	case kindDateTime:
		return dateTime(le64(b))
	case kindBool:
		return b[0] == 1
	case kindLookup:
		return lookupRef{id: le64(b), mod: b[8]}
	case kindStrings:
		c, k := uvarint(b[:min(len(b), binary.MaxVarintLen64)])
		b = b[k:]
		out := make([]string, 0, c)
		for range c {
			l, k := uvarint(b[:min(len(b), binary.MaxVarintLen64)])
			out = append(out, b[k:k+int(l)])
			b = b[k+int(l):]
		}
		return out
	case kindUser:
		return le16(b)
	}
	return nil
}

// appendEntry appends field k's value v as an entry. v must be one of the emulator's value
// types (string, int64, float64, bool, dateTime, lookupRef, []string, uint16).
func appendEntry(b []byte, k uint16, v any) []byte {
	b = binary.LittleEndian.AppendUint16(b, k)
	switch x := v.(type) {
	case string:
		b = append(b, kindString)
		b = binary.AppendUvarint(b, uint64(len(x)))
		b = append(b, x...)
	case int64:
		b = append(b, kindInt)
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	case float64:
		b = append(b, kindFloat)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	case dateTime:
		b = append(b, kindDateTime)
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	case bool:
		b = append(b, kindBool, 0)
		if x {
			b[len(b)-1] = 1
		}
	case lookupRef:
		b = append(b, kindLookup)
		b = binary.LittleEndian.AppendUint64(b, x.id)
		b = append(b, x.mod)
	case []string:
		b = append(b, kindStrings)
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, s := range x {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	case uint16:
		b = append(b, kindUser)
		b = binary.LittleEndian.AppendUint16(b, x)
	default:
		panic(fmt.Sprintf("crm emulator: field %d: value of type %T cannot be stored", k, v))
	}
	return b
}

// uvarint decodes an unsigned varint at the start of s with binary.Uvarint: the value and the
// bytes read (≤ 0 when malformed).
func uvarint(s string) (uint64, int) {
	return binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)])) // at most 10 bytes copied, on the stack
}

func le16(s string) uint16 { return uint16(s[0]) | uint16(s[1])<<8 }

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
