package messaging

import (
	"context"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/storage"
)

// worker sends one instance's queue, one message at a time in Seq order.
// It lives while the instance has queued messages.
//
// The record of an acknowledged send (its status and webhooks) commits
// while the next message is sent: a send waits for the server, a commit
// for the disk, and the two need not wait for each other. At most one
// record is in flight, and the worker settles it before it records
// anything else, so an instance's webhooks keep their order.
type worker struct {
	id   string
	kick chan struct{}
	// ackID is the message whose acknowledgement is being recorded, and
	// ackDone receives the outcome; both are empty when none is.
	ackID   string
	ackDone chan error
	// next is the earliest time the pacing allows the next send.
	next time.Time
	// media is the fetched file of the message mediaID, kept while the
	// message waits for its session so a retry does not fetch it again.
	mediaID   string
	media     []byte
	mediaType string
}

// idle is what step returns when the queue is empty.
const idle = time.Duration(-1)

func (s *Service) run(ctx context.Context, w *worker) {
	defer s.wg.Done()
	for {
		wait, err := s.step(ctx, w)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "message queue", "instance_id", w.id, "error", err)
			wait = s.cfg.RetryDelay
		}
		switch {
		case wait == idle: // step settled any record in flight first
			s.mu.Lock()
			select {
			case <-w.kick: // woken while looking: look again
				s.mu.Unlock()
				continue
			default:
			}
			delete(s.workers, w.id)
			s.mu.Unlock()
			return
		case wait == 0:
			continue
		}
		timer := s.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-w.kick:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// step looks at the head of the queue and sends it when it is due. It
// returns how long to wait before the next step: 0 for at once, idle when
// the queue is empty.
func (s *Service) step(ctx context.Context, w *worker) (time.Duration, error) {
	if s.cfg.Owns != nil && !s.cfg.Owns(w.id) {
		return idle, nil // the driving host sends it; a session opening here wakes the queue again
	}
	// Two rows: the head may be the message whose record is in flight.
	head, err := s.cfg.Store.QueuedMessages(ctx, w.id, 2)
	if err != nil {
		return 0, err
	}
	if len(head) > 0 && head[0].ID == w.ackID {
		head = head[1:]
	}
	if len(head) == 0 {
		if w.ackDone != nil {
			return 0, s.settle(w)
		}
		return idle, nil
	}
	m := head[0]
	now := s.cfg.Clock.Now()
	if !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt) {
		return 0, s.failAfter(ctx, w, m, ReasonExpired)
	}
	due := m.NextAttemptAt
	if w.next.After(due) {
		due = w.next
	}
	if due.After(now) {
		return until(now, due, m.ExpiresAt), nil
	}
	wait, err := s.send(ctx, w, m)
	if err != nil || wait <= 0 {
		return wait, err
	}
	return until(now, now.Add(wait), m.ExpiresAt), nil
}

// record records the acknowledged send of m in the background, once the
// record before it has settled; the worker goes on to its next message.
// The error returned is the previous record's: that message is still
// queued and goes out again, with the same id.
func (s *Service) record(w *worker, m storage.Message, out message.Outgoing, sent message.Sent) error {
	err := s.settle(w)
	done := make(chan error, 1)
	w.ackID, w.ackDone = m.ID, done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		done <- s.acknowledged(s.ctx, m, out, sent)
	}()
	return err
}

// settle waits for the record in flight, if any, and returns its error.
func (s *Service) settle(w *worker) error {
	if w.ackDone == nil {
		return nil
	}
	err := <-w.ackDone
	w.ackID, w.ackDone = "", nil
	return err
}

// until is how long from now to the earlier of at and expires (when set).
func until(now, at, expires time.Time) time.Duration {
	if !expires.IsZero() && expires.Before(at) {
		at = expires
	}
	return max(at.Sub(now), time.Millisecond)
}

// pace sets the earliest time of the worker's next send: the rate's
// interval and a random jitter after the start of the last one.
func (s *Service) pace(w *worker, start time.Time) {
	var d time.Duration
	if s.cfg.Rate > 0 {
		d = time.Duration(float64(time.Second) / s.cfg.Rate)
	}
	if s.cfg.Jitter > 0 {
		d += time.Duration(s.cfg.Random() * float64(s.cfg.Jitter))
	}
	w.next = start.Add(d)
}

// failAfter fails m once the record in flight has settled, so its
// messages.update follows the earlier message's webhooks.
func (s *Service) failAfter(ctx context.Context, w *worker, m storage.Message, reason string) error {
	if err := s.settle(w); err != nil {
		return err
	}
	return s.fail(ctx, m, reason)
}

// fail fails a queued message with reason and reports it, in one unit of
// work.
func (s *Service) fail(ctx context.Context, m storage.Message, reason string) error {
	failed := false
	err := s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		failed = false
		inst, err := tx.Instance(ctx, m.InstanceID)
		if err != nil {
			return err
		}
		cur, changed, err := tx.SetMessageStatus(ctx, m.InstanceID, m.ID, storage.MessageFailed, reason, time.Time{})
		if err != nil || !changed {
			return err
		}
		failed = true
		return s.enqueueUpdate(ctx, tx, inst, cur)
	})
	if err != nil {
		return err
	}
	s.cfg.Webhooks.Nudge()
	if failed {
		s.metrics.failedAs(reason)
	}
	s.cfg.Logger.InfoContext(ctx, "message failed", "instance_id", m.InstanceID, "id", m.ID, "reason", reason)
	return nil
}
