package msgconv

import (
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// contextInfo is the reply and the mentions of out; nil when it has
// neither.
func contextInfo(out message.Outgoing, chat types.JID, b Build) (*waE2E.ContextInfo, error) {
	if out.ReplyTo == nil && len(out.Mentions) == 0 {
		return nil, nil
	}
	ci := &waE2E.ContextInfo{}
	if r := out.ReplyTo; r != nil {
		if r.ID == "" {
			return nil, invalid("reply without the quoted message's id")
		}
		author, err := keyAuthor(*r, chat, b.Own)
		if err != nil {
			return nil, err
		}
		ci.StanzaID = proto.String(r.ID)
		ci.Participant = proto.String(author.ToNonAD().String())
		if b.Quoted != nil {
			ci.QuotedMessage = b.Quoted
		}
		if r.Chat != "" && r.Chat != out.To {
			ci.RemoteJID = proto.String(r.Chat)
		}
	}
	for _, m := range out.Mentions {
		jid, err := ParseJID(m)
		if err != nil {
			return nil, err
		}
		ci.MentionedJID = append(ci.MentionedJID, jid.ToNonAD().String())
	}
	return ci, nil
}

// keyAuthor is the author of the message k names in chat: us for our own
// messages, the participant in a group, the other party in a 1:1 chat.
func keyAuthor(k message.Key, chat types.JID, own types.JID) (types.JID, error) {
	switch {
	case k.FromMe:
		if own.IsEmpty() {
			return types.EmptyJID, invalid("no own JID to name as the author")
		}
		return own.ToNonAD(), nil
	case k.Sender != "":
		return ParseJID(k.Sender)
	case chat.Server == types.GroupServer:
		return types.EmptyJID, invalid("a group message's key needs its participant")
	}
	return chat.ToNonAD(), nil
}
