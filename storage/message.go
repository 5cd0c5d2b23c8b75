package storage

import (
	"encoding/json"
	"time"
)

// MessageStatus is where a message is in its life. Outgoing: queued → sent
// (the server acknowledged it) → delivered → read → played, or failed with
// a Reason. Incoming: received (and read once we mark it).
type MessageStatus string

// Message statuses.
const (
	MessageQueued    MessageStatus = "queued"
	MessageSent      MessageStatus = "sent"
	MessageDelivered MessageStatus = "delivered"
	MessageRead      MessageStatus = "read"
	MessagePlayed    MessageStatus = "played"
	MessageFailed    MessageStatus = "failed"
	MessageReceived  MessageStatus = "received"
)

// Rank orders statuses so that a late receipt never moves a message back
// (delivered after read is ignored): queued 0, sent 1, delivered 2, read 3,
// played 4. Received ranks with delivered (the message reached its
// recipient, us), so an incoming message can still be marked read or
// played. Failed is terminal and ranks above all; an unknown status ranks
// -1.
func (s MessageStatus) Rank() int {
	switch s {
	case MessageQueued:
		return 0
	case MessageSent:
		return 1
	case MessageDelivered, MessageReceived:
		return 2
	case MessageRead:
		return 3
	case MessagePlayed:
		return 4
	case MessageFailed:
		return 5
	}
	return -1
}

// messageStatuses lists every known status, for the stores' rank
// expressions.
var messageStatuses = []MessageStatus{
	MessageQueued, MessageSent, MessageDelivered, MessageReceived, MessageRead, MessagePlayed, MessageFailed,
}

// MessageStatuses returns every known status.
func MessageStatuses() []MessageStatus {
	return append([]MessageStatus(nil), messageStatuses...)
}

// Message is one incoming or outgoing WhatsApp message.
type Message struct {
	InstanceID     string
	ID             string          // the WhatsApp message id; unique per instance
	Chat           string          // the chat's JID: user@s.whatsapp.net or group@g.us (Evolution's remoteJid)
	Sender         string          // the author's JID (participant in groups; empty for our own)
	FromMe         bool            // sent by this number (through wahost or from the phone)
	Type           string          // Evolution's messageType: "conversation", "imageMessage", "reactionMessage", …
	Status         MessageStatus   // queued requires FromMe
	Reason         string          // why it failed: not_on_whatsapp, expired, logged_out, media_unreachable, server_error:<code>, …
	Payload        json.RawMessage // outgoing: the send request as accepted; incoming: the message document
	IdempotencyKey string          // outgoing only; unique per instance when set
	Seq            int64           // assigned by the store on insert, increasing: the send order
	Attempts       int             // send attempts so far
	NextAttemptAt  time.Time       // outgoing queued: not sent before this
	ExpiresAt      time.Time       // outgoing queued: fails as "expired" after this (zero: never)
	Timestamp      time.Time       // WhatsApp's time: the server ack's t (outgoing) or the message's t (incoming); zero until known
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SortTime is the time ListMessages orders and pages by: Timestamp, or
// CreatedAt while Timestamp is not known yet.
func (m Message) SortTime() time.Time {
	if m.Timestamp.IsZero() {
		return m.CreatedAt
	}
	return m.Timestamp
}

// MessageQuery selects the messages ListMessages returns.
type MessageQuery struct {
	InstanceID string
	Chat       string    // empty: every chat
	FromMe     *bool     // nil: both directions
	Before     time.Time // zero: newest; else only messages whose SortTime is before it
	// BeforeSeq, with Before, also admits the messages whose SortTime
	// equals Before and whose Seq is below it: pass the last message's
	// SortTime and Seq to fetch the next page without skipping messages
	// that share a second.
	BeforeSeq int64
	Since     time.Time // zero: no lower bound; else SortTime at or after it
	Limit     int       // clamped to 1..MaxPage, DefaultPage when 0
}
