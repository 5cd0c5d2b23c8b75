package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session/msgconv"
	"github.com/wahost/wahost/host/traffic"
)

var _ message.Session = (*Manager)(nil)

// open returns the client of the instance's open session, or
// message.ErrNotConnected.
func (m *Manager) open(instanceID string) (*session, *client, error) {
	s := m.lookup(instanceID)
	if s == nil {
		return nil, nil, message.ErrNotConnected
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, cl := s.conn, s.cli
	if c == nil || c.reported || c.phase != abi.PhaseOpen || cl == nil || !cl.wa.IsLoggedIn() {
		return nil, nil, message.ErrNotConnected
	}
	return s, cl, nil
}

// Send sends out: it uploads the file of a media kind, builds the
// WhatsApp message (host/session/msgconv) and waits for the server's
// acknowledgement, at most Config.SendTimeout. The message keeps out.ID,
// so a resend after a crash is the same message to WhatsApp. Errors:
// message.ErrNotConnected, *message.InvalidError (bad JID, missing
// content), *message.ServerError (the server's error code),
// message.ErrTimeout; others are transient (an upload or network failure).
func (m *Manager) Send(ctx context.Context, instanceID string, out message.Outgoing, media []byte) (message.Sent, error) {
	s, cl, err := m.open(instanceID)
	if err != nil {
		return message.Sent{}, err
	}
	chat, err := msgconv.ParseJID(out.To)
	if err != nil {
		return message.Sent{}, err
	}
	b := msgconv.Build{Own: cl.wa.Store.GetJID().ToNonAD(), Now: m.cfg.Clock.Now()}
	if mt, ok := msgconv.MediaType(out.Kind); ok {
		if len(media) == 0 {
			return message.Sent{}, &message.InvalidError{Reason: fmt.Sprintf("%s message without its file", out.Kind)}
		}
		up, err := cl.wa.Upload(ctx, media, mt)
		if err != nil {
			return message.Sent{}, fmt.Errorf("uploading the %s: %w", out.Kind, sendError(err))
		}
		b.Upload = &up
	}
	if out.ReplyTo != nil {
		b.Quoted = s.sentMessage(ctx, out.ReplyTo.ID)
	}
	msg, err := msgconv.ToWhatsApp(out, b)
	if err != nil {
		return message.Sent{}, err
	}
	resp, err := cl.wa.SendMessage(ctx, chat, msg, whatsmeow.SendRequestExtra{ID: out.ID, Timeout: m.cfg.SendTimeout})
	s.observe(sendObservation(err))
	if err != nil {
		return message.Sent{}, fmt.Errorf("sending %s %s: %w", out.Kind, out.ID, sendError(err))
	}
	s.keepSent(ctx, resp.ID, msg)
	return message.Sent{ID: resp.ID, Timestamp: resp.Timestamp}, nil
}

// sendObservation is what a send's outcome tells host/traffic: the
// server acknowledged it, did not within Config.SendTimeout, or refused
// it with a code. Other failures (the context, the connection) say
// nothing of the server.
func sendObservation(err error) traffic.Observation {
	var se *message.ServerError
	switch {
	case err == nil:
		return traffic.Observation{Kind: traffic.Sent}
	case errors.Is(err, whatsmeow.ErrMessageTimedOut):
		return traffic.Observation{Kind: traffic.Unacked}
	case errors.As(sendError(err), &se):
		return traffic.Observation{Kind: traffic.SendError, Code: se.Code}
	}
	return traffic.Observation{}
}

// sendError maps whatsmeow's errors onto the ones the messaging service
// branches on; it keeps err in the chain.
func sendError(err error) error {
	switch {
	case errors.Is(err, whatsmeow.ErrNotConnected), errors.Is(err, whatsmeow.ErrNotLoggedIn),
		errors.Is(err, whatsmeow.ErrIQDisconnected):
		return errors.Join(message.ErrNotConnected, err)
	case errors.Is(err, whatsmeow.ErrMessageTimedOut):
		return errors.Join(message.ErrTimeout, err)
	case errors.Is(err, whatsmeow.ErrServerReturnedError):
		var code int
		_, _ = fmt.Sscanf(strings.TrimPrefix(err.Error(), whatsmeow.ErrServerReturnedError.Error()), " %d", &code)
		return errors.Join(&message.ServerError{Code: code}, err)
	case errors.Is(err, whatsmeow.ErrRecipientADJID), errors.Is(err, whatsmeow.ErrUnknownServer):
		return &message.InvalidError{Reason: err.Error()}
	}
	return err
}

// IsOnWhatsApp checks phone numbers (digits, with or without a leading
// "+"); each answer's Query is the number as given.
func (m *Manager) IsOnWhatsApp(ctx context.Context, instanceID string, phones []string) ([]message.Check, error) {
	_, cl, err := m.open(instanceID)
	if err != nil {
		return nil, err
	}
	queries := make([]string, len(phones))
	asked := make(map[string]string, len(phones))
	for i, p := range phones {
		digits := strings.TrimPrefix(strings.TrimSpace(p), "+")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return nil, &message.InvalidError{Reason: fmt.Sprintf("%q is not a phone number in international form", p)}
		}
		queries[i] = "+" + digits
		asked[digits] = p
	}
	resp, err := cl.wa.IsOnWhatsApp(ctx, queries)
	if err != nil {
		return nil, fmt.Errorf("checking numbers: %w", sendError(err))
	}
	out := make([]message.Check, 0, len(phones))
	for _, r := range resp {
		q := strings.TrimPrefix(r.Query, "+")
		c := message.Check{Query: q, Exists: r.IsIn}
		if orig, ok := asked[q]; ok {
			c.Query = orig
		}
		if r.IsIn {
			c.JID = r.JID.ToNonAD().String()
		}
		out = append(out, c)
	}
	return out, nil
}

