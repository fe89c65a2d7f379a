package webhooks

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"
)

// SignalFunc delivers a batch of changes to the sync workflow of an integration. The worker
// passes a function that signals "changes" to workflow "deskcrm-sync-"+integrationID. It
// returns a *serviceerror.NotFound (or an error wrapping ErrNoSync) when no sync is running.
type SignalFunc func(ctx context.Context, integrationID string, payload Changes) error

// ErrNoSync tells the coalescer that the integration has no running sync, so its changes
// are dropped rather than retried. Temporal's *serviceerror.NotFound means the same.
var ErrNoSync = errors.New("no sync workflow is running")

// isNoSync reports whether a Signal error means there is no workflow to signal.
func isNoSync(err error) bool {
	var nf *serviceerror.NotFound
	return errors.Is(err, ErrNoSync) || errors.As(err, &nf)
}

// batchKey groups ids that go into one signal.
type batchKey struct{ source, module, op string }

// idSet is an insertion-ordered set of record ids.
type idSet struct {
	ids  []string
	seen map[string]struct{}
}

// bucket holds one integration's pending ids; a goroutine flushes it and ends when it is
// empty.
type bucket struct {
	id   string
	sets map[batchKey]*idSet
	n    int           // pending ids in sets
	wake chan struct{} // capacity 1: ids were added, or the coalescer is closing
}

// coalescerStats are running totals.
type coalescerStats struct {
	idsQueued, idsDropped, signals, signalIDs, signalErrors, noSync atomic.Int64
}

// coalescer batches changes per integration and signals them: a bucket's ids go out when
// FlushInterval has passed since its first id, and full MaxBatch chunks go out at once.
type coalescer struct {
	signal     SignalFunc
	interval   time.Duration
	maxBatch   int
	maxPending int
	timeout    time.Duration
	retries    int
	backoff    time.Duration
	log        *zap.Logger

	base   context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	mu      sync.Mutex
	buckets map[string]*bucket
	closed  bool
	wg      sync.WaitGroup
	stats   coalescerStats
}

func newCoalescer(signal SignalFunc, interval time.Duration, maxBatch, maxPending int, timeout time.Duration, log *zap.Logger) *coalescer {
	ctx, cancel := context.WithCancel(context.Background())
	return &coalescer{signal: signal, interval: interval, maxBatch: maxBatch, maxPending: maxPending,
		timeout: timeout, retries: 3, backoff: 200 * time.Millisecond, log: log,
		base: ctx, cancel: cancel, buckets: map[string]*bucket{}}
}

// errClosed is returned by add after close.
var errClosed = errors.New("webhook receiver is shutting down")

// add queues ids of one source, module and operation for an integration. Ids already
// pending are not queued twice; ids beyond MaxPending are dropped (the poll catches them).
// It never blocks on signalling.
func (c *coalescer) add(integrationID, source, module, op string, ids []string) (queued, dropped int, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, len(ids), errClosed
	}
	b := c.buckets[integrationID]
	if b == nil {
		b = &bucket{id: integrationID, sets: map[batchKey]*idSet{}, wake: make(chan struct{}, 1)}
		c.buckets[integrationID] = b
		c.wg.Add(1)
		go c.run(b)
	}
	k := batchKey{source, module, op}
	set := b.sets[k]
	if set == nil {
		set = &idSet{seen: map[string]struct{}{}}
		b.sets[k] = set
	}
	for _, id := range ids {
		if _, dup := set.seen[id]; dup {
			continue
		}
		if b.n >= c.maxPending {
			dropped++
			continue
		}
		set.seen[id] = struct{}{}
		set.ids = append(set.ids, id)
		b.n++
		queued++
	}
	c.mu.Unlock()
	c.stats.idsQueued.Add(int64(queued))
	c.stats.idsDropped.Add(int64(dropped))
	if dropped > 0 {
		c.log.Warn("webhook changes dropped: too many pending; the poll will pick them up",
			zap.String("integration", integrationID), zap.Int("dropped", dropped))
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return queued, dropped, nil
}

