package msgconv_test

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session/msgconv"
)

const (
	ownJID   = "5511000000001@s.whatsapp.net"
	peerJID  = "5511000000002@s.whatsapp.net"
	thirdJID = "5511000000003@s.whatsapp.net"
	groupJID = "120363000000000001@g.us"
)

var (
	own    = types.NewJID("5511000000001", types.DefaultUserServer)
	now    = time.UnixMilli(1_700_000_000_123)
	upload = &whatsmeow.UploadResponse{
		URL: "https://mmg.whatsapp.net/u", DirectPath: "/v/t62/u", MediaKey: []byte{1},
		FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: 42,
	}
)

func TestToWhatsApp(t *testing.T) {
	quoted := &waE2E.Message{Conversation: proto.String("the question")}
	reply := &waE2E.ContextInfo{
		StanzaID: proto.String("Q1"), Participant: proto.String(peerJID), QuotedMessage: quoted,
		MentionedJID: []string{thirdJID},
	}
	for _, tc := range []struct {
		name   string
		out    message.Outgoing
		quoted *waE2E.Message
		want   *waE2E.Message
	}{
		{
			name: "plain text",
			out:  message.Outgoing{To: peerJID, Kind: message.KindText, Text: "hi"},
			want: &waE2E.Message{Conversation: proto.String("hi")},
		},
		{
			name:   "text with reply and mention",
			out:    message.Outgoing{To: peerJID, Kind: message.KindText, Text: "hi @5511000000003", ReplyTo: &message.Key{Chat: peerJID, ID: "Q1"}, Mentions: []string{thirdJID}},
			quoted: quoted,
			want:   &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("hi @5511000000003"), ContextInfo: reply}},
		},
		{
			name: "reply to our own message in a group, quote unknown",
			out:  message.Outgoing{To: groupJID, Kind: message.KindText, Text: "yes", ReplyTo: &message.Key{Chat: groupJID, ID: "Q2", FromMe: true}},
			want: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("yes"),
				ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q2"), Participant: proto.String(ownJID)}}},
		},
		{
			name: "link preview",
			out:  message.Outgoing{To: peerJID, Kind: message.KindText, Text: "see https://example.com/a?b=1.", LinkPreview: true},
			want: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("see https://example.com/a?b=1."), MatchedText: proto.String("https://example.com/a?b=1")}},
		},
		{
			name: "image with caption",
			out:  message.Outgoing{To: peerJID, Kind: message.KindImage, Media: &message.Media{MIMEType: "image/png", Caption: "look"}},
			want: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{URL: proto.String(upload.URL), DirectPath: proto.String(upload.DirectPath),
				MediaKey: []byte{1}, FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: proto.Uint64(42),
				Mimetype: proto.String("image/png"), Caption: proto.String("look")}},
		},
		{
			name: "video",
			out:  message.Outgoing{To: peerJID, Kind: message.KindVideo, Media: &message.Media{}},
			want: &waE2E.Message{VideoMessage: &waE2E.VideoMessage{URL: proto.String(upload.URL), DirectPath: proto.String(upload.DirectPath),
				MediaKey: []byte{1}, FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: proto.Uint64(42), Mimetype: proto.String("video/mp4")}},
		},
		{
			name: "voice note",
			out:  message.Outgoing{To: peerJID, Kind: message.KindAudio, Media: &message.Media{VoiceNote: true}},
			want: &waE2E.Message{AudioMessage: &waE2E.AudioMessage{URL: proto.String(upload.URL), DirectPath: proto.String(upload.DirectPath),
				MediaKey: []byte{1}, FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: proto.Uint64(42),
				Mimetype: proto.String("audio/ogg; codecs=opus"), PTT: proto.Bool(true)}},
		},
		{
			name:   "document with reply",
			out:    message.Outgoing{To: peerJID, Kind: message.KindDocument, Media: &message.Media{FileName: "a.pdf", MIMEType: "application/pdf", Caption: "c"}, ReplyTo: &message.Key{ID: "Q1"}, Mentions: []string{thirdJID}},
			quoted: quoted,
			want: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{URL: proto.String(upload.URL), DirectPath: proto.String(upload.DirectPath),
				MediaKey: []byte{1}, FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: proto.Uint64(42),
				Mimetype: proto.String("application/pdf"), FileName: proto.String("a.pdf"), Title: proto.String("a.pdf"), Caption: proto.String("c"), ContextInfo: reply}},
		},
		{
			name: "sticker",
			out:  message.Outgoing{To: peerJID, Kind: message.KindSticker, Media: &message.Media{MIMEType: "image/png"}},
			want: &waE2E.Message{StickerMessage: &waE2E.StickerMessage{URL: proto.String(upload.URL), DirectPath: proto.String(upload.DirectPath),
				MediaKey: []byte{1}, FileEncSHA256: []byte{2}, FileSHA256: []byte{3}, FileLength: proto.Uint64(42), Mimetype: proto.String("image/webp")}},
		},
		{
			name: "location",
			out:  message.Outgoing{To: peerJID, Kind: message.KindLocation, Location: &message.Location{Latitude: -23.5, Longitude: -46.6, Name: "SP", Address: "Av. Paulista"}},
			want: &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(-23.5), DegreesLongitude: proto.Float64(-46.6), Name: proto.String("SP"), Address: proto.String("Av. Paulista")}},
		},
		{
			name: "contact",
			out:  message.Outgoing{To: peerJID, Kind: message.KindContact, Contact: &message.Contact{DisplayName: "Ann", VCard: "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD"}},
			want: &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Ann"), Vcard: proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD")}},
		},
		{
			name: "reaction to the peer's message",
			out:  message.Outgoing{To: peerJID, Kind: message.KindReaction, Target: &message.Key{Chat: peerJID, ID: "M1"}, Emoji: "👍"},
			want: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
				Key:  &waCommon.MessageKey{RemoteJID: proto.String(peerJID), FromMe: proto.Bool(false), ID: proto.String("M1")},
				Text: proto.String("👍"), SenderTimestampMS: proto.Int64(now.UnixMilli())}},
		},
		{
			name: "reaction removed, group member's message",
			out:  message.Outgoing{To: groupJID, Kind: message.KindReaction, Target: &message.Key{Chat: groupJID, ID: "M2", Sender: thirdJID}},
			want: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
				Key:  &waCommon.MessageKey{RemoteJID: proto.String(groupJID), FromMe: proto.Bool(false), ID: proto.String("M2"), Participant: proto.String(thirdJID)},
				Text: proto.String(""), SenderTimestampMS: proto.Int64(now.UnixMilli())}},
		},
		{
			name: "edit",
			out:  message.Outgoing{To: peerJID, Kind: message.KindEdit, Target: &message.Key{ID: "M3", FromMe: true}, Text: "fixed"},
			want: &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Key:           &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("M3"), RemoteJID: proto.String(peerJID)},
				Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
				EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")}, TimestampMS: proto.Int64(now.UnixMilli())}}}},
		},
		{
			name: "revoke own",
			out:  message.Outgoing{To: peerJID, Kind: message.KindRevoke, Target: &message.Key{ID: "M4", FromMe: true}},
			want: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
				Key: &waCommon.MessageKey{FromMe: proto.Bool(true), ID: proto.String("M4"), RemoteJID: proto.String(peerJID)}}},
		},
		{
			name: "revoke as group admin",
			out:  message.Outgoing{To: groupJID, Kind: message.KindRevoke, Target: &message.Key{ID: "M5", Sender: thirdJID}},
			want: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
				Key: &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("M5"), RemoteJID: proto.String(groupJID), Participant: proto.String(thirdJID)}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := msgconv.Build{Own: own, Now: now, Quoted: tc.quoted}
			if tc.out.Kind.IsMedia() {
				b.Upload = upload
			}
			got, err := msgconv.ToWhatsApp(tc.out, b)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestToWhatsAppInvalid(t *testing.T) {
	for name, out := range map[string]message.Outgoing{
		"bad jid":              {To: "not a jid@@", Kind: message.KindText, Text: "x"},
		"no recipient":         {Kind: message.KindText, Text: "x"},
		"empty text":           {To: peerJID, Kind: message.KindText},
		"unknown kind":         {To: peerJID, Kind: "poll"},
		"media without upload": {To: peerJID, Kind: message.KindImage},
		"bad mention":          {To: peerJID, Kind: message.KindText, Text: "x", Mentions: []string{"@"}},
		"off the map":          {To: peerJID, Kind: message.KindLocation, Location: &message.Location{Latitude: 91}},
		"not a vcard":          {To: peerJID, Kind: message.KindContact, Contact: &message.Contact{VCard: "Ann"}},
		"reaction no target":   {To: peerJID, Kind: message.KindReaction, Emoji: "x"},
		"edit someone else's":  {To: peerJID, Kind: message.KindEdit, Text: "x", Target: &message.Key{ID: "M"}},
		"group key no author":  {To: groupJID, Kind: message.KindRevoke, Target: &message.Key{ID: "M"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := msgconv.ToWhatsApp(out, msgconv.Build{Own: own, Now: now})
			if !msgconv.IsInvalid(err) {
				t.Fatalf("err = %v; want a *message.InvalidError", err)
			}
		})
	}
}
