package message

import "time"

// Kind is what an outgoing message carries.
type Kind string

// The kinds an app can send.
const (
	KindText     Kind = "text"
	KindImage    Kind = "image"
	KindVideo    Kind = "video"
	KindAudio    Kind = "audio"
	KindDocument Kind = "document"
	KindSticker  Kind = "sticker"
	KindLocation Kind = "location"
	KindContact  Kind = "contact"
	KindReaction Kind = "reaction"
	KindEdit     Kind = "edit"
	KindRevoke   Kind = "revoke"
)

// IsMedia reports whether k carries a file.
func (k Kind) IsMedia() bool {
	switch k {
	case KindImage, KindVideo, KindAudio, KindDocument, KindSticker:
		return true
	}
	return false
}

// Outgoing is one message an app asked to send, as accepted: its ID is the
// WhatsApp message ID, fixed when the message is accepted so that a send
// repeated after a crash carries the same ID.
type Outgoing struct {
	ID   string `json:"id"`
	To   string `json:"to"` // the chat's JID (user or group), normalised
	Kind Kind   `json:"kind"`

	// Text is the text of KindText and KindEdit.
	Text string `json:"text,omitempty"`
	// LinkPreview asks for a preview of the first link in Text.
	LinkPreview bool      `json:"link_preview,omitempty"`
	Media       *Media    `json:"media,omitempty"`
	Location    *Location `json:"location,omitempty"`
	Contact     *Contact  `json:"contact,omitempty"`
	// Target is the message a reaction, an edit or a revoke refers to.
	Target *Key `json:"target,omitempty"`
	// Emoji is a reaction's emoji; empty removes our reaction.
	Emoji string `json:"emoji,omitempty"`

	// ReplyTo quotes an earlier message of the chat.
	ReplyTo *Key `json:"reply_to,omitempty"`
	// Mentions are the JIDs of users the text mentions ("@5511…" in Text).
	Mentions []string `json:"mentions,omitempty"`
}

// Media is the file of a media message. Exactly one of URL and Data is set
// when accepted; the messaging service fetches URL before the send and
// hands the session the bytes.
type Media struct {
	URL      string `json:"url,omitempty"`
	Data     []byte `json:"data,omitempty"` // base64 in JSON
	MIMEType string `json:"mimetype,omitempty"`
	FileName string `json:"file_name,omitempty"`
	Caption  string `json:"caption,omitempty"`
	// VoiceNote sends audio as a push-to-talk voice note.
	VoiceNote bool `json:"voice_note,omitempty"`
}

// Location is a pin on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Contact is a contact card.
type Contact struct {
	DisplayName string `json:"display_name"`
	VCard       string `json:"vcard"`
}

// Key identifies a message in a chat, as WhatsApp and Evolution API do.
type Key struct {
	Chat   string `json:"remote_jid"`
	ID     string `json:"id"`
	FromMe bool   `json:"from_me"`
	// Sender is the author's JID in a group; empty in a 1:1 chat.
	Sender string `json:"participant,omitempty"`
}

// Sent is the server's acknowledgement of a sent message.
type Sent struct {
	ID        string
	Timestamp time.Time // the server's time for the message
}
