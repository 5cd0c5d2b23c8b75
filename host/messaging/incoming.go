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

// HandleIncoming stores one message a session received and writes its
// webhook — messages.upsert, messages.edited for an edit, messages.delete
// for a revoke; a reaction is a messages.upsert with reactionMessage — in
// one unit of work. A message stored before (the server delivered it
// again) is a success without a second webhook.
func (s *Service) HandleIncoming(ctx context.Context, instanceID string, in message.Incoming) error {
	inst, err := s.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("incoming message %s: %w", in.Key.ID, err)
	}
	doc := evolution.Incoming(inst.ID, in)
	stored, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("incoming message %s: %w", in.Key.ID, err)
	}
	event, data := s.incomingEvent(ctx, inst, in, doc)
	var dup bool
	err = s.commits.Do(ctx, storage.Unit{Fn: func(tx storage.Tx) error {
		dup = false
		_, err := tx.InsertMessage(ctx, incomingRow(inst.ID, in, stored))
		if errors.Is(err, storage.ErrDuplicateMessage) {
			dup = true
			return nil
		}
		if err != nil {
			return err
		}
		return s.cfg.Webhooks.Enqueue(ctx, tx, inst, event, data)
	}})
	if err != nil {
		return fmt.Errorf("storing incoming message %s: %w", in.Key.ID, err)
	}
	if !dup {
		s.cfg.Webhooks.Nudge()
		s.metrics.incoming.Inc()
	}
	return nil
}

// incomingRow is the stored form of an incoming message: its
// prepareMessage document as payload.
func incomingRow(instanceID string, in message.Incoming, doc json.RawMessage) storage.Message {
	status := storage.MessageReceived
	if in.Key.FromMe {
		status = storage.MessageSent // sent from the phone: the server has it
	}
	return storage.Message{
		InstanceID: instanceID, ID: in.Key.ID, Chat: in.Key.Chat, Sender: in.Key.Sender, FromMe: in.Key.FromMe,
		Type: in.Type, Status: status, Payload: doc, Timestamp: in.Timestamp,
	}
}

// incomingEvent is the webhook an incoming message makes, with media
// inline when the instance asks for it.
func (s *Service) incomingEvent(ctx context.Context, inst storage.Instance, in message.Incoming, doc evolution.Message) (string, any) {
	switch in.Event {
	case message.EventEdit:
		return evolution.EventEdited, doc
	case message.EventRevoke:
		if in.Target != nil {
			return evolution.EventDelete, evolution.KeyOf(*in.Target)
		}
		return evolution.EventDelete, doc.Key
	}
	if in.HasMedia && s.cfg.Base64 != nil && s.cfg.Base64(ctx, inst) {
		data, _, err := s.cfg.Session.Download(ctx, inst.ID, in.Message)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "downloading media for the webhook; sent without base64",
				"instance", inst.Name, "id", in.Key.ID, "error", err)
		} else if int64(len(data)) <= s.cfg.MaxMedia {
			doc = evolution.WithBase64(doc, data)
		}
	}
	return evolution.EventUpsert, doc
}

// receiptStatus maps a receipt to the status it moves messages to.
var receiptStatus = map[message.ReceiptType]storage.MessageStatus{
	message.ReceiptDelivered: storage.MessageDelivered,
	message.ReceiptRead:      storage.MessageRead,
	message.ReceiptPlayed:    storage.MessagePlayed,
}

// HandleReceipt moves the messages a receipt names forward (a late
// receipt that would move one back is ignored) and writes a
// messages.update for each message that changed, in one unit of work.
// Unknown ids (messages sent from the phone before wahost) are skipped.
func (s *Service) HandleReceipt(ctx context.Context, instanceID string, r message.Receipt) error {
	status, ok := receiptStatus[r.Type]
	if !ok || len(r.IDs) == 0 {
		return nil
	}
	changedAny := false
	err := s.commits.Do(ctx, storage.Unit{Fn: func(tx storage.Tx) error {
		changedAny = false
		inst, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		for _, id := range r.IDs {
			m, changed, err := tx.SetMessageStatus(ctx, instanceID, id, status, "", time.Time{})
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !changed {
				continue
			}
			changedAny = true
			if m.Chat != r.Chat && r.Chat != "" {
				s.cfg.Logger.DebugContext(ctx, "receipt from another chat", "id", id, "chat", r.Chat)
			}
			if err := s.enqueueUpdate(ctx, tx, inst, m); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("recording receipt: %w", err)
	}
	if changedAny {
		s.cfg.Webhooks.Nudge()
	}
	return nil
}
