package crm_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	crmemu "deskcrm/emulator/crm"
	"deskcrm/emulator/zohoauth"
	"deskcrm/zoho"
	"deskcrm/zoho/crm"
)

// BenchmarkList100k pages 100,000 CRM contacts through List (page numbers for
// the first 2,000, then page_token) against the emulator with no added
// latency and no spec validation in the path. It reports records/s, calls per
// scan and, via -benchmem, allocations per full scan.
func BenchmarkList100k(b *testing.B) {
	const n = 100000
	emu := crmemu.New(crmemu.Config{SearchLag: crmemu.NoSearchLag}) // benchmarks search loaded records only; no lag to model
	srv := httptest.NewServer(emu)
	defer srv.Close()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for off := 0; off < n; off += 10000 {
		recs := make([]map[string]any, 10000)
		for i := range recs {
			k := off + i
			ts := base.Add(time.Duration(k) * time.Second)
			recs[i] = map[string]any{"Last_Name": fmt.Sprintf("L%06d", k), "First_Name": "F", "Email": fmt.Sprintf("c%06d@example.test", k),
				"Phone": "+1 555 0100", "Created_Time": ts, "Modified_Time": ts}
		}
		if _, err := emu.Load("Contacts", recs); err != nil {
			b.Fatal(err)
		}
	}
	ts, err := zoho.NewTokenSource(zoho.OAuthConfig{ClientID: zohoauth.DefaultClientID, ClientSecret: zohoauth.DefaultClientSecret,
		RefreshToken: zohoauth.DefaultRefreshToken, AccountsURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	c, err := crm.New(crm.Config{BaseURL: srv.URL, Tokens: ts, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	opts := crm.ListOptions{Fields: []string{"Last_Name", "First_Name", "Email", "Phone", "Account_Name"}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	total := 0
	for b.Loop() {
		got := 0
		if err := c.List(ctx, "Contacts", opts, func(p crm.Page) error {
			got += len(p.Records)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("listed %d records, want %d", got, n)
		}
		total += got
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(c.Credits().Calls)/float64(total/n), "calls/scan")
}
