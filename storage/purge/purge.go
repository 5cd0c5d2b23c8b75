// Package purge removes an instance's keys from the cache, and keeps a
// purge that failed (the cache was down) in the store until a retry
// succeeds, so a stale session key never outlives a restart or an outage.
//
// A caller either purges at once with Purger.Purge, which records the
// purge as pending when the cache cannot be reached, or records the intent
// in its unit of work with storage.Tx.AddPurge and calls Nudge after the
// commit. Either way the Purger's loop retries pending purges with backoff.
package purge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wahost/wahost/storage"
)

// Queue is where pending purges are kept; storage.Store implements it.
type Queue interface {
	AddPurge(ctx context.Context, instance string) error
	DuePurges(ctx context.Context, now time.Time, limit int) ([]storage.PendingPurge, error)
	PurgeDone(ctx context.Context, instance string, generation int64) error
	PurgeRetry(ctx context.Context, instance string, next time.Time, lastErr string) error
}

// Cache is what is purged; storage.Cache implements it.
type Cache interface {
	Purge(ctx context.Context, instance string) (int64, error)
}

// Config wires a Purger.
type Config struct {
	Queue Queue
	Cache Cache
	// Interval between runs of the retry loop; 0 means 5 seconds.
	Interval time.Duration
	// Batch is the most purges one run handles; 0 means 100.
	Batch int
	// Backoff returns the delay before retry number attempts+1; nil means
	// one second doubled per attempt, at most five minutes.
	Backoff func(attempts int) time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// AfterRun, when set, is called after each run of the loop with the
	// number of purges completed and the error that ended the run, if any.
	AfterRun func(done int, err error)
}

// Result reports one purge.
type Result struct {
	Removed int64 // keys removed
	Pending bool  // the cache failed; the purge was recorded for retry
	Cause   error // why the purge is pending
}

// Purger runs purges and retries pending ones. Its lifecycle follows
// Start/Stop: Start returns once the loop runs, Stop waits for it to end,
// is idempotent and safe before Start.
type Purger struct {
	mu     sync.Mutex // guards cancel, done
	cancel context.CancelFunc
	done   chan struct{}

	cfg  Config
	wake chan struct{}
}

// New returns a stopped Purger.
func New(cfg Config) *Purger {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Purger{cfg: cfg, wake: make(chan struct{}, 1)}
}

// DefaultBackoff waits one second before the first retry, doubling per
// attempt up to five minutes.
func DefaultBackoff(attempts int) time.Duration {
	if attempts > 8 {
		return 5 * time.Minute
	}
	return min(time.Second<<attempts, 5*time.Minute)
}

// Purge removes the instance's keys now. When the cache fails, the purge
// is recorded as pending and retried by the loop: Result.Pending is set
// and the error is nil, so the caller carries on. The error is non-nil
// only when the purge could neither run nor be recorded.
func (p *Purger) Purge(ctx context.Context, instance string) (Result, error) {
	n, err := p.cfg.Cache.Purge(ctx, instance)
	if err == nil {
		return Result{Removed: n}, nil
	}
	if errors.Is(err, storage.ErrInvalidName) {
		return Result{}, err
	}
	if qerr := p.cfg.Queue.AddPurge(ctx, instance); qerr != nil {
		return Result{Removed: n}, fmt.Errorf("purge %s: %w; recording it for retry: %w", instance, err, qerr)
	}
	p.cfg.Logger.Warn("cache purge pending", "instance", instance, "err", err)
	p.Nudge()
	return Result{Removed: n, Pending: true, Cause: err}, nil
}

// Nudge makes the loop run soon instead of at its next interval.
func (p *Purger) Nudge() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
