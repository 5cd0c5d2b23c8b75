package api

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/wahost/wahost/host/message"
)

// sendBody is POST /v1/instances/{name}/messages: a recipient and one
// kind of content.
type sendBody struct {
	To          string            `json:"to"`
	Text        *string           `json:"text,omitempty"`
	LinkPreview bool              `json:"link_preview,omitempty"`
	Image       *mediaBody        `json:"image,omitempty"`
	Video       *mediaBody        `json:"video,omitempty"`
	Audio       *mediaBody        `json:"audio,omitempty"`
	Document    *mediaBody        `json:"document,omitempty"`
	Sticker     *mediaBody        `json:"sticker,omitempty"`
	Location    *message.Location `json:"location,omitempty"`
	Contact     *message.Contact  `json:"contact,omitempty"`
	Reaction    *reactionBody     `json:"reaction,omitempty"`
	Edit        *editBody         `json:"edit,omitempty"`
	Revoke      *targetBody       `json:"revoke,omitempty"`
	ReplyTo     string            `json:"reply_to,omitempty"`
	Mentions    []string          `json:"mentions,omitempty"`
}

type mediaBody struct {
	URL       string `json:"url,omitempty"`
	Base64    string `json:"base64,omitempty"`
	Caption   string `json:"caption,omitempty"`
	FileName  string `json:"file_name,omitempty"`
	MIMEType  string `json:"mimetype,omitempty"`
	VoiceNote bool   `json:"voice_note,omitempty"`
}

type targetBody struct {
	MessageID string `json:"message_id"`
}

type reactionBody struct {
	MessageID string `json:"message_id"`
	// Emoji is the reaction; empty removes ours.
	Emoji string `json:"emoji"`
}

type editBody struct {
	MessageID string `json:"message_id"`
	Text      string `json:"text"`
}

// outgoing converts the body into a message to accept, naming the field
// at fault when it cannot.
func (b *sendBody) outgoing() (message.Outgoing, error) {
	out := message.Outgoing{To: b.To, LinkPreview: b.LinkPreview, Mentions: b.Mentions}
	if b.ReplyTo != "" {
		out.ReplyTo = &message.Key{ID: b.ReplyTo}
	}
	var kinds []string
	set := func(k message.Kind) { kinds = append(kinds, string(k)); out.Kind = k }
	if b.Text != nil {
		set(message.KindText)
		out.Text = *b.Text
	}
	media := []struct {
		kind message.Kind
		body *mediaBody
	}{
		{message.KindImage, b.Image}, {message.KindVideo, b.Video}, {message.KindAudio, b.Audio},
		{message.KindDocument, b.Document}, {message.KindSticker, b.Sticker},
	}
	for _, m := range media {
		if m.body == nil {
			continue
		}
		set(m.kind)
		md, err := m.body.media(string(m.kind))
		if err != nil {
			return out, err
		}
		if m.kind != message.KindAudio && md.VoiceNote {
			return out, badRequest("%s.voice_note: only audio is sent as a voice note", m.kind)
		}
		out.Media = md
	}
	if b.Location != nil {
		set(message.KindLocation)
		out.Location = b.Location
	}
	if b.Contact != nil {
		set(message.KindContact)
		out.Contact = b.Contact
	}
	if b.Reaction != nil {
		set(message.KindReaction)
		out.Target, out.Emoji = &message.Key{ID: b.Reaction.MessageID}, b.Reaction.Emoji
	}
	if b.Edit != nil {
		set(message.KindEdit)
		out.Target, out.Text = &message.Key{ID: b.Edit.MessageID}, b.Edit.Text
	}
	if b.Revoke != nil {
		set(message.KindRevoke)
		out.Target = &message.Key{ID: b.Revoke.MessageID}
	}
	switch len(kinds) {
	case 0:
		return out, badRequest("the message needs one of text, image, video, audio, document, sticker, location, contact, reaction, edit, revoke")
	case 1:
		return out, nil
	}
	return out, badRequest("one kind of content per message; got %s", strings.Join(kinds, ", "))
}

func (m *mediaBody) media(field string) (*message.Media, error) {
	md := &message.Media{URL: m.URL, Caption: m.Caption, FileName: m.FileName, MIMEType: m.MIMEType, VoiceNote: m.VoiceNote}
	if m.Base64 != "" {
		raw := m.Base64
		if rest, ok := strings.CutPrefix(raw, "data:"); ok { // a data URL
			meta, data, found := strings.Cut(rest, ",")
			if !found || !strings.HasSuffix(meta, ";base64") {
				return nil, badRequest("%s.base64: a data URL must be base64 (data:<type>;base64,...)", field)
			}
			if md.MIMEType == "" {
				md.MIMEType = strings.TrimSuffix(meta, ";base64")
			}
			raw = data
		}
		data, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, badRequest("%s.base64: not standard base64: %v", field, err)
		}
		md.Data = data
	}
	return md, nil
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	var body sendBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	out, err := body.outgoing()
	if err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	a, err := svc.Accept(r.Context(), inst.ID, out, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return messagingError(err)
	}
	if a.Repeated {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/instances/"+inst.Name+"/messages/"+a.Message.ID)
	writeJSON(w, http.StatusAccepted, messageViewOf(a.Message))
	return nil
}
