package desk_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"deskcrm/zoho"
	"deskcrm/zoho/desk"
)

// gathered sums the values of one metric family across its series.
func gathered(t *testing.T, reg *prometheus.Registry, name string) (sum float64, series int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
	}
	return sum, series
}

func TestMetricsCountCallsAndCredits(t *testing.T) {
	m := zoho.NewMetrics()
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *desk.Config) { c.Metrics = m })
	if _, err := e.client.Create(context.Background(), desk.Contacts, contact(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Fields(context.Background(), desk.Contacts); err != nil {
		t.Fatal(err)
	}
	if sum, _ := gathered(t, reg, "zoho_api_credits_used_total"); sum != 2 {
		t.Fatalf("credits used = %v, want 2", sum)
	}
	if sum, series := gathered(t, reg, "zoho_api_calls_total"); sum != 2 || series != 2 {
		t.Fatalf("calls = %v in %d series, want 2 in 2 (create, fields)", sum, series)
	}
	if got := e.client.Credits(); got.Calls != 2 || got.Used != 2 {
		t.Fatalf("Credits() = %+v", got)
	}
}
