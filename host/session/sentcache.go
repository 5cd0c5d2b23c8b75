package session

import (
	"context"
	"errors"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/storage"
)

// sentKeyPrefix prefixes the cache keys of sent messages: "sent:<id>".
const sentKeyPrefix = "sent:"

// retryLookupTimeout bounds the cache read that answers a retry receipt.
const retryLookupTimeout = 5 * time.Second

// keepSent stores a sent message in the cache for Config.SentTTL, so a
// retry receipt for it can be answered after a restart (whatsmeow itself
// keeps only its last few hundred sent messages, in memory).
func (s *session) keepSent(ctx context.Context, id string, msg *waE2E.Message) {
	c := s.m.cfg.Cache
	if c == nil || id == "" {
		return
	}
	raw, err := proto.Marshal(msg)
	if err == nil {
		err = c.Set(ctx, s.id, sentKeyPrefix+id, raw, s.m.cfg.SentTTL)
	}
	if err != nil {
		s.log.WarnContext(ctx, "keeping a sent message for retries failed", "message_id", id, "error", err)
	}
}

// sentMessage returns a message sent within Config.SentTTL, nil when the
// cache does not hold it.
func (s *session) sentMessage(ctx context.Context, id string) *waE2E.Message {
	c := s.m.cfg.Cache
	if c == nil || id == "" {
		return nil
	}
	raw, err := c.Get(ctx, s.id, sentKeyPrefix+id)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.WarnContext(ctx, "reading a sent message failed", "message_id", id, "error", err)
		}
		return nil
	}
	var msg waE2E.Message
	if err := proto.Unmarshal(raw, &msg); err != nil {
		s.log.WarnContext(ctx, "a cached sent message is unreadable", "message_id", id, "error", err)
		return nil
	}
	return &msg
}

// messageForRetry is whatsmeow's Client.GetMessageForRetry: the message a
// retry receipt asks for again, when whatsmeow no longer has it.
func (s *session) messageForRetry(requester, to types.JID, id types.MessageID) *waE2E.Message {
	ctx, cancel := context.WithTimeout(s.m.ctx, retryLookupTimeout)
	defer cancel()
	msg := s.sentMessage(ctx, id)
	if msg == nil {
		s.log.InfoContext(ctx, "retry receipt for a message no longer kept", "message_id", id, "requester", requester, "chat", to)
	}
	return msg
}
