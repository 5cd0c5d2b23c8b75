package evolution

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	msgevo "github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// Messaging is the messaging service's surface: the message, chat and
// presence routes run on it.
type Messaging interface {
	Accept(ctx context.Context, instanceID string, out message.Outgoing, key string) (messaging.Accepted, error)
	Message(ctx context.Context, instanceID, id string) (storage.Message, error)
	List(ctx context.Context, q storage.MessageQuery) ([]storage.Message, error)
	Media(ctx context.Context, instanceID, id string) ([]byte, string, error)
	CheckNumbers(ctx context.Context, instanceID string, phones []string) ([]message.Check, error)
	MarkRead(ctx context.Context, instanceID, chat string, ids []string) ([]string, error)
	SendPresence(ctx context.Context, instanceID, chat string, p message.Presence) error
	ProfilePictureURL(ctx context.Context, instanceID, jid string) (string, error)
}

// messageRoutes registers the message, chat and presence routes. The send
// routes take bodies up to MaxSendBody (base64 media).
func (s *Server) messageRoutes() {
	for _, r := range []struct {
		name  string
		build func(*sendDTO) (message.Outgoing, error)
	}{
		{"sendText", (*sendDTO).text}, {"sendMedia", (*sendDTO).media}, {"sendWhatsAppAudio", (*sendDTO).audio},
		{"sendSticker", (*sendDTO).sticker}, {"sendLocation", (*sendDTO).location},
		{"sendContact", (*sendDTO).contact}, {"sendReaction", (*sendDTO).reaction},
	} {
		s.instanceLimit("POST /message/"+r.name+"/{instance}", s.cfg.MaxSendBody, s.send(r.build))
	}
	s.instance("POST /instance/setPresence/{instance}", s.setPresence)
	s.instance("POST /chat/whatsappNumbers/{instance}", s.whatsappNumbers)
	s.instance("POST /chat/markMessageAsRead/{instance}", s.markRead)
	s.instance("POST /chat/getBase64FromMediaMessage/{instance}", s.mediaBase64)
	s.instance("POST /chat/fetchProfilePictureUrl/{instance}", s.profilePicture)
	s.instance("POST /chat/findMessages/{instance}", s.findMessages)
}

// quotedDTO is Evolution's Quoted: the key of the message replied to.
type quotedDTO struct {
	Key struct {
		ID          string `json:"id"`
		RemoteJID   string `json:"remoteJid"`
		FromMe      bool   `json:"fromMe"`
		Participant string `json:"participant"`
	} `json:"key"`
}

// contactDTO is Evolution's ContactMessage.
type contactDTO struct {
	FullName     string `json:"fullName"`
	WUID         string `json:"wuid"`
	PhoneNumber  string `json:"phoneNumber"`
	Organization string `json:"organization"`
	Email        string `json:"email"`
	URL          string `json:"url"`
}

// sendDTO holds the fields of every send body Evolution accepts
// (sendMessage.dto.ts); each route reads its own.
type sendDTO struct {
	Number           *string      `json:"number"`
	Delay            int          `json:"delay"`
	Quoted           *quotedDTO   `json:"quoted"`
	LinkPreview      bool         `json:"linkPreview"`
	MentionsEveryOne bool         `json:"mentionsEveryOne"`
	Mentioned        []string     `json:"mentioned"`
	Text             *string      `json:"text"`
	MediaType        string       `json:"mediatype"`
	MIMEType         string       `json:"mimetype"`
	Caption          string       `json:"caption"`
	FileName         string       `json:"fileName"`
	Media            string       `json:"media"`
	Audio            string       `json:"audio"`
	Sticker          string       `json:"sticker"`
	Latitude         *float64     `json:"latitude"`
	Longitude        *float64     `json:"longitude"`
	Name             *string      `json:"name"`
	Address          *string      `json:"address"`
	Contact          []contactDTO `json:"contact"`
	Reaction         *string      `json:"reaction"`
	RawKey           *struct {
		ID          string `json:"id"`
		RemoteJID   string `json:"remoteJid"`
		FromMe      *bool  `json:"fromMe"`
		Participant string `json:"participant"`
	} `json:"key"`
}