// run flushes a bucket until it is empty when its window ends (or the coalescer closes).
func (c *coalescer) run(b *bucket) {
	defer c.wg.Done()
	timer := time.NewTimer(c.interval)
	defer timer.Stop()
	for {
		all := false
		select {
		case <-b.wake:
			c.mu.Lock()
			all = c.closed
			c.mu.Unlock()
		case <-timer.C:
			all = true
		}
		batches := c.take(b, all)
		c.send(b.id, batches)
		if !all {
			continue
		}
		c.mu.Lock()
		if b.n == 0 {
			delete(c.buckets, b.id)
			c.mu.Unlock()
			return
		}
		closing := c.closed
		c.mu.Unlock()
		if closing {
			// Ids arrived while sending; take them on the next turn at once.
			select {
			case b.wake <- struct{}{}:
			default:
			}
			continue
		}
		timer.Reset(c.interval)
	}
}

// take removes ids from a bucket: everything when all is set, else only whole MaxBatch
// chunks. It returns the signal payloads in a stable order.
func (c *coalescer) take(b *bucket, all bool) []Changes {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]batchKey, 0, len(b.sets))
	for k := range b.sets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y batchKey) int {
		if x.source != y.source {
			return cmp.Compare(x.source, y.source)
		}
		if x.module != y.module {
			return cmp.Compare(x.module, y.module)
		}
		return cmp.Compare(x.op, y.op)
	})
	var out []Changes
	for _, k := range keys {
		set := b.sets[k]
		n := len(set.ids)
		if !all {
			n -= n % c.maxBatch
		}
		if n == 0 {
			continue
		}
		taken := set.ids[:n]
		for start := 0; start < len(taken); start += c.maxBatch {
			chunk := slices.Clone(taken[start:min(start+c.maxBatch, len(taken))])
			out = append(out, Changes{Source: k.source, Module: k.module, Operation: k.op, IDs: chunk})
		}
		for _, id := range taken {
			delete(set.seen, id)
		}
		b.n -= n
		if n == len(set.ids) {
			delete(b.sets, k)
		} else {
			set.ids = slices.Clone(set.ids[n:])
		}
	}
	return out
}

// send signals each batch, retrying transient errors a few times. A batch that cannot be
// signalled is dropped with a warning: the next poll of the workflow finds those changes.
func (c *coalescer) send(integrationID string, batches []Changes) {
	for i, ch := range batches {
		err := c.signalWithRetry(integrationID, ch)
		switch {
		case err == nil:
			c.stats.signals.Add(1)
			c.stats.signalIDs.Add(int64(len(ch.IDs)))
			c.log.Debug("changes signalled", zap.String("integration", integrationID), zap.String("source", ch.Source),
				zap.String("module", ch.Module), zap.String("operation", ch.Operation), zap.Strings("ids", ch.IDs))
		case isNoSync(err):
			rest := 0
			for _, r := range batches[i:] {
				rest += len(r.IDs)
			}
			c.stats.noSync.Add(int64(rest))
			c.log.Info("changes dropped: no sync is running for the integration",
				zap.String("integration", integrationID), zap.Int("ids", rest))
			return
		default:
			c.stats.signalErrors.Add(1)
			c.log.Warn("changes dropped: signal failed; the next poll will pick them up",
				zap.String("integration", integrationID), zap.String("source", ch.Source), zap.String("module", ch.Module),
				zap.Int("ids", len(ch.IDs)), zap.Error(err))
		}
	}
}

func (c *coalescer) signalWithRetry(integrationID string, ch Changes) error {
	backoff := c.backoff
	var err error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-c.base.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			backoff *= 2
		}
		ctx, cancel := context.WithTimeout(c.base, c.timeout)
		err = c.signal(ctx, integrationID, ch)
		cancel()
		if err == nil || isNoSync(err) || c.base.Err() != nil {
			return err
		}
	}
	return err
}

// close stops accepting ids, flushes what is pending and waits for the signals, giving up
// (cancelling the signals in flight) when ctx ends.
func (c *coalescer) close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, b := range c.buckets {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.cancel()
		<-done
		return ctx.Err()
	}
}
