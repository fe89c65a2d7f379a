package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// ChannelToken is the token of an integration's CRM watch channel that expires at expiry:
// "<expiry, unix seconds in base 36>.<HMAC-SHA256 of integration and expiry under secret,
// first 24 bytes, base64url>", at most 40 characters (CRM allows 50). CRM echoes it in every
// callback. It opens only its integration's endpoint and only until its expiry (the
// subscriber renews channels with a new expiry, hence a new token), so a captured callback
// cannot be replayed after the channel it came from has lapsed; the secret never leaves the
// worker.
func ChannelToken(secret, integrationID string, expiry time.Time) string {
	exp := strconv.FormatInt(expiry.Unix(), 36)
	return exp + "." + base64.RawURLEncoding.EncodeToString(channelMAC(secret, integrationID, exp))
}

func channelMAC(secret, integrationID, exp string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("deskcrm crm channel v2\x00" + integrationID + "\x00" + exp))
	return m.Sum(nil)[:24]
}

// checkChannelToken says why token is not a current channel token of an integration: wrong
// (another integration's, another secret's, altered), expired, or with an expiry further
// than a channel can live (maxTTL). "" when it is good.
func checkChannelToken(secret, integrationID, token string, now time.Time, leeway, maxTTL time.Duration) string {
	exp, mac, ok := strings.Cut(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err != nil || len(exp) > 13 || !tokenEqual(got, channelMAC(secret, integrationID, exp)) {
		return "channel token missing or wrong"
	}
	n, err := strconv.ParseInt(exp, 36, 64)
	if err != nil {
		return "channel token missing or wrong"
	}
	expiry := time.Unix(n, 0)
	if now.After(expiry.Add(leeway)) {
		return "channel token expired with its channel: a replayed callback"
	}
	if expiry.Sub(now) > maxTTL+leeway {
		return "channel token outlives any channel"
	}
	return ""
}

// tokenEqual compares a presented MAC with the expected one in constant time.
func tokenEqual(got, want []byte) bool {
	return subtle.ConstantTimeCompare(got, want) == 1
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
