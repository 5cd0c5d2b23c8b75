package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/host/reconnect"
)

// ErrStopped is returned for work handed to an executor that stopped.
var ErrStopped = errors.New("executor: stopped")

// maxConcurrentReconnects bounds the reconnects being carried out at once;
// the scheduler's rate limit spreads them, this bounds their goroutines.
const maxConcurrentReconnects = 64

// reconnectTimeout bounds one reconnect's escalation step and connect.
const reconnectTimeout = 2 * time.Minute

// spawnLocked runs fn on a goroutine Stop waits for; false once stopped.
func (e *Executor) spawnLocked(fn func(ctx context.Context)) bool {
	if e.stopped {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn(e.ctx)
	}()
	return true
}

// Fire is the scheduler's callback: it queues a due reconnect and returns
// at once; at most maxConcurrentReconnects run at a time.
func (e *Executor) Fire(job reconnect.Job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return // the reconnect stays recorded and is due again at the next start
	}
	e.fired = append(e.fired, job)
	if e.runners < maxConcurrentReconnects && e.spawnLocked(e.runFired) {
		e.runners++
	}
}

// runFired carries out queued reconnects until the queue is empty.
func (e *Executor) runFired(ctx context.Context) {
	for {
		e.mu.Lock()
		if len(e.fired) == 0 || ctx.Err() != nil {
			e.runners--
			e.mu.Unlock()
			return
		}
		job := e.fired[0]
		e.fired = e.fired[1:]
		e.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, reconnectTimeout)
		e.RunReconnect(rctx, job)
		cancel()
	}
}

// Stop takes no new work, lets the units of work waiting for the store
// commit until ctx ends, then cancels what still runs and waits for it.
// It is idempotent and safe at any time.
func (e *Executor) Stop(ctx context.Context) error {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	for e.Backlog() > 0 {
		select {
		case <-e.drained:
		case <-ctx.Done():
			n := e.Backlog()
			e.cfg.Logger.Error("stopping with changes the store did not take; their instances resume at the next start",
				"units", n)
		}
		if ctx.Err() != nil {
			break
		}
	}
	e.cancel()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("executor: stop: %w", ctx.Err())
	}
}
