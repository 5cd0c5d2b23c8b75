package webhook

import (
	"context"
	"time"

	"github.com/wahost/wahost/storage"
)

// laneKey names a lane: the events of one instance to one URL or broker
// destination, delivered in order.
type laneKey struct{ instance, url string }

// lane is the claimed events of one laneKey, oldest first.
type lane struct {
	key    laneKey
	kind   string                // the Sink kind of a broker lane; empty for a webhook
	queue  []storage.OutboxEvent // queue[:flight] is in flight when busy
	flight int
	busy   bool
	ready  bool      // in scheduler.ready
	hold   time.Time // events claimed before then wait: an earlier one retries then
	// waitFor is the event hold waits for: when a claim returns it, the
	// hold ends and it goes first.
	waitFor string
	// again holds in-flight events claimed anew: their worker recorded a
	// retry that was due at once (or their lease ran out), so they go out
	// again next unless the worker settled them for good.
	again map[string]storage.OutboxEvent
	// resume is, on a broker lane, the event its hold waits for: until it
	// is claimed again, later events of the lane that a claim returns
	// first (they were due before the hold's end) go back to the outbox,
	// so that none overtakes it. resumeBy ends the wait if it never comes.
	resume   string
	resumeBy time.Time
}

// inFlight reports whether the event is in the lane's running job.
func (l *lane) inFlight(id string) bool {
	if !l.busy {
		return false
	}
	for _, ev := range l.queue[:l.flight] {
		if ev.ID == id {
			return true
		}
	}
	return false
}

func (l *lane) idle() bool {
	return !l.busy && len(l.queue) == 0 && l.hold.IsZero() && l.resume == ""
}

// add queues a claimed event on its lane, or holds it back when an
// earlier event of the lane waits for a retry.
func (s *scheduler) add(now time.Time, ev storage.OutboxEvent) {
	if l, ok := s.claimed[ev.ID]; ok {
		if l.inFlight(ev.ID) {
			if l.again == nil {
				l.again = make(map[string]storage.OutboxEvent)
			}
			l.again[ev.ID] = ev
			return
		}
		// Its lease ran out while it waited here and this claim took it
		// again: keep the new lease; the claim was not an attempt.
		for i := range l.queue {
			if l.queue[i].ID == ev.ID {
				l.queue[i].NextAttemptAt = ev.NextAttemptAt
			}
		}
		s.refund(ev.ID)
		return
	}
	url, kind, err := s.d.destination(ev)
	if err != nil {
		s.d.metrics.deliveries.WithLabelValues(resultFailed).Inc()
		s.d.log.Error("webhook: undeliverable outbox row", "event_id", ev.ID, "err", err)
		if err := s.d.mark(s.bg, func(ctx context.Context) error {
			return s.d.store.MarkFailed(ctx, ev.ID, clip(err.Error()))
		}); err != nil {
			s.d.log.Warn("webhook: record failure", "event_id", ev.ID, "err", err)
		}
		return
	}
	key := laneKey{instance: ev.InstanceID, url: url}
	l := s.lanes[key]
	if l != nil && l.waitFor != "" && l.waitFor == ev.ID {
		// The event the lane's hold waits for: it is due, so the hold
		// ends, and the claim's later events of the lane follow it.
		s.endHold(l)
		delete(s.heldDuring, key)
	}
	if until, ok := s.heldDuring[key]; ok {
		// The claim ran while an earlier event of the lane was being
		// returned to the outbox: this one follows it, due just after
		// its retry, whether or not the hold has ended meanwhile.
		s.holdBack(ev, until)
		return
	}
	if l == nil {
		l = &lane{key: key, kind: kind}
		s.lanes[key] = l
	}
	if now.Before(l.hold) {
		s.holdBack(ev, l.hold)
		return
	}
	if l.resume != "" {
		switch {
		case ev.ID == l.resume || now.After(l.resumeBy):
			l.resume = ""
		case ev.ID > l.resume: // IDs are time-ordered UUIDs
			s.holdBack(ev, now.Add(sinkRetryFloor))
			return
		}
	}
	if kind == "" && len(l.queue) >= maxLaneQueue {
		// Keep one busy destination from filling the memory that other
		// instances' events need; the rest of its backlog waits in the
		// outbox, in order.
		s.setHold(l, now.Add(s.d.cfg.PollInterval))
		s.holdBack(ev, l.hold)
		return
	}
	l.queue = append(l.queue, ev)
	if l.kind != "" {
		// Claims may return a broker lane's events out of order (one held
		// back comes after later ones): keep the queued part in ID order.
		lo := 0
		if l.busy {
			lo = l.flight
		}
		for i := len(l.queue) - 1; i > lo && l.queue[i].ID < l.queue[i-1].ID; i-- {
			l.queue[i], l.queue[i-1] = l.queue[i-1], l.queue[i]
		}
	}
	s.claimed[ev.ID] = l
	if t := ev.NextAttemptAt.Add(-s.d.renewBelow); s.renewAt.IsZero() || t.Before(s.renewAt) {
		s.renewAt = t
	}
	if !l.busy && !l.ready {
		l.ready = true
		s.ready = append(s.ready, l)
	}
}

// finish applies a settled job to its lanes.
func (s *scheduler) finish(r result) {
	s.inflight--
	for _, p := range r.parts {
		s.settle(p)
	}
	s.d.metrics.claimed.Set(float64(len(s.claimed)))
}

