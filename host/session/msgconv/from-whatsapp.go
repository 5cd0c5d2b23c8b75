package msgconv

import (
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/message"
)

// Info is what converting a received message needs to know about it.
type Info struct {
	Chat   types.JID // the chat, in our terms: the other party of a 1:1 chat, or the group
	Sender types.JID // the author's device
	// Own is this number's JID: keys that name "me" from the sender's side
	// are turned into our terms with it.
	Own       types.JID
	ID        string
	IsFromMe  bool // sent by this number, from another device
	PushName  string
	Timestamp time.Time
}

// InfoOf returns the Info of a whatsmeow message event received by the
// device own.
func InfoOf(mi types.MessageInfo, own types.JID) Info {
	return Info{
		Chat: mi.Chat, Sender: mi.Sender, Own: own.ToNonAD(), ID: mi.ID, IsFromMe: mi.IsFromMe,
		PushName: mi.PushName, Timestamp: mi.Timestamp,
	}
}

// FromEvent converts a whatsmeow message event; see FromWhatsApp.
func FromEvent(evt *events.Message, own types.JID) (message.Incoming, bool, error) {
	return FromWhatsApp(InfoOf(evt.Info, own), evt.Message)
}

// FromWhatsApp converts a received message. ok is false for a message
// that carries nothing an app is told about: the sender-key distribution
// a group message comes with (delivered as an event of its own with the
// same id), a message with no content, and protocol messages other than
// edits and revokes (history sync notices, key shares, …).
func FromWhatsApp(info Info, msg *waE2E.Message) (in message.Incoming, ok bool, err error) {
	msg = Unwrap(msg)
	typ := Type(msg)
	if typ == "" {
		return message.Incoming{}, false, nil
	}
	in = message.Incoming{
		Key:       message.Key{Chat: info.Chat.String(), ID: info.ID, FromMe: info.IsFromMe},
		Event:     message.EventMessage,
		PushName:  info.PushName,
		Timestamp: info.Timestamp,
		Type:      typ,
		Text:      textOf(msg),
		HasMedia:  downloadable(msg) != nil,
	}
	if info.Chat.Server == types.GroupServer && !info.IsFromMe && !info.Sender.IsEmpty() {
		in.Key.Sender = info.Sender.ToNonAD().String()
	}
	switch {
	case msg.GetReactionMessage() != nil:
		r := msg.GetReactionMessage()
		in.Event, in.Target, in.Text = message.EventReaction, incomingTarget(r.GetKey(), info), r.GetText()
	case msg.GetProtocolMessage() != nil:
		pm := msg.GetProtocolMessage()
		switch pm.GetType() {
		case waE2E.ProtocolMessage_REVOKE:
			in.Event, in.Target = message.EventRevoke, incomingTarget(pm.GetKey(), info)
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			in.Event, in.Target, in.Text = message.EventEdit, incomingTarget(pm.GetKey(), info), textOf(pm.GetEditedMessage())
		default:
			return message.Incoming{}, false, nil
		}
		if in.Target == nil {
			return message.Incoming{}, false, nil
		}
	}
	if in.Message, err = ToJSON(msg); err != nil {
		return message.Incoming{}, false, err
	}
	return in, true, nil
}

// Unwrap takes off the wrappers around a message's content: a copy sent
// to our other devices, ephemeral, view-once, document-with-caption and
// edit wrappers (as whatsmeow's events.Message.UnwrapRaw does; a message
// already unwrapped is returned as it is).
func Unwrap(msg *waE2E.Message) *waE2E.Message {
	for range 8 { // wrappers nest a few levels at most
		var inner *waE2E.Message
		switch {
		case msg.GetDeviceSentMessage().GetMessage() != nil:
			inner = msg.GetDeviceSentMessage().GetMessage()
		case msg.GetEphemeralMessage().GetMessage() != nil:
			inner = msg.GetEphemeralMessage().GetMessage()
		case msg.GetViewOnceMessage().GetMessage() != nil:
			inner = msg.GetViewOnceMessage().GetMessage()
		case msg.GetViewOnceMessageV2().GetMessage() != nil:
			inner = msg.GetViewOnceMessageV2().GetMessage()
		case msg.GetViewOnceMessageV2Extension().GetMessage() != nil:
			inner = msg.GetViewOnceMessageV2Extension().GetMessage()
		case msg.GetDocumentWithCaptionMessage().GetMessage() != nil:
			inner = msg.GetDocumentWithCaptionMessage().GetMessage()
		case msg.GetEditedMessage().GetMessage() != nil:
			inner = msg.GetEditedMessage().GetMessage()
		default:
			return msg
		}
		if inner.MessageContextInfo == nil && msg.MessageContextInfo != nil {
			inner.MessageContextInfo = msg.MessageContextInfo
		}
		msg = inner
	}
	return msg
}

// Type is Evolution API's messageType of msg, as Baileys' getContentType
// finds it: the name of the first field set that is "conversation" or
// names a message ("imageMessage", "reactionMessage", "protocolMessage",
// …), the sender-key distribution left out. It is "" when there is none.
func Type(msg *waE2E.Message) string {
	if msg == nil {
		return ""
	}
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	names := namesOf(m.Descriptor())
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		name := names.baileys[fd.Number()]
		if name == "senderKeyDistributionMessage" {
			continue
		}
		if name == "conversation" || strings.Contains(name, "Message") {
			return name
		}
	}
	return ""
}

// textOf is the text a message shows: its text or its caption.
func textOf(msg *waE2E.Message) string {
	switch {
	case msg == nil:
		return ""
	case msg.Conversation != nil:
		return msg.GetConversation()
	case msg.ExtendedTextMessage != nil:
		return msg.GetExtendedTextMessage().GetText()
	case msg.ImageMessage != nil:
		return msg.GetImageMessage().GetCaption()
	case msg.VideoMessage != nil:
		return msg.GetVideoMessage().GetCaption()
	case msg.DocumentMessage != nil:
		return msg.GetDocumentMessage().GetCaption()
	}
	return ""
}
