package msgconv

import (
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// reactionMessage reacts to out.Target with out.Emoji; an empty emoji
// removes our reaction.
func reactionMessage(out message.Outgoing, chat types.JID, b Build) (*waE2E.Message, error) {
	key, err := targetKey(out, chat, b.Own)
	if err != nil {
		return nil, err
	}
	return &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
		Key:               key,
		Text:              proto.String(out.Emoji),
		SenderTimestampMS: proto.Int64(b.Now.UnixMilli()),
	}}, nil
}

// editMessage replaces the text of one of our messages, in the shape of
// whatsmeow's Client.BuildEdit.
func editMessage(out message.Outgoing, chat types.JID, b Build) (*waE2E.Message, error) {
	if out.Target == nil || out.Target.ID == "" {
		return nil, invalid("edit without the edited message's id")
	}
	if !out.Target.FromMe {
		return nil, invalid("only our own messages can be edited")
	}
	if out.Text == "" {
		return nil, invalid("edit without the new text")
	}
	return &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Key: &waCommon.MessageKey{
				FromMe:    proto.Bool(true),
				ID:        proto.String(out.Target.ID),
				RemoteJID: proto.String(chat.String()),
			},
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			EditedMessage: &waE2E.Message{Conversation: proto.String(out.Text)},
			TimestampMS:   proto.Int64(b.Now.UnixMilli()),
		},
	}}}, nil
}

// revokeMessage deletes out.Target for everyone, in the shape of
// whatsmeow's Client.BuildRevoke: our own message, or, as a group admin,
// someone else's.
func revokeMessage(out message.Outgoing, chat types.JID, b Build) (*waE2E.Message, error) {
	key, err := targetKey(out, chat, b.Own)
	if err != nil {
		return nil, err
	}
	return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(),
		Key:  key,
	}}, nil
}

// targetKey is the key of out.Target as whatsmeow's BuildMessageKey
// writes it: fromMe for our own messages, the participant for someone
// else's in a group.
func targetKey(out message.Outgoing, chat types.JID, own types.JID) (*waCommon.MessageKey, error) {
	t := out.Target
	if t == nil || t.ID == "" {
		return nil, invalid("%s without the target message's id", out.Kind)
	}
	key := &waCommon.MessageKey{
		FromMe:    proto.Bool(true),
		ID:        proto.String(t.ID),
		RemoteJID: proto.String(chat.String()),
	}
	if t.FromMe {
		return key, nil
	}
	author, err := keyAuthor(*t, chat, own)
	if err != nil {
		return nil, err
	}
	if !own.IsEmpty() && author.User == own.User {
		return key, nil
	}
	key.FromMe = proto.Bool(false)
	if chat.Server == types.GroupServer {
		key.Participant = proto.String(author.ToNonAD().String())
	}
	return key, nil
}

// incomingTarget is, in our terms, the message a key received from
// sender in chat names. The key speaks from the sender's side: fromMe
// means the sender wrote it, and in a 1:1 chat the sender's remoteJid is
// us.
func incomingTarget(k *waCommon.MessageKey, info Info) *message.Key {
	if k == nil || k.GetID() == "" {
		return nil
	}
	var author types.JID
	switch {
	case k.GetFromMe():
		author = info.Sender
	case k.GetParticipant() != "":
		author, _ = types.ParseJID(k.GetParticipant())
	case info.Chat.Server == types.GroupServer:
		// A group key without a participant: the author is unknown.
	case info.IsFromMe:
		author = info.Chat
	default:
		author = info.Own
	}
	t := &message.Key{Chat: info.Chat.String(), ID: k.GetID()}
	if !author.IsEmpty() && !info.Own.IsEmpty() && author.User == info.Own.User {
		t.FromMe = true
	}
	if info.Chat.Server == types.GroupServer && !author.IsEmpty() && !t.FromMe {
		t.Sender = author.ToNonAD().String()
	}
	return t
}
