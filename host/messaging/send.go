package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// send sends one due message and records the outcome. It returns how long
// the worker waits before the next step.
func (s *Service) send(ctx context.Context, w *worker, m storage.Message) (time.Duration, error) {
	var out message.Outgoing
	if err := json.Unmarshal(m.Payload, &out); err != nil {
		return 0, s.failAfter(ctx, w, m, ReasonInvalid)
	}
	out.ID, out.To = m.ID, m.Chat
	var media []byte
	if md := out.Media; md != nil {
		media = md.Data
		if md.URL != "" && len(media) == 0 && w.mediaID == m.ID {
			media = w.media
			if md.MIMEType == "" {
				md.MIMEType = w.mediaType
			}
		}
		if md.URL != "" && len(media) == 0 {
			data, mime, err := s.fetch(ctx, md.URL)
			switch {
			case errors.Is(err, ErrTooLarge):
				return 0, s.failAfter(ctx, w, m, ReasonMediaTooLarge)
			case err != nil:
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				s.cfg.Logger.InfoContext(ctx, "media unreachable", "instance_id", m.InstanceID, "id", m.ID, "error", err)
				return 0, s.failAfter(ctx, w, m, ReasonMediaUnreachable)
			}
			media = data
			if md.MIMEType == "" {
				md.MIMEType = mime
			}
			w.mediaID, w.media, w.mediaType = m.ID, data, mime
		}
		md.Data = nil
	}
	// The pace counts from the start of a send: sends start no more often
	// than messages.rate allows, however long the server takes to answer.
	start := s.cfg.Clock.Now()
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	sent, err := s.cfg.Session.Send(sctx, m.InstanceID, out, media)
	cancel()
	if err == nil || !errors.Is(err, message.ErrNotConnected) {
		w.mediaID, w.media, w.mediaType = "", nil, "" // only a message waiting for its session keeps its file
	}
	now := s.cfg.Clock.Now()
	var se *message.ServerError
	var ie *message.InvalidError
	if err == nil {
		s.pace(w, start)
		return 0, s.record(w, m, out, sent)
	}
	// Whatever this outcome records comes after the record in flight.
	if serr := s.settle(w); serr != nil {
		s.cfg.Logger.WarnContext(ctx, "message queue", "instance_id", w.id, "error", serr)
	}
	switch {
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case errors.Is(err, message.ErrNotConnected):
		// Not an attempt: the message waits for the session.
		return s.cfg.RetryDelay, nil
	case errors.Is(err, message.ErrNotOnWhatsApp):
		s.pace(w, start)
		return 0, s.fail(ctx, m, ReasonNotOnWhatsApp)
	case errors.Is(err, message.ErrMediaUnreachable):
		return 0, s.fail(ctx, m, ReasonMediaUnreachable)
	case errors.As(err, &se):
		s.pace(w, start)
		return 0, s.fail(ctx, m, fmt.Sprintf("%s:%d", ReasonServerError, se.Code))
	case errors.As(err, &ie):
		return 0, s.fail(ctx, m, ReasonInvalid+": "+ie.Reason)
	}
	// No acknowledgement, or a failure on the way: send again later, with
	// the same id (the server keeps one message per id).
	s.pace(w, start)
	next := now.Add(s.cfg.RetryDelay)
	if err := s.cfg.Store.RetryMessage(ctx, m.InstanceID, m.ID, next, err.Error()); err != nil {
		return 0, err
	}
	s.cfg.Logger.InfoContext(ctx, "send failed; retrying", "instance_id", m.InstanceID, "id", m.ID,
		"attempt", m.Attempts+1, "error", err)
	return 0, nil
}

// acknowledged records a send the server acknowledged: status sent, and
// send.message and messages.update (SERVER_ACK), in one unit of work.
func (s *Service) acknowledged(ctx context.Context, m storage.Message, out message.Outgoing, sent message.Sent) error {
	ts := sent.Timestamp
	if ts.IsZero() {
		ts = s.cfg.Clock.Now()
	}
	// The send happened: record it even when the worker is being stopped.
	ctx = context.WithoutCancel(ctx)
	recorded := false
	err := s.commits.Do(ctx, storage.Unit{Fn: func(tx storage.Tx) error {
		recorded = false
		inst, err := tx.Instance(ctx, m.InstanceID)
		if err != nil {
			return err
		}
		cur, changed, err := tx.SetMessageStatus(ctx, m.InstanceID, m.ID, storage.MessageSent, "", ts)
		if err != nil || !changed && !overtaken(cur) {
			return err
		}
		recorded = true
		if err := s.cfg.Webhooks.Enqueue(ctx, tx, inst, evolution.EventSend,
			evolution.Sent(inst.ID, out, inst.ProfileName, ts)); err != nil {
			return err
		}
		if !changed {
			return nil // its messages.update went out with the receipt
		}
		return s.enqueueUpdate(ctx, tx, inst, cur)
	}})
	if err != nil {
		return fmt.Errorf("recording the send of %s: %w", m.ID, err)
	}
	s.cfg.Webhooks.Nudge()
	if recorded {
		s.metrics.acked(m.CreatedAt, s.cfg.Clock.Now())
	}
	return nil
}

// overtaken reports a message whose delivery receipt was recorded before
// its acknowledgement: the recipient's receipt can reach the session while
// the acknowledgement is still being written. No acknowledgement was
// recorded (it sets Timestamp), so its send.message is still owed.
func overtaken(m storage.Message) bool {
	return m.Timestamp.IsZero() && m.Status.Rank() > storage.MessageSent.Rank() && m.Status != storage.MessageFailed
}

// enqueueUpdate writes the messages.update of m's current status.
func (s *Service) enqueueUpdate(ctx context.Context, tx storage.Tx, inst storage.Instance, m storage.Message) error {
	return s.cfg.Webhooks.Enqueue(ctx, tx, inst, evolution.EventUpdate, evolution.UpdateOf(m))
}