// requires is a schema's "required" check.
func requires(fields ...struct {
	name string
	ok   bool
}) error {
	var msgs []string
	for _, f := range fields {
		if !f.ok {
			msgs = append(msgs, fmt.Sprintf("instance requires property %q", f.name))
		}
	}
	if len(msgs) > 0 {
		return invalid(msgs...)
	}
	return nil
}

func field(name string, ok bool) struct {
	name string
	ok   bool
} {
	return struct {
		name string
		ok   bool
	}{name, ok}
}

// base fills the recipient, the quote and the mentions.
func (d *sendDTO) base(kind message.Kind) (message.Outgoing, error) {
	to, err := messaging.NormalizeJID("number", *d.Number)
	if err != nil {
		return message.Outgoing{}, err
	}
	if d.MentionsEveryOne {
		return message.Outgoing{}, badRequest("mentionsEveryOne is not supported: wahost does not fetch group participants; list them in mentioned")
	}
	out := message.Outgoing{To: to, Kind: kind, LinkPreview: d.LinkPreview}
	for _, m := range d.Mentioned {
		jid, err := messaging.NormalizeJID("mentioned", m)
		if err != nil {
			return out, err
		}
		out.Mentions = append(out.Mentions, jid)
	}
	if q := d.Quoted; q != nil && q.Key.ID != "" {
		chat := q.Key.RemoteJID
		if chat == "" {
			chat = to
		}
		out.ReplyTo = &message.Key{Chat: chat, ID: q.Key.ID, FromMe: q.Key.FromMe, Sender: q.Key.Participant}
	}
	return out, nil
}

func (d *sendDTO) text() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil), field("text", d.Text != nil)); err != nil {
		return message.Outgoing{}, err
	}
	if strings.TrimSpace(*d.Text) == "" {
		return message.Outgoing{}, badRequest("Text is required")
	}
	out, err := d.base(message.KindText)
	out.Text = *d.Text
	return out, err
}

var mediaKinds = map[string]message.Kind{
	"image": message.KindImage, "video": message.KindVideo, "audio": message.KindAudio, "document": message.KindDocument,
}

func (d *sendDTO) media() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil), field("mediatype", d.MediaType != "")); err != nil {
		return message.Outgoing{}, err
	}
	kind, ok := mediaKinds[d.MediaType]
	if !ok {
		return message.Outgoing{}, invalid(`mediatype is not one of enum values: image,document,video,audio`)
	}
	out, err := d.base(kind)
	if err != nil {
		return out, err
	}
	out.Media, err = mediaOf("media", d.Media)
	if out.Media != nil {
		out.Media.MIMEType, out.Media.Caption, out.Media.FileName = d.MIMEType, d.Caption, d.FileName
	}
	return out, err
}

func (d *sendDTO) audio() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil)); err != nil {
		return message.Outgoing{}, err
	}
	out, err := d.base(message.KindAudio)
	if err != nil {
		return out, err
	}
	out.Media, err = mediaOf("audio", d.Audio)
	if out.Media != nil {
		out.Media.VoiceNote = true
	}
	return out, err
}

func (d *sendDTO) sticker() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil)); err != nil {
		return message.Outgoing{}, err
	}
	out, err := d.base(message.KindSticker)
	if err != nil {
		return out, err
	}
	out.Media, err = mediaOf("sticker", d.Sticker)
	return out, err
}

// mediaOf reads a media field: an http(s) URL, or base64 (a data: URL
// prefix is dropped).
func mediaOf(name, v string) (*message.Media, error) {
	if v == "" {
		return nil, badRequest(fmt.Sprintf("%s is required: a URL or base64", name))
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return &message.Media{URL: v}, nil
	}
	if _, rest, ok := strings.Cut(v, ";base64,"); ok && strings.HasPrefix(v, "data:") {
		v = rest
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, badRequest(fmt.Sprintf("Owned media must be a url or base64 (%s)", name))
	}
	return &message.Media{Data: data}, nil
}

func (d *sendDTO) location() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil), field("latitude", d.Latitude != nil),
		field("longitude", d.Longitude != nil), field("name", d.Name != nil), field("address", d.Address != nil)); err != nil {
		return message.Outgoing{}, err
	}
	out, err := d.base(message.KindLocation)
	out.Location = &message.Location{Latitude: *d.Latitude, Longitude: *d.Longitude, Name: *d.Name, Address: *d.Address}
	return out, err
}

