package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash/fnv"
	"strings"
)

// ChannelToken is the token of an integration's CRM watch channel: an HMAC of the integration
// id under secret, 43 URL-safe characters (CRM allows 50). CRM echoes it in every callback;
// a token of one integration does not open another's endpoint, and the secret itself never
// leaves the worker.
func ChannelToken(secret, integrationID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("deskcrm crm channel\x00" + integrationID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenEqual compares a presented token with the expected one in constant time.
func tokenEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Range of channel ids: 16-digit numbers below 2^53, so that they survive any JSON parser.
const (
	channelIDBase  = 1_000_000_000_000_000
	channelIDRange = 8_000_000_000_000_000
)

// ChannelID is the CRM watch channel id of an integration: stable (every worker computes the
// same one), a number as CRM requires, and distinct per integration id in practice.
func ChannelID(integrationID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("deskcrm:" + integrationID))
	return channelIDBase + int64(h.Sum64()%channelIDRange)
}

// CRMPath is the receiver's CRM callback path for an integration.
func CRMPath(integrationID string) string { return "/webhooks/crm/" + integrationID }

// DeskPath is the receiver's Desk webhook path for an integration.
func DeskPath(integrationID string) string { return "/webhooks/desk/" + integrationID }

// joinURL appends path to a base URL without doubling the slash.
func joinURL(base, path string) string { return strings.TrimRight(base, "/") + path }
