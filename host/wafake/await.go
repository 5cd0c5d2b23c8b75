package wafake

import (
	"context"
	"fmt"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// Await returns the first node received on this connection, from its
// start, that match accepts, waiting for one if none has arrived yet. It
// fails with ErrConnClosed once the connection ends without a match.
func (c *Conn) Await(ctx context.Context, match Matcher) (*waBinary.Node, error) {
	next := 0
	for {
		c.mu.Lock()
		next = max(next, c.base)
		batch := c.received[next-c.base:]
		changed := c.changed
		c.mu.Unlock()
		for _, n := range batch {
			next++
			if match(n) {
				return n, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("awaiting a node: %w", ctx.Err())
		case <-c.ctx.Done():
			c.mu.Lock()
			batch = c.received[max(next, c.base)-c.base:]
			c.mu.Unlock()
			for _, n := range batch {
				if match(n) {
					return n, nil
				}
			}
			return nil, ErrConnClosed
		}
	}
}

// Received returns the nodes received so far (at most the last few
// thousand), oldest first.
func (c *Conn) Received() []*waBinary.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*waBinary.Node(nil), c.received...)
}

func (c *Conn) record(n *waBinary.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.received) >= maxRecorded {
		drop := len(c.received) / 2
		c.received = append([]*waBinary.Node(nil), c.received[drop:]...)
		c.base += drop
	}
	c.received = append(c.received, n)
	close(c.changed)
	c.changed = make(chan struct{})
}
