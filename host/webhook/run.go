package webhook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wahost/wahost/storage"
)

// Limits of the scheduler.
const (
	claimBatch   = 500     // events per claim, at most
	maxClaimed   = 1000    // events in memory, queued or in flight
	maxLaneQueue = 100     // events queued for one destination of one instance
	maxRefunds   = 100_000 // events whose held-back claims are remembered

	// clockJump is how far the clock may move between computing a wait
	// and arming the timer before the loop looks again.
	clockJump = 5 * time.Millisecond
)

var errAlreadyRunning = errors.New("webhook: the dispatcher is already running")

// Run delivers events until ctx is done, then lets deliveries under way
// finish, hands the events it claimed but had not started back to the
// outbox and returns nil; Abort cuts the deliveries short. It returns an
// error only when called while already running.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errAlreadyRunning
	}
	defer d.running.Store(false)

	bg, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	d.abortMu.Lock()
	d.abort = abort
	d.abortMu.Unlock()
	defer func() {
		d.abortMu.Lock()
		d.abort = nil
		d.abortMu.Unlock()
	}()
	jobs := make(chan job)
	results := make(chan result)
	rec := newRecorder(bg, d)
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Go(func() {
			for j := range jobs {
				results <- d.work(bg, rec, j)
			}
		})
	}
	s := &scheduler{
		d:       d,
		bg:      bg,
		lanes:   make(map[laneKey]*lane),
		claimed: make(map[string]*lane),
		refunds: make(map[string]int),
		claims:  make(chan claimAnswer, 1),

		heldDuring: make(map[laneKey]time.Time),
		due:        true,
	}
	s.loop(ctx, jobs, results)
	close(jobs)
	wg.Wait()
	rec.close()
	// Keep-alive connections to receivers would outlive the dispatcher
	// (their read loops, until the receiver or the idle timeout closes
	// them).
	d.client.CloseIdleConnections()
	return nil
}

// scheduler is the state of one Run, owned by Run's goroutine: it claims
// events, queues them on their lanes and hands lane heads to workers.
type scheduler struct {
	d        *Dispatcher
	bg       context.Context // for outbox writes, not cancelled on shutdown
	lanes    map[laneKey]*lane
	ready    []*lane          // lanes whose head may be sent, first come first served
	claimed  map[string]*lane // events in memory by ID
	refunds  map[string]int   // claims an event spent held back
	inflight int
	claims   chan claimAnswer // the answer of the claim under way
	claiming bool             // a claim is under way
	claimAt  time.Time        // when it began
	// heldDuring is the lanes whose hold began while the claim under way
	// ran, with the hold's end: the claim may have read the outbox
	// before the event the hold waits for was returned to it, and found
	// later events of the lane without it.
	heldDuring map[laneKey]time.Time
	due        bool      // a claim may find events
	nextHold   time.Time // earliest lane hold; zero when none
	renewAt    time.Time // earliest lease renewal of a queued event; zero when none
}

func (s *scheduler) loop(ctx context.Context, jobs chan<- job, results <-chan result) {
	timer := s.d.clock.NewTimer(s.d.cfg.PollInterval)
	defer timer.Stop()
	for ctx.Err() == nil {
		now := s.d.clock.Now()
		s.tick(now)
		if s.due && !s.claiming && s.hungry() {
			s.claim(now)
		}
		var send chan<- job
		var next job
		if len(s.ready) > 0 {
			send, next = jobs, s.nextJob()
		}
		armed := s.d.clock.Now()
		timer.Reset(s.wait(armed))
		if s.d.clock.Now().Sub(armed) > clockJump {
			// The clock moved on while the timer was armed, which may now
			// fire late (a fake clock advanced by a test, a suspended
			// VM): look again before waiting.
			continue
		}
		select {
		case send <- next:
			s.started(next)
		case r := <-results:
			s.finish(r)
		case c := <-s.claims:
			s.landed(c)
		case <-s.d.nudge:
			s.due = true
		case <-timer.C():
			s.due = true
		case <-ctx.Done():
		}
	}
	for s.inflight > 0 || s.claiming {
		select {
		case r := <-results:
			s.finish(r)
		case c := <-s.claims:
			s.landed(c)
		}
	}
	s.release()
}

// hungry reports whether the dispatcher has room for a claim: fewer
// events are in memory than maxClaimed. Only one claim runs at a time, so
// under load the nudges of the commits made while it runs are served by
// the next one, and claims come in batches.
func (s *scheduler) hungry() bool {
	return len(s.claimed) < maxClaimed
}

