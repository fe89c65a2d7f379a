package activities

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// pipe runs calls to one API with at most its concurrency limit in flight (the API's pipe),
// and cancels the calls still running when one fails.
type pipe struct{ g *errgroup.Group }

// newPipe returns a pipe of limit calls in flight (at least one) and the context its calls
// run in.
func newPipe(ctx context.Context, limit int) (*pipe, context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, limit))
	return &pipe{g}, gctx
}

// crmPipe and deskPipe are the pipes of each API, as wide as its client allows.
func (a *Activities) crmPipe(ctx context.Context) (*pipe, context.Context) {
	return newPipe(ctx, a.CRM.Limiter().Max())
}

func (a *Activities) deskPipe(ctx context.Context) (*pipe, context.Context) {
	return newPipe(ctx, a.Desk.Limiter().Max())
}

// Go runs fn once a place in the pipe is free.
func (p *pipe) Go(fn func() error) { p.g.Go(fn) }

// Wait waits for every call and returns the first error.
func (p *pipe) Wait() error { return p.g.Wait() }

// sideBySide runs the two APIs' work at once (neither waits for the other) and returns the
// first error, which cancels the other's.
func sideBySide(ctx context.Context, crmWork, deskWork func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return crmWork(gctx) })
	g.Go(func() error { return deskWork(gctx) })
	return g.Wait()
}

// softErrors collects the transient errors of creates that let the other calls go on: a lost
// answer or a 5xx of one create neither cancels the creates in flight (an aborted request can
// still land after the attempt gave up on it, and be created twice) nor stops the ones after
// it, until limit errors have come. The step then fails with the first error once every call
// has ended, and its retry settles the uncertain records (recoverCreates).
type softErrors struct {
	mu    sync.Mutex
	first error
	n     int
	limit int
}

// softErrorLimit is how many transient errors a create step lets past before it stops
// sending (the calls in flight still end): beyond it the API is more likely down than flaky.
const softErrorLimit = 20

// add records a transient error.
func (s *softErrors) add(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = err
	}
	s.n++
}

// exhausted reports whether no more calls should be sent.
func (s *softErrors) exhausted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n >= max(1, s.limit)
}

// err is the first error recorded (nil: none).
func (s *softErrors) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}
