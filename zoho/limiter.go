package zoho

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// Default concurrency limits: the lowest paid editions (CRM Standard 10 with the
// complex-API sub-limit 10; Desk Express/Standard 10), so that the clients never
// cause their own 429s.
const (
	DefaultCRMConcurrency        = 10
	DefaultCRMComplexConcurrency = 10
	DefaultDeskConcurrency       = 10
)

// Limiter bounds the calls in flight to one API for one org. Zoho counts
// concurrency per org (CRM: per user and OAuth app), so every client that talks
// to the same org with the same credentials must share one Limiter. Calls that
// Zoho counts as "complex" (search, writes of more than 10 records, ...) also
// take a slot of the complex sub-limit.
type Limiter struct {
	max, complexMax int
	all             *semaphore.Weighted
	complex         *semaphore.Weighted
	inflight        atomic.Int64
}

// NewLimiter returns a Limiter allowing max calls at once, of which at most
// complexMax complex ones. complexMax <= 0 means no separate sub-limit.
func NewLimiter(max, complexMax int) *Limiter {
	if max <= 0 {
		max = 1
	}
	l := &Limiter{max: max, complexMax: complexMax, all: semaphore.NewWeighted(int64(max))}
	if complexMax > 0 {
		l.complex = semaphore.NewWeighted(int64(complexMax))
	}
	return l
}

// Acquire waits for a slot and returns the function that gives it back.
func (l *Limiter) Acquire(ctx context.Context, complex bool) (release func(), err error) {
	useComplex := complex && l.complex != nil
	if useComplex {
		if err := l.complex.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("wait for a complex-API slot: %w", err)
		}
	}
	if err := l.all.Acquire(ctx, 1); err != nil {
		if useComplex {
			l.complex.Release(1)
		}
		return nil, fmt.Errorf("wait for an API slot: %w", err)
	}
	l.inflight.Add(1)
	var done atomic.Bool
	return func() {
		if !done.CompareAndSwap(false, true) {
			return
		}
		l.inflight.Add(-1)
		l.all.Release(1)
		if useComplex {
			l.complex.Release(1)
		}
	}, nil
}

// InFlight reports how many calls hold a slot now.
func (l *Limiter) InFlight() int { return int(l.inflight.Load()) }

// Max reports the configured concurrency limit.
func (l *Limiter) Max() int { return l.max }