// wait returns how long the loop may sleep: until the next poll, lane
// hold or lease renewal.
func (s *scheduler) wait(now time.Time) time.Duration {
	d := s.d.cfg.PollInterval
	hold := s.nextHold
	if s.claiming {
		hold = time.Time{} // no hold ends before the claim answers (see tick)
	}
	for _, t := range []time.Time{hold, s.renewAt} {
		if !t.IsZero() {
			d = min(d, t.Sub(now))
		}
	}
	return max(d, 0)
}

// tick ends the holds and renews the leases that are due.
// While a claim runs, holds end only as of its start: its answer is
// judged against the holds as they were when it read the outbox, and a
// lane whose hold ended meanwhile would let it through.
func (s *scheduler) tick(now time.Time) {
	at := now
	if s.claiming {
		at = s.claimAt
	}
	if !s.nextHold.IsZero() && !at.Before(s.nextHold) {
		s.due = true
		s.expireHolds(at)
	}
	if !s.renewAt.IsZero() && !now.Before(s.renewAt) {
		s.renew(now)
	}
}

// claimAnswer is the answer of a claim.
type claimAnswer struct {
	evs []storage.OutboxEvent
	at  time.Time // when the claim began: the outbox it read is no older
	n   int       // events asked for
	err error
}

// claim starts leasing due events; the loop queues them on their lanes
// when the answer comes (see landed), and meanwhile goes on handing out
// work and settling results. A claim is not cancelled by shutdown: what
// it takes, Run hands back.
func (s *scheduler) claim(now time.Time) {
	n := min(claimBatch, maxClaimed-len(s.claimed))
	s.claiming, s.claimAt, s.due = true, now, false
	clear(s.heldDuring)
	go func() {
		c := claimAnswer{at: now, n: n}
		c.err = s.d.mark(s.bg, func(ctx context.Context) (err error) {
			c.evs, err = s.d.store.Claim(ctx, s.d.cfg.WorkerID, n, s.d.cfg.Lease)
			return err
		})
		s.claims <- c
	}()
}

// landed queues the events of a claim on their lanes.
func (s *scheduler) landed(c claimAnswer) {
	s.claiming = false
	if c.err != nil {
		s.due = false // try again at the next poll
		s.d.log.Warn("webhook: claim events", "err", c.err)
		return
	}
	// A full claim leaves more due events behind; a nudge during the
	// claim announced more.
	s.due = s.due || len(c.evs) == c.n
	// Lane holds are judged as of the claim's start, as the outbox it
	// read: an event it did not return because its retry was not due
	// yet must still hold its lane's later events back, however long the
	// claim took.
	now := s.d.clock.Now()
	for _, ev := range c.evs {
		if ev.Attempts == 1 {
			s.d.metrics.lag.Observe(max(now.Sub(ev.CreatedAt), 0).Seconds())
		}
		s.add(c.at, ev)
	}
	s.d.metrics.claimed.Set(float64(len(s.claimed)))
}

// nextJob returns the job the first ready lane heads: its head event for
// a webhook; for a publisher, the queued events of the ready lanes of
// that publisher, up to a worker's share of them (at least publishShare,
// at most publishBatch), so that one round of confirmations serves them
// all.
func (s *scheduler) nextJob() job {
	first := s.ready[0]
	if first.kind == "" {
		return job{parts: []part{s.partOf(first, 1)}}
	}
	// Split a large set among the workers, so that several publishes are
	// in flight on disjoint lanes instead of one carrying everything.
	queued := 0
	for _, l := range s.ready {
		if l.kind == first.kind {
			queued += len(l.queue)
		}
	}
	room := min(publishBatch, max(publishShare, (queued+s.d.cfg.Workers-1)/s.d.cfg.Workers))
	var j job
	for _, l := range s.ready {
		if l.kind != first.kind || room == 0 {
			continue
		}
		p := s.partOf(l, room)
		room -= len(p.evs)
		j.parts = append(j.parts, p)
	}
	return j
}

// partOf returns up to n of a lane's queued events.
func (s *scheduler) partOf(l *lane, n int) part {
	p := part{lane: l, evs: l.queue[:min(n, len(l.queue))]}
	p.refunds = make([]int, len(p.evs))
	for i, ev := range p.evs {
		p.refunds[i] = s.refunds[ev.ID]
	}
	return p
}

// started marks the lanes of a job handed to a worker busy.
func (s *scheduler) started(j job) {
	for _, p := range j.parts {
		p.lane.ready, p.lane.busy, p.lane.flight = false, true, len(p.evs)
	}
	kept := s.ready[:0]
	for _, l := range s.ready {
		if l.ready {
			kept = append(kept, l)
		}
	}
	clear(s.ready[len(kept):])
	s.ready = kept
	s.inflight++
}
