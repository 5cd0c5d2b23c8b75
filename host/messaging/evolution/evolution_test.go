package evolution_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

func TestSource(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"3EB0A1B2C3D4E5F6A7B8C9", "web"},    // whatsmeow and WhatsApp Web: 3EB0 + 18 hex
		{"3A1234567890ABCDEF12", "ios"},      // 3A + 18
		{"ABCDEF0123456789ABCDE", "android"}, // 21 characters
		{"0123456789ABCDEF0123456789ABCDEF", "android"},
		{"3F0000", "desktop"},
		{"ABCDEF0123456789AB", "desktop"}, // 18 characters
		{"BAE5123", "unknown"},
		{"", "unknown"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if got := evolution.Source(tc.id); got != tc.want {
				t.Errorf("Source(%q) = %q, want %q", tc.id, got, tc.want)
			}
		})
	}
}

func TestContent(t *testing.T) {
	to := "5511999999999@s.whatsapp.net"
	target := &message.Key{Chat: to, ID: "3EB0AA", FromMe: true}
	for _, tc := range []struct {
		name     string
		out      message.Outgoing
		wantType string
		want     string
	}{
		{"plain text", message.Outgoing{To: to, Kind: message.KindText, Text: "hi"}, "conversation", `{"conversation":"hi"}`},
		{"text with reply and mention", message.Outgoing{To: to, Kind: message.KindText, Text: "@55 hi",
			ReplyTo: &message.Key{Chat: to, ID: "Q1"}, Mentions: []string{"55@s.whatsapp.net"}},
			"extendedTextMessage", `{"extendedTextMessage":{"text":"@55 hi","contextInfo":{"stanzaId":"Q1","mentionedJid":["55@s.whatsapp.net"]}}}`},
		{"link preview", message.Outgoing{To: to, Kind: message.KindText, Text: "https://x", LinkPreview: true},
			"extendedTextMessage", `{"extendedTextMessage":{"text":"https://x"}}`},
		{"image from url", message.Outgoing{To: to, Kind: message.KindImage, Media: &message.Media{URL: "https://m/a.jpg", MIMEType: "image/jpeg", Caption: "c"}},
			"imageMessage", `{"imageMessage":{"url":"https://m/a.jpg","mimetype":"image/jpeg","caption":"c"}}`},
		{"voice note", message.Outgoing{To: to, Kind: message.KindAudio, Media: &message.Media{Data: []byte("abc"), MIMEType: "audio/ogg", VoiceNote: true}},
			"audioMessage", `{"audioMessage":{"mimetype":"audio/ogg","fileLength":3,"ptt":true}}`},
		{"document", message.Outgoing{To: to, Kind: message.KindDocument, Media: &message.Media{Data: []byte("x"), FileName: "a.pdf", MIMEType: "application/pdf"}},
			"documentMessage", `{"documentMessage":{"mimetype":"application/pdf","fileName":"a.pdf","fileLength":1}}`},
		{"location", message.Outgoing{To: to, Kind: message.KindLocation, Location: &message.Location{Latitude: -23.5, Longitude: -46.6, Name: "SP"}},
			"locationMessage", `{"locationMessage":{"degreesLatitude":-23.5,"degreesLongitude":-46.6,"name":"SP"}}`},
		{"contact", message.Outgoing{To: to, Kind: message.KindContact, Contact: &message.Contact{DisplayName: "A", VCard: "BEGIN:VCARD"}},
			"contactMessage", `{"contactMessage":{"displayName":"A","vcard":"BEGIN:VCARD"}}`},
		{"reaction", message.Outgoing{To: to, Kind: message.KindReaction, Target: target, Emoji: "👍"},
			"reactionMessage", `{"reactionMessage":{"key":{"remoteJid":"` + to + `","fromMe":true,"id":"3EB0AA"},"text":"👍"}}`},
		{"reaction removed", message.Outgoing{To: to, Kind: message.KindReaction, Target: target},
			"reactionMessage", `{"reactionMessage":{"key":{"remoteJid":"` + to + `","fromMe":true,"id":"3EB0AA"},"text":""}}`},
		{"edit", message.Outgoing{To: to, Kind: message.KindEdit, Target: target, Text: "new"},
			"protocolMessage", `{"protocolMessage":{"key":{"remoteJid":"` + to + `","fromMe":true,"id":"3EB0AA"},"type":"MESSAGE_EDIT","editedMessage":{"conversation":"new"}}}`},
		{"revoke", message.Outgoing{To: to, Kind: message.KindRevoke, Target: &message.Key{ID: "3EB0AA", FromMe: true}},
			"protocolMessage", `{"protocolMessage":{"key":{"remoteJid":"` + to + `","fromMe":true,"id":"3EB0AA"},"type":"REVOKE"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, got := evolution.Content(tc.out)
			if typ != tc.wantType {
				t.Errorf("type %q, want %q", typ, tc.wantType)
			}
			if string(got) != tc.want {
				t.Errorf("content\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestIncomingAndSent(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	in := message.Incoming{
		Key:      message.Key{Chat: "120363@g.us", ID: "3A1234567890ABCDEF12", Sender: "5511@s.whatsapp.net"},
		PushName: "Ana", Timestamp: ts, Type: "conversation", Message: json.RawMessage(`{"conversation":"oi"}`),
	}
	got, _ := json.Marshal(evolution.Incoming("inst-1", in))
	want := `{"key":{"remoteJid":"120363@g.us","fromMe":false,"id":"3A1234567890ABCDEF12","participant":"5511@s.whatsapp.net"},` +
		`"pushName":"Ana","status":"DELIVERY_ACK","message":{"conversation":"oi"},"messageType":"conversation",` +
		`"messageTimestamp":1700000000,"instanceId":"inst-1","source":"ios"}`
	if string(got) != want {
		t.Errorf("incoming\n got %s\nwant %s", got, want)
	}

	withMedia := evolution.WithBase64(evolution.Message{Message: json.RawMessage(`{"imageMessage":{"mimetype":"image/png"}}`)}, []byte("png"))
	if string(withMedia.Message) != `{"base64":"cG5n","imageMessage":{"mimetype":"image/png"}}` {
		t.Errorf("base64: %s", withMedia.Message)
	}

	out := message.Outgoing{ID: "3EB0A1B2C3D4E5F6A7B8C9", To: "5511@s.whatsapp.net", Kind: message.KindText, Text: "hi"}
	got, _ = json.Marshal(evolution.Sent("inst-1", out, "Me", ts))
	want = `{"key":{"remoteJid":"5511@s.whatsapp.net","fromMe":true,"id":"3EB0A1B2C3D4E5F6A7B8C9"},"pushName":"Me",` +
		`"status":"SERVER_ACK","message":{"conversation":"hi"},"messageType":"conversation","messageTimestamp":1700000000,` +
		`"instanceId":"inst-1","source":"web"}`
	if string(got) != want {
		t.Errorf("sent\n got %s\nwant %s", got, want)
	}
}

func TestUpdateOf(t *testing.T) {
	for _, tc := range []struct {
		status storage.MessageStatus
		reason string
		want   string
	}{
		{storage.MessageSent, "", "SERVER_ACK"},
		{storage.MessageDelivered, "", "DELIVERY_ACK"},
		{storage.MessageRead, "", "READ"},
		{storage.MessagePlayed, "", "PLAYED"},
		{storage.MessageFailed, "expired", "ERROR"},
		{storage.MessageQueued, "", "PENDING"},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			u := evolution.UpdateOf(storage.Message{InstanceID: "i", ID: "3EB0X", Chat: "c@s.whatsapp.net", FromMe: true,
				Status: tc.status, Reason: tc.reason})
			if u.Status != tc.want || u.KeyID != "3EB0X" || u.MessageID != "3EB0X" || u.RemoteJID != "c@s.whatsapp.net" ||
				!u.FromMe || u.InstanceID != "i" || u.Reason != tc.reason {
				t.Errorf("UpdateOf = %+v", u)
			}
		})
	}
}
