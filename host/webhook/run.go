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
	claimBatch   = 100     // events per claim
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
		due:     true,
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
	due      bool      // a claim may find events
	nextHold time.Time // earliest lane hold; zero when none
	renewAt  time.Time // earliest lease renewal of a queued event; zero when none
}

func (s *scheduler) loop(ctx context.Context, jobs chan<- job, results <-chan result) {
	timer := s.d.clock.NewTimer(s.d.cfg.PollInterval)
	defer timer.Stop()
	for ctx.Err() == nil {
		now := s.d.clock.Now()
		s.tick(now)
		if s.due && s.hungry() {
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
		case <-s.d.nudge:
			s.due = true
		case <-timer.C():
			s.due = true
		case <-ctx.Done():
		}
	}
	for s.inflight > 0 {
		s.finish(<-results)
	}
	s.release()
}

// hungry reports whether workers may run out of work: fewer lanes are
// ready than there are workers. While they are busy, nudges only mark
// the outbox due, and one claim later picks up what they announced: under
// load, claims come in batches and cost fewer writes.
func (s *scheduler) hungry() bool {
	return len(s.ready) < s.d.cfg.Workers && len(s.claimed) < maxClaimed
}

// wait returns how long the loop may sleep: until the next poll, lane
// hold or lease renewal.
func (s *scheduler) wait(now time.Time) time.Duration {
	d := s.d.cfg.PollInterval
	for _, t := range []time.Time{s.nextHold, s.renewAt} {
		if !t.IsZero() {
			d = min(d, t.Sub(now))
		}
	}
	return max(d, 0)
}

// tick ends the holds and renews the leases that are due.
func (s *scheduler) tick(now time.Time) {
	if !s.nextHold.IsZero() && !now.Before(s.nextHold) {
		s.due = true
		s.expireHolds(now)
	}
	if !s.renewAt.IsZero() && !now.Before(s.renewAt) {
		s.renew(now)
	}
}

// claim leases due events and queues them on their lanes.
// A claim is not cancelled by shutdown: what it takes, Run hands back.
func (s *scheduler) claim(now time.Time) {
	n := min(claimBatch, maxClaimed-len(s.claimed))
	var evs []storage.OutboxEvent
	err := s.d.mark(s.bg, func(ctx context.Context) (err error) {
		evs, err = s.d.store.Claim(ctx, s.d.cfg.WorkerID, n, s.d.cfg.Lease)
		return err
	})
	if err != nil {
		s.due = false // try again at the next poll
		s.d.log.Warn("webhook: claim events", "err", err)
		return
	}
	s.due = len(evs) == n
	for _, ev := range evs {
		if ev.Attempts == 1 {
			s.d.metrics.lag.Observe(max(now.Sub(ev.CreatedAt), 0).Seconds())
		}
		s.add(now, ev)
	}
	s.d.metrics.claimed.Set(float64(len(s.claimed)))
}

// nextJob returns the job the first ready lane heads: its head event for
// a webhook; for a publisher, the queued events of every ready lane of
// that publisher, up to publishBatch, so that one round of confirmations
// serves them all.
func (s *scheduler) nextJob() job {
	first := s.ready[0]
	if first.kind == "" {
		return job{parts: []part{s.partOf(first, 1)}}
	}
	var j job
	room := publishBatch
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
