package msgconv

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/message"
)

// Build is what converting an Outgoing needs besides the Outgoing itself.
type Build struct {
	// Own is this number's JID: replies and reactions name it as the
	// author of our own messages.
	Own types.JID
	// Now stamps reactions and edits (their senderTimestampMs).
	Now time.Time
	// Upload is the uploaded file of a media kind; nil otherwise.
	Upload *whatsmeow.UploadResponse
	// Quoted is the message ReplyTo names, when known; nil leaves the
	// quote's content out (WhatsApp shows the reply without a preview).
	Quoted *waE2E.Message
}

// ToWhatsApp builds the message that sends out. A content WhatsApp
// cannot carry (a bad JID, a missing field) fails with a
// *message.InvalidError.
func ToWhatsApp(out message.Outgoing, b Build) (*waE2E.Message, error) {
	chat, err := ParseJID(out.To)
	if err != nil {
		return nil, err
	}
	ctxInfo, err := contextInfo(out, chat, b)
	if err != nil {
		return nil, err
	}
	switch out.Kind {
	case message.KindText:
		return textMessage(out, ctxInfo)
	case message.KindImage, message.KindVideo, message.KindAudio, message.KindDocument, message.KindSticker:
		return mediaMessage(out, b.Upload, ctxInfo)
	case message.KindLocation:
		return locationMessage(out, ctxInfo)
	case message.KindContact:
		return contactMessage(out, ctxInfo)
	case message.KindReaction:
		return reactionMessage(out, chat, b)
	case message.KindEdit:
		return editMessage(out, chat, b)
	case message.KindRevoke:
		return revokeMessage(out, chat, b)
	}
	return nil, invalid("unknown message kind %q", out.Kind)
}

// MediaType is the upload type of a media kind: the key whatsmeow
// encrypts the file with. ok is false for a kind without a file.
func MediaType(k message.Kind) (whatsmeow.MediaType, bool) {
	switch k {
	case message.KindImage, message.KindSticker:
		return whatsmeow.MediaImage, true
	case message.KindVideo:
		return whatsmeow.MediaVideo, true
	case message.KindAudio:
		return whatsmeow.MediaAudio, true
	case message.KindDocument:
		return whatsmeow.MediaDocument, true
	}
	return "", false
}

// ParseJID parses a JID of an Outgoing; a malformed one is a
// *message.InvalidError.
func ParseJID(s string) (types.JID, error) {
	if s == "" {
		return types.EmptyJID, invalid("missing JID")
	}
	jid, err := types.ParseJID(s)
	if err != nil {
		return types.EmptyJID, invalid("bad JID %q: %v", s, err)
	}
	switch jid.Server {
	case types.DefaultUserServer, types.GroupServer, types.HiddenUserServer, types.BroadcastServer, types.NewsletterServer:
	default:
		return types.EmptyJID, invalid("bad JID %q: unknown server %q", s, jid.Server)
	}
	if jid.User == "" || strings.ContainsAny(jid.User, " @\t\n") {
		return types.EmptyJID, invalid("bad JID %q: bad user part", s)
	}
	return jid, nil
}

func invalid(format string, args ...any) error {
	return &message.InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is a *message.InvalidError.
func IsInvalid(err error) bool {
	var ie *message.InvalidError
	return errors.As(err, &ie)
}
