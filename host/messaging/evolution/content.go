package evolution

import (
	"encoding/json"

	"github.com/wahost/wahost/host/message"
)

// contextInfo is Baileys' contextInfo: the quoted message and the mentions.
type contextInfo struct {
	StanzaID     string   `json:"stanzaId,omitempty"`
	Participant  string   `json:"participant,omitempty"`
	RemoteJID    string   `json:"remoteJid,omitempty"`
	MentionedJID []string `json:"mentionedJid,omitempty"`
}

func contextOf(out message.Outgoing) *contextInfo {
	if out.ReplyTo == nil && len(out.Mentions) == 0 {
		return nil
	}
	c := &contextInfo{MentionedJID: out.Mentions}
	if r := out.ReplyTo; r != nil {
		c.StanzaID, c.Participant = r.ID, r.Sender
		if r.Chat != "" && r.Chat != out.To {
			c.RemoteJID = r.Chat
		}
	}
	return c
}

type textMessage struct {
	Text        string       `json:"text"`
	ContextInfo *contextInfo `json:"contextInfo,omitempty"`
}

type mediaMessage struct {
	URL         string       `json:"url,omitempty"`
	Mimetype    string       `json:"mimetype,omitempty"`
	Caption     string       `json:"caption,omitempty"`
	FileName    string       `json:"fileName,omitempty"`
	FileLength  int          `json:"fileLength,omitempty"`
	PTT         bool         `json:"ptt,omitempty"`
	ContextInfo *contextInfo `json:"contextInfo,omitempty"`
}

type locationMessage struct {
	DegreesLatitude  float64      `json:"degreesLatitude"`
	DegreesLongitude float64      `json:"degreesLongitude"`
	Name             string       `json:"name,omitempty"`
	Address          string       `json:"address,omitempty"`
	ContextInfo      *contextInfo `json:"contextInfo,omitempty"`
}

type contactMessage struct {
	DisplayName string       `json:"displayName"`
	VCard       string       `json:"vcard"`
	ContextInfo *contextInfo `json:"contextInfo,omitempty"`
}

type reactionMessage struct {
	Key  Key    `json:"key"`
	Text string `json:"text"`
}

type protocolMessage struct {
	Key           Key             `json:"key"`
	Type          string          `json:"type"`
	EditedMessage json.RawMessage `json:"editedMessage,omitempty"`
}

// mediaField is the message field of each media kind.
var mediaField = map[message.Kind]string{
	message.KindImage:    "imageMessage",
	message.KindVideo:    "videoMessage",
	message.KindAudio:    "audioMessage",
	message.KindDocument: "documentMessage",
	message.KindSticker:  "stickerMessage",
}

// Content converts an outgoing message to Evolution's messageType and
// message object: {"conversation": …}, {"extendedTextMessage": …},
// {"imageMessage": …}, {"reactionMessage": …}, {"protocolMessage": …}
// for an edit or a revoke. Media carries its metadata (and its URL when
// sent from one), never its bytes.
func Content(out message.Outgoing) (string, json.RawMessage) {
	ctx := contextOf(out)
	var field string
	var body any
	switch out.Kind {
	case message.KindText:
		if ctx == nil && !out.LinkPreview {
			field, body = "conversation", out.Text
		} else {
			field, body = "extendedTextMessage", textMessage{Text: out.Text, ContextInfo: ctx}
		}
	case message.KindImage, message.KindVideo, message.KindAudio, message.KindDocument, message.KindSticker:
		field = mediaField[out.Kind]
		m := mediaMessage{ContextInfo: ctx}
		if md := out.Media; md != nil {
			m.URL, m.Mimetype, m.Caption, m.FileName, m.FileLength = md.URL, md.MIMEType, md.Caption, md.FileName, len(md.Data)
			m.PTT = out.Kind == message.KindAudio && md.VoiceNote
		}
		body = m
	case message.KindLocation:
		field = "locationMessage"
		if l := out.Location; l != nil {
			body = locationMessage{DegreesLatitude: l.Latitude, DegreesLongitude: l.Longitude, Name: l.Name,
				Address: l.Address, ContextInfo: ctx}
		}
	case message.KindContact:
		field = "contactMessage"
		if c := out.Contact; c != nil {
			body = contactMessage{DisplayName: c.DisplayName, VCard: c.VCard, ContextInfo: ctx}
		}
	case message.KindReaction:
		field = "reactionMessage"
		body = reactionMessage{Key: targetKey(out), Text: out.Emoji}
	case message.KindEdit:
		field = "protocolMessage"
		edited, _ := json.Marshal(map[string]string{"conversation": out.Text})
		body = protocolMessage{Key: targetKey(out), Type: "MESSAGE_EDIT", EditedMessage: edited}
	case message.KindRevoke:
		field = "protocolMessage"
		body = protocolMessage{Key: targetKey(out), Type: "REVOKE"}
	default:
		return string(out.Kind), json.RawMessage("{}")
	}
	b, err := json.Marshal(map[string]any{field: body})
	if err != nil {
		return field, json.RawMessage("{}")
	}
	return field, b
}

func targetKey(out message.Outgoing) Key {
	if out.Target == nil {
		return Key{RemoteJID: out.To}
	}
	k := KeyOf(*out.Target)
	if k.RemoteJID == "" {
		k.RemoteJID = out.To
	}
	return k
}
