package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// Accepted is the outcome of Accept.
type Accepted struct {
	Message storage.Message
	// Repeated is true when an Idempotency-Key named a message accepted
	// before: nothing new was queued.
	Repeated bool
}

// Accept validates out, gives it its WhatsApp id and queues it durably:
// when Accept returns, the message is committed and will be sent (or fail
// with a reason). key, if not empty, is the client's idempotency key: a
// key accepted before returns that message instead of queueing another.
//
// Errors: *InputError for content that cannot be sent, ErrTooLarge for
// media over MaxMedia, *StateError for an instance never paired or logged
// out, storage.ErrNotFound for an unknown instance.
func (s *Service) Accept(ctx context.Context, instanceID string, out message.Outgoing, key string) (Accepted, error) {
	if key != "" {
		if err := storage.ValidateMessageKey("idempotency_key", key); err != nil {
			return Accepted{}, invalid("Idempotency-Key", "%v", err)
		}
	}
	inst, err := s.cfg.Store.Instance(ctx, instanceID)
	if err != nil {
		return Accepted{}, err
	}
	if err := sendable(inst); err != nil {
		return Accepted{}, err
	}
	if key != "" {
		if m, err := s.cfg.Store.MessageByIdempotencyKey(ctx, instanceID, key); err == nil {
			return Accepted{Message: m, Repeated: true}, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Accepted{}, err
		}
	}
	if err := s.check(&out); err != nil {
		return Accepted{}, err
	}
	s.resolve(ctx, instanceID, out.To, out.Target)
	s.resolve(ctx, instanceID, out.To, out.ReplyTo)

	lock := s.acceptLock(instanceID)
	lock.Lock()
	defer lock.Unlock()
	for range 3 { // a new id on the rare collision
		out.ID = NewID()
		payload, err := json.Marshal(out)
		if err != nil {
			return Accepted{}, fmt.Errorf("encoding message: %w", err)
		}
		typ, _ := evolution.Content(out)
		m := storage.Message{
			InstanceID: instanceID, ID: out.ID, Chat: out.To, FromMe: true, Type: typ,
			Status: storage.MessageQueued, Payload: payload, IdempotencyKey: key,
		}
		now := s.cfg.Clock.Now()
		m.NextAttemptAt = now
		if s.cfg.TTL > 0 {
			m.ExpiresAt = now.Add(s.cfg.TTL)
		}
		row := m
		err = s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
			var err error
			m, err = tx.InsertMessage(ctx, row)
			return err
		})
		if errors.Is(err, storage.ErrDuplicateMessage) && key != "" {
			if prev, perr := s.cfg.Store.MessageByIdempotencyKey(ctx, instanceID, key); perr == nil {
				return Accepted{Message: prev, Repeated: true}, nil
			}
		}
		if errors.Is(err, storage.ErrDuplicateMessage) {
			continue
		}
		if err != nil {
			return Accepted{}, fmt.Errorf("queueing message: %w", err)
		}
		s.Wake(instanceID)
		return Accepted{Message: m}, nil
	}
	return Accepted{}, errors.New("queueing message: no free message id")
}

// sendable refuses an instance that is not paired or was logged out; a
// paired instance that is down for now queues.
func sendable(inst storage.Instance) error {
	switch {
	case inst.OwnerJID == "":
		return &StateError{Instance: inst.Name, State: string(inst.Status), Reason: "never paired"}
	case inst.Status == storage.StatusClose || inst.Status == storage.StatusRefused:
		return &StateError{Instance: inst.Name, State: string(inst.Status), Reason: "logged out"}
	}
	return nil
}

// resolve completes a key the client gave by id alone from the stored
// message: its chat, direction and author.
func (s *Service) resolve(ctx context.Context, instanceID, chat string, k *message.Key) {
	if k == nil {
		return
	}
	if k.Chat == "" {
		k.Chat = chat
	}
	m, err := s.cfg.Store.Message(ctx, instanceID, k.ID)
	if err != nil {
		return
	}
	k.Chat, k.FromMe, k.Sender = m.Chat, m.FromMe, m.Sender
}

// check validates and normalises an outgoing message in place.
func (s *Service) check(out *message.Outgoing) error {
	to, err := NormalizeJID("to", out.To)
	if err != nil {
		return err
	}
	out.To = to
	for i, jid := range out.Mentions {
		if out.Mentions[i], err = NormalizeJID("mentions", jid); err != nil {
			return err
		}
	}
	if out.ReplyTo != nil && out.ReplyTo.ID == "" {
		return invalid("reply_to", "the quoted message's id is empty")
	}
	switch out.Kind {
	case message.KindText:
		if out.Text == "" {
			return invalid("text", "empty")
		}
	case message.KindImage, message.KindVideo, message.KindAudio, message.KindDocument, message.KindSticker:
		return s.checkMedia(string(out.Kind), out.Media)
	case message.KindLocation:
		l := out.Location
		if l == nil || math.IsNaN(l.Latitude) || math.Abs(l.Latitude) > 90 || math.IsNaN(l.Longitude) || math.Abs(l.Longitude) > 180 {
			return invalid("location", "latitude in [-90, 90] and longitude in [-180, 180] are required")
		}
	case message.KindContact:
		if out.Contact == nil || out.Contact.VCard == "" {
			return invalid("contact", "a vcard is required")
		}
	case message.KindReaction, message.KindRevoke:
		if out.Target == nil || out.Target.ID == "" {
			return invalid(string(out.Kind), "the message id is required")
		}
	case message.KindEdit:
		if out.Target == nil || out.Target.ID == "" {
			return invalid("edit", "the message id is required")
		}
		if out.Text == "" {
			return invalid("edit", "the new text is empty")
		}
	default:
		return invalid("kind", "%q is not a kind wahost sends", out.Kind)
	}
	return nil
}

func (s *Service) checkMedia(field string, md *message.Media) error {
	switch {
	case md == nil || (md.URL == "") == (len(md.Data) == 0):
		return invalid(field, "give exactly one of url and base64")
	case int64(len(md.Data)) > s.cfg.MaxMedia:
		return fmt.Errorf("%s: %d bytes, over the %d of messages.max_media: %w", field, len(md.Data), s.cfg.MaxMedia, ErrTooLarge)
	case md.URL != "" && !isHTTPURL(md.URL):
		return invalid(field, "url %q is not an http or https URL", md.URL)
	}
	return nil
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && len(raw) < 4096 && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
