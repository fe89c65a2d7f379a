package realism

import (
	"net/http"
	"strconv"
)

// CRMCreditHeaders sets Zoho CRM's X-API-CREDITS-REMAINING header, which CRM
// sends only once at least half of the allowance is used. Use it as
// Responses.CreditHeaders.
func CRMCreditHeaders(h http.Header, _ Call, c Credits) {
	if c.Limit <= 0 || c.Used*2 < c.Limit {
		return
	}
	h.Set("X-API-CREDITS-REMAINING", strconv.FormatInt(c.Remaining, 10))
}

// DeskCreditHeaders sets Zoho Desk's X-Rate-Limit-Request-Weight-v3 (the
// cost of this call) and X-Rate-Limit-Remaining-v3 (credits left) headers.
// Use it as Responses.CreditHeaders.
func DeskCreditHeaders(h http.Header, call Call, c Credits) {
	h.Set("X-Rate-Limit-Request-Weight-v3", strconv.Itoa(call.Cost))
	if c.Limit > 0 {
		h.Set("X-Rate-Limit-Remaining-v3", strconv.FormatInt(c.Remaining, 10))
	}
}
