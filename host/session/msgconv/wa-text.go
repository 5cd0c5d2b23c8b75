package msgconv

import (
	"regexp"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// linkPattern finds the link a preview is for, as WhatsApp's clients
// recognise them: with a scheme, or starting with www.
var linkPattern = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]}'"]`)

// textMessage is a plain Conversation, or an ExtendedTextMessage when the
// text replies, mentions or previews a link.
func textMessage(out message.Outgoing, ci *waE2E.ContextInfo) (*waE2E.Message, error) {
	if out.Text == "" {
		return nil, invalid("text message without text")
	}
	link := ""
	if out.LinkPreview {
		link = linkPattern.FindString(out.Text)
	}
	if ci == nil && link == "" {
		return &waE2E.Message{Conversation: proto.String(out.Text)}, nil
	}
	ext := &waE2E.ExtendedTextMessage{Text: proto.String(out.Text), ContextInfo: ci}
	if link != "" {
		ext.MatchedText = proto.String(link)
	}
	return &waE2E.Message{ExtendedTextMessage: ext}, nil
}
