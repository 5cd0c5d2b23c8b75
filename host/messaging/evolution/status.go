package evolution

import "github.com/wahost/wahost/storage"

// The statuses of messages.update, as Evolution API names Baileys' ones.
const (
	StatusError     = "ERROR"
	StatusPending   = "PENDING"
	StatusServerAck = "SERVER_ACK"
	StatusDelivered = "DELIVERY_ACK"
	StatusRead      = "READ"
	StatusPlayed    = "PLAYED"
	StatusDeleted   = "DELETED"
)

// StatusOf names a stored status as messages.update does; received (an
// incoming message) is DELIVERY_ACK.
func StatusOf(s storage.MessageStatus) string {
	switch s {
	case storage.MessageQueued:
		return StatusPending
	case storage.MessageSent:
		return StatusServerAck
	case storage.MessageDelivered, storage.MessageReceived:
		return StatusDelivered
	case storage.MessageRead:
		return StatusRead
	case storage.MessagePlayed:
		return StatusPlayed
	}
	return StatusError
}

// Update is messages.update's data: one message's new status. Reason is
// wahost's addition on ERROR: why the message failed.
type Update struct {
	KeyID       string `json:"keyId"`
	RemoteJID   string `json:"remoteJid"`
	FromMe      bool   `json:"fromMe"`
	Participant string `json:"participant,omitempty"`
	Status      string `json:"status"`
	InstanceID  string `json:"instanceId"`
	MessageID   string `json:"messageId"`
	Reason      string `json:"reason,omitempty"`
}

// UpdateOf is the messages.update of a stored message in its current
// status. Evolution's messageId is its database id; wahost's messages are
// keyed by their WhatsApp id, so both ids carry it.
func UpdateOf(m storage.Message) Update {
	u := Update{
		KeyID: m.ID, RemoteJID: m.Chat, FromMe: m.FromMe, Participant: m.Sender, Status: StatusOf(m.Status),
		InstanceID: m.InstanceID, MessageID: m.ID,
	}
	if m.Status == storage.MessageFailed {
		u.Reason = m.Reason
	}
	return u
}
