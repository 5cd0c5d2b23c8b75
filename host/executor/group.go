package executor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/storage"
)

// Group commit. A storm drops thousands of sessions at once, and a store
// commits about a thousand transactions a second: one per decision would
// make the storm wait on the disk. So units of work that arrive while
// others commit are committed together (storage.Store.InGroup), each still
// kept or dropped whole. No unit waits for company: one that finds the
// store idle commits at once, alone.
const (
	// maxGroup bounds the units of one group, and so how long its row
	// locks are held.
	maxGroup = 128
	// maxGroups bounds the groups committing at once; units arriving
	// meanwhile wait and form the next group.
	maxGroups = 4
)

// pending is a unit of work waiting in the group queue.
type pending struct {
	id   string // the instance it is for: groups lock instances in id order
	unit storage.Unit
	done chan error // receives the unit's outcome once
}

// group commits fn for instance id together with the units of work that
// arrive meanwhile, and returns its outcome. After Stop, or when fn has
// no company, it commits alone.
func (e *Executor) group(ctx context.Context, id string, fn func(context.Context, storage.Tx) error) error {
	p := &pending{id: id, unit: storage.Unit{Fn: func(tx storage.Tx) (err error) {
		// A panic would take down the goroutine committing everyone's
		// units: it fails this unit alone instead.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("unit of work panicked: %v", r)
			}
		}()
		return fn(ctx, tx)
	}, Instance: id}, done: make(chan error, 1)}
	e.mu.Lock()
	e.queue = append(e.queue, p)
	if e.committing < maxGroups && e.spawnLocked(e.commitGroups) {
		e.committing++
	} else if e.committing == 0 { // stopped: nobody would take it
		e.queue = slices.DeleteFunc(e.queue, func(q *pending) bool { return q == p })
		e.mu.Unlock()
		return e.cfg.Store.InTx(ctx, p.unit.Fn)
	}
	e.mu.Unlock()
	return <-p.done
}

// commitGroups commits the queued units in groups until the queue is
// empty.
func (e *Executor) commitGroups(ctx context.Context) {
	for {
		e.mu.Lock()
		n := min(len(e.queue), maxGroup)
		if n == 0 {
			e.committing--
			e.queue = nil // drop the backing array a storm grew
			e.mu.Unlock()
			return
		}
		batch := slices.Clone(e.queue[:n])
		e.queue = e.queue[n:]
		e.mu.Unlock()

		// Every group takes its instances' rows in the same order, so two
		// groups committing at once never wait for each other in a cycle.
		slices.SortStableFunc(batch, func(a, b *pending) int { return strings.Compare(a.id, b.id) })
		units := make([]storage.Unit, len(batch))
		for i, p := range batch {
			units[i] = p.unit
		}
		errs := e.cfg.Store.InGroup(context.WithoutCancel(ctx), units)
		for i, p := range batch {
			p.done <- errs[i]
		}
	}
}

// Grouped reads. Each decision first reads its instance, settings and
// history: in a storm, one round trip each would queue ten thousand of
// them on the store's connections, ahead of the groups committing. So the
// reads that arrive while others are under way are made together
// (storage.DecisionReader.DecisionInputs), as commits are.
const (
	// maxReadGroup bounds the instances of one grouped read.
	maxReadGroup = 256
	// maxReadGroups bounds the grouped reads under way at once.
	maxReadGroups = 2
)

// readPending is a decision input waiting in the read queue.
type readPending struct {
	id    string
	since time.Time
	done  chan readDone // receives the outcome once
}

type readDone struct {
	in  storage.DecisionInput
	err error
}

// decisionInput reads what deciding a disconnect of id needs, together
// with the reads that arrive meanwhile. After Stop it reads alone.
func (e *Executor) decisionInput(ctx context.Context, id string) (storage.DecisionInput, error) {
	since := e.cfg.Clock.Now().Add(-HistoryWindow)
	p := &readPending{id: id, since: since, done: make(chan readDone, 1)}
	e.mu.Lock()
	e.reads = append(e.reads, p)
	if e.reading < maxReadGroups && e.spawnLocked(e.readGroups) {
		e.reading++
	} else if e.reading == 0 { // stopped: nobody would take it
		e.reads = slices.DeleteFunc(e.reads, func(q *readPending) bool { return q == p })
		e.mu.Unlock()
		return e.cfg.Store.DecisionInput(ctx, id, since, abi.MaxHistory)
	}
	e.mu.Unlock()
	select {
	case r := <-p.done:
		return r.in, r.err
	case <-ctx.Done():
		return storage.DecisionInput{}, ctx.Err()
	}
}

// readGroups makes the queued reads in groups until the queue is empty.
func (e *Executor) readGroups(ctx context.Context) {
	for {
		e.mu.Lock()
		n := min(len(e.reads), maxReadGroup)
		if n == 0 {
			e.reading--
			e.reads = nil
			e.mu.Unlock()
			return
		}
		batch := slices.Clone(e.reads[:n])
		e.reads = e.reads[n:]
		e.mu.Unlock()

		ids := make([]string, n)
		since := batch[0].since
		for i, p := range batch {
			ids[i] = p.id
			if p.since.Before(since) {
				since = p.since
			}
		}
		ins, errs := e.cfg.Store.DecisionInputs(context.WithoutCancel(ctx), ids, since, abi.MaxHistory)
		for i, p := range batch {
			in := ins[i]
			// The group read from the earliest since: each keeps its own
			// window. The history is newest first, so what stays is still
			// the newest MaxHistory of that window.
			in.Recent = slices.DeleteFunc(in.Recent, func(d storage.Disconnect) bool { return d.At.Before(p.since) })
			p.done <- readDone{in: in, err: errs[i]}
		}
	}
}
