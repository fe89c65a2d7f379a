package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"deskcrm/zoho"
)

// retryAfter429 calls fn until it does not answer 429 Too Many Requests: between calls it
// waits as long as the answer asks (2 s when it does not say, at most a minute), heartbeating
// progress meanwhile. This is the one place the activities wait for a rate limit. Exhausted
// daily credits are not waited for here: they are returned, and pause the sync (apiError).
func retryAfter429[T any](ctx context.Context, progress any, fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if err == nil || !waitForRateLimit(ctx, err, progress) {
			return v, err
		}
	}
}

// waitForRateLimit sleeps as a 429 asks, heartbeating, and reports whether it did.
func waitForRateLimit(ctx context.Context, err error, progress any) bool {
	wait, ok := zoho.RetryAfter(err)
	if !ok || zoho.FailureCode(err) == "CREDITS_EXHAUSTED" {
		return false
	}
	if wait <= 0 || wait > time.Minute {
		wait = 2 * time.Second
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		heartbeat(ctx, progress)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
	}
	return true
}

// heartbeat records progress when running inside an activity (tests may call directly).
func heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}

// lastHeartbeat returns the details of the previous attempt's last heartbeat, if any.
func lastHeartbeat(ctx context.Context, into any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, into) == nil
}
