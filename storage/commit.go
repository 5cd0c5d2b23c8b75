package storage

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// DefaultLeaders is how many group commits a Committer runs at once when
// Committer.Leaders is 0.
const DefaultLeaders = 16

// Committer is a group commit for units of work that arrive one by one
// from many goroutines: the units that arrive while a commit is under way
// are committed together in the next group (Grouper.InGroup), at most Max
// of them. Each unit stays its own unit of work — kept or dropped whole,
// and failing alone — and its caller hears its outcome only after the
// commit, so nothing it announces (a delivery receipt to WhatsApp, a 2xx)
// runs ahead of the data. A caller that finds fewer than Leaders commits
// under way commits, its own group and then whatever is pending, so there
// is no goroutine to start or stop. A caller waits for its own unit before
// it sends the next, so the units of one caller apply in order.
//
// The zero Committer is not usable: set Store.
type Committer struct {
	Store Store
	// Max bounds the units of one group; 0 or 1 commits each unit alone.
	Max int
	// Leaders bounds the group commits under way at once: a unit's
	// statements are round trips that concurrent transactions overlap.
	// 0 means DefaultLeaders.
	Leaders int

	mu      sync.Mutex // guards pending, leading
	pending []*waitingUnit
	leading int
}

// waitingUnit is a unit queued for the next group.
type waitingUnit struct {
	ctx  context.Context
	unit Unit
	done chan error // receives the unit's outcome once
}

// Do commits u with whatever else is pending and returns its outcome. u's
// Fence and Fn may run more than once, as InGroup says. A unit whose ctx
// ends before its group starts is not run.
func (c *Committer) Do(ctx context.Context, u Unit) error {
	if c.Max <= 1 {
		return c.Store.InTx(ctx, u.Run)
	}
	w := &waitingUnit{ctx: ctx, unit: u, done: make(chan error, 1)}
	leaders := cmp.Or(c.Leaders, DefaultLeaders)
	c.mu.Lock()
	c.pending = append(c.pending, w)
	lead := c.leading < leaders
	if lead {
		c.leading++
	}
	c.mu.Unlock()
	if lead {
		c.lead()
	}
	return <-w.done
}

// lead commits groups until nothing is pending.
func (c *Committer) lead() {
	for {
		c.mu.Lock()
		n := min(len(c.pending), c.Max)
		if n == 0 {
			c.leading--
			c.pending = nil // drop the backing array a burst grew
			c.mu.Unlock()
			return
		}
		group := slices.Clone(c.pending[:n])
		c.pending = c.pending[n:]
		c.mu.Unlock()
		c.commit(group)
	}
}

// commit commits the units of group that are still wanted.
func (c *Committer) commit(group []*waitingUnit) {
	live := group[:0:0]
	for _, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	// Groups committing at once take their instances' rows in one order,
	// so they never wait for each other in a cycle; the units of one
	// instance keep theirs.
	slices.SortStableFunc(live, func(a, b *waitingUnit) int { return cmp.Compare(a.unit.Instance, b.unit.Instance) })
	units := make([]Unit, len(live))
	for i, w := range live {
		units[i] = w.unit
	}
	errs := c.Store.InGroup(context.WithoutCancel(live[0].ctx), units)
	for i, w := range live {
		w.done <- errs[i]
	}
}
