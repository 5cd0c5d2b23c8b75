package msgconv

import (
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// contactMessage is a contact card (a vCard).
func contactMessage(out message.Outgoing, ci *waE2E.ContextInfo) (*waE2E.Message, error) {
	c := out.Contact
	if c == nil || c.VCard == "" {
		return nil, invalid("contact message without a vCard")
	}
	if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(c.VCard)), "BEGIN:VCARD") {
		return nil, invalid("contact card is not a vCard (BEGIN:VCARD …)")
	}
	return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
		DisplayName: proto.String(c.DisplayName),
		Vcard:       proto.String(c.VCard),
		ContextInfo: ci,
	}}, nil
}
