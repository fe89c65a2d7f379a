package activities

import (
	"context"

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
