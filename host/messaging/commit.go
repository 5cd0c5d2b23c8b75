package messaging

import (
	"context"
	"sync"

	"github.com/wahost/wahost/storage"
)

// DefaultBatch is the most units of work one group commit carries when
// Config.Batch is 0.
const DefaultBatch = 64

// unit is one message's writes — its status and its webhooks — waiting
// for a group commit.
type unit struct {
	ctx   context.Context
	write func(tx storage.Tx) error
	done  chan error
}

// committer is the group commit: the units of work that arrive while a
// commit is under way (the acknowledgements of several instances' sends,
// the incoming messages of several sessions) are committed together in
// the next transaction. Each unit stays atomic: it is in one transaction
// with the others or, when that transaction fails, retried in one of its
// own; its caller learns the outcome only after the commit. Whoever finds
// no commit under way commits, until nothing is pending, so there is no
// goroutine to start or stop.
type committer struct {
	store storage.Store
	max   int

	mu      sync.Mutex // guards pending, leading
	pending []*unit
	leading bool
}

// do runs write in a unit of work committed with whatever else is pending
// and returns once it has committed or failed. write may run more than
// once (a failed batch is retried unit by unit): it must set, not
// accumulate, what it reports outside.
func (c *committer) do(ctx context.Context, write func(tx storage.Tx) error) error {
	if c.max <= 1 {
		return c.store.InTx(ctx, write)
	}
	u := &unit{ctx: ctx, write: write, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, u)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if lead {
		c.lead()
	}
	return <-u.done
}

// lead commits batches until nothing is pending.
func (c *committer) lead() {
	for {
		c.mu.Lock()
		n := min(len(c.pending), c.max)
		if n == 0 {
			c.leading = false
			c.mu.Unlock()
			return
		}
		batch := make([]*unit, n)
		copy(batch, c.pending)
		c.pending = append(c.pending[:0], c.pending[n:]...)
		c.mu.Unlock()
		c.commit(batch)
	}
}

// commit commits batch in one transaction, or, when that fails, each unit
// in a transaction of its own, so one bad unit fails alone.
func (c *committer) commit(batch []*unit) {
	live := batch[:0:0]
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.done <- err
			continue
		}
		live = append(live, u)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		u := live[0]
		u.done <- c.store.InTx(u.ctx, u.write)
		return
	}
	err := c.store.InTx(context.WithoutCancel(live[0].ctx), func(tx storage.Tx) error {
		for _, u := range live {
			if err := u.write(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, u := range live {
			u.done <- nil
		}
		return
	}
	for _, u := range live {
		u.done <- c.store.InTx(u.ctx, u.write)
	}
}
