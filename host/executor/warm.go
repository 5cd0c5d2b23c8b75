package executor

import (
	"context"
	"log/slog"
)

// warmPolicy readies the host's policy for the next decision, in the
// background and once at a time: the module wakes from hibernation and
// gets an idle instance. An idle host with no session lets its module
// hibernate, which keeps its memory low; a host with sessions to lose
// keeps it ready, so that neither the first disconnect after a start nor
// the first ones of a storm wait for the module to be compiled from the
// cache again and instantiated (tens of milliseconds, during which no
// decision is made).
func (e *Executor) warmPolicy() {
	if !e.warming.CompareAndSwap(false, true) {
		return
	}
	e.mu.Lock()
	started := e.spawnLocked(func(ctx context.Context) {
		defer e.warming.Store(false)
		if err := e.cfg.Decider.Warm(ctx); err != nil {
			// The first decision creates the instance itself, and says
			// why it could not if it cannot either.
			e.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "policy not warmed", slog.String("error", err.Error()))
		}
	})
	e.mu.Unlock()
	if !started {
		e.warming.Store(false)
	}
}
