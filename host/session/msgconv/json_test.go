package msgconv_test

import (
	"encoding/json"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/session/msgconv"
)

func TestBaileysName(t *testing.T) {
	for in, want := range map[string]string{
		"URL":                  "url",
		"fileSHA256":           "fileSha256",
		"fileEncSHA256":        "fileEncSha256",
		"JPEGThumbnail":        "jpegThumbnail",
		"stanzaID":             "stanzaId",
		"mentionedJID":         "mentionedJid",
		"remoteJID":            "remoteJid",
		"ID":                   "id",
		"PTT":                  "ptt",
		"senderTimestampMS":    "senderTimestampMs",
		"fromMe":               "fromMe",
		"directPath":           "directPath",
		"conversation":         "conversation",
		"midQualityFileSHA256": "midQualityFileSha256",
		"staticURL":            "staticUrl",
		"groupID":              "groupId",
	} {
		if got := msgconv.BaileysName(in); got != want {
			t.Errorf("BaileysName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJSONShape checks the bytes Evolution API consumers read: Baileys'
// names, base64 bytes, 64-bit integers as strings, enums by name.
func TestJSONShape(t *testing.T) {
	msg := &waE2E.Message{
		ImageMessage: &waE2E.ImageMessage{
			URL: proto.String("https://mmg.whatsapp.net/x"), Mimetype: proto.String("image/jpeg"),
			FileSHA256: []byte{1, 2, 3}, FileEncSHA256: []byte{4, 5, 6}, MediaKey: []byte{7, 8},
			FileLength: proto.Uint64(1234), MediaKeyTimestamp: proto.Int64(1700000000),
			JPEGThumbnail: []byte{0xff}, DirectPath: proto.String("/v/t62/x"),
			ContextInfo: &waE2E.ContextInfo{
				StanzaID: proto.String("3EB0AA"), Participant: proto.String("5511@s.whatsapp.net"),
				MentionedJID: []string{"5522@s.whatsapp.net"},
			},
		},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: []byte{9}},
	}
	raw, err := msgconv.ToJSON(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	img := got["imageMessage"].(map[string]any)
	for k, want := range map[string]any{
		"url": "https://mmg.whatsapp.net/x", "mimetype": "image/jpeg", "fileSha256": "AQID",
		"fileEncSha256": "BAUG", "mediaKey": "Bwg=", "fileLength": "1234", "mediaKeyTimestamp": "1700000000",
		"jpegThumbnail": "/w==", "directPath": "/v/t62/x",
	} {
		if img[k] != want {
			t.Errorf("imageMessage.%s = %#v, want %#v", k, img[k], want)
		}
	}
	ci := img["contextInfo"].(map[string]any)
	if ci["stanzaId"] != "3EB0AA" || ci["participant"] != "5511@s.whatsapp.net" {
		t.Errorf("contextInfo = %v", ci)
	}
	if m := ci["mentionedJid"].([]any); len(m) != 1 || m[0] != "5522@s.whatsapp.net" {
		t.Errorf("mentionedJid = %v", ci["mentionedJid"])
	}
	if _, ok := got["messageContextInfo"]; !ok {
		t.Error("messageContextInfo dropped; Evolution's payloads carry it")
	}

	revoke := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(),
		Key:  &waCommon.MessageKey{RemoteJID: proto.String("5511@s.whatsapp.net"), FromMe: proto.Bool(true), ID: proto.String("ABC")},
	}}
	raw, err = msgconv.ToJSON(revoke)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"protocolMessage":{"key":{"fromMe":true,"id":"ABC","remoteJid":"5511@s.whatsapp.net"},"type":"REVOKE"}}`
	if string(raw) != want {
		t.Errorf("revoke JSON\n got %s\nwant %s", raw, want)
	}
}

func TestFromJSON(t *testing.T) {
	want := &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text:        proto.String("hi @5522"),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q1"), MentionedJID: []string{"5522@s.whatsapp.net"}},
	}}
	for name, in := range map[string]string{
		"baileys":   `{"extendedTextMessage":{"text":"hi @5522","contextInfo":{"stanzaId":"Q1","mentionedJid":["5522@s.whatsapp.net"]}}}`,
		"protojson": `{"extendedTextMessage":{"text":"hi @5522","contextInfo":{"stanzaID":"Q1","mentionedJID":["5522@s.whatsapp.net"]}}}`,
		"unknown":   `{"extendedTextMessage":{"text":"hi @5522","newField":1,"contextInfo":{"stanzaId":"Q1","mentionedJid":["5522@s.whatsapp.net"]}},"base64":"AAAA"}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := msgconv.FromJSON([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	for name, in := range map[string]string{
		"not json": `{"conversation":`, "array": `[1]`, "empty": `{}`, "trailing": `{"conversation":"a"} {}`,
		"bad type": `{"conversation":12}`, "huge": `{"conversation":"` + strings.Repeat("a", msgconv.MaxJSONBytes) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if m, err := msgconv.FromJSON([]byte(in)); err == nil {
				t.Errorf("decoded %v; want an error", m)
			}
		})
	}
}

// FuzzFromJSON decodes untrusted stored bytes: no panic, and whatever
// decodes encodes and decodes again to the same message.
func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"conversation":"hi"}`,
		`{"imageMessage":{"url":"u","fileSha256":"AQID","fileLength":"12","mediaKey":"Bwg=","directPath":"/p"}}`,
		`{"protocolMessage":{"key":{"fromMe":true,"id":"ABC","remoteJid":"5511@s.whatsapp.net"},"type":"REVOKE"}}`,
		`{"reactionMessage":{"key":{"id":"X"},"text":"👍","senderTimestampMs":"1"}}`,
		`{"locationMessage":{"degreesLatitude":-23.5,"degreesLongitude":-46.6}}`,
		`{"extendedTextMessage":{"text":"a","contextInfo":{"quotedMessage":{"conversation":"q"}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := msgconv.FromJSON(data)
		if err != nil {
			return
		}
		raw, err := msgconv.ToJSON(m)
		if err != nil {
			t.Fatalf("re-encoding %v: %v", m, err)
		}
		m2, err := msgconv.FromJSON(raw)
		if err != nil {
			if proto.Size(m) == 0 {
				return // {} decodes to nothing
			}
			t.Fatalf("decoding %s: %v", raw, err)
		}
		if !proto.Equal(m, m2) {
			t.Fatalf("round trip changed the message:\n%v\n%v", m, m2)
		}
	})
}
