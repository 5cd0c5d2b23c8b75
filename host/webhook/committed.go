package webhook

import "sync"

// commitSignal tells any number of waiters that events were committed:
// each waiter holds the channel current when it looked, and broadcast
// closes it and starts a new one. Waiters cost no buffer and a slow one
// misses nothing: it reads the store after waking.
type commitSignal struct {
	mu sync.Mutex    // guards ch
	ch chan struct{} // closed by the next broadcast; nil until first asked for
}

func (c *commitSignal) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *commitSignal) broadcast() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// Committed returns a channel closed at the next Nudge, that is after the
// next unit of work that enqueued events commits (on this host). Event
// stream readers wait on it, then read the store from their position.
func (d *Dispatcher) Committed() <-chan struct{} { return d.commits.wait() }
