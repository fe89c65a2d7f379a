package zoho

import (
	"context"
	"sync/atomic"
	"time"
)

// Meter counts the calls and credits of one unit of work (an activity attempt), per API,
// apart from whatever else the same clients do meanwhile: a process-wide counter would also
// count other activities running on the worker at the same time.
type Meter struct {
	calls, used, nanos [2]atomic.Int64 // index: 0 crm, 1 desk
}

type meterKey struct{}

// WithMeter returns a context whose calls, through any client, are also counted on m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterOf(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

func apiIndex(api string) int {
	if api == "desk" {
		return 1
	}
	return 0
}

// add records one call of api ("crm" or "desk"), its cost and how long it took.
func (m *Meter) add(api string, cost int, took time.Duration) {
	if m == nil {
		return
	}
	i := apiIndex(api)
	m.calls[i].Add(1)
	m.used[i].Add(int64(cost))
	m.nanos[i].Add(int64(took))
}

// Latency returns the mean time of the calls counted for api, 0 when none.
func (m *Meter) Latency(api string) time.Duration {
	i := apiIndex(api)
	n := m.calls[i].Load()
	if n == 0 {
		return 0
	}
	return time.Duration(m.nanos[i].Load() / n)
}

// Used returns the credits counted for api ("crm" or "desk").
func (m *Meter) Used(api string) int64 { return m.used[apiIndex(api)].Load() }

// Calls returns the calls counted for api ("crm" or "desk").
func (m *Meter) Calls(api string) int64 { return m.calls[apiIndex(api)].Load() }
