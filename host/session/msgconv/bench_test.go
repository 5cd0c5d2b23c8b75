package msgconv_test

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session/msgconv"
)

// BenchmarkFromWhatsApp converts one received image message with a
// reply, the per-message cost on the incoming path.
func BenchmarkFromWhatsApp(b *testing.B) {
	info := msgconv.Info{Chat: types.NewJID("5511000000002", types.DefaultUserServer),
		Sender: types.NewADJID("5511000000002", 0, 1), Own: own, ID: "ID", Timestamp: time.Unix(1_700_000_000, 0)}
	msg := &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL: proto.String("https://mmg.whatsapp.net/v/t62/x"), DirectPath: proto.String("/v/t62/x"), MediaKey: make([]byte, 32),
		FileSHA256: make([]byte, 32), FileEncSHA256: make([]byte, 32), FileLength: proto.Uint64(123456),
		Mimetype: proto.String("image/jpeg"), Caption: proto.String("look at this"), JPEGThumbnail: make([]byte, 2048),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q"), Participant: proto.String(ownJID)},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := msgconv.FromWhatsApp(info, msg); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkToWhatsApp builds one text reply with a mention.
func BenchmarkToWhatsApp(b *testing.B) {
	out := message.Outgoing{To: peerJID, Kind: message.KindText, Text: "hi @5511000000003",
		ReplyTo: &message.Key{ID: "Q"}, Mentions: []string{thirdJID}}
	bld := msgconv.Build{Own: own, Now: now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := msgconv.ToWhatsApp(out, bld); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromJSON decodes a stored image message, the first step of
// Download.
func BenchmarkFromJSON(b *testing.B) {
	raw := []byte(`{"imageMessage":{"url":"https://mmg.whatsapp.net/v/t62/x","directPath":"/v/t62/x","mediaKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","fileLength":"123456","mimetype":"image/jpeg","caption":"look"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := msgconv.FromJSON(raw); err != nil {
			b.Fatal(err)
		}
	}
}
