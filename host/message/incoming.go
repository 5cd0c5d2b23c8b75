package message

import (
	"encoding/json"
	"time"
)

// Event is what an incoming message does.
type Event string

// The incoming events.
const (
	// EventMessage is a new message (Evolution's messages.upsert).
	EventMessage Event = "message"
	// EventEdit replaces the text of Target (messages.edited).
	EventEdit Event = "edit"
	// EventRevoke deletes Target for everyone (messages.delete).
	EventRevoke Event = "revoke"
	// EventReaction reacts to Target; it is also a message of its own.
	EventReaction Event = "reaction"
)

// Incoming is one message a session received, or one this number sent
// from another device (Key.FromMe).
type Incoming struct {
	Key       Key
	Event     Event
	PushName  string
	Timestamp time.Time
	// Type is Evolution API's messageType: the field of Message that
	// carries the content ("conversation", "imageMessage", …).
	Type string
	// Message is the WhatsApp message as JSON, in the field names
	// Evolution API (Baileys) uses: {"conversation": "hi"},
	// {"imageMessage": {"url": …, "mimetype": …}}. It is also what the
	// session needs to download the message's media later.
	Message json.RawMessage
	// Target is the message an edit, a revoke or a reaction refers to.
	Target *Key
	// Text is the plain text of the message (or of an edit), when it has one.
	Text string
	// HasMedia says that Message carries a downloadable file.
	HasMedia bool
	// FromHistory marks a message of the history sync after pairing.
	FromHistory bool
}

// ReceiptType is what a receipt says about our messages.
type ReceiptType string

// The receipts that move an outgoing message's status.
const (
	ReceiptDelivered ReceiptType = "delivered"
	ReceiptRead      ReceiptType = "read"
	ReceiptPlayed    ReceiptType = "played"
)

// Receipt is a recipient's receipt for messages this number sent.
type Receipt struct {
	Chat string
	// Sender is the device that sent the receipt (the reader in a group).
	Sender    string
	IDs       []string
	Type      ReceiptType
	Timestamp time.Time
}

// History is one batch of a history sync after pairing.
type History struct {
	Messages []Incoming
	Chats    []Chat
	Contacts []ContactInfo
	// Progress is WhatsApp's percentage of the sync, 0 when unknown.
	Progress int
}

// Chat is a conversation listed by a history sync.
type Chat struct {
	JID         string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	UnreadCount int       `json:"unreadCount,omitempty"`
	LastMessage time.Time `json:"-"`
}

// ContactInfo is a contact listed by a history sync or a number check.
type ContactInfo struct {
	JID      string `json:"id"`
	PushName string `json:"pushName,omitempty"`
}

// Check is the answer for one number asked about with IsOnWhatsApp.
type Check struct {
	Query  string `json:"number"`
	JID    string `json:"jid,omitempty"`
	Exists bool   `json:"exists"`
}
