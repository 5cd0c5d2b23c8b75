package storage

import "sync/atomic"

// OutboxWatcher tells who delivers the outbox that rows were committed,
// so that delivery starts at once instead of at the next poll.
type OutboxWatcher interface {
	// NotifyOutbox makes fn run after every commit, in this process, that
	// wrote outbox rows: a unit of work, a group of them, or an Enqueue
	// made alone. fn must not block; a later call replaces it.
	NotifyOutbox(fn func())
}

// OutboxHook holds the function an OutboxWatcher runs; stores embed it.
// The zero value runs nothing.
type OutboxHook struct {
	fn atomic.Pointer[func()]
}

// NotifyOutbox implements OutboxWatcher.
func (h *OutboxHook) NotifyOutbox(fn func()) { h.fn.Store(&fn) }

// Committed runs the function, if any: a store calls it after a commit
// that wrote outbox rows.
func (h *OutboxHook) Committed() {
	if h == nil {
		return
	}
	if fn := h.fn.Load(); fn != nil && *fn != nil {
		(*fn)()
	}
}

// Enqueued is what a store's writes do after an Enqueue: inside a unit of
// work they mark it (wrote, for the commit to report); alone they report
// it at once.
func (h *OutboxHook) Enqueued(wrote *bool) {
	if wrote != nil {
		*wrote = true
		return
	}
	h.Committed()
}
