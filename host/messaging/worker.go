package messaging

import (
	"context"
	"time"

	"github.com/wahost/wahost/storage"
)

// worker sends one instance's queue, one message at a time in Seq order.
// It lives while the instance has queued messages.
type worker struct {
	id   string
	kick chan struct{}
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
		case wait == idle:
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
	head, err := s.cfg.Store.QueuedMessages(ctx, w.id, 1)
	if err != nil {
		return 0, err
	}
	if len(head) == 0 {
		return idle, nil
	}
	m := head[0]
	now := s.cfg.Clock.Now()
	if !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt) {
		return 0, s.fail(ctx, m, ReasonExpired)
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

// until is how long from now to the earlier of at and expires (when set).
func until(now, at, expires time.Time) time.Duration {
	if !expires.IsZero() && expires.Before(at) {
		at = expires
	}
	return max(at.Sub(now), time.Millisecond)
}

// pace sets the earliest time of the worker's next send: the rate's
// interval and a random jitter after now.
func (s *Service) pace(w *worker, now time.Time) {
	var d time.Duration
	if s.cfg.Rate > 0 {
		d = time.Duration(float64(time.Second) / s.cfg.Rate)
	}
	if s.cfg.Jitter > 0 {
		d += time.Duration(s.cfg.Random() * float64(s.cfg.Jitter))
	}
	w.next = now.Add(d)
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
