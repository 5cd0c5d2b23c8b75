package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// Back-off of units of work retried while the store is unreachable.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 10 * time.Second
)

// unit is a unit of work waiting for the store: fn runs in one
// transaction; after runs once it committed.
type unit struct {
	what  string
	fn    func(ctx context.Context, tx storage.Tx) error
	after func()
}

// commit runs fn in a transaction for instance id, in a group with the
// units of work of other instances committing at the same time. When the store is
// unreachable, or earlier units of the instance still wait for it, the
// unit joins the instance's backlog, retried in order with bounded
// back-off until it commits, and deferred is true: the caller carries on
// with the decision, which is recorded when the store is back.
func (e *Executor) commit(ctx context.Context, id, what string, fn func(context.Context, storage.Tx) error, after func()) (deferred bool, err error) {
	u := unit{what: what, fn: fn, after: after}
	e.mu.Lock()
	if len(e.backlog[id]) > 0 {
		e.backlog[id] = append(e.backlog[id], u)
		e.cfg.Metrics.setBacklog(e.backlogLocked())
		e.mu.Unlock()
		return true, nil
	}
	e.mu.Unlock()
	err = e.group(ctx, id, fn)
	if err == nil {
		if after != nil {
			after()
		}
		return false, nil
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		return false, err
	}
	e.cfg.Metrics.storeError(what)
	e.cfg.Logger.WarnContext(ctx, "store unreachable; the change is kept and retried",
		"instance_id", id, "unit", what, "error", err)
	e.mu.Lock()
	defer e.mu.Unlock()
	first := len(e.backlog[id]) == 0
	e.backlog[id] = append(e.backlog[id], u)
	e.cfg.Metrics.setBacklog(e.backlogLocked())
	if first && !e.spawnLocked(func(ctx context.Context) { e.retry(ctx, id) }) {
		return true, fmt.Errorf("%s of %s: %w", what, id, ErrStopped)
	}
	return true, nil
}

// Backlog is the number of units of work waiting for the store.
func (e *Executor) Backlog() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.backlogLocked()
}

func (e *Executor) backlogLocked() int {
	n := 0
	for _, us := range e.backlog {
		n += len(us)
	}
	return n
}

// retry commits the backlog of instance id, oldest first, until it is
// empty or the executor stops.
func (e *Executor) retry(ctx context.Context, id string) {
	wait := retryFirst
	for {
		if wait > 0 {
			t := e.cfg.Clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		e.mu.Lock()
		us := e.backlog[id]
		e.mu.Unlock()
		if len(us) == 0 {
			return
		}
		u := us[0]
		err := e.cfg.Store.InTx(ctx, func(tx storage.Tx) error { return u.fn(ctx, tx) })
		switch {
		case errors.Is(err, storage.ErrUnavailable) || (err != nil && ctx.Err() != nil):
			e.cfg.Metrics.storeError(u.what)
			wait = max(retryFirst, min(2*wait, retryMax))
			continue
		case err != nil:
			e.cfg.Logger.ErrorContext(ctx, "a kept change failed when retried; dropped",
				"instance_id", id, "unit", u.what, "error", err)
		case u.after != nil:
			u.after()
		}
		wait = 0
		e.mu.Lock()
		e.backlog[id] = e.backlog[id][1:]
		empty := len(e.backlog[id]) == 0
		if empty {
			delete(e.backlog, id)
			if len(e.backlog) == 0 {
				select {
				case e.drained <- struct{}{}:
				default:
				}
			}
		}
		e.cfg.Metrics.setBacklog(e.backlogLocked())
		e.mu.Unlock()
		if empty {
			e.cfg.Logger.InfoContext(ctx, "kept changes recorded", "instance_id", id)
			return
		}
	}
}

// instance reads an instance for a decision. While the store is
// unreachable it returns the last state the executor read or wrote, so
// the decision is made now and recorded when the store is back; with no
// such state it retries the read with back-off until ctx ends.
func (e *Executor) instance(ctx context.Context, id string) (inst storage.Instance, stale bool, err error) {
	wait := retryFirst
	for {
		inst, err = e.cfg.Store.Instance(ctx, id)
		if err == nil {
			e.remember(inst)
			return inst, false, nil
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			return inst, false, err
		}
		e.cfg.Metrics.storeError("read")
		e.mu.Lock()
		known, ok := e.known[id]
		e.mu.Unlock()
		if ok {
			return known, true, nil
		}
		t := e.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return inst, false, fmt.Errorf("reading %s: %w", id, err)
		case <-t.C():
		}
		wait = min(2*wait, retryMax)
	}
}

// remember keeps inst as the instance's last known state.
func (e *Executor) remember(inst storage.Instance) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.known[inst.ID] = inst
}

// forget drops what the executor keeps about a removed instance.
func (e *Executor) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.known, id)
}
