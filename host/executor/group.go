package executor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/storage"
)

// Group commit. A storm drops thousands of sessions at once, and a store
// commits about a thousand transactions a second: one per decision would
// make the storm wait on the disk. So units of work that arrive while
// others commit are committed together (storage.Committer, on
// storage.Store.InGroup), each still kept or dropped whole. No unit waits
// for company: one that finds the store idle commits at once, alone.
const (
	// maxGroup bounds the units of one group, and so how long its row
	// locks are held.
	maxGroup = 128
	// maxGroups bounds the groups committing at once; units arriving
	// meanwhile wait and form the next group.
	maxGroups = 4
)

// group commits fn for instance id together with the units of work that
// arrive meanwhile, and returns its outcome. The unit runs even when ctx
// has ended by the time its group starts: a decision taken is recorded.
func (e *Executor) group(ctx context.Context, id string, fn func(context.Context, storage.Tx) error) error {
	return e.commits.Do(context.WithoutCancel(ctx), storage.Unit{Instance: id, Fn: func(tx storage.Tx) (err error) {
		// A panic would take down the caller committing everyone's units:
		// it fails this unit alone instead.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("unit of work panicked: %v", r)
			}
		}()
		return fn(ctx, tx)
	}})
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
	in  *storage.DecisionInput
	err error
}

// decisionInput reads what deciding a disconnect of id needs, together
// with the reads that arrive meanwhile. After Stop it reads alone.
func (e *Executor) decisionInput(ctx context.Context, id string) (*storage.DecisionInput, error) {
	since := e.cfg.Clock.Now().Add(-HistoryWindow)
	p := &readPending{id: id, since: since, done: make(chan readDone, 1)}
	e.mu.Lock()
	e.reads = append(e.reads, p)
	if e.reading < maxReadGroups && e.spawnLocked(e.readGroups) {
		e.reading++
	} else if e.reading == 0 { // stopped: nobody would take it
		e.reads = slices.DeleteFunc(e.reads, func(q *readPending) bool { return q == p })
		e.mu.Unlock()
		in, err := e.cfg.Store.DecisionInput(ctx, id, since, abi.MaxHistory)
		return &in, err
	}
	e.mu.Unlock()
	select {
	case r := <-p.done:
		return r.in, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
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
			in := &ins[i]
			// The group read from the earliest since: each keeps its own
			// window. The history is newest first, so what stays is still
			// the newest MaxHistory of that window.
			in.Recent = slices.DeleteFunc(in.Recent, func(d storage.Disconnect) bool { return d.At.Before(p.since) })
			p.done <- readDone{in: in, err: errs[i]}
		}
	}
}
