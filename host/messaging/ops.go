package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// Message returns one stored message.
func (s *Service) Message(ctx context.Context, instanceID, id string) (storage.Message, error) {
	if err := storage.ValidateMessageKey("id", id); err != nil {
		return storage.Message{}, invalid("id", "%v", err)
	}
	return s.cfg.Store.Message(ctx, instanceID, id)
}

// List pages through an instance's stored messages, newest first.
func (s *Service) List(ctx context.Context, q storage.MessageQuery) ([]storage.Message, error) {
	if q.Chat != "" {
		chat, err := NormalizeJID("chat", q.Chat)
		if err != nil {
			return nil, err
		}
		q.Chat = chat
	}
	return s.cfg.Store.ListMessages(ctx, q)
}

// Media returns the file of a stored message and its content type: an
// incoming message's is downloaded from WhatsApp through the session; an
// outgoing one's is the file it was sent with. message.ErrNoMedia when it
// has none.
func (s *Service) Media(ctx context.Context, instanceID, id string) ([]byte, string, error) {
	m, err := s.Message(ctx, instanceID, id)
	if err != nil {
		return nil, "", err
	}
	if isOutgoing(m) {
		var out message.Outgoing
		if err := json.Unmarshal(m.Payload, &out); err != nil || out.Media == nil {
			return nil, "", message.ErrNoMedia
		}
		if len(out.Media.Data) > 0 {
			return out.Media.Data, out.Media.MIMEType, nil
		}
		data, mime, err := s.fetch(ctx, out.Media.URL)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", message.ErrMediaUnreachable, err)
		}
		if out.Media.MIMEType != "" {
			mime = out.Media.MIMEType
		}
		return data, mime, nil
	}
	var doc struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(m.Payload, &doc); err != nil || len(doc.Message) == 0 {
		return nil, "", message.ErrNoMedia
	}
	return s.cfg.Session.Download(ctx, instanceID, doc.Message)
}

// isOutgoing tells a message accepted through the service (its payload an
// Outgoing, with "kind") from one received or synced (a prepareMessage
// document).
func isOutgoing(m storage.Message) bool {
	var probe struct {
		Kind string `json:"kind"`
	}
	return m.FromMe && json.Unmarshal(m.Payload, &probe) == nil && probe.Kind != ""
}

// MaxCheck is how many numbers one CheckNumbers call takes.
const MaxCheck = 100

// CheckNumbers asks WhatsApp which phone numbers are on it.
func (s *Service) CheckNumbers(ctx context.Context, instanceID string, phones []string) ([]message.Check, error) {
	if len(phones) == 0 || len(phones) > MaxCheck {
		return nil, invalid("numbers", "give 1 to %d numbers", MaxCheck)
	}
	norm := make([]string, len(phones))
	for i, p := range phones {
		jid, err := NormalizeJID("numbers", p)
		if err != nil {
			return nil, err
		}
		user, server, _ := strings.Cut(jid, "@")
		if server != userServer {
			return nil, invalid("numbers", "%q is a group, not a phone number", p)
		}
		norm[i] = user
	}
	return s.cfg.Session.IsOnWhatsApp(ctx, instanceID, norm)
}

// MarkRead sends read receipts for messages of a chat — the ids given, or
// the unread ones stored when ids is empty — and records them as read.
// It returns the ids it marked.
func (s *Service) MarkRead(ctx context.Context, instanceID, chat string, ids []string) ([]string, error) {
	chat, err := NormalizeJID("jid", chat)
	if err != nil {
		return nil, err
	}
	bySender := map[string][]string{}
	if len(ids) == 0 {
		in := false
		msgs, err := s.cfg.Store.ListMessages(ctx, storage.MessageQuery{InstanceID: instanceID, Chat: chat, FromMe: &in, Limit: storage.MaxPage})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Status == storage.MessageReceived {
				bySender[m.Sender] = append(bySender[m.Sender], m.ID)
			}
		}
	} else {
		for _, id := range ids {
			m, err := s.cfg.Store.Message(ctx, instanceID, id)
			if errors.Is(err, storage.ErrNotFound) {
				bySender[""] = append(bySender[""], id)
				continue
			} else if err != nil {
				return nil, err
			}
			bySender[m.Sender] = append(bySender[m.Sender], id)
		}
	}
	now := s.cfg.Clock.Now()
	var marked []string
	for sender, list := range bySender {
		if err := s.cfg.Session.MarkRead(ctx, instanceID, chat, sender, list, now); err != nil {
			return marked, err
		}
		marked = append(marked, list...)
	}
	if len(marked) == 0 {
		return []string{}, nil
	}
	err = s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		for _, id := range marked {
			if _, _, err := tx.SetMessageStatus(ctx, instanceID, id, storage.MessageRead, "", time.Time{}); err != nil &&
				!errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return marked, err
}

// SendPresence shows a chat state in a chat, or the number's presence
// when chat is empty.
func (s *Service) SendPresence(ctx context.Context, instanceID, chat string, p message.Presence) error {
	switch p {
	case message.PresenceComposing, message.PresenceRecording, message.PresencePaused:
		jid, err := NormalizeJID("jid", chat)
		if err != nil {
			return err
		}
		chat = jid
	case message.PresenceAvailable, message.PresenceOffline:
		if chat != "" {
			return invalid("jid", "%s is the number's presence; leave jid empty", p)
		}
	default:
		return invalid("presence", "%q is not composing, recording, paused, available or unavailable", p)
	}
	return s.cfg.Session.SendPresence(ctx, instanceID, chat, p)
}

// ProfilePictureURL returns the URL of a user's or group's profile
// picture, "" when there is none.
func (s *Service) ProfilePictureURL(ctx context.Context, instanceID, jid string) (string, error) {
	jid, err := NormalizeJID("jid", jid)
	if err != nil {
		return "", err
	}
	return s.cfg.Session.ProfilePictureURL(ctx, instanceID, jid)
}

// Content is a stored message's content as Evolution's message object:
// an outgoing message's converted from its request (media without its
// bytes), an incoming one's as received.
func Content(m storage.Message) json.RawMessage {
	if isOutgoing(m) {
		var out message.Outgoing
		if json.Unmarshal(m.Payload, &out) == nil {
			out.ID, out.To = m.ID, m.Chat
			_, content := evolution.Content(out)
			return content
		}
	}
	var doc struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(m.Payload, &doc) == nil && len(doc.Message) > 0 {
		return doc.Message
	}
	return nil
}
