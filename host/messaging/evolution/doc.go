// Package evolution builds the webhook documents of message traffic in the
// shapes Evolution API v2 sends, so its consumers read wahost's webhooks
// unchanged: prepareMessage for messages.upsert and send.message, the
// status document of messages.update, the key of messages.delete, and the
// lists of the history sync (messages.set, chats.set, contacts.set).
//
// It converts, and does nothing else: no I/O, no clock, no store. The
// field names are Baileys' (Evolution API passes Baileys' objects
// through): remoteJid, fromMe, messageTimestamp, imageMessage, ….
package evolution

// Webhook event names of message traffic, as Evolution API sends them.
const (
	EventUpsert      = "messages.upsert"
	EventUpdate      = "messages.update"
	EventEdited      = "messages.edited"
	EventDelete      = "messages.delete"
	EventSend        = "send.message"
	EventMessagesSet = "messages.set"
	EventChatsSet    = "chats.set"
	EventContactsSet = "contacts.set"
)