// MarkRead sends read receipts for messages of chat (sender: their author
// in a group); at zero means now.
func (m *Manager) MarkRead(ctx context.Context, instanceID, chat, sender string, ids []string, at time.Time) error {
	_, cl, err := m.open(instanceID)
	if err != nil {
		return err
	}
	chatJID, err := msgconv.ParseJID(chat)
	if err != nil {
		return err
	}
	var senderJID types.JID
	if sender != "" {
		if senderJID, err = msgconv.ParseJID(sender); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if at.IsZero() {
		at = m.cfg.Clock.Now()
	}
	if err := cl.wa.MarkRead(ctx, ids, at, chatJID, senderJID); err != nil {
		return fmt.Errorf("marking %d messages read: %w", len(ids), sendError(err))
	}
	return nil
}

// SendPresence shows composing, recording or paused in chat, or the
// number as available or unavailable when chat is empty.
func (m *Manager) SendPresence(ctx context.Context, instanceID, chat string, p message.Presence) error {
	_, cl, err := m.open(instanceID)
	if err != nil {
		return err
	}
	if chat == "" {
		var state types.Presence
		switch p {
		case message.PresenceAvailable:
			state = types.PresenceAvailable
		case message.PresenceOffline:
			state = types.PresenceUnavailable
		default:
			return &message.InvalidError{Reason: fmt.Sprintf("presence %q needs a chat", p)}
		}
		if err := cl.wa.SendPresence(ctx, state); err != nil {
			return fmt.Errorf("sending presence %s: %w", p, sendError(err))
		}
		return nil
	}
	jid, err := msgconv.ParseJID(chat)
	if err != nil {
		return err
	}
	var (
		state types.ChatPresence
		media types.ChatPresenceMedia
	)
	switch p {
	case message.PresenceComposing:
		state = types.ChatPresenceComposing
	case message.PresenceRecording:
		state, media = types.ChatPresenceComposing, types.ChatPresenceMediaAudio
	case message.PresencePaused:
		state = types.ChatPresencePaused
	default:
		return &message.InvalidError{Reason: fmt.Sprintf("presence %q is not a chat state", p)}
	}
	if err := cl.wa.SendChatPresence(ctx, jid, state, media); err != nil {
		return fmt.Errorf("sending chat presence %s: %w", p, sendError(err))
	}
	return nil
}

// ProfilePictureURL returns the URL of jid's profile picture; "" when it
// has none or hides it from this number.
func (m *Manager) ProfilePictureURL(ctx context.Context, instanceID, jid string) (string, error) {
	_, cl, err := m.open(instanceID)
	if err != nil {
		return "", err
	}
	target, err := msgconv.ParseJID(jid)
	if err != nil {
		return "", err
	}
	info, err := cl.wa.GetProfilePictureInfo(ctx, target, nil)
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureNotSet), errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading the profile picture of %s: %w", jid, sendError(err))
	case info == nil:
		return "", nil
	}
	return info.URL, nil
}

// Download fetches and decrypts the file of a stored message
// (Incoming.Message); message.ErrNoMedia when it has none.
func (m *Manager) Download(ctx context.Context, instanceID string, msg json.RawMessage) ([]byte, string, error) {
	wm, err := msgconv.FromJSON(msg)
	if err != nil {
		return nil, "", &message.InvalidError{Reason: err.Error()}
	}
	d := msgconv.Media(wm)
	if d == nil {
		return nil, "", message.ErrNoMedia
	}
	_, cl, err := m.open(instanceID)
	if err != nil {
		return nil, "", err
	}
	data, err := cl.wa.Download(ctx, d)
	if err != nil {
		return nil, "", fmt.Errorf("downloading media: %w", sendError(err))
	}
	return data, d.GetMimetype(), nil
}