func (d *sendDTO) contact() (message.Outgoing, error) {
	if err := requires(field("number", d.Number != nil), field("contact", d.Contact != nil)); err != nil {
		return message.Outgoing{}, err
	}
	if len(d.Contact) != 1 {
		return message.Outgoing{}, badRequest("wahost sends one contact per message: send each contact on its own")
	}
	c := d.Contact[0]
	if c.FullName == "" || c.PhoneNumber == "" {
		return message.Outgoing{}, invalid(`contact[0] requires property "fullName" and "phoneNumber"`)
	}
	out, err := d.base(message.KindContact)
	out.Contact = &message.Contact{DisplayName: c.FullName, VCard: vcard(c)}
	return out, err
}

// vcard builds the card as Evolution's contactMessage does.
func vcard(c contactDTO) string {
	wuid := c.WUID
	if wuid == "" {
		wuid = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, c.PhoneNumber)
	}
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\nVERSION:3.0\nN:" + c.FullName + "\nFN:" + c.FullName + "\n")
	if c.Organization != "" {
		b.WriteString("ORG:" + c.Organization + ";\n")
	}
	if c.Email != "" {
		b.WriteString("EMAIL:" + c.Email + "\n")
	}
	if c.URL != "" {
		b.WriteString("URL:" + c.URL + "\n")
	}
	b.WriteString("item1.TEL;waid=" + wuid + ":" + c.PhoneNumber + "\nitem1.X-ABLabel:Celular\nEND:VCARD")
	return b.String()
}

func (d *sendDTO) reaction() (message.Outgoing, error) {
	if err := requires(field("key", d.RawKey != nil), field("reaction", d.Reaction != nil)); err != nil {
		return message.Outgoing{}, err
	}
	k := d.RawKey
	if k.ID == "" || k.RemoteJID == "" || k.FromMe == nil {
		return message.Outgoing{}, invalid(`key requires property "id", "remoteJid" and "fromMe"`)
	}
	to, err := messaging.NormalizeJID("key.remoteJid", k.RemoteJID)
	if err != nil {
		return message.Outgoing{}, err
	}
	return message.Outgoing{To: to, Kind: message.KindReaction, Emoji: *d.Reaction,
		Target: &message.Key{Chat: to, ID: k.ID, FromMe: *k.FromMe, Sender: k.Participant}}, nil
}

// send is a send route: the body becomes an outgoing message queued
// durably, and the answer is its prepareMessage document, PENDING.
func (s *Server) send(build func(*sendDTO) (message.Outgoing, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
		var body sendDTO
		if err := decode(r, &body); err != nil {
			return err
		}
		out, err := build(&body)
		if err != nil {
			return messagingError(err)
		}
		acc, err := s.cfg.Messaging.Accept(r.Context(), inst.ID, out, r.Header.Get("Idempotency-Key"))
		if err != nil {
			return messagingError(err)
		}
		writeJSON(w, http.StatusCreated, pending(inst, acc.Message))
		return nil
	}
}

// pending is the prepareMessage document of an accepted message.
func pending(inst storage.Instance, m storage.Message) msgevo.Message {
	var out message.Outgoing
	_ = json.Unmarshal(m.Payload, &out)
	out.ID, out.To = m.ID, m.Chat
	doc := msgevo.Sent(inst.ID, out, inst.ProfileName, m.CreatedAt)
	doc.Status = "PENDING"
	return doc
}

// messagingError sorts the messaging service's errors into Evolution's
// answers.
func messagingError(err error) error {
	var e *Error
	var ie *messaging.InputError
	var se *messaging.StateError
	var inv *message.InvalidError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &ie):
		return badRequest(ie.Error())
	case errors.As(err, &inv):
		return badRequest(inv.Reason)
	case errors.As(err, &se):
		return badRequest(se.Error())
	case errors.Is(err, messaging.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: []any{err.Error()}}
	case errors.Is(err, message.ErrNotConnected):
		return badRequest("Connection Closed")
	case errors.Is(err, message.ErrNoMedia):
		return badRequest("The message is not of the media type")
	case errors.Is(err, storage.ErrNotFound):
		return notFound(err.Error())
	}
	return err
}
