// Package reconnect schedules the reconnects the policy decides: at most
// one pending per instance (a newer decision or a manual action replaces
// it), due at the decided time on an injected clock, and released through
// a global token bucket so that a storm of thousands of sessions is spread
// out instead of hitting WhatsApp in the same second.
package reconnect

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wahost/wahost/host/clock"
)

// Job is one scheduled reconnect.
type Job struct {
	// InstanceID is the instance to reconnect.
	InstanceID string
	// Step is the escalation step to carry out first.
	Step int
	// Due is when the decision wants the reconnect to start.
	Due time.Time
	// Scheduled is when the job was scheduled.
	Scheduled time.Time
}

// Defaults of Config.
const (
	DefaultRate  = 50.0
	DefaultBurst = 100
)

// Config configures a Scheduler.
type Config struct {
	// Rate is how many reconnects per second may start, across all
	// instances, on average; Burst how many at once. Defaults 50 and 100.
	Rate  float64
	Burst int
	// Clock is the time source. Default the system clock.
	Clock clock.Clock
	// Fire is called, on the scheduler's goroutine, for each job that is
	// due and passed the rate limit. It must not block: enqueue the work.
	Fire func(Job)
}

// Scheduler holds pending reconnects. Start runs it; Stop ends it.
type Scheduler struct {
	mu      sync.Mutex // guards pending, queue, tokens, last, seq
	pending map[string]*item
	queue   itemHeap
	tokens  float64
	last    time.Time
	seq     uint64

	cfg  Config
	wake chan struct{}

	lifeMu sync.Mutex // guards cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

type item struct {
	job   Job
	seq   uint64
	index int
}

// New returns a scheduler; call Start to run it.
func New(cfg Config) *Scheduler {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	return &Scheduler{
		pending: make(map[string]*item),
		tokens:  float64(cfg.Burst),
		last:    cfg.Clock.Now(),
		cfg:     cfg,
		wake:    make(chan struct{}, 1),
	}
}

// Schedule sets the instance's pending reconnect to job, replacing any
// other, and reports whether one was replaced.
func (s *Scheduler) Schedule(job Job) bool {
	s.mu.Lock()
	job.Scheduled = s.cfg.Clock.Now()
	replaced := s.removeLocked(job.InstanceID)
	s.seq++
	it := &item{job: job, seq: s.seq}
	s.pending[job.InstanceID] = it
	heap.Push(&s.queue, it)
	s.mu.Unlock()
	s.poke()
	return replaced
}

// Cancel removes the instance's pending reconnect and reports whether
// there was one.
func (s *Scheduler) Cancel(instanceID string) bool {
	s.mu.Lock()
	ok := s.removeLocked(instanceID)
	s.mu.Unlock()
	if ok {
		s.poke()
	}
	return ok
}

// Pending returns the instance's pending reconnect.
func (s *Scheduler) Pending(instanceID string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.pending[instanceID]
	if !ok {
		return Job{}, false
	}
	return it.job, true
}

// Len is the number of pending reconnects.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func (s *Scheduler) removeLocked(id string) bool {
	it, ok := s.pending[id]
	if !ok {
		return false
	}
	delete(s.pending, id)
	heap.Remove(&s.queue, it.index)
	return true
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunOnce fires every job that is due and allowed by the rate limit, and
// returns when the next one will be (zero if none is pending).
func (s *Scheduler) RunOnce() time.Time {
	now := s.cfg.Clock.Now()
	var fire []Job
	var next time.Time
	s.mu.Lock()
	s.refillLocked(now)
	for s.queue.Len() > 0 {
		it := s.queue[0]
		if it.job.Due.After(now) {
			next = it.job.Due
			break
		}
		if s.tokens < 1 {
			next = now.Add(time.Duration((1 - s.tokens) / s.cfg.Rate * float64(time.Second)))
			break
		}
		s.tokens--
		heap.Pop(&s.queue)
		delete(s.pending, it.job.InstanceID)
		fire = append(fire, it.job)
	}
	s.mu.Unlock()
	for _, j := range fire {
		s.cfg.Fire(j)
	}
	return next
}

func (s *Scheduler) refillLocked(now time.Time) {
	if el := now.Sub(s.last); el > 0 {
		s.tokens = min(float64(s.cfg.Burst), s.tokens+el.Seconds()*s.cfg.Rate)
	}
	s.last = now
}

// ErrStarted is returned by Start on a running scheduler.
var ErrStarted = errors.New("reconnect scheduler already started")

// Start runs the scheduler in the background until Stop or ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.done != nil {
		return ErrStarted
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the scheduler and waits for its goroutine. Pending jobs stay
// pending. It is idempotent and safe before Start.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.lifeMu.Lock()
	cancel, done := s.cancel, s.done
	s.lifeMu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Scheduler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		next := s.RunOnce()
		var fired <-chan time.Time
		if !next.IsZero() {
			d := next.Sub(s.cfg.Clock.Now())
			if timer == nil {
				timer = s.cfg.Clock.NewTimer(d)
			} else {
				timer.Stop()
				select { // drain a tick that raced with Stop
				case <-timer.C():
				default:
				}
				timer.Reset(d)
			}
			fired = timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-fired:
		}
	}
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].job.Due.Equal(h[j].job.Due) {
		return h[i].job.Due.Before(h[j].job.Due)
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
