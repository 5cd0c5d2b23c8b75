package host_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestMessageKindsEndToEnd sends every media kind, a reply with a
// mention, a reaction, an edit and a revoke through the API, to a group
// and to a 1:1 chat, and checks what a plain whatsmeow client receives;
// then a message to a recipient that is offline, received on its
// reconnect.
func TestMessageKindsEndToEnd(t *testing.T) {
	w := newWorld(t, map[string]any{"messages.rate": 1000, "messages.jitter": "0s"})
	me := wafaketest.User(t, w.srv, "5511955570001")
	peer := wafaketest.LinkDevice(t, w.srv, wafaketest.User(t, w.srv, "5511955570002"))
	w.pairAs("kinds", me)
	gid, err := w.srv.CreateGroup("kinds", me.JID, peer.Phone.JID)
	if err != nil {
		t.Fatal(err)
	}
	media := func(data []byte, mime string, extra map[string]any) map[string]any {
		m := map[string]any{"base64": base64.StdEncoding.EncodeToString(data), "mimetype": mime}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	doc := bytes.Repeat([]byte("%PDF"), 500)
	for _, chat := range []struct{ name, to string }{{"group", gid.String()}, {"1:1", peer.Phone.JID.User}} {
		t.Run(chat.name, func(t *testing.T) {
			// send queues body to the chat and returns what the peer got.
			send := func(body map[string]any, ok func(*events.Message) bool) (string, *events.Message) {
				t.Helper()
				body["to"] = chat.to
				w.clk.Advance(time.Millisecond) // the pace of messages.rate
				id := w.send("kinds", body)
				got := wafaketest.WaitFrom(t, peer.Events, 0, func(m *events.Message) bool {
					return m.Info.ID == types.MessageID(id) && ok(m)
				})
				if chat.name == "group" && got.Info.Chat != gid {
					t.Fatalf("%s arrived in %s", id, got.Info.Chat)
				}
				return id, got
			}
			img, _ := send(map[string]any{"image": media(bytes.Repeat([]byte("jpeg"), 300), "image/jpeg", map[string]any{"caption": "photo"})},
				func(m *events.Message) bool { return m.Message.GetImageMessage().GetCaption() == "photo" })
			send(map[string]any{"video": media(bytes.Repeat([]byte("mp4 "), 300), "video/mp4", nil)},
				func(m *events.Message) bool { return m.Message.GetVideoMessage() != nil })
			send(map[string]any{"audio": media(bytes.Repeat([]byte("opus"), 300), "audio/ogg; codecs=opus", map[string]any{"voice_note": true})},
				func(m *events.Message) bool { return m.Message.GetAudioMessage().GetPTT() })
			_, gotDoc := send(map[string]any{"document": media(doc, "application/pdf", map[string]any{"file_name": "offer.pdf"})},
				func(m *events.Message) bool { return m.Message.GetDocumentMessage().GetFileName() == "offer.pdf" })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if data, err := peer.Client.Download(ctx, gotDoc.Message.GetDocumentMessage()); err != nil || !bytes.Equal(data, doc) {
				t.Fatalf("peer downloaded %d bytes of the document, %v", len(data), err)
			}
			send(map[string]any{"sticker": media(bytes.Repeat([]byte("webp"), 300), "image/webp", nil)},
				func(m *events.Message) bool { return m.Message.GetStickerMessage() != nil })

			text, _ := send(map[string]any{"text": "the plan"},
				func(m *events.Message) bool { return m.Message.GetConversation() == "the plan" })
			send(map[string]any{"text": "@" + peer.Phone.JID.User + " agreed?", "reply_to": text, "mentions": []string{peer.Phone.JID.User}},
				func(m *events.Message) bool {
					ci := m.Message.GetExtendedTextMessage().GetContextInfo()
					return ci.GetStanzaID() == text && len(ci.GetMentionedJID()) == 1 &&
						ci.GetMentionedJID()[0] == peer.Phone.JID.String()
				})
			send(map[string]any{"reaction": map[string]any{"message_id": text, "emoji": "👍"}},
				func(m *events.Message) bool {
					r := m.Message.GetReactionMessage()
					return r.GetKey().GetID() == text && r.GetText() == "👍"
				})
			send(map[string]any{"edit": map[string]any{"message_id": text, "text": "the new plan"}},
				func(m *events.Message) bool {
					p := m.Message.GetProtocolMessage()
					edited := p.GetEditedMessage()
					return p.GetType() == waE2E.ProtocolMessage_MESSAGE_EDIT && p.GetKey().GetID() == text &&
						(edited.GetConversation() == "the new plan" || edited.GetExtendedTextMessage().GetText() == "the new plan")
				})
			send(map[string]any{"revoke": map[string]any{"message_id": img}},
				func(m *events.Message) bool {
					p := m.Message.GetProtocolMessage()
					return p.GetType() == waE2E.ProtocolMessage_REVOKE && p.GetKey().GetID() == img
				})
		})
	}

	// The recipient is offline: the server keeps the message, acknowledged,
	// and writes it when the recipient connects again.
	live := w.srv.LiveConn(peer.JID)
	peer.Client.Disconnect()
	<-live.Done()
	w.clk.Advance(time.Millisecond)
	id := w.send("kinds", map[string]any{"to": peer.Phone.JID.User, "text": "while you were away"})
	w.messageEvent("messages.update", id, hasStatus("SERVER_ACK"))
	if n := w.srv.Queued(peer.JID); n == 0 {
		t.Fatal("nothing waits for the offline recipient")
	}
	peer.Reconnect(t)
	if got := peer.WaitMessage(t, types.MessageID(id)); got.Message.GetConversation() != "while you were away" {
		t.Fatalf("peer got %v on its reconnect", got.Message)
	}
}
