package message

import (
	"context"
	"encoding/json"
	"time"
)

// Traffic receives what sessions carry, in order per instance. The
// messaging service implements it; the session layer calls it.
type Traffic interface {
	// HandleIncoming stores and reports one incoming message. The session
	// sends WhatsApp's delivery receipt only after it returns nil, so a
	// message is never acknowledged before it is durable: an error makes
	// the server deliver it again on the next connection.
	HandleIncoming(ctx context.Context, instanceID string, in Incoming) error
	// HandleReceipt moves the status of the messages a receipt names.
	HandleReceipt(ctx context.Context, instanceID string, r Receipt) error
	// HandleHistory takes one batch of the history sync.
	HandleHistory(ctx context.Context, instanceID string, h History) error
}

// Presence is a chat state shown to a contact.
type Presence string

// The chat states.
const (
	PresenceComposing Presence = "composing"
	PresenceRecording Presence = "recording"
	PresencePaused    Presence = "paused"
	PresenceAvailable Presence = "available"
	PresenceOffline   Presence = "unavailable"
)

// Session is what the messaging service needs from the session layer.
// Every method fails with ErrNotConnected when the instance's session is
// not open.
type Session interface {
	// Send sends out (with media, the bytes of out.Media, already fetched)
	// and waits for the server's acknowledgement.
	Send(ctx context.Context, instanceID string, out Outgoing, media []byte) (Sent, error)
	// IsOnWhatsApp checks phone numbers (international form, digits).
	IsOnWhatsApp(ctx context.Context, instanceID string, phones []string) ([]Check, error)
	// MarkRead sends read receipts for messages of a chat (sender: the
	// author in a group, empty otherwise).
	MarkRead(ctx context.Context, instanceID, chat, sender string, ids []string, at time.Time) error
	// SendPresence shows a chat state in chat (composing, recording,
	// paused) or the number's presence (available, unavailable) when chat
	// is empty.
	SendPresence(ctx context.Context, instanceID, chat string, p Presence) error
	// ProfilePictureURL returns the URL of jid's profile picture, "" when
	// it has none or it is hidden.
	ProfilePictureURL(ctx context.Context, instanceID, jid string) (string, error)
	// Download fetches and decrypts the media of a stored message
	// (Incoming.Message); ErrNoMedia when it has none.
	Download(ctx context.Context, instanceID string, msg json.RawMessage) (data []byte, mimeType string, err error)
}
