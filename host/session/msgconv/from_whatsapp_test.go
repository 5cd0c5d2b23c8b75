package msgconv_test

import (
	"encoding/json"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session/msgconv"
)

func TestFromWhatsApp(t *testing.T) {
	peer := types.NewJID("5511000000002", types.DefaultUserServer)
	peerDev := types.NewADJID("5511000000002", 0, 3)
	third := types.NewJID("5511000000003", types.DefaultUserServer)
	group := types.NewJID("120363000000000001", types.GroupServer)
	ts := time.Unix(1_700_000_000, 0)
	dm := msgconv.Info{Chat: peer, Sender: peerDev, Own: own, ID: "ID1", PushName: "Peer", Timestamp: ts}
	fromPhone := msgconv.Info{Chat: peer, Sender: types.NewADJID("5511000000001", 0, 0), Own: own, ID: "ID2", IsFromMe: true, Timestamp: ts}
	inGroup := msgconv.Info{Chat: group, Sender: third, Own: own, ID: "ID3", PushName: "Third", Timestamp: ts}
	key := func(info msgconv.Info) message.Key {
		k := message.Key{Chat: info.Chat.String(), ID: info.ID, FromMe: info.IsFromMe}
		if info.Chat.Server == types.GroupServer {
			k.Sender = info.Sender.ToNonAD().String()
		}
		return k
	}
	media := &waE2E.ImageMessage{URL: proto.String("u"), DirectPath: proto.String("/p"), MediaKey: []byte{1}, Caption: proto.String("cap"), Mimetype: proto.String("image/jpeg")}

	for _, tc := range []struct {
		name string
		info msgconv.Info
		msg  *waE2E.Message
		want message.Incoming // Key, PushName, Timestamp filled from info; Message checked apart
		json string
	}{
		{
			name: "conversation", info: dm, msg: &waE2E.Message{Conversation: proto.String("hi")},
			want: message.Incoming{Event: message.EventMessage, Type: "conversation", Text: "hi"},
			json: `{"conversation":"hi"}`,
		},
		{
			name: "extended text from the phone", info: fromPhone,
			msg:  &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("yo"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("Q")}}},
			want: message.Incoming{Event: message.EventMessage, Type: "extendedTextMessage", Text: "yo"},
			json: `{"extendedTextMessage":{"contextInfo":{"stanzaId":"Q"},"text":"yo"}}`,
		},
		{
			name: "image in a group, ephemeral", info: inGroup,
			msg:  &waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ImageMessage: media}}},
			want: message.Incoming{Event: message.EventMessage, Type: "imageMessage", Text: "cap", HasMedia: true},
			json: `{"imageMessage":{"caption":"cap","directPath":"/p","mediaKey":"AQ==","mimetype":"image/jpeg","url":"u"}}`,
		},
		{
			name: "view once", info: dm,
			msg:  &waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: &waE2E.Message{ImageMessage: media}}},
			want: message.Incoming{Event: message.EventMessage, Type: "imageMessage", Text: "cap", HasMedia: true},
		},
		{
			name: "document with caption",
			info: dm,
			msg: &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				DirectPath: proto.String("/d"), MediaKey: []byte{2}, Caption: proto.String("doc"), FileName: proto.String("a.pdf")}}}},
			want: message.Incoming{Event: message.EventMessage, Type: "documentMessage", Text: "doc", HasMedia: true},
		},
		{
			name: "location", info: dm,
			msg:  &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(1.5), DegreesLongitude: proto.Float64(2)}},
			want: message.Incoming{Event: message.EventMessage, Type: "locationMessage"},
			json: `{"locationMessage":{"degreesLatitude":1.5,"degreesLongitude":2}}`,
		},
		{
			name: "contact", info: dm,
			msg:  &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Ann"), Vcard: proto.String("BEGIN:VCARD")}},
			want: message.Incoming{Event: message.EventMessage, Type: "contactMessage"},
			json: `{"contactMessage":{"displayName":"Ann","vcard":"BEGIN:VCARD"}}`,
		},
		{
			name: "reaction to our message", info: dm,
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("❤"),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(ownJID), FromMe: proto.Bool(false), ID: proto.String("OURS")}}},
			want: message.Incoming{Event: message.EventReaction, Type: "reactionMessage", Text: "❤",
				Target: &message.Key{Chat: peerJID, ID: "OURS", FromMe: true}},
		},
		{
			name: "reaction removed from the peer's own message", info: dm,
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String(""),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(ownJID), FromMe: proto.Bool(true), ID: proto.String("THEIRS")}}},
			want: message.Incoming{Event: message.EventReaction, Type: "reactionMessage",
				Target: &message.Key{Chat: peerJID, ID: "THEIRS"}},
		},
		{
			name: "reaction from the phone to the peer's message", info: fromPhone,
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍"),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(peerJID), FromMe: proto.Bool(false), ID: proto.String("THEIRS")}}},
			want: message.Incoming{Event: message.EventReaction, Type: "reactionMessage", Text: "👍",
				Target: &message.Key{Chat: peerJID, ID: "THEIRS"}},
		},
		{
			name: "reaction in a group to another member", info: inGroup,
			msg: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍"),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(groupJID), FromMe: proto.Bool(false), ID: proto.String("M"), Participant: proto.String(peerJID)}}},
			want: message.Incoming{Event: message.EventReaction, Type: "reactionMessage", Text: "👍",
				Target: &message.Key{Chat: groupJID, ID: "M", Sender: peerJID}},
		},
		{
			name: "edit, unwrapped", info: dm,
			msg: &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
				Key:           &waCommon.MessageKey{RemoteJID: proto.String(ownJID), FromMe: proto.Bool(true), ID: proto.String("E")},
				EditedMessage: &waE2E.Message{Conversation: proto.String("new")}}}}},
			want: message.Incoming{Event: message.EventEdit, Type: "protocolMessage", Text: "new",
				Target: &message.Key{Chat: peerJID, ID: "E"}},
		},
		{
			name: "revoke of a group member's message", info: inGroup,
			msg: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
				Key: &waCommon.MessageKey{RemoteJID: proto.String(groupJID), FromMe: proto.Bool(true), ID: proto.String("R")}}},
			want: message.Incoming{Event: message.EventRevoke, Type: "protocolMessage",
				Target: &message.Key{Chat: groupJID, ID: "R", Sender: thirdJID}},
			json: `{"protocolMessage":{"key":{"fromMe":true,"id":"R","remoteJid":"` + groupJID + `"},"type":"REVOKE"}}`,
		},
		{
			name: "sender key distribution with content", info: inGroup,
			msg: &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String(groupJID)},
				Conversation: proto.String("both")},
			want: message.Incoming{Event: message.EventMessage, Type: "conversation", Text: "both"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := msgconv.FromWhatsApp(tc.info, tc.msg)
			if err != nil || !ok {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			want := tc.want
			want.Key, want.PushName, want.Timestamp = key(tc.info), tc.info.PushName, tc.info.Timestamp
			if tc.json != "" && string(got.Message) != tc.json {
				t.Errorf("Message\n got %s\nwant %s", got.Message, tc.json)
			}
			back, err := msgconv.FromJSON(got.Message)
			if err != nil {
				t.Fatalf("decoding the stored JSON: %v", err)
			}
			if !proto.Equal(back, msgconv.Unwrap(tc.msg)) {
				t.Errorf("stored JSON decodes to %v, want %v", back, msgconv.Unwrap(tc.msg))
			}
			got.Message, want.Message = nil, nil
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestFromWhatsAppSkips(t *testing.T) {
	info := msgconv.Info{Chat: types.NewJID("120363000000000001", types.GroupServer), Sender: own, Own: own, ID: "S"}
	for name, msg := range map[string]*waE2E.Message{
		"nil":                     nil,
		"sender key distribution": {SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String(groupJID)}, MessageContextInfo: &waE2E.MessageContextInfo{}},
		"history sync notice":     {ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum()}},
		"revoke without key":      {ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}},
		"context only":            {MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: []byte{1}}},
	} {
		t.Run(name, func(t *testing.T) {
			in, ok, err := msgconv.FromWhatsApp(info, msg)
			if ok || err != nil {
				t.Fatalf("got %+v, ok %v, err %v; want it skipped", in, ok, err)
			}
		})
	}
}

func TestMedia(t *testing.T) {
	raw := `{"audioMessage":{"url":"u","directPath":"/a","mediaKey":"AQ==","mimetype":"audio/ogg; codecs=opus","ptt":true}}`
	msg, err := msgconv.FromJSON([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	d := msgconv.Media(msg)
	if d == nil || d.GetMimetype() != "audio/ogg; codecs=opus" || d.GetDirectPath() != "/a" {
		t.Fatalf("Media = %v", d)
	}
	if !msg.GetAudioMessage().GetPTT() {
		t.Error("ptt lost")
	}
	ptv := &waE2E.Message{PtvMessage: &waE2E.VideoMessage{DirectPath: proto.String("/v"), MediaKey: []byte{1}, Mimetype: proto.String("video/mp4")}}
	if d := msgconv.Media(ptv); d == nil || d.GetMimetype() != "video/mp4" {
		t.Errorf("Media of a video note = %v", d)
	}
	if typ := msgconv.Type(ptv); typ != "ptvMessage" {
		t.Errorf("Type of a video note = %q", typ)
	}
	if d := msgconv.Media(&waE2E.Message{Conversation: proto.String("x")}); d != nil {
		t.Errorf("Media of a text = %v", d)
	}
}
