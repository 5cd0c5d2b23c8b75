package evolution

import "github.com/wahost/wahost/host/message"

// ChatEntry is one element of chats.set.
type ChatEntry struct {
	RemoteJID      string `json:"remoteJid"`
	InstanceID     string `json:"instanceId"`
	Name           string `json:"name,omitempty"`
	UnreadMessages int    `json:"unreadMessages,omitempty"`
}

// ContactEntry is one element of contacts.set.
type ContactEntry struct {
	RemoteJID     string `json:"remoteJid"`
	PushName      string `json:"pushName,omitempty"`
	ProfilePicURL string `json:"profilePicUrl,omitempty"`
	InstanceID    string `json:"instanceId"`
}

// Chats converts the chats of a history batch.
func Chats(instanceID string, chats []message.Chat) []ChatEntry {
	out := make([]ChatEntry, 0, len(chats))
	for _, c := range chats {
		out = append(out, ChatEntry{RemoteJID: c.JID, InstanceID: instanceID, Name: c.Name, UnreadMessages: c.UnreadCount})
	}
	return out
}

// Contacts converts the contacts of a history batch.
func Contacts(instanceID string, contacts []message.ContactInfo) []ContactEntry {
	out := make([]ContactEntry, 0, len(contacts))
	for _, c := range contacts {
		out = append(out, ContactEntry{RemoteJID: c.JID, PushName: c.PushName, InstanceID: instanceID})
	}
	return out
}
