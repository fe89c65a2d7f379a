package activities

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// KeepAlive is a worker interceptor that heartbeats every running activity at a third of its
// heartbeat timeout, repeating the details of its latest heartbeat. An activity heartbeats
// with its progress when it makes some; between two — a long Postgres statement, a Bulk Read
// job running, a search the server is slow to answer — KeepAlive tells Temporal the worker
// is alive, so heartbeat timeouts can be seconds (a killed worker's work moves to another in
// seconds) without timing out slow but healthy work. Until the activity heartbeats itself it
// repeats the previous attempt's details (progress is never overwritten by an empty
// heartbeat); when those cannot be read back it waits for the activity's own.
//
// Install it on every worker that runs these activities: worker.Options{Interceptors:
// activities.WorkerInterceptors()}.
type KeepAlive struct {
	interceptor.WorkerInterceptorBase
}

// WorkerInterceptors are the interceptors every worker running these activities installs
// (worker.Options.Interceptors): KeepAlive.
func WorkerInterceptors() []interceptor.WorkerInterceptor {
	return []interceptor.WorkerInterceptor{&KeepAlive{}}
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*KeepAlive) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &keepAliveInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type keepAliveInbound struct {
	interceptor.ActivityInboundInterceptorBase
	outbound interceptor.ActivityOutboundInterceptor
}

// latestKey holds the *latestHeartbeat of an activity execution in its context.
type latestKey struct{}

// latestHeartbeat is the details of an execution's latest heartbeat.
type latestHeartbeat struct {
	mu      sync.Mutex
	details []any
	known   bool // details can be repeated
}

func (l *latestHeartbeat) set(details []any) {
	l.mu.Lock()
	l.details, l.known = details, true
	l.mu.Unlock()
}

func (l *latestHeartbeat) get() ([]any, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.details, l.known
}

func (k *keepAliveInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	k.outbound = outbound
	return k.Next.Init(&keepAliveOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

func (k *keepAliveInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	if timeout <= 0 {
		return k.Next.ExecuteActivity(ctx, in)
	}
	latest := &latestHeartbeat{}
	if !k.outbound.HasHeartbeatDetails(ctx) {
		latest.set(nil) // nothing to lose: empty heartbeats are fine
	} else {
		var prev json.RawMessage
		if k.outbound.GetHeartbeatDetails(ctx, &prev) == nil {
			latest.set([]any{prev})
		}
	}
	ctx = context.WithValue(ctx, latestKey{}, latest)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(timeout / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if details, ok := latest.get(); ok {
					k.outbound.RecordHeartbeat(ctx, details...)
				}
			}
		}
	})
	defer func() { close(done); wg.Wait() }()
	return k.Next.ExecuteActivity(ctx, in)
}

type keepAliveOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

// RecordHeartbeat remembers the activity's details for KeepAlive to repeat.
func (o *keepAliveOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	if l, ok := ctx.Value(latestKey{}).(*latestHeartbeat); ok {
		l.set(details)
	}
	o.Next.RecordHeartbeat(ctx, details...)
}