// settle applies a settled part to its lane.
func (s *scheduler) settle(r settled) {
	l := r.lane
	l.busy = false
	again := l.again
	l.again = nil
	var keep []storage.OutboxEvent // in flight, not settled for good
	for i, ev := range r.evs {
		if r.final[i] {
			delete(s.claimed, ev.ID)
			delete(s.refunds, ev.ID)
			continue
		}
		if a, ok := again[ev.ID]; ok {
			ev = a
		}
		keep = append(keep, ev)
	}
	rest := l.queue[len(r.evs):]
	_, headAgain := again[firstID(keep)]
	switch {
	case len(keep) == 0:
		l.queue = rest
	case r.hold.IsZero() || headAgain:
		// Claimed again while its worker settled it: it is due, and
		// stays at the head of its lane.
		l.queue = append(keep, rest...)
	default:
		// The first event not settled will be tried again at r.hold:
		// what came after it goes back to the outbox due just after, so
		// that it never overtakes. A hold already past ends at the next
		// tick.
		s.setHold(l, r.hold)
		l.waitFor = keep[0].ID
		if l.kind != "" {
			l.resume, l.resumeBy = keep[0].ID, r.hold.Add(s.d.cfg.Lease)
		}
		for _, ev := range append(keep, rest...) {
			delete(s.claimed, ev.ID)
			if ev.ID != keep[0].ID {
				s.holdBack(ev, r.hold)
			}
		}
		l.queue = nil
	}
	switch {
	case len(l.queue) > 0:
		l.ready = true
		s.ready = append(s.ready, l)
	case l.idle():
		delete(s.lanes, l.key)
	}
}

func firstID(evs []storage.OutboxEvent) string {
	if len(evs) == 0 {
		return ""
	}
	return evs[0].ID
}

// holdBack returns an event to the outbox, due just after until.
func (s *scheduler) holdBack(ev storage.OutboxEvent, until time.Time) {
	s.refund(ev.ID)
	if err := s.d.mark(s.bg, func(ctx context.Context) error {
		return s.d.store.MarkRetry(ctx, ev.ID, until.Add(time.Microsecond), ev.LastError)
	}); err != nil {
		s.d.log.Warn("webhook: hold back event; it waits for its lease to end", "event_id", ev.ID, "err", err)
	}
}

// refund remembers that a claim of the event was not an attempt.
func (s *scheduler) refund(id string) {
	if _, ok := s.refunds[id]; ok || len(s.refunds) < maxRefunds {
		s.refunds[id]++
	}
}

// setHold makes the lane's later events wait until t.
func (s *scheduler) setHold(l *lane, t time.Time) {
	l.hold, l.waitFor = t, ""
	if s.claiming {
		s.heldDuring[l.key] = t
	}
	if s.nextHold.IsZero() || t.Before(s.nextHold) {
		s.nextHold = t
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.holds[l.key] = t
}

// endHold ends a lane's hold before its time.
func (s *scheduler) endHold(l *lane) {
	l.hold, l.waitFor = time.Time{}, ""
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	delete(s.d.holds, l.key)
}

// expireHolds ends the holds due by now.
func (s *scheduler) expireHolds(now time.Time) {
	s.nextHold = time.Time{}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for key, l := range s.lanes {
		switch {
		case l.hold.IsZero():
		case !now.Before(l.hold):
			l.hold, l.waitFor = time.Time{}, ""
			delete(s.d.holds, key)
			if l.idle() {
				delete(s.lanes, key)
			}
		case s.nextHold.IsZero() || l.hold.Before(s.nextHold):
			s.nextHold = l.hold
		}
	}
}

// renew extends the leases of queued events that would otherwise end
// before a worker gets to them.
func (s *scheduler) renew(now time.Time) {
	s.renewAt = time.Time{}
	for _, l := range s.lanes {
		for i := range l.queue {
			if l.busy && i < l.flight {
				continue // the worker renews it if needed
			}
			ev := &l.queue[i]
			if ev.NextAttemptAt.Sub(now) < s.d.renewBelow {
				next := now.Add(s.d.cfg.Lease)
				err := s.d.mark(s.bg, func(ctx context.Context) error {
					return s.d.store.MarkRetry(ctx, ev.ID, next, ev.LastError)
				})
				if err != nil {
					s.d.log.Warn("webhook: renew lease", "event_id", ev.ID, "err", err)
				} else {
					ev.NextAttemptAt = next
				}
			}
			t := ev.NextAttemptAt.Add(-s.d.renewBelow)
			if !t.After(now) {
				t = now.Add(s.d.cfg.PollInterval) // the renewal failed: try again later
			}
			if s.renewAt.IsZero() || t.Before(s.renewAt) {
				s.renewAt = t
			}
		}
	}
}

// release hands the events that were claimed but not started back to the
// outbox, due at once (or when their lane's hold ends), so that another
// dispatcher need not wait for their leases to end.
func (s *scheduler) release() {
	now := s.d.clock.Now()
	for _, l := range s.lanes {
		at := now
		if l.hold.After(now) {
			at = l.hold.Add(time.Microsecond)
		}
		for _, ev := range l.queue {
			if err := s.d.mark(s.bg, func(ctx context.Context) error {
				return s.d.store.MarkRetry(ctx, ev.ID, at, ev.LastError)
			}); err != nil {
				s.d.log.Warn("webhook: release event; it waits for its lease to end", "event_id", ev.ID, "err", err)
			}
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	clear(s.d.holds)
	s.d.metrics.claimed.Set(0)
}
