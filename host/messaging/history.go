package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// HandleHistory stores a batch of the history sync — at most
// HistoryLimit messages, the newest — and writes messages.set (the
// messages stored now), chats.set and contacts.set, in one unit of work.
func (s *Service) HandleHistory(ctx context.Context, instanceID string, h message.History) error {
	inst, err := s.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("history of %s: %w", instanceID, err)
	}
	msgs := h.Messages
	if len(msgs) > s.cfg.HistoryLimit {
		msgs = slices.Clone(msgs)
		slices.SortStableFunc(msgs, func(a, b message.Incoming) int { return a.Timestamp.Compare(b.Timestamp) })
		msgs = msgs[len(msgs)-s.cfg.HistoryLimit:]
	}
	docs := make([]evolution.Message, len(msgs))
	rows := make([]storage.Message, len(msgs))
	for i, in := range msgs {
		docs[i] = evolution.Incoming(inst.ID, in)
		b, err := json.Marshal(docs[i])
		if err != nil {
			return fmt.Errorf("history message %s: %w", in.Key.ID, err)
		}
		rows[i] = incomingRow(inst.ID, in, b)
	}
	wrote := false
	err = s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		wrote = false
		stored := make([]evolution.Message, 0, len(rows))
		for i, row := range rows {
			if _, err := tx.InsertMessage(ctx, row); errors.Is(err, storage.ErrDuplicateMessage) {
				continue
			} else if err != nil {
				return err
			}
			stored = append(stored, docs[i])
		}
		send := func(event string, data any) error {
			wrote = true
			return s.cfg.Webhooks.Enqueue(ctx, tx, inst, event, data)
		}
		if len(stored) > 0 {
			if err := send(evolution.EventMessagesSet, stored); err != nil {
				return err
			}
		}
		if len(h.Chats) > 0 {
			if err := send(evolution.EventChatsSet, evolution.Chats(inst.ID, h.Chats)); err != nil {
				return err
			}
		}
		if len(h.Contacts) > 0 {
			return send(evolution.EventContactsSet, evolution.Contacts(inst.ID, h.Contacts))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing history of %s: %w", inst.Name, err)
	}
	if wrote {
		s.cfg.Webhooks.Nudge()
	}
	return nil
}
